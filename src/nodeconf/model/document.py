"""The typed colocation document and its parser.

``parse_document(data)`` reads the ConfigMap's ``colocation-config`` text::

    {"globalConfig": {<section>: {<field>: value}},
     "nodesConfig": [{"selector": <LabelSelector>, <section>: {...}}, ...]}

What it promises:

* It returns a ``ColocationDocument`` or raises ``DocumentError``; nothing else, whatever the
  bytes (see ``nodeconf.model.jsontext`` for the unreadable cases: size, UTF-8, JSON syntax,
  nesting, non-object top level).
* Types are strict, as in Go's decoder: a boolean field takes only ``true``/``false``, an
  integer field only a JSON integer within signed 64 bits (``80.5``, ``80.0``, ``1e2`` and
  ``true`` are not integers), a string field only a string. ``null`` means "not set".
* A value of the wrong type is an **error** ``Issue`` with its path, collected in
  ``document.errors``; the field is treated as unset. Volcano cannot decode such a document at
  all, so ``evaluate`` and ``check_document`` report every one of these errors and the
  document is never delivered to listeners. ``parse`` itself does not raise for them, so an
  operator sees all of them at once.
* Keys are matched to fields the way Volcano's decoder (Go ``encoding/json``) matches them:
  exactly, or else ignoring case (``nodeconf.model.keymatch``). A key that matched only
  case-insensitively is **used** (same input, same effective config as Volcano) and reported
  as a warning with its path and the right spelling. When several keys read as the same field,
  they apply in text order, as in Go: the last one sets a field, a ``null`` one clears it, and
  two objects for the same section (or for ``globalConfig``) are merged field by field.
* Unknown keys are kept out of the model and reported as **warnings** with their path
  (``globalConfig.evictingConfig.evictingCPUHighWatermak``) and a "did you mean" hint.
  Duplicate keys: the last one wins and each is reported as a warning. (For a duplicated
  *object* Go goes further and decodes the second object into the first, merging them, and it
  rejects a wrongly typed value even when a later duplicate replaces it; nodeconf keeps only
  the last object. Likewise a second ``nodesConfig`` or ``selector`` spelt in another case
  replaces the first where Go merges them element by element. These only concern documents
  that already carry a duplicate-key or spelling warning.)
* ``null`` where Go decodes without complaint is accepted as Go reads it: a ``null`` document
  is a document without ``globalConfig`` (a warning), a ``null`` ``nodesConfig`` entry is an
  entry without a selector (it applies to no node; a warning).
* Invalid selectors make their override inert and are reported as warnings (see
  ``nodeconf.model.selectors``).
* ``nodeLabelConfig`` is read and type-checked like any section, but evaluation replaces it
  with what the node's labels say (spec section 4, step 4).

A document stores ``globalConfig`` as the fields it sets: a mapping from the field's slot
(``nodeconf.model.fields``) to its value. Overrides are only *checked* while parsing (that
loop runs for each of possibly thousands of overrides); each keeps its decoded object and its
compiled selector, and its value map is built when the override is used (the matching one in
``evaluate``, all of them in ``check_document``). The provenance of a value is its layer: the
path of a field set by override ``i`` is ``nodesConfig[i].<section>.<field>``.

Reading the sections of ``globalConfig`` and of each override (key matching, type checks,
the value maps) is ``nodeconf.model.sectionread``'s; this module reads the top level.

Thread-safety: ``ColocationDocument`` is immutable after ``parse_document`` returns it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from nodeconf.errors import Issue
from nodeconf.model.fields import FIELDS
from nodeconf.model.findings import Findings
from nodeconf.model.jsontext import (
    decode_object,
    decode_text,
    find_duplicates,
    may_have_duplicates,
)
from nodeconf.model.keymatch import FoldedNames
from nodeconf.model.sectionread import (
    GLOBAL_PATH,
    NODES_PATH,
    Entry,
    override_values,
    read_config,
    read_overrides,
)
from nodeconf.model.selectors import (
    Selector,
    as_selector,
    selector_matches,
)

__all__ = ["ColocationDocument", "Override", "parse_document"]

_TOP_KEYS: Final = (GLOBAL_PATH, NODES_PATH)
_TOP_FOLD: Final = FoldedNames(_TOP_KEYS)

Values = Mapping[int, object]


@dataclass(frozen=True, slots=True)
class Override:
    """One ``nodesConfig`` entry: its position, compiled selector and the fields it sets.

    ``values`` maps field slots to values, only for the fields this override sets with the
    right type.

    Thread-safety: immutable.
    """

    position: int
    selector: Selector
    values: Values

    @property
    def path(self) -> str:
        """``nodesConfig[<position>]``: the prefix of every path inside this override."""
        return f"{NODES_PATH}[{self.position}]"


class ColocationDocument:
    """A parsed colocation document (implements the seam's ``Document``).

    ``global_values`` is ``None`` when the document has no (or a ``null``) ``globalConfig``;
    ``overrides`` holds every ``nodesConfig`` entry that is an object, in order;
    ``warnings`` the non-fatal findings and ``errors`` the type errors (see module docstring).

    Parsing only checks overrides; an ``Override`` (with its value map) is built when asked
    for: ``matching_override`` builds one, ``overrides`` and ``iter_overrides`` all of them,
    kept by the caller only (a document of 100,000 overrides keeps no 100,000 value maps).

    Thread-safety: immutable after construction; safe to share between threads. The cache of
    ``selector_label_keys`` is filled on first use; the race is benign (every thread computes
    an equal value and the last store wins).
    """

    __slots__ = ("_entries", "_errors", "_global", "_label_keys", "_warnings")

    def __init__(
        self,
        global_values: Values | None,
        entries: tuple[Entry, ...] = (),
        warnings: tuple[Issue, ...] = (),
        errors: tuple[Issue, ...] = (),
    ) -> None:
        self._global = global_values
        self._entries = entries
        self._warnings = warnings
        self._errors = errors
        self._label_keys: frozenset[str] | None = None

    @property
    def warnings(self) -> tuple[Issue, ...]:
        """Unknown keys, duplicate keys, invalid or missing selectors."""
        return self._warnings

    @property
    def errors(self) -> tuple[Issue, ...]:
        """Values of the wrong JSON type; a document with errors is never delivered."""
        return self._errors

    @property
    def global_values(self) -> Values | None:
        """The fields ``globalConfig`` sets (slot -> value), or ``None`` without one."""
        return self._global

    @property
    def has_global_config(self) -> bool:
        return self._global is not None

    @property
    def overrides(self) -> tuple[Override, ...]:
        """Every override, in document order (built on each call: nothing is kept)."""
        return tuple(self.iter_overrides())

    def iter_overrides(self) -> Iterator[Override]:
        """Every override, in document order, built one at a time."""
        return (_override(e) for e in self._entries)

    def matching_override(self, labels: Mapping[str, str]) -> Override | None:
        """The **last** override whose selector matches ``labels``, or ``None``.

        Walks from the end and stops at the first match: the same answer as testing every
        selector in order and keeping the last match.
        """
        for entry in reversed(self._entries):
            if selector_matches(entry[2], labels):
                return _override(entry)
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

    def global_json(self) -> dict[str, dict[str, Any]] | None:
        """The fields ``globalConfig`` sets, as ``{section: {field: value}}``."""
        return None if self._global is None else _as_json(self._global)

    def __repr__(self) -> str:
        return (
            f"ColocationDocument(global={self.global_json()!r}, "
            f"overrides={len(self._entries)}, warnings={len(self._warnings)}, "
            f"errors={len(self._errors)})"
        )


def _override(entry: Entry) -> Override:
    position, raw, compiled = entry
    return Override(position, as_selector(compiled), MappingProxyType(override_values(raw)))


def _as_json(values: Values) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for slot in sorted(values):
        f = FIELDS[slot]
        out.setdefault(f.section, {})[f.name] = values[slot]
    return out


def parse_document(data: str | bytes) -> ColocationDocument:
    """Parse document text; see the module docstring for what is an error and a warning."""
    text = decode_text(data)
    tree = decode_object(text, allow_null=True)
    f = Findings()
    if tree is None:
        f.warn(GLOBAL_PATH, None, _NULL_DOCUMENT)
        return ColocationDocument(None, (), f.warnings.issues())
    f.keys += len(tree)
    global_values: dict[int, object] | None = None
    entries: tuple[Entry, ...] = ()
    for written, value in tree.items():
        key = written
        if key not in _TOP_KEYS:
            name = _TOP_FOLD.match(written)
            if name is None:
                f.unknown("", written, value, _TOP_KEYS)
                continue
            f.folded("", written, value, name)
            key = name
        if key == GLOBAL_PATH:
            if type(value) is not dict:
                if value is None:  # Go sets the pointer to nil
                    global_values = None
                else:
                    f.wrong_type(GLOBAL_PATH, value, "an object")
                continue
            f.keys += len(value)
            if global_values is None:
                global_values = {}
            # a second globalConfig (differing in case) is decoded into the same struct
            read_config(value, None, global_values, f)
        else:
            entries = read_overrides(value, f)
    if may_have_duplicates(text, f.keys):
        for path, dup_key, kept in find_duplicates(text):
            f.warn(path, kept, f"duplicate key {dup_key!r}: the last one wins", "duplicate key")
    return ColocationDocument(
        None if global_values is None else MappingProxyType(global_values),
        entries,
        *f.reported(),
    )


_NULL_DOCUMENT: Final = (
    "the document is null: read as a document without globalConfig, as Volcano reads it"
)
