"""Volcano's reference behaviour, restated case by case from its source (volcano-sh/volcano).

Each group names the Volcano file and function whose behaviour it pins. Where nodeconf
deliberately differs ("we improve" in the spec), the test says so in its docstring.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.errors import ConfigInvalid, DocumentError
from nodeconf.model import (
    COLOCATION,
    DEFAULT_CONFIG,
    MAX_DOCUMENT_BYTES,
    ColocationConfig,
    Evaluation,
    config_from_json,
    default_document_text,
    feature_enabled,
    features,
    prepare_document,
)

OVER = "volcano.sh/oversubscription"
COLO = "volcano.sh/colocation"
LOW_ABOVE_HIGH_CPU = "cpu evicting low watermark is higher than high watermark"


def parse(doc: object) -> Any:
    return COLOCATION.parse(doc if isinstance(doc, str) else json.dumps(doc))


def evaluate(doc: object, labels: dict[str, str] | None = None) -> Evaluation:
    return COLOCATION.evaluate(parse(doc), labels or {})


def value(result: Evaluation, section: str, field: str) -> object:
    assert isinstance(result.config, ColocationConfig)
    return result.config.value(section, field)


def messages(result: Evaluation) -> list[str]:
    return [issue.message for issue in result.errors]


# --- pkg/agent/config/utils/utils.go DefaultCfg, written by configmgr.go PrepareConfigmap -----
# Volcano creates the ConfigMap from its DefaultCfg text passed through Go's json.Indent(_, "",
# "  "): the text's own key order (cpuBurstConfig before cpuQosConfig), leading whitespace
# dropped, its trailing newline kept.

VOLCANO_CREATED_DOCUMENT = """{
  "globalConfig": {
    "nodeLabelConfig": {
      "nodeColocationEnable": true,
      "nodeOverSubscriptionEnable": false
    },
    "cpuBurstConfig": {
      "enable": false
    },
    "cpuQosConfig": {
      "enable": false
    },
    "memoryQosConfig": {
      "enable": false
    },
    "memoryQosV2Config": {
      "enable": false
    },
    "networkQosConfig": {
      "enable": false,
      "onlineBandwidthWatermarkPercent": 80,
      "offlineLowBandwidthPercent": 10,
      "offlineHighBandwidthPercent": 40,
      "qosCheckInterval": 10000000
    },
    "overSubscriptionConfig": {
      "enable": true,
      "overSubscriptionTypes": "cpu,memory"
    },
    "evictingConfig": {
      "evictingCPUHighWatermark": 80,
      "evictingMemoryHighWatermark": 60,
      "evictingCPULowWatermark": 30,
      "evictingMemoryLowWatermark": 30
    },
    "cpuThrottlingConfig": {
      "enable": false
    }
  }
}
"""


def test_default_document_is_byte_identical_to_what_volcano_creates() -> None:
    """The created ConfigMap text equals json.Indent(DefaultCfg) byte for byte."""
    assert default_document_text() == VOLCANO_CREATED_DOCUMENT


def test_rendered_config_keeps_go_struct_order() -> None:
    """A rendered effective config follows the ColocationConfig struct (cpuQos first)."""
    assert list(DEFAULT_CONFIG.to_json())[1:3] == ["cpuQosConfig", "cpuBurstConfig"]


# --- Go encoding/json (json.Unmarshal in configmap_source.go GetLatestConfig) ----------------
# Struct fields match keys exactly or, failing that, case-insensitively (Go's foldName: ASCII
# case, plus U+212A KELVIN SIGN for k and U+017F LONG S for s). nodeconf uses such a value as
# Volcano does, and warns (we improve: the spelling is visible).


@pytest.mark.parametrize(
    ("doc", "section", "field", "expected"),
    [
        (
            {"globalConfig": {"evictingConfig": {"evictingCpuHighWatermark": 90}}},
            "evictingConfig",
            "evictingCPUHighWatermark",
            90,
        ),
        ({"globalConfig": {"CPUQosConfig": {"Enable": True}}}, "cpuQosConfig", "enable", True),
        (
            {"globalConfig": {"memoryQoSConfig": {"enable": True}}},
            "memoryQosConfig",
            "enable",
            True,
        ),
        ({"GlobalConfig": {"cpuBurstConfig": {"enable": True}}}, "cpuBurstConfig", "enable", True),
        (
            {"globalConfig": {"networ\u212aQosConfig": {"enable": True}}},
            "networkQosConfig",
            "enable",
            True,
        ),
        (
            {"globalConfig": {"overSub\u017fcriptionConfig": {"enable": False}}},
            "overSubscriptionConfig",
            "enable",
            False,
        ),
        (
            {
                "globalConfig": {},
                "NodesConfig": [{"Selector": {}, "EVICTINGCONFIG": {"evictingcpulowwatermark": 5}}],
            },
            "evictingConfig",
            "evictingCPULowWatermark",
            5,
        ),
    ],
)
def test_keys_differing_in_case_are_read_as_go_reads_them(
    doc: dict[str, Any], section: str, field: str, expected: object
) -> None:
    """A key that matches a field only case-insensitively sets that field."""
    result = evaluate(doc)
    assert value(result, section, field) == expected
    assert result.valid


def test_a_case_insensitive_match_is_a_warning_at_the_path_as_written() -> None:
    """The key as written is reported, with the spelling Volcano's struct uses."""
    doc = parse({"globalConfig": {"evictingConfig": {"evictingCpuHighWatermark": 90}}})
    (warning,) = doc.warnings
    assert warning.path == "globalConfig.evictingConfig.evictingCpuHighWatermark"
    assert warning.value == 90
    assert "'evictingCPUHighWatermark'" in warning.message
    assert doc.errors == ()


