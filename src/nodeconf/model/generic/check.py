"""The checks of a generic config, its defaults, the layer merge and the unknown-key scan.

* ``validate(spec, value)`` returns **every** problem of ``value``, each as
  ``(parts, value, message)`` where ``parts`` is the path inside the config (keys and array
  indices). A value of the wrong type gets one problem and nothing below it is checked;
  everything else is checked independently (all properties, all items, every keyword). A
  message names the rule and its keyword, e.g. ``must be <= 100 (maximum)``.
* ``defaults_of(spec)``: the defaults layer. A ``default`` counts at any depth: an object's
  value is its own ``default`` (if any) with the defaults of its properties filled in where
  that default does not set them. Defaults inside ``items`` or ``additionalProperties`` are
  not applied (there is no element or key to apply them to).
* ``overlay(spec, base, layer)``: ``layer`` over ``base``: two objects merge key by key at every
  depth; anything else (a scalar, an array, ``null``) replaces what was there. Keys the schema
  does not know (and does not allow) are left out: they were reported while parsing.
* ``scan(spec, value, path, findings)``: warnings for unknown keys in one layer of a document,
  counting every key it passes (for the duplicate-key check).

Thread-safety: pure functions over immutable specs; ``scan`` writes only the caller's
``Findings``.
"""

from __future__ import annotations

from typing import Any, Final

from nodeconf.model.findings import Findings
from nodeconf.model.generic.spec import UNSET, Spec, json_equal, show, type_of
from nodeconf.model.jsontext import count_keys, join_path

__all__ = ["Parts", "Problem", "defaults_of", "overlay", "render_path", "scan", "validate"]

#: A path inside a config: keys and array indices.
Parts = tuple[str | int, ...]
#: One problem: where, the value found there (``None`` when missing), the rule broken.
Problem = tuple[Parts, object, str]

_ARTICLE: Final = {
    "null": "null",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
    "number": "a number",
    "string": "a string",
    "integer": "an integer",
}


def render_path(prefix: str, parts: Parts) -> str:
    """``prefix`` followed by ``parts``: ``nodesConfig[1].limits.rate``, ``tags[0]``."""
    path = prefix
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else join_path(path, part)
    return path


def _expected(types: frozenset[str]) -> str:
    return " or ".join(_ARTICLE[t] for t in sorted(types))


def _type_ok(types: frozenset[str], value: object) -> bool:
    t = type_of(value)
    if t in types:
        return True
    if t == "integer":
        return "number" in types
    if t == "number" and "integer" in types:
        return float(value).is_integer()  # type: ignore[arg-type]
    return False


def validate(spec: Spec, value: object) -> list[Problem]:
    """Every problem of ``value`` against ``spec`` (see the module docstring)."""
    out: list[Problem] = []
    _check(spec, value, (), out)
    return out


def _check(spec: Spec, value: object, parts: Parts, out: list[Problem]) -> None:
    types = spec.types
    if types is not None and not _type_ok(types, value):
        out.append((parts, value, f"must be {_expected(types)}, got {type_of(value)} (type)"))
        return
    if spec.const is not UNSET and not json_equal(value, spec.const):
        out.append((parts, value, f"must be {show(spec.const)} (const)"))
    if spec.enum is not None and not any(json_equal(value, v) for v in spec.enum):
        shown = ", ".join(show(v) for v in spec.enum)
        out.append((parts, value, f"must be one of {shown} (enum)"))
    kind = type_of(value)
    if kind in ("integer", "number"):
        _check_number(spec, value, parts, out)  # type: ignore[arg-type]
    elif kind == "string":
        _check_string(spec, value, parts, out)  # type: ignore[arg-type]
    elif kind == "array":
        _check_array(spec, value, parts, out)  # type: ignore[arg-type]
    elif kind == "object":
        _check_object(spec, value, parts, out)  # type: ignore[arg-type]


def _check_number(spec: Spec, value: float, parts: Parts, out: list[Problem]) -> None:
    if spec.minimum is not None and value < spec.minimum:
        out.append((parts, value, f"must be >= {show(spec.minimum)} (minimum)"))
    if spec.exclusive_minimum is not None and value <= spec.exclusive_minimum:
        out.append((parts, value, f"must be > {show(spec.exclusive_minimum)} (exclusiveMinimum)"))
    if spec.maximum is not None and value > spec.maximum:
        out.append((parts, value, f"must be <= {show(spec.maximum)} (maximum)"))
    if spec.exclusive_maximum is not None and value >= spec.exclusive_maximum:
        out.append((parts, value, f"must be < {show(spec.exclusive_maximum)} (exclusiveMaximum)"))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _check_string(spec: Spec, value: str, parts: Parts, out: list[Problem]) -> None:
    n = len(value)  # code points, as JSON Schema counts
    if spec.min_length is not None and n < spec.min_length:
        out.append(
            (parts, value, f"must be at least {_plural(spec.min_length, 'character')} (minLength)")
        )
    if spec.max_length is not None and n > spec.max_length:
        out.append(
            (parts, value, f"must be at most {_plural(spec.max_length, 'character')} (maxLength)")
        )
    if spec.pattern is not None and spec.pattern.search(value) is None:
        out.append((parts, value, f"must match {show(spec.pattern.pattern)} (pattern)"))


