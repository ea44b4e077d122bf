"""How Volcano's decoder matches a JSON object key to a struct field: exactly, else ignoring case.

Volcano reads the document with Go's ``encoding/json``, which matches an object key to a struct
field by its JSON name exactly **or case-insensitively** (``evictingCpuHighWatermark`` sets
``evictingCPUHighWatermark``; ``CPUQosConfig`` is ``cpuQosConfig``). So the same ConfigMap gives
the same effective config, nodeconf matches keys the same way (and, improving on Volcano, warns
about every key that matched only that way: see ``nodeconf.model.document``).

Go's rule (``foldName`` in ``encoding/json``): two names match when they are equal after folding
each ASCII letter to one case and every other character to the smallest member of its Unicode
simple-fold orbit. Every field name here is ASCII, and the only non-ASCII characters whose orbit
holds an ASCII letter are U+212A KELVIN SIGN (``k``) and U+017F LATIN SMALL LETTER LONG S
(``s``); ``fold`` maps those two and lower-cases ASCII, and gives ``None`` for a key with any
other non-ASCII character (it can match no field).

Only struct fields fold. Map keys never do: ``matchLabels`` keys are label keys, compared
exactly.

Thread-safety: immutable tables and pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import Final

__all__ = ["FoldedNames", "fold"]

_GO_ONLY_FOLDS: Final = str.maketrans({"\u212a": "k", "\u017f": "s"})


def fold(key: str) -> str | None:
    """``key`` folded as Go folds it for an ASCII field name, or ``None`` if it matches none."""
    if not key.isascii():
        key = key.translate(_GO_ONLY_FOLDS)
        if not key.isascii():
            return None
    return key.lower()


class FoldedNames:
    """The field names of one Go struct, found by a key that differs from one only in case.

    Thread-safety: immutable after construction.
    """

    __slots__ = ("_by_fold",)

    def __init__(self, names: Iterable[str]) -> None:
        by_fold = {}
        for name in names:
            folded = fold(name)
            assert folded is not None, name
            assert folded not in by_fold, name
            by_fold[folded] = name
        self._by_fold = MappingProxyType(by_fold)

    def match(self, key: str) -> str | None:
        """The field name ``key`` matches case-insensitively, or ``None``.

        Call it only after an exact lookup failed: for a key that *is* a field name it returns
        that name too.
        """
        folded = fold(key)
        return None if folded is None else self._by_fold.get(folded)