def test_selector_keys_match_case_insensitively_too() -> None:
    """matchLabels/matchExpressions and key/operator/values are struct fields: they fold."""
    doc = {
        "globalConfig": {},
        "nodesConfig": [
            {
                "selector": {
                    "MatchLabels": {"pool": "a"},
                    "matchexpressions": [{"Key": "zone", "OPERATOR": "In", "Values": ["x"]}],
                },
                "cpuQosConfig": {"enable": True},
            }
        ],
    }
    assert value(evaluate(doc, {"pool": "a", "zone": "x"}), "cpuQosConfig", "enable") is True
    assert value(evaluate(doc, {"pool": "a", "zone": "y"}), "cpuQosConfig", "enable") is False


def test_label_keys_in_match_labels_never_fold() -> None:
    """matchLabels is a map: its keys are label keys, compared exactly."""
    doc = {
        "globalConfig": {},
        "nodesConfig": [
            {"selector": {"matchLabels": {"Zone": "a"}}, "cpuQosConfig": {"enable": True}}
        ],
    }
    assert value(evaluate(doc, {"zone": "a"}), "cpuQosConfig", "enable") is False
    assert value(evaluate(doc, {"Zone": "a"}), "cpuQosConfig", "enable") is True


def test_non_ascii_lookalikes_do_not_match() -> None:
    """Only Go's two special folds count: an accented letter makes an unknown key."""
    doc = parse({"globalConfig": {"\u00e9victingConfig": {"evictingCPUHighWatermark": 1}}})
    assert doc.global_values == {}
    assert doc.warnings[0].message.startswith("unknown field")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the last key decides, whichever spelling it has
        ('{"globalConfig": {"cpuQosConfig": {"enable": true, "ENABLE": false}}}', False),
        ('{"globalConfig": {"cpuQosConfig": {"Enable": false, "enable": true}}}', True),
    ],
)
def test_the_last_of_several_spellings_wins(text: str, expected: bool) -> None:
    """Go decodes every matching key in order into the same field: the last one wins."""
    assert (
        value(COLOCATION.evaluate(COLOCATION.parse(text), {}), "cpuQosConfig", "enable") is expected
    )


