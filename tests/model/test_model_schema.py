"""ColocationSchema against the seam; label keys; the JSON Schema; the public names."""

from __future__ import annotations

import json

from nodeconf import model
from nodeconf.model import COLOCATION, FIELDS, SECTIONS, ColocationSchema, json_schema
from nodeconf.model.seam import ConfigSchema, Document


def test_colocation_schema_implements_the_seam() -> None:
    """ColocationSchema is a ConfigSchema and its documents are seam Documents."""
    schema: ConfigSchema = ColocationSchema()
    assert schema.name == "colocation"
    assert isinstance(schema.parse("{}"), Document)


def test_section_names_in_canonical_order() -> None:
    """section_names lists the nine sections in Volcano's order."""
    assert COLOCATION.section_names() == (
        "nodeLabelConfig",
        "cpuQosConfig",
        "cpuBurstConfig",
        "memoryQosConfig",
        "memoryQosV2Config",
        "networkQosConfig",
        "overSubscriptionConfig",
        "evictingConfig",
        "cpuThrottlingConfig",
    )


BASE_KEYS = {"volcano.sh/colocation", "volcano.sh/oversubscription", "colocation-policy"}


def test_label_keys_without_document_are_the_three_volcano_labels() -> None:
    """With no document: the two colocation labels and colocation-policy."""
    assert COLOCATION.label_keys(None) == BASE_KEYS


def test_label_keys_include_every_key_a_selector_mentions() -> None:
    """Every key in matchLabels and matchExpressions of valid selectors is added."""
    doc = COLOCATION.parse(
        json.dumps(
            {
                "globalConfig": {},
                "nodesConfig": [
                    {"selector": {"matchLabels": {"pool": "a"}}},
                    {
                        "selector": {
                            "matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]
                        }
                    },
                    {"selector": {"matchExpressions": [{"key": "bad", "operator": "Nope"}]}},
                ],
            }
        )
    )
    assert COLOCATION.label_keys(doc) == BASE_KEYS | {"pool", "zone"}


def test_json_schema_is_draft_2020_12_and_covers_every_field() -> None:
    """The schema declares its dialect and describes every field with its type and default."""
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = schema["$defs"]
    for field in FIELDS:
        prop = defs[field.section]["properties"][field.name]
        assert prop["type"][1] == "null"
        assert prop["type"][0] == {bool: "boolean", int: "integer", str: "string"}[field.type]
        if field.default is not None:
            assert prop["default"] == field.default
    assert set(defs["colocationConfig"]["properties"]) == {s.key for s in SECTIONS}
    assert json.loads(json.dumps(schema)) == schema


def test_json_schema_carries_single_field_rules() -> None:
    """Ranges and the overSubscriptionTypes pattern come from the rules table."""
    defs = json_schema()["$defs"]
    online = defs["networkQosConfig"]["properties"]["onlineBandwidthWatermarkPercent"]
    assert (online["minimum"], online["maximum"]) == (1, 1000)
    assert defs["cpuThrottlingConfig"]["properties"]["cpuJitterLimitPercent"]["minimum"] == 0
    assert defs["evictingConfig"]["properties"]["evictingCPULowWatermark"]["minimum"] == 1
    pattern = defs["overSubscriptionConfig"]["properties"]["overSubscriptionTypes"]["pattern"]
    import re

    assert re.fullmatch(pattern, "cpu,memory")
    assert re.fullmatch(pattern, "")
    assert not re.fullmatch(pattern, "cpu,gpu")


def test_json_schema_describes_selectors() -> None:
    """Selectors: the four operators and the value rules."""
    selector = json_schema()["$defs"]["labelSelector"]
    requirement = selector["properties"]["matchExpressions"]["items"]
    assert requirement["properties"]["operator"]["enum"] == [
        "In",
        "NotIn",
        "Exists",
        "DoesNotExist",
    ]


def test_model_exports_are_pinned() -> None:
    """The public names of nodeconf.model do not change by accident."""
    assert sorted(model.__all__) == sorted(
        [
            "COLOCATION",
            "COLOCATION_LABEL",
            "COLOCATION_POLICY_LABEL",
            "DEFAULT_CONFIG",
            "FEATURES",
            "FIELDS",
            "MAX_DOCUMENT_BYTES",
            "NODE_LABEL_KEYS",
            "OVERSUBSCRIPTION_LABEL",
            "SECTIONS",
            "SECTION_KEYS",
            "ColocationConfig",
            "ColocationDocument",
            "ColocationSchema",
            "ConfigSchema",
            "Document",
            "EffectiveConfig",
            "Evaluation",
            "Field",
            "Override",
            "Section",
            "Selector",
            "changed_sections",
            "check_document",
            "compile_selector",
            "config_from_json",
            "default_document_text",
            "evaluate_document",
            "explain",
            "feature_enabled",
            "features",
            "json_schema",
            "parse_bool",
            "parse_document",
            "parse_label_pairs",
            "prepare_document",
        ]
    )
    for name in model.__all__:
        assert hasattr(model, name)
