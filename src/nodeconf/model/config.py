"""The effective colocation config: what one node gets.

``ColocationConfig`` wraps one flat tuple with a slot per field of the table
(``nodeconf.model.fields``), ``None`` for "not set". Consequences:

* equality and hashing are those of a tuple of scalars (the hash is computed once, lazily);
  two configs are equal exactly when every field is;
* ``changed_sections`` compares per-section slices, no allocation beyond the slices;
* ``to_json`` lists every section, in canonical order, with the ConfigMap's key names; an
  unset field is **omitted** (as Go's ``omitempty`` does), never written as ``null``.
  ``config_from_json(c.to_json()) == c`` for every config ``c``, so render -> parse -> render
  is a fixed point.

Thread-safety: immutable; the lazily cached hash is a benign race (every thread computes the
same int).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from nodeconf.errors import DocumentError
from nodeconf.model.fields import (
    DEFAULT_VALUES,
    FIELD_COUNT,
    INT64_MAX,
    INT64_MIN,
    SECTION_BY_KEY,
    SECTIONS,
)
from nodeconf.model.jsontext import decode_object, decode_text, json_type_name

__all__ = ["ColocationConfig", "changed_sections", "config_from_json"]

Value = bool | int | str | None

_set = object.__setattr__  # the only writer of a config's two slots (in __init__ and __hash__)

_SLICES: dict[str, slice] = {
    s.key: slice(s.fields[0].index, s.fields[-1].index + 1) for s in SECTIONS
}


class ColocationConfig:
    """An effective config (implements the seam's ``EffectiveConfig``).

    Build one with ``evaluate`` (the usual way), ``config_from_json`` or
    ``ColocationConfig(values)`` with a flat tuple in slot order. Read it with
    ``config.value("evictingConfig", "evictingCPUHighWatermark")``, ``config["evictingConfig"]``
    (a dict of the set fields) or ``to_json()``.

    Thread-safety: immutable; safe to share between threads.
    """

    __slots__ = ("_hash", "_values")
    _values: tuple[Value, ...]
    _hash: int | None

    def __init__(self, values: tuple[Value, ...] = DEFAULT_VALUES) -> None:
        if len(values) != FIELD_COUNT:
            raise ValueError(f"expected {FIELD_COUNT} values, got {len(values)}")
        _set(self, "_values", tuple(values))
        _set(self, "_hash", None)

    @property
    def values(self) -> tuple[Value, ...]:
        """The flat value tuple, one slot per field in table order (``None``: unset)."""
        return self._values

    def value(self, section: str, field: str) -> Value:
        """The value of ``section.field`` (``None`` when unset); ``KeyError`` if unknown."""
        return self._values[SECTION_BY_KEY[section].field(field).index]

    def __getitem__(self, section: str) -> dict[str, Value]:
        """The set fields of ``section`` as a new dict; ``KeyError`` if unknown."""
        sec = SECTION_BY_KEY[section]
        vals = self._values
        return {f.name: vals[f.index] for f in sec.fields if vals[f.index] is not None}

    def __iter__(self) -> Iterator[str]:
        """Section keys, in canonical order."""
        return iter(_SLICES)

    def to_json(self) -> dict[str, Any]:
        """Every section (canonical order) with its set fields; unset fields are omitted."""
        vals = self._values
        return {
            s.key: {f.name: vals[f.index] for f in s.fields if vals[f.index] is not None}
            for s in SECTIONS
        }

    def section_equal(self, other: ColocationConfig, section: str) -> bool:
        sl = _SLICES[section]
        return self._values[sl] == other._values[sl]

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, ColocationConfig):
            return NotImplemented
        return self._values == other._values

    def __hash__(self) -> int:
        h: int | None = self._hash
        if h is None:
            h = hash(self._values)
            _set(self, "_hash", h)
        return h

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ColocationConfig is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"ColocationConfig is immutable (cannot delete {name!r})")

    def __reduce__(self) -> tuple[type[ColocationConfig], tuple[tuple[Value, ...]]]:
        return (ColocationConfig, (self._values,))

    def __repr__(self) -> str:
        return f"ColocationConfig({json.dumps(self.to_json(), separators=(',', ':'))})"


def changed_sections(old: ColocationConfig | None, new: ColocationConfig) -> frozenset[str]:
    """Section keys whose fields differ between ``old`` and ``new``; all when ``old`` is None."""
    if old is None:
        return frozenset(_SLICES)
    a, b = old.values, new.values
    if a == b:
        return frozenset()
    return frozenset(key for key, sl in _SLICES.items() if a[sl] != b[sl])


def config_from_json(data: str | bytes | Mapping[str, Any]) -> ColocationConfig:
    """Read an effective config back from ``to_json`` output (text or an already decoded dict).

    Strict: unknown sections or fields and wrong types raise ``DocumentError`` naming the
    path; a missing section or field, or ``null``, is unset.
    """
    obj = data if isinstance(data, Mapping) else decode_object(decode_text(data))
    values: list[Value] = [None] * FIELD_COUNT
    for key, section in obj.items():
        sec = SECTION_BY_KEY.get(key)
        if sec is None:
            raise DocumentError(f"{key}: unknown section")
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise DocumentError(f"{key}: must be an object, got {json_type_name(section)}")
        names = {f.name: f for f in sec.fields}
        for name, value in section.items():
            f = names.get(name)
            if f is None:
                raise DocumentError(f"{key}.{name}: unknown field")
            if value is None:
                continue
            if f.type is bool:
                ok = type(value) is bool
            elif f.type is int:
                ok = type(value) is int and INT64_MIN <= value <= INT64_MAX
            else:
                ok = type(value) is str
            if not ok:
                raise DocumentError(
                    f"{key}.{name}: must be {f.type.__name__}, got {json_type_name(value)}"
                )
            values[f.index] = value
    return ColocationConfig(tuple(values))