@pytest.mark.parametrize(
    "global_config",
    [
        {"evictingConfig": {"evictingCPUHighWatermark": 90, "EvictingCPUHighWatermark": None}},
        {"evictingConfig": {"evictingCPUHighWatermark": 90}, "EvictingConfig": None},
    ],
)
def test_a_later_null_spelling_clears_what_an_earlier_key_set(
    global_config: dict[str, Any],
) -> None:
    """null sets Go's pointer to nil, so the default comes back (mergo skips nil)."""
    result = evaluate({"globalConfig": global_config})
    assert value(result, "evictingConfig", "evictingCPUHighWatermark") == 80


def test_two_spellings_of_global_config_are_merged() -> None:
    """Go decodes both objects into the same ColocationConfig struct."""
    result = evaluate(
        {
            "globalConfig": {"cpuQosConfig": {"enable": True}},
            "GlobalConfig": {"cpuBurstConfig": {"enable": True}},
        }
    )
    assert value(result, "cpuQosConfig", "enable") is True
    assert value(result, "cpuBurstConfig", "enable") is True


# --- Go encoding/json: null and values Go decodes without complaint --------------------------


def test_a_null_document_is_a_document_without_global_config() -> None:
    """json.Unmarshal("null") leaves the struct empty: defaults, no error (with a warning)."""
    doc = COLOCATION.parse("null")
    result = COLOCATION.evaluate(doc, {OVER: "true"})
    assert (result.config, result.errors) == (DEFAULT_CONFIG, ())
    assert [w.path for w in doc.warnings] == ["globalConfig"]
    assert [i.message for i in COLOCATION.check_document(doc)] == ["empty global config"]


def test_a_null_nodes_config_entry_is_an_inert_entry_not_an_error() -> None:
    """A null []NodesConfig item decodes to an empty entry: no selector, so no node."""
    doc = parse(
        {
            "globalConfig": {},
            "nodesConfig": [None, {"selector": {}, "cpuQosConfig": {"enable": True}}],
        }
    )
    assert doc.errors == ()
    assert [w.path for w in doc.warnings] == ["nodesConfig[0]"]
    assert value(COLOCATION.evaluate(doc, {}), "cpuQosConfig", "enable") is True


@pytest.mark.parametrize(
    "selector",
    [
        {"matchLabels": {"k": None}},
        {"matchExpressions": [{"key": "k", "operator": "In", "values": [None]}]},
    ],
)
def test_null_label_values_are_empty_strings(selector: dict[str, Any]) -> None:
    """Go stores null in a map[string]string or []string as "": it selects k="" only."""
    doc = {
        "globalConfig": {},
        "nodesConfig": [{"selector": selector, "cpuQosConfig": {"enable": True}}],
    }
    assert parse(doc).errors == ()
    assert value(evaluate(doc, {"k": ""}), "cpuQosConfig", "enable") is True
    assert value(evaluate(doc, {"k": "a"}), "cpuQosConfig", "enable") is False
    assert value(evaluate(doc, {}), "cpuQosConfig", "enable") is False


def test_a_null_match_expression_is_an_invalid_selector_not_an_error() -> None:
    """A null requirement decodes to operator "": LabelSelectorAsSelector rejects it, the
    override is skipped (a warning), the document is still delivered."""
    doc = {
        "globalConfig": {},
        "nodesConfig": [
            {"selector": {"matchExpressions": [None]}, "cpuQosConfig": {"enable": True}}
        ],
    }
    result = evaluate(doc)
    assert result.valid
    assert value(result, "cpuQosConfig", "enable") is False
    assert parse(doc).warnings[0].path == "nodesConfig[0].selector.matchExpressions[0].operator"


def test_a_lone_surrogate_escape_becomes_the_replacement_character() -> None:
    """Go decodes "\\ud800" as U+FFFD; so does nodeconf (every string stays valid Unicode)."""
    doc = COLOCATION.parse(
        '{"globalConfig": {"overSubscriptionConfig": {"overSubscriptionTypes": "\\ud800"}}}'
    )
    result = COLOCATION.evaluate(doc, {})
    assert value(result, "overSubscriptionConfig", "overSubscriptionTypes") == "\ufffd"
    assert messages(result) == [
        "overSubscriptionType(\ufffd) is not supported, only supports cpu/memory"
    ]


