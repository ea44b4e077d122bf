"""The JSON Schema (draft 2020-12) of the colocation document, generated from the field table.

What the schema says, and what it cannot:

* every field with its JSON type (``null`` allowed everywhere: it means "not set"), its
  default, its description, and the single-field rules as ``minimum``/``maximum``/``pattern``;
  integers are bounded to signed 64 bits;
* label selectors: key and value syntax and length, the four operators, and (with
  ``if``/``then``) that ``In``/``NotIn`` need values while ``Exists``/``DoesNotExist`` must
  have none;
* unknown keys are allowed (nodeconf accepts them with a warning), so the schema does not
  forbid them;
* cross-field rules (a low watermark above the high one) are not expressible; they are named
  in the section descriptions and enforced by ``nodeconf validate``.

tests/model/test_model_schema_jsonschema.py checks all this with the ``jsonschema`` validator
against the default document, the bundled example and Volcano's reference cases.

Thread-safety: pure; returns a new dict on every call.
"""

from __future__ import annotations

from typing import Any, Final

from nodeconf.model.fields import INT64_MAX, INT64_MIN, SECTIONS, Field, Section
from nodeconf.model.labels import DNS1123_SUBDOMAIN_PATTERN, NAME_MAX, NAME_PATTERN, PREFIX_MAX
from nodeconf.model.rules import NotAbove
from nodeconf.model.selectors import OPERATORS

__all__ = ["SCHEMA_DIALECT", "json_schema"]

SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

_LABEL_NAME = NAME_PATTERN
_DNS_SUBDOMAIN = DNS1123_SUBDOMAIN_PATTERN
# Lookaheads (ECMA-262, as JSON Schema's "pattern" is) bound the prefix to PREFIX_MAX and the
# name to NAME_MAX characters: a length bound on the whole key cannot say which part is long.
_LABEL_KEY = (
    f"^((?=[^/]{{1,{PREFIX_MAX}}}/){_DNS_SUBDOMAIN}/)?(?=[^/]{{1,{NAME_MAX}}}$){_LABEL_NAME}$"
)
_LABEL_VALUE = f"^({_LABEL_NAME})?$"
_JSON_TYPE = {bool: "boolean", int: "integer", str: "string"}


def _field_schema(field: Field, section: Section) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": [_JSON_TYPE[field.type], "null"],
        "description": field.description,
    }
    if field.default is not None:
        schema["default"] = field.default
    if field.type is int:
        schema["minimum"] = INT64_MIN
        schema["maximum"] = INT64_MAX
    for rule in section.rules:
        if not isinstance(rule, NotAbove) and rule.field == field.name:
            schema.update(rule.schema())
    return schema


def _section_schema(section: Section) -> dict[str, Any]:
    description = section.description
    for rule in section.rules:
        if isinstance(rule, NotAbove):
            description += f" {rule.low} must not be greater than {rule.high}."
    return {
        "type": ["object", "null"],
        "description": description,
        "properties": {f.name: _field_schema(f, section) for f in section.fields},
    }


def _selector_schema() -> dict[str, Any]:
    label_value = {"type": "string", "maxLength": NAME_MAX, "pattern": _LABEL_VALUE}
    requirement = {
        "type": "object",
        "required": ["key", "operator"],
        "properties": {
            "key": {
                "type": "string",
                "maxLength": PREFIX_MAX + 1 + NAME_MAX,
                "pattern": _LABEL_KEY,
            },
            "operator": {"enum": list(OPERATORS)},
            "values": {"type": ["array", "null"], "items": label_value},
        },
        "allOf": [
            {
                "if": {"properties": {"operator": {"enum": ["In", "NotIn"]}}},
                "then": {"required": ["values"], "properties": {"values": {"minItems": 1}}},
            },
            {
                "if": {"properties": {"operator": {"enum": ["Exists", "DoesNotExist"]}}},
                "then": {"properties": {"values": {"maxItems": 0}}},
            },
        ],
    }
    return {
        "type": ["object", "null"],
        "description": "Kubernetes label selector. Missing: matches no node; {}: every node.",
        "properties": {
            "matchLabels": {
                "type": ["object", "null"],
                "propertyNames": {"pattern": _LABEL_KEY},
                "additionalProperties": label_value,
            },
            "matchExpressions": {"type": ["array", "null"], "items": requirement},
        },
    }


def json_schema() -> dict[str, Any]:
    """The schema of the ``colocation-config`` document."""
    sections = {s.key: {"$ref": f"#/$defs/{s.key}"} for s in SECTIONS}
    defs: dict[str, Any] = {s.key: _section_schema(s) for s in SECTIONS}
    defs["colocationConfig"] = {
        "type": ["object", "null"],
        "description": "Every section is optional; unset fields keep the defaults.",
        "properties": sections,
    }
    defs["labelSelector"] = _selector_schema()
    defs["nodesConfig"] = {
        "type": "object",
        "description": "Overrides for the nodes the selector matches; the last match wins.",
        "properties": {"selector": {"$ref": "#/$defs/labelSelector"}, **sections},
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "Volcano agent colocation configuration (ConfigMap key colocation-config)",
        "type": "object",
        "properties": {
            "globalConfig": {"$ref": "#/$defs/colocationConfig"},
            "nodesConfig": {"type": ["array", "null"], "items": {"$ref": "#/$defs/nodesConfig"}},
        },
        "$defs": defs,
    }
