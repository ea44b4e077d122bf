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
* ``scan(spec, value, prefix, findings)``: warnings for unknown keys in one layer of a document,
  counting every key it passes (for the duplicate-key check).

Validation and the scan are compiled per ``Spec`` (``nodeconf.model.generic.compiled``).

Thread-safety: pure functions over immutable specs; ``scan`` writes only the caller's
``Findings``.
"""

from __future__ import annotations

from typing import Any

from nodeconf.model.findings import Findings
from nodeconf.model.generic.compiled import Problem, checker, render, scanner
from nodeconf.model.generic.spec import UNSET, Spec

__all__ = ["Parts", "Problem", "defaults_of", "overlay", "render_path", "scan", "validate"]

#: A path inside a config: keys and array indices.
Parts = tuple[str | int, ...]

#: ``prefix`` followed by ``parts``: ``nodesConfig[1].limits.rate``, ``tags[0]``.
render_path = render


def validate(spec: Spec, value: object) -> list[Problem]:
    """Every problem of ``value`` against ``spec`` (see the module docstring)."""
    out: list[Problem] = []
    checker(spec)(value, (), out)
    return out


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
    spec: Spec, value: object, prefix: str, findings: Findings, skip: str | None = None
) -> None:
    """Warn about every unknown key of one layer (``value``, found at ``prefix``); the key
    ``skip`` of ``value`` (an override's selector) is not looked at."""
    scanner(spec)(value, prefix, (), findings, skip)