# --- pkg/agent/config/utils/utils.go MergerCfg (mergo.Merge WithOverride + nullTransformer) ---


def test_reference_overwrite_default_config_by_label_selector() -> None:
    """utils_test.go "overwrite default config label selector": the override's CPU high 10
    under the default low 30 is returned merged, with the low-above-high error."""
    default_global = json.loads(default_document_text())["globalConfig"]
    doc = {
        "globalConfig": default_global,
        "nodesConfig": [
            {
                "selector": {"matchLabels": {"label-key": "label-value"}},
                "evictingConfig": {"evictingCPUHighWatermark": 10},
            }
        ],
    }
    result = evaluate(doc, {"label-key": "label-value"})
    assert value(result, "evictingConfig", "evictingCPUHighWatermark") == 10
    assert messages(result) == [LOW_ABOVE_HIGH_CPU]


def test_reference_empty_oversubscription_types_is_valid() -> None:
    """utils_test.go "OverSubscriptionTypes=\\"\\"": kept as "", no error."""
    result = evaluate(
        {"globalConfig": {"overSubscriptionConfig": {"enable": True, "overSubscriptionTypes": ""}}},
        {OVER: "true"},
    )
    assert result.valid
    assert value(result, "overSubscriptionConfig", "overSubscriptionTypes") == ""


def test_reference_online_bandwidth_zero_is_invalid_but_returned() -> None:
    """utils_test.go "OnlineBandwidthWatermarkPercent=0": merged values kept, error returned."""
    result = evaluate(
        {
            "globalConfig": {
                "networkQosConfig": {
                    "onlineBandwidthWatermarkPercent": 0,
                    "offlineLowBandwidthPercent": 18,
                    "offlineHighBandwidthPercent": 19,
                }
            }
        },
        {OVER: "true"},
    )
    assert value(result, "networkQosConfig", "qosCheckInterval") == 10_000_000
    assert value(result, "networkQosConfig", "offlineHighBandwidthPercent") == 19
    assert messages(result) == [
        "onlineBandwidthWatermarkPercent must be a positive number between 1 and 1000"
    ]


def test_false_and_zero_override_a_default() -> None:
    """nullTransformer sets every non-nil pointer, so false and 0 replace defaults."""
    result = evaluate(
        {
            "globalConfig": {
                "overSubscriptionConfig": {"enable": False},
                "cpuThrottlingConfig": {"cpuJitterLimitPercent": 0},
            }
        }
    )
    assert value(result, "overSubscriptionConfig", "enable") is False
    assert value(result, "overSubscriptionConfig", "overSubscriptionTypes") == "cpu,memory"
    assert value(result, "cpuThrottlingConfig", "cpuJitterLimitPercent") == 0


def test_only_the_last_matching_override_is_overlaid() -> None:
    """MergerCfg keeps a pointer to the last match and merges that one entry only."""
    doc = {
        "globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 70}},
        "nodesConfig": [
            {"selector": {}, "cpuQosConfig": {"enable": True}},
            {"selector": {"matchLabels": {"pool": "a"}}, "cpuBurstConfig": {"enable": True}},
            {"selector": {"matchLabels": {"pool": "b"}}, "memoryQosConfig": {"enable": True}},
            {
                "selector": {
                    "matchExpressions": [{"key": "pool", "operator": "in", "values": ["a"]}]
                }
            },
        ],
    }
    result = evaluate(doc, {"pool": "a"})
    assert value(result, "cpuQosConfig", "enable") is False  # earlier match: not applied
    assert value(result, "cpuBurstConfig", "enable") is True  # the last valid match
    assert value(result, "memoryQosConfig", "enable") is False  # did not match
    # a nil section in the override keeps the global value, field by field
    assert value(result, "evictingConfig", "evictingCPUHighWatermark") == 70
    assert value(result, "evictingConfig", "evictingMemoryHighWatermark") == 60


