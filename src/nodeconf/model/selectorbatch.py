"""Every override's selector at once, for the common document whose selectors are all plain.

A document with many overrides usually selects each with ``{"matchLabels": {k: v, ...}}`` and
valid labels. For such selectors ``compile_override_selector`` (``nodeconf.model.selectorread``)
keeps the label dict itself and reports nothing; ``plain_selectors`` reaches the same result
for the whole list with a few passes in C (types, lengths, one set of label keys, one pass
over the text of every label value) instead of a Python loop per override.

It promises: it returns the same compiled selectors, and adds the same key count to the
``Findings``, as ``compile_override_selector`` called on each selector in turn would; or it
returns ``None``, having changed nothing but the label verdicts it remembered, and the
caller compiles each selector (which then reports what is wrong, in document order).

Thread-safety: pure apart from the ``Findings`` it is given (owned by the caller).
"""

from __future__ import annotations

from itertools import chain, repeat
from typing import Final

from nodeconf.model.findings import Findings
from nodeconf.model.labels import all_label_values

__all__ = ["plain_selectors"]

_MATCH_LABELS: Final = "matchLabels"


def plain_selectors(selectors: list[object], f: Findings) -> list[dict[str, str]] | None:
    """The label dicts of ``selectors`` when every one is a plain, valid ``matchLabels``
    selector; else ``None`` (see the module docstring).

    The type checks are the C functions' own: ``dict.get`` refuses a selector that is not an
    object, ``dict.values`` a ``matchLabels`` that is not one (or missing), ``str.join`` a
    label value that is not a string.
    """
    try:
        labels: list[dict[str, str]] = list(map(dict.get, selectors, repeat(_MATCH_LABELS)))  # type: ignore[arg-type]
        values = list(chain.from_iterable(map(dict.values, labels)))
        joined = "".join(values)
    except TypeError:
        return None
    # Each selector has the key matchLabels, so a total of one key each means exactly one.
    if sum(map(len, selectors)) != len(selectors) or not all(labels):  # type: ignore[arg-type]
        return None  # another key beside matchLabels, or an empty one (selects every node)
    verdicts = f.labels
    for key in set().union(*labels).difference(verdicts.keys):
        if verdicts.key(key) is not None:
            return None
    if not all_label_values(values, joined):
        return None
    f.keys += len(selectors) + sum(map(len, labels))
    return labels
