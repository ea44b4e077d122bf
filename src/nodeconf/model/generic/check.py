"""The checks of a generic config, and its defaults.

* ``validate(spec, value)`` returns **every** problem of ``value``, each as
  ``(parts, value, message)`` where ``parts`` is the path inside the config (keys and array
  indices). A value of the wrong type gets one problem and nothing below it is checked;
  everything else is checked independently (all properties, all items, every keyword). A
  message names the rule and its keyword, e.g. ``must be <= 100 (maximum)``.
* ``defaults_of(spec)``: the defaults layer. A ``default`` counts at any depth: an object's
  value is its own ``default`` (if any) with the defaults of its properties filled in where
  that default does not set them. Defaults inside ``items`` or ``additionalProperties`` are
  not applied (there is no element or key to apply them to).

Validation is compiled per ``Spec`` (``nodeconf.model.generic.compiled``), with a quick yes
for a valid value first (``accept``); the layer merge is ``merge``, the unknown-key scan of a
document's layers ``scan``.

Thread-safety: pure functions over immutable specs.
"""

from __future__ import annotations

from typing import Any

from nodeconf.model.generic.compiled import Problem, checker, render
from nodeconf.model.generic.merge import plain_merge
from nodeconf.model.generic.spec import UNSET, Spec

__all__ = ["Parts", "Problem", "defaults_of", "render_path", "validate"]

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
    return plain_merge(found, _copy(own), None)


def _copy(value: Any) -> Any:
    if type(value) is dict:
        return {k: _copy(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy(v) for v in value]
    return value