def test_node_labels_replace_node_label_config_whatever_the_document_says() -> None:
    """MergerCfg overwrites NodeLabelConfig from IsNodeSupportColocation/OverSubscription."""
    doc = {
        "globalConfig": {
            "nodeLabelConfig": {"nodeColocationEnable": True, "nodeOverSubscriptionEnable": True}
        }
    }
    assert evaluate(doc).config.to_json()["nodeLabelConfig"] == {
        "nodeColocationEnable": False,
        "nodeOverSubscriptionEnable": False,
    }
    assert evaluate(doc, {OVER: "True"}).config.to_json()["nodeLabelConfig"] == {
        "nodeColocationEnable": True,
        "nodeOverSubscriptionEnable": True,
    }


def test_without_global_config_the_defaults_come_back_untouched_by_labels() -> None:
    """MergerCfg returns DefaultColocationConfig() before any override or label is applied."""
    doc = {"nodesConfig": [{"selector": {}, "cpuQosConfig": {"enable": True}}]}
    result = evaluate(doc, {OVER: "true", COLO: "false"})
    assert (result.config, result.errors) == (DEFAULT_CONFIG, ())


# --- pkg/agent/utils/node/node.go: strconv.ParseBool of the two labels ----------------------


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        *[(v, True) for v in ("1", "t", "T", "TRUE", "true", "True")],
        *[
            (v, False)
            for v in ("0", "f", "F", "FALSE", "false", "False", "", "yes", "on", "tRUE", " true")
        ],
    ],
)
def test_labels_parse_as_go_parse_bool(label: str, expected: bool) -> None:
    """Only ParseBool's true spellings enable; oversubscription implies colocation."""
    over = evaluate({"globalConfig": {}}, {OVER: label}).config.to_json()["nodeLabelConfig"]
    assert over == {"nodeColocationEnable": expected, "nodeOverSubscriptionEnable": expected}
    colo = evaluate({"globalConfig": {}}, {COLO: label}).config.to_json()["nodeLabelConfig"]
    assert colo == {"nodeColocationEnable": expected, "nodeOverSubscriptionEnable": False}


# --- pkg/agent/config/api/validate.go (cases of validate_test.go) ---------------------------


@pytest.mark.parametrize(
    ("global_config", "expected"),
    [
        (
            {
                "networkQosConfig": {
                    "onlineBandwidthWatermarkPercent": -10,
                    "offlineLowBandwidthPercent": -20,
                    "offlineHighBandwidthPercent": -20,
                    "qosCheckInterval": -100,
                }
            },
            [
                "qosCheckInterval must be a positive number",
                "onlineBandwidthWatermarkPercent must be a positive number between 1 and 1000",
                "offlineHighBandwidthPercent must be a positive number between 1 and 1000",
                "offlineLowBandwidthPercent must be a positive number between 1 and 1000",
            ],
        ),
        (
            {
                "networkQosConfig": {
                    "offlineLowBandwidthPercent": 20,
                    "offlineHighBandwidthPercent": 10,
                }
            },
            ["offlineHighBandwidthPercent cannot be less than offlineLowBandwidthPercent"],
        ),
        (
            {
                "evictingConfig": {
                    "evictingCPUHighWatermark": -10,
                    "evictingMemoryHighWatermark": -10,
                    "evictingCPULowWatermark": -20,
                    "evictingMemoryLowWatermark": -20,
                }
            },
            [
                "evictingCPUHighWatermark must be a positive number",
                "evictingMemoryHighWatermark must be a positive number",
                "evictingCPULowWatermark must be a positive number",
                "evictingMemoryLowWatermark must be a positive number",
            ],
        ),
        (
            {"overSubscriptionConfig": {"overSubscriptionTypes": "fake"}},
            ["overSubscriptionType(fake) is not supported, only supports cpu/memory"],
        ),
        (
            {
                "evictingConfig": {
                    "evictingCPUHighWatermark": 20,
                    "evictingMemoryHighWatermark": 30,
                    "evictingCPULowWatermark": 50,
                    "evictingMemoryLowWatermark": 80,
                }
            },
            [LOW_ABOVE_HIGH_CPU, "memory evicting low watermark is higher than high watermark"],
        ),
        (
            {"overSubscriptionConfig": {"overSubscriptionTypes": "cpu,,memory"}},
            ["overSubscriptionType() is not supported, only supports cpu/memory"],
        ),
    ],
)
def test_validation_messages_and_order(global_config: dict[str, Any], expected: list[str]) -> None:
    """Exactly Volcano's messages, in its check order."""
    assert messages(evaluate({"globalConfig": global_config})) == expected


