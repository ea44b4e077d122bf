"""Generic schemas: each supported keyword, several errors at once, paths into layers, and
schemas that are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.errors import DocumentError, Issue, SchemaError
from nodeconf.model.generic import JsonSchemaConfig


def errors_for(prop: dict[str, Any], value: Any) -> list[str]:
    """The errors of ``{"x": value}`` against a schema whose property ``x`` is ``prop``."""
    s = JsonSchemaConfig.from_dict({"type": "object", "properties": {"x": prop}})
    evaluation = s.evaluate(s.parse(json.dumps({"globalConfig": {"x": value}})), {})
    return [str(issue) for issue in evaluation.errors]


KEYWORD_CASES = [
    ("type string", {"type": "string"}, 5, "must be a string, got integer (type)"),
    ("type list", {"type": ["string", "null"]}, 5, "must be null or a string, got integer"),
    ("integer is not boolean", {"type": "integer"}, True, "must be an integer, got boolean"),
    ("integer refuses 1.5", {"type": "integer"}, 1.5, "must be an integer, got number"),
    ("enum", {"enum": ["a", "b"]}, "c", 'must be one of "a", "b" (enum)'),
    ("enum keeps true apart from 1", {"enum": [1]}, True, "must be one of 1 (enum)"),
    ("const", {"const": "on"}, "off", 'must be "on" (const)'),
    ("minimum", {"type": "integer", "minimum": 1}, 0, "must be >= 1 (minimum)"),
    ("maximum", {"type": "number", "maximum": 1.5}, 2, "must be <= 1.5 (maximum)"),
    ("exclusiveMinimum", {"type": "number", "exclusiveMinimum": 0}, 0, "must be > 0"),
    ("exclusiveMaximum", {"type": "number", "exclusiveMaximum": 10}, 10, "must be < 10"),
    ("minLength", {"type": "string", "minLength": 2}, "a", "at least 2 characters"),
    ("maxLength", {"type": "string", "maxLength": 1}, "ab", "at most 1 character (maxLength)"),
    ("pattern is unanchored", {"type": "string", "pattern": "^[a-z]+$"}, "A", "must match"),
    ("items", {"type": "array", "items": {"type": "integer"}}, [1, "2"], "x[1]: must be an"),
    ("minItems", {"type": "array", "minItems": 1}, [], "at least 1 item (minItems)"),
    ("maxItems", {"type": "array", "maxItems": 1}, [1, 2], "at most 1 item (maxItems)"),
    (
        "required",
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {},
        "globalConfig.x.a: required, missing (required)",
    ),
    (
        "additionalProperties false",
        {"type": "object", "properties": {}, "additionalProperties": False},
        {"y": 1},
        "x.y: unknown key, not allowed (additionalProperties: false)",
    ),
    (
        "additionalProperties schema",
        {"type": "object", "additionalProperties": {"type": "integer"}},
        {"y": "1"},
        "x.y: must be an integer, got string",
    ),
]


@pytest.mark.parametrize(
    ("prop", "value", "expected"),
    [case[1:] for case in KEYWORD_CASES],
    ids=[case[0] for case in KEYWORD_CASES],
)
def test_each_keyword_reports_its_rule(prop: dict[str, Any], value: Any, expected: str) -> None:
    """A value breaking one keyword gives one error naming the rule."""
    found = errors_for(prop, value)
    assert len(found) == 1, found
    assert expected in found[0]


VALID_CASES = [
    ("integer accepts 2.0", {"type": "integer"}, 2.0),
    ("number accepts an integer", {"type": "number"}, 2),
    ("enum compares 1 and 1.0 equal", {"enum": [1]}, 1.0),
    ("pattern matches anywhere", {"type": "string", "pattern": "b"}, "abc"),
    ("minLength counts code points", {"type": "string", "maxLength": 1}, "é"),
    ("object without properties keeps any key", {"type": "object"}, {"any": [1]}),
]


@pytest.mark.parametrize(
    ("prop", "value"), [case[1:] for case in VALID_CASES], ids=[case[0] for case in VALID_CASES]
)
def test_valid_values_pass(prop: dict[str, Any], value: Any) -> None:
    """Values JSON Schema accepts pass."""
    assert errors_for(prop, value) == []


SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "limits": {
            "type": "object",
            "properties": {
                "rate": {"type": "integer", "minimum": 1, "default": 10},
                "burst": {"type": "integer", "minimum": 1, "default": 20},
            },
        },
        "name": {"type": "string", "minLength": 1},
    },
    "required": ["name"],
}


def check(document: dict[str, Any], labels: dict[str, str] | None = None) -> list[str]:
    s = JsonSchemaConfig.from_dict(SCHEMA)
    doc = s.parse(json.dumps(document))
    issues = s.check_document(doc) if labels is None else s.evaluate(doc, labels).errors
    return [str(i) for i in issues]


def test_several_errors_are_reported_at_once() -> None:
    """Every error of a config is reported, each with its own path."""
    found = check({"globalConfig": {"name": "", "limits": {"rate": 0, "burst": "x"}}}, {})
    assert found == [
        "globalConfig.limits.rate: must be >= 1 (minimum) (value: 0)",
        'globalConfig.limits.burst: must be an integer, got string (type) (value: "x")',
        'globalConfig.name: must be at least 1 character (minLength) (value: "")',
    ]


def test_error_points_into_the_override_that_wrote_the_value() -> None:
    """A bad value from an override is reported at nodesConfig[i].<path>."""
    document = {
        "globalConfig": {"name": "n"},
        "nodesConfig": [
            {"selector": {"matchLabels": {"pool": "a"}}, "limits": {"burst": 5}},
            {"selector": {"matchLabels": {"pool": "b"}}, "limits": {"rate": -1}},
        ],
    }
    assert check(document, {"pool": "b"}) == [
        "nodesConfig[1].limits.rate: must be >= 1 (minimum) (value: -1)"
    ]
    assert check(document) == ["nodesConfig[1].limits.rate: must be >= 1 (minimum) (value: -1)"]


def test_missing_required_key_points_at_global_config() -> None:
    """A required key nobody set is reported where it should be written."""
    assert check({"globalConfig": {}}) == [
        "globalConfig.name: required, missing (required) (value: null)"
    ]


def test_node_free_check_reports_each_problem_once() -> None:
    """A global error shared by every override is reported once, at globalConfig."""
    document = {
        "globalConfig": {"limits": {"rate": 0}},
        "nodesConfig": [{"selector": {}, "name": "a"}, {"selector": {}, "name": "b"}],
    }
    assert check(document) == [
        "globalConfig.name: required, missing (required) (value: null)",
        "globalConfig.limits.rate: must be >= 1 (minimum) (value: 0)",
    ]


def test_a_default_breaking_a_rule_is_blamed_on_defaults() -> None:
    """A value nobody set comes from the defaults, and the path says so."""
    s = JsonSchemaConfig.from_dict(
        {
            "type": "object",
            "properties": {
                "low": {"type": "integer", "default": 5},
                "high": {"type": "integer", "default": 9},
            },
        },
        rules=lambda c: [Issue("low", c["low"], "above high")] if c["low"] > c["high"] else [],
    )
    evaluation = s.evaluate(s.parse('{"globalConfig": {"high": 1}}'), {})
    assert [str(i) for i in evaluation.errors] == ["defaults.low: above high (value: 5)"]


def test_unknown_keys_are_warnings_with_a_hint() -> None:
    """An unknown key is a warning with its path and a "did you mean" hint, not an error."""
    s = JsonSchemaConfig.from_dict(SCHEMA)
    doc = s.parse(
        json.dumps(
            {
                "globalConfig": {"name": "n", "limits": {"rat": 1}},
                "nodesConfig": [{"selector": {}, "nmae": "x"}],
                "extra": 1,
            }
        )
    )
    assert [(w.path, w.severity) for w in doc.warnings] == [
        ("globalConfig.limits.rat", "warning"),
        ("nodesConfig[0].nmae", "warning"),
        ("extra", "warning"),
    ]
    assert "did you mean 'rate'?" in doc.warnings[0].message
    assert s.check_document(doc) == ()


def test_duplicate_keys_are_warnings() -> None:
    """A duplicated key keeps the last value and is reported, even with URLs in values."""
    s = JsonSchemaConfig.from_dict(SCHEMA)
    doc = s.parse('{"globalConfig": {"name": "http://a:1", "name": "b"}}')
    assert [w.path for w in doc.warnings] == ["globalConfig.name"]
    assert s.evaluate(doc, {}).config["name"] == "b"


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"globalConfig": 5}, "globalConfig"),
        ({"nodesConfig": {}}, "nodesConfig"),
        ({"nodesConfig": [7]}, "nodesConfig[0]"),
        ({"nodesConfig": [{"selector": {"matchLabels": []}}]}, "nodesConfig[0].selector"),
    ],
)
def test_document_structure_errors_block_every_node(document: Any, path: str) -> None:
    """A document part of the wrong JSON type is an error of every node's evaluation."""
    s = JsonSchemaConfig.from_dict(SCHEMA)
    errors = s.evaluate(s.parse(json.dumps(document)), {}).errors
    assert any(e.path.startswith(path) for e in errors), errors


