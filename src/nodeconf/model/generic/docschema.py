"""The JSON Schema of a generic schema's whole layered document, generated from its ``Spec``.

``spec_schema(spec, partial)`` writes a ``Spec`` back as JSON Schema (draft 2020-12); with
``partial`` every ``required`` is dropped, because a layer (``globalConfig``, an override)
only sets what it changes: what is required is checked on the merged config.
``document_schema(spec)`` is the document: ``globalConfig`` (a partial config),
``nodesConfig`` (each a selector plus a partial config) and, under ``$defs.config``, the
schema of one effective config. Label selectors are described as in the colocation schema.

What it cannot say: that a required key must be set by *some* layer, and the cross-field
rules; ``nodeconf validate --schema`` checks both.

Thread-safety: pure; returns new dicts on every call.
"""

from __future__ import annotations

from typing import Any, Final

from nodeconf.model.generic.spec import UNSET, Spec
from nodeconf.model.labels import DNS1123_SUBDOMAIN_PATTERN, NAME_MAX, NAME_PATTERN, PREFIX_MAX
from nodeconf.model.selectors import OPERATORS

__all__ = ["document_schema", "selector_schema", "spec_schema"]

_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
_ORDER: Final = ("null", "boolean", "object", "array", "number", "string", "integer")
_SCALARS: Final = (
    ("minimum", "minimum"),
    ("maximum", "maximum"),
    ("exclusive_minimum", "exclusiveMinimum"),
    ("exclusive_maximum", "exclusiveMaximum"),
    ("min_length", "minLength"),
    ("max_length", "maxLength"),
    ("min_items", "minItems"),
    ("max_items", "maxItems"),
)


def spec_schema(spec: Spec, *, partial: bool) -> dict[str, Any]:
    """``spec`` as a JSON Schema object (see the module docstring)."""
    out: dict[str, Any] = {}
    if spec.title is not None:
        out["title"] = spec.title
    if spec.description is not None:
        out["description"] = spec.description
    if spec.types is not None:
        names = [t for t in _ORDER if t in spec.types]
        out["type"] = names[0] if len(names) == 1 else names
    if spec.enum is not None:
        out["enum"] = list(spec.enum)
    if spec.const is not UNSET:
        out["const"] = spec.const
    for attr, keyword in _SCALARS:
        value = getattr(spec, attr)
        if value is not None:
            out[keyword] = value
    if spec.pattern is not None:
        out["pattern"] = spec.pattern.pattern
    if spec.properties:
        out["properties"] = {k: spec_schema(v, partial=partial) for k, v in spec.properties.items()}
    if spec.required and not partial:
        out["required"] = list(spec.required)
    if isinstance(spec.additional, Spec):
        out["additionalProperties"] = spec_schema(spec.additional, partial=partial)
    elif spec.additional is False or (spec.additional and spec.properties):
        out["additionalProperties"] = spec.additional
    if spec.items is not None:
        out["items"] = spec_schema(spec.items, partial=partial)
    if spec.default is not UNSET:
        out["default"] = spec.default
    return out


def selector_schema() -> dict[str, Any]:
    """A Kubernetes label selector (as the colocation document's)."""
    name = NAME_PATTERN
    key = f"^({DNS1123_SUBDOMAIN_PATTERN}/)?{name}$"
    value = {"type": "string", "maxLength": NAME_MAX, "pattern": f"^({name})?$"}
    return {
        "type": "object",
        "description": "Kubernetes label selector. Missing: matches no node; {}: every node.",
        "properties": {
            "matchLabels": {
                "type": ["object", "null"],
                "propertyNames": {"pattern": key, "maxLength": PREFIX_MAX + 1 + NAME_MAX},
                "additionalProperties": value,
            },
            "matchExpressions": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "required": ["key", "operator"],
                    "properties": {
                        "key": {"type": "string", "pattern": key},
                        "operator": {"enum": list(OPERATORS)},
                        "values": {"type": ["array", "null"], "items": value},
                    },
                },
            },
        },
    }


def document_schema(spec: Spec, title: str) -> dict[str, Any]:
    """The schema of the layered document for the config ``spec``."""
    layer = spec_schema(spec, partial=True)
    layer.pop("default", None)
    override = dict(layer)
    override["properties"] = {
        "selector": {"$ref": "#/$defs/labelSelector"},
        **layer.get("properties", {}),
    }
    return {
        "$schema": _DIALECT,
        "title": f"{title}: layered document (globalConfig, then the matching nodesConfig)",
        "type": "object",
        "properties": {
            "globalConfig": {**layer, "type": ["object", "null"]},
            "nodesConfig": {"type": ["array", "null"], "items": override},
        },
        "$defs": {"config": spec_schema(spec, partial=False), "labelSelector": selector_schema()},
    }