def test_a_repeated_message_is_reported_once_as_volcano_aggregates_it() -> None:
    """utilerrors.NewAggregate(...).Error() prints a repeated message once, without brackets."""
    result = evaluate(
        {"globalConfig": {"overSubscriptionConfig": {"overSubscriptionTypes": "gpu,gpu"}}}
    )
    assert messages(result) == [
        "overSubscriptionType(gpu) is not supported, only supports cpu/memory"
    ]
    assert str(ConfigInvalid(result.errors)) == messages(result)[0]


def test_several_messages_aggregate_in_brackets() -> None:
    """Two distinct errors print as [a, b]."""
    result = evaluate(
        {"globalConfig": {"overSubscriptionConfig": {"overSubscriptionTypes": "a,b"}}}
    )
    assert str(ConfigInvalid(result.errors)) == (
        "[overSubscriptionType(a) is not supported, only supports cpu/memory, "
        "overSubscriptionType(b) is not supported, only supports cpu/memory]"
    )


# --- k8s.io/apimachinery metav1.LabelSelectorAsSelector / labels.NewRequirement --------------


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        (None, {}, False),  # nil selector: labels.Nothing()
        ({}, {"any": "x"}, True),  # empty: labels.Everything()
        ({"matchLabels": {}, "matchExpressions": []}, {}, True),
        ({"matchLabels": {"k": ""}}, {}, False),  # Equals needs the label present
        ({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["a"]}]}, {}, True),
        ({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, {}, True),
        ({"matchExpressions": [{"key": "k", "operator": "Exists", "values": []}]}, {"k": ""}, True),
        ({"matchExpressions": [{"key": "k", "operator": "In", "values": [""]}]}, {"k": ""}, True),
        # invalid: the override is skipped
        ({"matchExpressions": [{"key": "k", "operator": "In", "values": []}]}, {"k": "a"}, False),
        (
            {"matchExpressions": [{"key": "k", "operator": "Exists", "values": ["a"]}]},
            {"k": "a"},
            False,
        ),
        ({"matchExpressions": [{"key": "k", "operator": "exists"}]}, {"k": "a"}, False),
        (
            {"matchExpressions": [{"key": "k", "operator": "Gt", "values": ["1"]}]},
            {"k": "2"},
            False,
        ),
        ({"matchLabels": {"Example.com/k": "a"}}, {"Example.com/k": "a"}, False),
        ({"matchLabels": {"a/b/c": "a"}}, {"a/b/c": "a"}, False),
        ({"matchLabels": {"k" * 63: "a"}}, {"k" * 63: "a"}, True),
        ({"matchLabels": {"k" * 64: "a"}}, {"k" * 64: "a"}, False),
        ({"matchLabels": {"k": "v" * 64}}, {"k": "v" * 64}, False),
    ],
)
def test_selector_semantics(selector: object, labels: dict[str, str], matches: bool) -> None:
    """Kubernetes label-selector rules, exactly."""
    entry: dict[str, Any] = {"cpuQosConfig": {"enable": True}}
    if selector is not None:
        entry["selector"] = selector
    result = evaluate({"globalConfig": {}, "nodesConfig": [entry]}, labels)
    assert value(result, "cpuQosConfig", "enable") is matches
    assert result.valid


