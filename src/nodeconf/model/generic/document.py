"""The layered document of a generic schema, and its parser.

The document has the colocation document's shape, with the config's own keys inside::

    {"globalConfig": {...config keys...},
     "nodesConfig": [{"selector": <LabelSelector>, ...config keys...}, ...]}

``parse_layered(spec, data)`` promises:

* it returns a ``LayeredDocument`` or raises ``DocumentError`` (size, UTF-8, JSON syntax,
  nesting, not an object: ``nodeconf.model.jsontext``); nothing else;
* a ``globalConfig`` that is not an object, a ``nodesConfig`` that is not an array, an entry
  that is not an object, or a selector of the wrong JSON types is an **error** of the document
  (``document.errors``; reported by every evaluation: the document is not delivered);
  ``null`` for ``globalConfig`` or ``nodesConfig`` means "not given";
* an invalid selector (a bad label key, a bad operator, ...) makes its override inert and is a
  **warning**, exactly as in the colocation document (the same code:
  ``nodeconf.model.selectors``); so is an entry without a selector (it applies to no node);
* a key the schema does not know, where the schema does not say whether other keys are
  allowed, is a **warning** with its path and a "did you mean" hint, and is left out of every
  effective config; where the schema forbids other keys (``additionalProperties: false``) it
  is an error of the evaluation instead; duplicate keys: the last one wins, each a warning;
* values are not checked here: a layer is partial, so only the merged config can be checked
  (``nodeconf.model.generic.layered``).

The document keeps each layer's decoded object as it was written (never mutated after
parsing) and each override's compiled selector.

Thread-safety: ``LayeredDocument`` is immutable after ``parse_layered`` returns it; its one
cache (``selector_label_keys``) is a benign race (every thread computes an equal value).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import repeat
from typing import Any, Final

from nodeconf.errors import Issue
from nodeconf.model.findings import Findings
from nodeconf.model.generic.compiled import Chain
from nodeconf.model.generic.scan import entry_scanners, scanner
from nodeconf.model.generic.spec import Spec
from nodeconf.model.jsontext import (
    decode_object,
    decode_text,
    find_duplicates,
    may_have_duplicates,
)
from nodeconf.model.labels import LabelVerdicts
from nodeconf.model.selectorbatch import plain_selectors
from nodeconf.model.selectorread import compile_override_selector
from nodeconf.model.selectors import (
    CompiledSelector,
    as_selector,
    selector_matches,
)

__all__ = ["GLOBAL", "NODES", "SELECTOR", "Entry", "LayeredDocument", "parse_layered"]

GLOBAL: Final = "globalConfig"
NODES: Final = "nodesConfig"
SELECTOR: Final = "selector"
_TOP_KEYS: Final = (GLOBAL, NODES)
_NODES_CHAIN: Final = ((), NODES)

#: One override: its position in ``nodesConfig``, its decoded object (selector included) and
#: its compiled selector.
Entry = tuple[int, dict[str, Any], CompiledSelector]


class LayeredDocument:
    """A parsed layered document (implements the seam's ``Document``).

    ``global_config`` is the decoded ``globalConfig`` object (``None`` when not given);
    ``entries`` every override that is an object, in order.

    Thread-safety: immutable after construction; safe to share between threads.
    """

    __slots__ = ("_entries", "_errors", "_global", "_label_keys", "_warnings")

    def __init__(
        self,
        global_config: dict[str, Any] | None,
        entries: tuple[Entry, ...] = (),
        warnings: tuple[Issue, ...] = (),
        errors: tuple[Issue, ...] = (),
    ) -> None:
        self._global = global_config
        self._entries = entries
        self._warnings = warnings
        self._errors = errors
        self._label_keys: frozenset[str] | None = None

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Unknown and duplicate keys, invalid or missing selectors."""
        return self._warnings

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Parts of the document of the wrong JSON type; such a document is never delivered."""
        return self._errors

    @property
    def global_config(self) -> Mapping[str, Any] | None:
        """``globalConfig`` as written (do not modify), or ``None`` when not given."""
        return self._global

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every override that is an object, in document order."""
        return self._entries

    def matching(self, labels: Mapping[str, str], every: bool) -> Iterator[Entry]:
        """The overrides whose selector matches ``labels``: only the last one (walking from
        the end, stopping at the first match), or with ``every`` all of them in order."""
        if every:
            return (e for e in self._entries if selector_matches(e[2], labels))
        found = self.last_match(labels)
        return iter(() if found is None else (found,))

    def last_match(self, labels: Mapping[str, str]) -> Entry | None:
        """The last override whose selector matches ``labels`` (walking from the end), or
        ``None``."""
        # ``labels.get(...)`` in place: a specialised call, cheaper than a bound ``get``.
        for entry in reversed(self._entries):
            selector = entry[2]
            if type(selector) is dict:  # a plain matchLabels: inline, the common case
                for key, value in selector.items():
                    if labels.get(key) != value:
                        break
                else:
                    return entry
            elif type(selector) is tuple:  # one In requirement (an ``InPair``)
                if labels.get(selector[0]) in selector[1]:
                    return entry
            elif selector.matches(labels):  # type: ignore[union-attr]
                return entry
        return None

    @property
    def selector_label_keys(self) -> frozenset[str]:
        """Every label key a valid selector of this document reads."""
        keys = self._label_keys
        if keys is None:
            found: set[str] = set()
            for entry in self._entries:
                found |= as_selector(entry[2]).keys
            keys = self._label_keys = frozenset(found)
        return keys

    def __repr__(self) -> str:
        return (
            f"LayeredDocument(global={self._global!r}, overrides={len(self._entries)}, "
            f"warnings={len(self._warnings)}, errors={len(self._errors)})"
        )


def parse_layered(
    spec: Spec, data: str | bytes, labels: LabelVerdicts | None = None
) -> LayeredDocument:
    """Parse document text for the config ``spec``; see the module docstring. ``labels``: the
    label verdicts to read and add to (the format's, kept across its parses)."""
    text = decode_text(data)
    tree = decode_object(text)
    f = Findings(labels)
    f.keys += len(tree)
    global_config: dict[str, Any] | None = None
    entries: tuple[Entry, ...] = ()
    for key, value in tree.items():
        if key == GLOBAL:
            if type(value) is dict:
                (spec.compiled_scan or scanner(spec))(value, GLOBAL, (), f)
                global_config = value
            elif value is not None:
                f.wrong_type(GLOBAL, value, "an object")
        elif key == NODES:
            entries = _read_overrides(spec, value, f)
        else:
            f.unknown("", key, value, _TOP_KEYS)
    if may_have_duplicates(text, f.keys):
        for path, dup_key, kept in find_duplicates(text):
            f.warn(path, kept, f"duplicate key {dup_key!r}: the last one wins")
    return LayeredDocument(global_config, entries, *f.reported())


def _read_overrides(spec: Spec, raw: object, f: Findings) -> tuple[Entry, ...]:
    """Check every ``nodesConfig`` entry's keys and compile its selector (once per entry).

    The common document with many overrides (every entry an object, every key known, every
    selector a plain valid ``matchLabels``) is read in batch (``scan.Batch``,
    ``model.selectorbatch``); what a batch cannot vouch for is read entry by entry, which
    reports each problem in document order (a batch that succeeds has nothing to report, so
    the order is the same).
    """
    if raw is None:
        return ()
    if type(raw) is not list:
        f.wrong_type(NODES, raw, "an array")
        return ()
    scan_one, scan_all = entry_scanners(spec, SELECTOR)
    # ``out.append`` in place (a specialised instruction) and a counter of our own cost less
    # than a bound ``append`` and ``enumerate``.
    out: list[Entry] = []
    if len(raw) >= _BATCH_FROM:
        try:  # ``dict.get`` refuses an entry that is not an object: then read entry by entry
            selectors = list(map(dict.get, raw, repeat(SELECTOR)))
        except TypeError:
            selectors = None
        if selectors is not None:
            keys = scan_all(raw)
            if keys is not None:
                f.keys += keys
                scan_one = _scanned
            labels = plain_selectors(selectors, f)
            if labels is not None:
                if keys is not None:
                    return tuple(zip(range(len(raw)), raw, labels, strict=True))
                for i, entry in enumerate(raw):  # every entry is an object (``dict.get`` took it)
                    scan_one(entry, "", (_NODES_CHAIN, i), f)
                    out.append((i, entry, labels[i]))
                return tuple(out)
    i = 0
    for entry in raw:
        try:
            selector = entry.get(SELECTOR)
        except AttributeError:  # not an object (cheaper than testing its type each time)
            if entry is None:
                f.warn(f"{NODES}[{i}]", None, "null entry: it applies to no node")
            else:
                f.wrong_type(f"{NODES}[{i}]", entry, "an object (a selector and config keys)")
        else:
            scan_one(entry, "", (_NODES_CHAIN, i), f)  # the path is built only to warn
            out.append((i, entry, compile_override_selector(selector, i, f)))
        i += 1  # noqa: SIM113 - cheaper than enumerate here (the hot loop of small documents)
    return tuple(out)


#: Fewer overrides are read entry by entry: a batch's fixed cost (a few dozen C calls) would
#: exceed what it saves.
_BATCH_FROM: Final = 8


def _scanned(value: object, prefix: str, chain: Chain, f: Findings) -> None:
    """The scan of an entry the batch scan already vouched for."""