def test_entries_that_are_not_objects_are_reported_at_their_index_and_skipped() -> None:
    """A null entry is a warning, a number an error, each at its index; the others still count."""
    s = JsonSchemaConfig.from_dict(SCHEMA)
    entries = [None, {"selector": {"matchLabels": {"pool": "a"}}}, 7]
    doc = s.parse(json.dumps({"nodesConfig": entries}))
    assert [(w.path, w.message) for w in doc.warnings] == [
        ("nodesConfig[0]", "null entry: it applies to no node")
    ]
    assert [e.path for e in doc.errors] == ["nodesConfig[2]"]
    assert [position for position, _, _ in doc.entries] == [1]


@pytest.mark.parametrize("text", ["", "[1]", "null", '{"a": NaN}', b"\xff"])
def test_unreadable_documents_raise_document_error(text: str | bytes) -> None:
    """Text that is not a JSON object raises DocumentError, nothing else."""
    with pytest.raises(DocumentError):
        JsonSchemaConfig.from_dict(SCHEMA).parse(text)


REFUSED = [
    ({"type": "object", "oneOf": []}, "oneOf", "keyword 'oneOf' is not supported"),
    (
        {"type": "object", "properties": {"a": {"anyOf": [{}]}}},
        "properties.a.anyOf",
        "not supported",
    ),
    ({"type": "object", "patternProperties": {}}, "patternProperties", "not supported"),
    ({"type": "array"}, "type", "the config must be an object"),
    ({"type": "object", "properties": {"a": {"type": "int"}}}, "properties.a.type", "one of"),
    ({"type": "object", "properties": {"a": {"pattern": "("}}}, "properties.a.pattern", "regular"),
    (
        {"type": "object", "properties": {"a": {"$ref": "other.json#/x"}}},
        "properties.a.$ref",
        "inside this file",
    ),
    (
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/nope"}}},
        "properties.a.$ref",
        "points to nothing",
    ),
    (
        {
            "type": "object",
            "$defs": {"n": {"type": "object", "properties": {"n": {"$ref": "#/$defs/n"}}}},
        },
        "$ref",
        "recursive reference",
    ),
    (
        {"type": "object", "properties": {"a": {"type": "integer", "default": "x"}}},
        "properties.a.default",
        "the default breaks its own schema",
    ),
    (
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object"},
        "$schema",
        "2020-12",
    ),
    ({"type": "object", "x-nodeconf": {"overrides": "first"}}, "x-nodeconf.overrides", "one of"),
    ({"type": "object", "properties": {"selector": {}}}, "properties.selector", "reserved"),
    ({"type": "object", "$defs": {"d": {"if": {}}}}, "$defs.d.if", "not supported"),
]