def test_the_operator_is_checked_before_the_key() -> None:
    """LabelSelectorAsSelector rejects the operator first, so that is what is reported."""
    doc = parse(
        {
            "globalConfig": {},
            "nodesConfig": [
                {"selector": {"matchExpressions": [{"key": "bad key", "operator": "Foo"}]}}
            ],
        }
    )
    assert [w.path for w in doc.warnings] == [
        "nodesConfig[0].selector.matchExpressions[0].operator"
    ]


# --- pkg/agent/features/feature_gate.go Enabled (cases of feature_gate_test.go) -------------


@pytest.mark.parametrize(
    ("colocation", "oversubscription", "expected"),
    [
        (
            True,
            True,
            dict.fromkeys(
                ["CPUQoS", "CPUBurst", "MemoryQoS", "NetworkQoS", "OverSubscription"], True
            ),
        ),
        (
            False,
            False,
            dict.fromkeys(
                ["CPUQoS", "CPUBurst", "MemoryQoS", "NetworkQoS", "OverSubscription"], False
            ),
        ),
        (
            True,
            False,
            {
                "CPUQoS": True,
                "CPUBurst": True,
                "MemoryQoS": True,
                "NetworkQoS": True,
                "OverSubscription": False,
            },
        ),
        (
            False,
            True,
            dict.fromkeys(
                ["CPUQoS", "CPUBurst", "MemoryQoS", "NetworkQoS", "OverSubscription"], True
            ),
        ),
    ],
)
def test_feature_gate_reference_cases(
    colocation: bool, oversubscription: bool, expected: dict[str, bool]
) -> None:
    """Colocated = colocation or oversubscription; OverSubscription needs the latter."""
    config = config_from_json(
        {
            "nodeLabelConfig": {
                "nodeColocationEnable": colocation,
                "nodeOverSubscriptionEnable": oversubscription,
            },
            **{
                key: {"enable": True}
                for key in (
                    "cpuQosConfig",
                    "cpuBurstConfig",
                    "memoryQosConfig",
                    "memoryQosV2Config",
                    "networkQosConfig",
                    "overSubscriptionConfig",
                    "cpuThrottlingConfig",
                )
            },
        }
    )
    gates = features(config)
    assert {k: gates[k] for k in expected} == expected
    assert gates["Eviction"]
    assert gates["Resources"]


def test_missing_network_qos_enable_uses_volcanos_message() -> None:
    """Volcano's gate says "nil memory qos config" for a missing network QoS enable."""
    config = config_from_json({"nodeLabelConfig": {"nodeColocationEnable": True}})
    with pytest.raises(ConfigInvalid) as exc:
        feature_enabled(config, "NetworkQoS")
    (issue,) = exc.value.issues
    assert (issue.path, issue.message) == ("networkQosConfig.enable", "nil memory qos config")


def test_missing_node_label_config_fails_every_feature_even_eviction() -> None:
    """The nil check comes before the switch, so Eviction and Resources fail too."""
    config = config_from_json({"cpuQosConfig": {"enable": True}})
    for feature in ("Eviction", "Resources", "CPUQoS"):
        with pytest.raises(ConfigInvalid, match="nil node label config"):
            feature_enabled(config, feature)


# --- pkg/agent/config/configmgr.go updateConfigMap (cases of configmgr_test.go) -------------

OLD_CFG = {
    "globalConfig": {
        "cpuBurstConfig": {"enable": True},
        "networkQosConfig": {
            "enable": True,
            "onlineBandwidthWatermarkPercent": 80,
            "offlineLowBandwidthPercent": 10,
            "offlineHighBandwidthPercent": 40,
            "qosCheckInterval": 10000000,
        },
    }
}


def test_reference_prepare_backfills_an_old_document() -> None:
    """ "configmap-existed and update": both sections added with their defaults."""
    text, changed = prepare_document(json.dumps(OLD_CFG))
    assert changed
    assert json.loads(text)["globalConfig"] == {
        **OLD_CFG["globalConfig"],
        "overSubscriptionConfig": {"enable": True, "overSubscriptionTypes": "cpu,memory"},
        "evictingConfig": {
            "evictingCPUHighWatermark": 80,
            "evictingMemoryHighWatermark": 60,
            "evictingCPULowWatermark": 30,
            "evictingMemoryLowWatermark": 30,
        },
    }


