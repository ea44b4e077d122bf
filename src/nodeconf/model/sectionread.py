"""Reading a ``ColocationConfig`` object's sections into field slots, every problem reported.

A ``ColocationConfig`` object is ``globalConfig``, or the body of one ``nodesConfig`` entry
(with its ``selector``)::

    {<section>: {<field>: value}, ...}

``nodeconf.model.document`` (``parse_document``) hands each such object to this module; the
rules it applies (strict JSON types, Go's case-insensitive key matching, what a ``null``
clears, what is an error and what a warning) are stated in that module's docstring.

* ``read_config(config, index, out, findings)`` reads ``globalConfig`` (``index`` None) into
  ``out`` (slot -> value), reporting every problem.
* ``read_overrides(raw, findings)`` only *checks* the ``nodesConfig`` array (the hot loop of
  the parser: it runs once per override and builds paths only for issues) and compiles each
  entry's selector; it returns one ``Entry`` per entry that is an object.
* ``override_values(raw)`` converts one checked entry into its value map (slot -> value), when
  the override is used; it reports nothing (``read_overrides`` already did).

Paths in reports: ``globalConfig.<section>.<field>`` and
``nodesConfig[<i>].<section>.<field>``.

Thread-safety: pure apart from the ``Findings`` given (owned by the caller); the tables are
immutable after import.
"""

from __future__ import annotations

from typing import Any, Final

from nodeconf.model.fields import INT64_MAX, INT64_MIN, SECTIONS
from nodeconf.model.findings import Findings
from nodeconf.model.jsontext import join_path
from nodeconf.model.keymatch import FoldedNames
from nodeconf.model.selectorread import compile_override_selector
from nodeconf.model.selectors import CompiledSelector

__all__ = [
    "GLOBAL_PATH",
    "NODES_PATH",
    "Entry",
    "override_values",
    "read_config",
    "read_overrides",
]

GLOBAL_PATH: Final = "globalConfig"
NODES_PATH: Final = "nodesConfig"
_SELECTOR: Final = "selector"

_MIN: Final = INT64_MIN
_MAX: Final = INT64_MAX
_EXPECTED: Final[dict[type, str]] = {bool: "a boolean", int: "an integer", str: "a string"}
#: section key -> field name -> (slot, exact Python type of a valid value)
_SECTION_FIELDS: Final[dict[str, dict[str, tuple[int, type]]]] = {
    s.key: {f.name: (f.index, f.type) for f in s.fields} for s in SECTIONS
}
_GLOBAL_KEYS: Final = tuple(_SECTION_FIELDS)
_OVERRIDE_KEYS: Final = (_SELECTOR, *_SECTION_FIELDS)
#: Case-insensitive matching (Go's ``encoding/json``): the key sets of each decoded struct.
_SECTION_FOLD: Final = FoldedNames(_GLOBAL_KEYS)
_OVERRIDE_FOLD: Final = FoldedNames(_OVERRIDE_KEYS)
_FIELD_FOLD: Final = {s.key: FoldedNames(f.name for f in s.fields) for s in SECTIONS}
#: section key -> the slots of its fields (a ``null`` section clears them all)
_SECTION_SLOTS: Final = {s.key: tuple(f.index for f in s.fields) for s in SECTIONS}

#: One override as parsed: (position, its decoded object, its compiled selector). The decoded
#: object is owned by the document and never mutated after parsing.
Entry = tuple[int, dict[str, Any], CompiledSelector]


def override_values(raw: dict[str, Any]) -> dict[int, object]:
    """The value map (slot -> value) of one entry ``read_overrides`` checked: only the fields
    it sets with the right type; a ``null`` field or section clears what an earlier key
    (differing in case) set, as in Go."""
    values: dict[int, object] = {}
    for written, section in raw.items():
        key = written
        fields = _SECTION_FIELDS.get(written)
        if fields is None:
            name = _SECTION_FOLD.match(written)
            if name is None:
                continue
            key, fields = name, _SECTION_FIELDS[name]
        if type(section) is not dict:
            if section is None:  # Go sets the section's pointer to nil
                for slot in _SECTION_SLOTS[key]:
                    values.pop(slot, None)
            continue
        names = _FIELD_FOLD[key]
        for name, value in section.items():
            spec = fields.get(name)
            if spec is None:
                folded = names.match(name)
                if folded is None:
                    continue
                spec = fields[folded]
            slot, want = spec
            if value is None:
                values.pop(slot, None)
            elif type(value) is want and (want is not int or _MIN <= value <= _MAX):  # type: ignore[operator]
                values[slot] = value
    return values