def _check_array(spec: Spec, value: list[Any], parts: Parts, out: list[Problem]) -> None:
    n = len(value)
    if spec.min_items is not None and n < spec.min_items:
        out.append(
            (parts, value, f"must have at least {_plural(spec.min_items, 'item')} (minItems)")
        )
    if spec.max_items is not None and n > spec.max_items:
        out.append(
            (parts, value, f"must have at most {_plural(spec.max_items, 'item')} (maxItems)")
        )
    items = spec.items
    if items is not None:
        for i, item in enumerate(value):
            _check(items, item, (*parts, i), out)


def _check_object(spec: Spec, value: dict[str, Any], parts: Parts, out: list[Problem]) -> None:
    for key in spec.required:
        if key not in value:
            out.append(((*parts, key), None, "required, missing (required)"))
    properties = spec.properties
    additional = spec.additional
    for key, item in value.items():
        sub = properties.get(key)
        if sub is not None:
            _check(sub, item, (*parts, key), out)
        elif additional is False:
            out.append(
                ((*parts, key), item, "unknown key, not allowed (additionalProperties: false)")
            )
        elif isinstance(additional, Spec):
            _check(additional, item, (*parts, key), out)


def defaults_of(spec: Spec) -> object:
    """The defaults layer of ``spec`` (``UNSET`` when it sets nothing); a fresh value."""
    own = spec.default
    if not spec.properties:
        return _copy(own) if own is not UNSET else UNSET
    found: dict[str, Any] = {}
    for key, sub in spec.properties.items():
        value = defaults_of(sub)
        if value is not UNSET:
            found[key] = value
    if own is UNSET:
        return found if found else UNSET
    if type(own) is not dict:
        return _copy(own)
    return _merge_plain(found, _copy(own))


def _copy(value: Any) -> Any:
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value


def _merge_plain(base: dict[str, Any], layer: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in layer.items():
        old = out.get(key)
        out[key] = _merge_plain(old, value) if type(old) is dict and type(value) is dict else value
    return out


def overlay(spec: Spec | None, base: object, layer: object, skip: str | None = None) -> object:
    """``layer`` over ``base`` (see the module docstring). Shares unchanged subtrees of
    ``base`` and ``layer`` (nothing here mutates them); returns new dicts where it merged.
    The key ``skip`` of ``layer`` (an override's selector) is left out."""
    if type(layer) is not dict or type(base) is not dict:
        return _known(spec, layer)
    out = dict(base)
    for key, value in layer.items():
        if key == skip:
            continue
        if spec is None:
            sub = None
        else:
            sub = spec.properties.get(key)
            if sub is None:
                if spec.additional is None:
                    continue  # unknown: warned about while parsing, left out
                sub = spec.additional if isinstance(spec.additional, Spec) else None
        old = out.get(key, UNSET)
        out[key] = _known(sub, value) if old is UNSET else overlay(sub, old, value)
    return out


def _known(spec: Spec | None, value: object) -> object:
    """``value`` without the keys the schema does not know (a copy only where one is left
    out)."""
    if spec is None:
        return value
    if type(value) is dict:
        properties, additional = spec.properties, spec.additional
        if additional is None and any(k not in properties for k in value):
            return {k: _known(properties[k], v) for k, v in value.items() if k in properties}
        child = additional if isinstance(additional, Spec) else None
        changed = False
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = properties.get(k, child)
            new = _known(sub, v)
            changed = changed or new is not v
            out[k] = new
        return out if changed else value
    if type(value) is list and spec.items is not None:
        items = spec.items
        new_list = [_known(items, v) for v in value]
        if any(a is not b for a, b in zip(new_list, value, strict=True)):
            return new_list
    return value


def scan(
    spec: Spec | None,
    value: object,
    prefix: str,
    parts: Parts,
    findings: Findings,
    *,
    skip: str | None = None,
) -> None:
    """Warn about every unknown key of one layer: ``value`` is found at ``parts`` below
    ``prefix`` (the path is only built for a warning: this runs for every override). The key
    ``skip`` of ``value`` (an override's selector) is not looked at."""
    if spec is None:
        findings.keys += count_keys(value)
        return
    if type(value) is dict:
        findings.keys += len(value)
        properties, additional = spec.properties, spec.additional
        for key, item in value.items():
            sub = properties.get(key)
            if sub is None:
                if key == skip:
                    continue
                if additional is None:
                    findings.unknown(render_path(prefix, parts), key, item, properties)
                    continue
                if not isinstance(additional, Spec):
                    findings.keys += count_keys(item)
                    continue
                sub = additional
            if type(item) is dict or type(item) is list:
                scan(sub, item, prefix, (*parts, key), findings)
    elif type(value) is list:
        items = spec.items
        for i, item in enumerate(value):
            if type(item) is dict or type(item) is list:
                scan(items, item, prefix, (*parts, i), findings)