def test_reference_prepare_leaves_a_complete_document_alone() -> None:
    """ "configmap-existed and no update": nothing to add, nothing written."""
    doc = json.loads(json.dumps(OLD_CFG))
    doc["globalConfig"]["overSubscriptionConfig"] = {"enable": True}
    doc["globalConfig"]["evictingConfig"] = {}
    doc["nodesConfig"] = [{"selector": {"matchLabels": {"label-key": "label-value"}}}]
    text = json.dumps(doc)
    assert prepare_document(text) == (text, False)


def test_prepare_puts_added_sections_in_go_struct_order() -> None:
    """Where Volcano's re-encoding puts them: before cpuThrottlingConfig, replacing a null."""
    text, _ = prepare_document(
        '{"globalConfig": {"cpuThrottlingConfig": {}, "evictingConfig": null, "x": 1}}'
    )
    assert list(json.loads(text)["globalConfig"]) == [
        "overSubscriptionConfig",
        "evictingConfig",
        "cpuThrottlingConfig",
        "x",
    ]


@pytest.mark.parametrize(
    ("doc", "changed"),
    [
        ({"GlobalConfig": {"OverSubscriptionConfig": {}, "EvictingConfig": {}}}, False),
        ({"globalConfig": {"overSubscriptionConfig": {}, "EVICTINGconfig": None}}, True),
    ],
)
def test_prepare_reads_keys_as_go_does(doc: dict[str, Any], changed: bool) -> None:
    """Sections spelt in another case are present for Volcano: not added again."""
    text, did_change = prepare_document(json.dumps(doc))
    assert did_change is changed
    if changed:
        assert "EVICTINGconfig" not in json.loads(text)["globalConfig"]
        assert COLOCATION.parse(text).warnings == ()


def test_prepare_of_a_null_document_is_an_empty_global_config() -> None:
    """Volcano decodes "null" without error, then finds no global config."""
    with pytest.raises(DocumentError, match="empty global config"):
        prepare_document("null")


# --- robustness: the parser's only exception is DocumentError --------------------------------


def nested(depth: int, tail: str) -> str:
    """A document whose key ``x`` holds arrays nested ``depth`` deep, followed by ``tail``."""
    return '{"x": ' + "[" * depth + "]" * depth + tail + ', "globalConfig": {}}'


def least_depth_nested_too_deeply() -> int:
    """The least depth at which the parser (fast path: no duplicate key) reports "nested too
    deeply". The C JSON scanner's own recursion check sets it: it follows
    ``sys.getrecursionlimit()`` before Python 3.12 only (about 1,500 on 3.12, 10,000 on 3.13)."""
    parses, too_deep = 0, (MAX_DOCUMENT_BYTES - len(nested(0, ""))) // 2
    with pytest.raises(DocumentError, match="nested too deeply"):
        COLOCATION.parse(nested(too_deep, ""))
    while too_deep - parses > 1:
        depth = (parses + too_deep) // 2
        try:
            COLOCATION.parse(nested(depth, ""))
            parses = depth
        except DocumentError:
            too_deep = depth
    return too_deep


def test_nesting_near_the_recursion_limit_with_duplicate_keys_is_a_document_error() -> None:
    """The duplicate-key slow path needs a little more stack; it never lets RecursionError out."""
    limit = least_depth_nested_too_deeply()
    outcomes = set()
    # Every depth: before 3.12 only one depth passes the fast path but not the slow path's hook.
    for depth in range(limit - 40, limit + 3):
        text = nested(depth, ', "x": 1')
        try:
            COLOCATION.parse(text)
            outcomes.add("parsed")
        except DocumentError as exc:
            outcomes.add(exc.reason)
    assert outcomes <= {"parsed", "invalid JSON: nested too deeply"}
    assert "invalid JSON: nested too deeply" in outcomes