@pytest.mark.parametrize(("schema", "path", "reason"), REFUSED)
def test_unsupported_or_broken_schemas_are_refused(
    schema: dict[str, Any], path: str, reason: str
) -> None:
    """A schema nodeconf cannot honour raises SchemaError naming the keyword's path."""
    with pytest.raises(SchemaError) as caught:
        JsonSchemaConfig.from_dict(schema, source="s.json")
    assert caught.value.source == "s.json"
    assert path in caught.value.path
    assert reason in caught.value.reason
    assert "\n" not in str(caught.value)


def test_unreadable_schema_text_names_the_file() -> None:
    """Schema text that is not JSON raises SchemaError with the file, line and column."""
    with pytest.raises(SchemaError, match=r"^s\.json: 1:2: invalid JSON"):
        JsonSchemaConfig.from_text("{x", source="s.json")


def test_annotations_are_accepted() -> None:
    """Annotations (title, description, examples, format, $comment, ...) are accepted."""
    s = JsonSchemaConfig.from_dict(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://example.com/s",
            "title": "mine",
            "type": "object",
            "properties": {
                "u": {"type": "string", "format": "uri", "examples": ["x"], "$comment": "c"}
            },
        }
    )
    assert s.name == "mine"
    assert s.evaluate(s.parse('{"globalConfig": {"u": "not a uri"}}'), {}).valid


def test_rules_that_raise_are_reported_not_raised() -> None:
    """A cross-field rule that raises becomes an error of the evaluation."""

    def broken(config: Any) -> list[Issue]:
        raise KeyError("boom")

    s = JsonSchemaConfig.from_dict(SCHEMA, rules=broken)
    evaluation = s.evaluate(s.parse('{"globalConfig": {"name": "n"}}'), {})
    assert not evaluation.valid
    assert "cross-field rules raised KeyError" in evaluation.errors[0].message
