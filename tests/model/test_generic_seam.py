"""Generic schemas behind the ConfigSchema seam: effective config values, sections, the
default and prepared documents, the generated document schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.errors import DocumentError
from nodeconf.model.generic import JsonConfig, JsonSchemaConfig
from nodeconf.model.seam import ConfigSchema

SCHEMA: dict[str, Any] = {
    "title": "demo",
    "type": "object",
    "properties": {
        "a": {"type": "object", "properties": {"x": {"type": "integer", "default": 1}}},
        "b": {"type": "array", "items": {"type": "integer"}, "default": [1]},
        "c": {"type": "string"},
    },
    "required": ["c"],
}


@pytest.fixture
def schema() -> JsonSchemaConfig:
    return JsonSchemaConfig.from_dict(SCHEMA)


def test_it_is_a_config_schema(schema: JsonSchemaConfig) -> None:
    """JsonSchemaConfig satisfies the ConfigSchema protocol the manager uses."""
    typed: ConfigSchema[JsonConfig] = schema
    assert typed.name == "demo"
    assert typed.section_names() == ("a", "b", "c")


def test_json_config_compares_by_value_and_is_immutable() -> None:
    """Equal JSON gives equal, equally hashed configs; 1, 1.0 and true differ; no mutation."""
    a, b = JsonConfig({"a": {"x": 1}, "b": [1]}), JsonConfig({"b": [1], "a": {"x": 1}})
    assert a == b
    assert hash(a) == hash(b)
    assert JsonConfig({"v": 1}) != JsonConfig({"v": 1.0})
    assert JsonConfig({"v": 1}) != JsonConfig({"v": True})
    a.to_json()["a"]["x"] = 99
    a["a"]["x"] = 99
    assert a == b
    with pytest.raises(AttributeError):
        a._data = {}  # type: ignore[misc]


def test_changed_sections_are_top_level_keys(schema: JsonSchemaConfig) -> None:
    """changed_sections names the top-level keys whose values differ (all when no old one)."""
    old = JsonConfig({"a": {"x": 1}, "b": [1], "c": "s"})
    new = JsonConfig({"a": {"x": 2}, "b": [1], "c": "s"})
    assert schema.changed_sections(old, new) == frozenset({"a"})
    assert schema.changed_sections(old, old) == frozenset()
    assert schema.changed_sections(None, new) == frozenset({"a", "b", "c"})
    assert schema.changed_sections(old, JsonConfig({"a": {"x": 1}, "b": [1]})) == {"c"}


def test_default_document_holds_the_defaults(schema: JsonSchemaConfig) -> None:
    """The default document is {"globalConfig": <defaults>} and parses without warnings."""
    text = schema.default_document_text()
    assert json.loads(text) == {"globalConfig": {"a": {"x": 1}, "b": [1]}}
    assert schema.parse(text).warnings == ()


def test_prepare_backfills_a_missing_global_config_only(schema: JsonSchemaConfig) -> None:
    """prepare_document adds globalConfig when missing or null, and nothing else."""
    text, changed = schema.prepare_document('{"nodesConfig": [{"selector": {}, "zz": 1}]}')
    assert changed
    assert json.loads(text) == {
        "globalConfig": {"a": {"x": 1}, "b": [1]},
        "nodesConfig": [{"selector": {}, "zz": 1}],
    }
    assert schema.prepare_document('{"globalConfig": null}')[1]
    same = '{"globalConfig": {}, "other": 1}'
    assert schema.prepare_document(same) == (same, False)


@pytest.mark.parametrize("text", ['{"globalConfig": 3}', "[]", "{"])
def test_prepare_refuses_what_it_cannot_read(schema: JsonSchemaConfig, text: str) -> None:
    """prepare_document raises DocumentError for unreadable text or a non-object globalConfig."""
    with pytest.raises(DocumentError):
        schema.prepare_document(text)


def test_no_document_gives_the_defaults_and_reports_missing_required(
    schema: JsonSchemaConfig,
) -> None:
    """Without a document the defaults apply; a required key without a default is an error."""
    evaluation = schema.evaluate(None, {})
    assert evaluation.config.to_json() == {"a": {"x": 1}, "b": [1]}
    assert [e.path for e in evaluation.errors] == ["globalConfig.c"]


def test_generated_document_schema_describes_layers(schema: JsonSchemaConfig) -> None:
    """The document schema has partial layers (no required) and the full config in $defs."""
    doc = schema.json_schema()
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    layer = doc["properties"]["globalConfig"]
    assert "required" not in layer
    assert layer["properties"]["a"]["properties"]["x"] == {"type": "integer", "default": 1}
    override = doc["properties"]["nodesConfig"]["items"]
    assert override["properties"]["selector"] == {"$ref": "#/$defs/labelSelector"}
    assert doc["$defs"]["config"]["required"] == ["c"]
    assert schema.config_json_schema()["required"] == ["c"]


def test_generated_schema_compiles_back(schema: JsonSchemaConfig) -> None:
    """The config schema nodeconf writes is itself a schema nodeconf accepts."""
    again = JsonSchemaConfig.from_dict(schema.config_json_schema())
    assert again.defaults() == schema.defaults()


def test_evaluate_refuses_another_schemas_document(schema: JsonSchemaConfig) -> None:
    """Passing a document from another schema is a programming error (TypeError)."""
    from nodeconf.model import COLOCATION

    with pytest.raises(TypeError):
        schema.evaluate(COLOCATION.parse("{}"), {})


def test_load_json_schema_reads_a_file(tmp_path: Any) -> None:
    """load_json_schema compiles a file; an unreadable one is a SchemaError naming it."""
    from nodeconf import SchemaError, load_json_schema

    path = tmp_path / "s.json"
    path.write_text(json.dumps(SCHEMA))
    assert load_json_schema(path).section_names() == ("a", "b", "c")
    with pytest.raises(SchemaError, match=r"^.*missing\.json: cannot read: No such file"):
        load_json_schema(tmp_path / "missing.json")