def _prefix(index: int | None) -> str:
    return GLOBAL_PATH if index is None else f"{NODES_PATH}[{index}]"


def read_config(
    config: dict[str, Any], index: int | None, out: dict[int, object], f: Findings
) -> None:
    """Read the sections of one ``ColocationConfig`` object into ``out`` (slot -> value).

    ``index`` is the override's position, ``None`` for ``globalConfig``. This loop runs for
    every override of every document, so it builds no path unless it reports an issue. A
    ``null`` section or field clears what an earlier key (differing in case) set, as in Go.
    """
    sections = _SECTION_FIELDS
    for key, section in config.items():
        fields = sections.get(key)
        if fields is None:
            name = _SECTION_FOLD.match(key)
            if name is None:
                if index is None:
                    f.unknown(GLOBAL_PATH, key, section, _GLOBAL_KEYS)
                elif key != _SELECTOR:
                    f.unknown(_prefix(index), key, section, _OVERRIDE_KEYS)
                continue
            f.folded(_prefix(index), key, section, name)
            fields = sections[name]
        else:
            name = key
        if type(section) is not dict:
            if section is None:
                for slot in _SECTION_SLOTS[name]:
                    out.pop(slot, None)
            else:
                f.wrong_type(join_path(_prefix(index), key), section, "an object")
            continue
        f.keys += len(section)
        for field, value in section.items():
            spec = fields.get(field)
            if spec is None:
                folded = _FIELD_FOLD[name].match(field)
                if folded is None:
                    f.unknown(join_path(_prefix(index), key), field, value, fields)
                    continue
                f.folded(join_path(_prefix(index), key), field, value, folded)
                spec = fields[folded]
            slot, want = spec
            if type(value) is want and (want is not int or INT64_MIN <= value <= INT64_MAX):  # type: ignore[operator]
                out[slot] = value
            elif value is None:
                out.pop(slot, None)
            else:
                f.wrong_type(
                    join_path(join_path(_prefix(index), key), field), value, _EXPECTED[want]
                )


def read_overrides(raw: object, f: Findings) -> tuple[Entry, ...]:
    """Check every ``nodesConfig`` entry and compile its selector.

    The hot loop of the parser (it runs once per override): it only *checks* the sections
    (the value map is built later, for the overrides that are used), counts keys in a local,
    and builds paths only for issues. A ``null`` entry is what Go decodes as an empty entry
    (no selector: it applies to no node); it is reported and skipped.
    """
    if raw is None:
        return ()
    if type(raw) is not list:
        f.wrong_type(NODES_PATH, raw, "an array")
        return ()
    out: list[Entry] = []
    append = out.append
    sections = _SECTION_FIELDS
    keys = 0
    for i, entry in enumerate(raw):
        if type(entry) is not dict:
            if entry is None:
                f.warn(_prefix(i), None, _NULL_ENTRY)
            else:
                f.wrong_type(_prefix(i), entry, "an object (a selector and sections)")
            continue
        keys += len(entry)
        selector: object = None
        for key, section in entry.items():
            fields = sections.get(key)
            if fields is None:
                if key == _SELECTOR:
                    selector = section
                    continue
                name = _OVERRIDE_FOLD.match(key)
                if name is None:
                    f.unknown(_prefix(i), key, section, _OVERRIDE_KEYS)
                    continue
                f.folded(_prefix(i), key, section, name)
                if name == _SELECTOR:
                    selector = section
                    continue
                fields = sections[name]
            else:
                name = key
            if type(section) is not dict:
                if section is not None:
                    f.wrong_type(join_path(_prefix(i), key), section, "an object")
                continue
            keys += len(section)
            for field, value in section.items():
                spec = fields.get(field)
                if spec is None:
                    folded = _FIELD_FOLD[name].match(field)
                    if folded is None:
                        f.unknown(join_path(_prefix(i), key), field, value, fields)
                        continue
                    f.folded(join_path(_prefix(i), key), field, value, folded)
                    spec = fields[folded]
                want = spec[1]
                if type(value) is not want:
                    if value is not None:
                        f.wrong_type(
                            join_path(join_path(_prefix(i), key), field), value, _EXPECTED[want]
                        )
                elif want is int and not _MIN <= value <= _MAX:  # type: ignore[operator]
                    f.wrong_type(
                        join_path(join_path(_prefix(i), key), field), value, _EXPECTED[want]
                    )
        append((i, entry, compile_override_selector(selector, i, f)))
    f.keys += keys
    return tuple(out)


_NULL_ENTRY: Final = (
    "null entry: Volcano reads it as an entry without a selector, so it applies to no node"
)
