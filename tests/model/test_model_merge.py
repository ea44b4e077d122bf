"""The per-node merge (spec section 4), including Volcano's reference cases restated."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.model import COLOCATION, DEFAULT_CONFIG, ColocationConfig, Evaluation

OVER = "volcano.sh/oversubscription"
COLO = "volcano.sh/colocation"


def evaluate(doc: dict[str, Any] | None, labels: dict[str, str] | None = None) -> Evaluation:
    parsed = None if doc is None else COLOCATION.parse(json.dumps(doc))
    return COLOCATION.evaluate(parsed, labels or {})


def section(config: object, key: str) -> dict[str, Any]:
    assert isinstance(config, ColocationConfig)
    return config[key]


def with_values(config: ColocationConfig, **changes: dict[str, Any]) -> ColocationConfig:
    out = config.to_json()
    for key, fields in changes.items():
        out[key] = {**out[key], **fields}
    from nodeconf.model import config_from_json

    return config_from_json(out)


# --- Volcano's reference cases, restated ---------------------------------------------------


def test_reference_disable_cpu_qos_and_cpu_burst_on_an_unlabelled_node() -> None:
    """Global turns CPU QoS and burst off; an unlabelled node is not colocated."""
    result = evaluate(
        {"globalConfig": {"cpuQosConfig": {"enable": False}, "cpuBurstConfig": {"enable": False}}}
    )
    assert result.errors == ()
    assert result.config == with_values(
        DEFAULT_CONFIG,
        nodeLabelConfig={"nodeColocationEnable": False, "nodeOverSubscriptionEnable": False},
    )


def test_reference_disable_memory_qos_and_oversubscription_on_a_labelled_node() -> None:
    """Global turns memory QoS and oversubscription off; both node labels are true."""
    result = evaluate(
        {
            "globalConfig": {
                "memoryQosConfig": {"enable": False},
                "overSubscriptionConfig": {"enable": False},
            }
        },
        {COLO: "true", OVER: "true"},
    )
    assert result.errors == ()
    assert result.config == with_values(
        DEFAULT_CONFIG,
        nodeLabelConfig={"nodeColocationEnable": True, "nodeOverSubscriptionEnable": True},
        overSubscriptionConfig={"enable": False},
    )


def test_reference_modify_network_qos_keeps_unset_fields_from_defaults() -> None:
    """Setting three network QoS numbers keeps enable and qosCheckInterval from the defaults."""
    result = evaluate(
        {
            "globalConfig": {
                "networkQosConfig": {
                    "onlineBandwidthWatermarkPercent": 15,
                    "offlineLowBandwidthPercent": 16,
                    "offlineHighBandwidthPercent": 17,
                }
            }
        },
        {OVER: "true"},
    )
    assert result.errors == ()
    assert section(result.config, "networkQosConfig") == {
        "enable": False,
        "onlineBandwidthWatermarkPercent": 15,
        "offlineLowBandwidthPercent": 16,
        "offlineHighBandwidthPercent": 17,
        "qosCheckInterval": 10_000_000,
    }
    assert section(result.config, "nodeLabelConfig") == {
        "nodeColocationEnable": True,
        "nodeOverSubscriptionEnable": True,
    }


def test_reference_online_watermark_zero_is_invalid_but_merged() -> None:
    """An online watermark of 0 is an error; the merged config is still returned."""
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
    assert [i.message for i in result.errors] == [
        "onlineBandwidthWatermarkPercent must be a positive number between 1 and 1000"
    ]
    assert result.config.value("networkQosConfig", "onlineBandwidthWatermarkPercent") == 0
    assert not result.valid


def test_reference_empty_oversubscription_types_is_valid() -> None:
    """overSubscriptionTypes "" is accepted and kept."""
    result = evaluate(
        {"globalConfig": {"overSubscriptionConfig": {"enable": True, "overSubscriptionTypes": ""}}},
        {OVER: "true"},
    )
    assert result.errors == ()
    assert result.config.value("overSubscriptionConfig", "overSubscriptionTypes") == ""


def test_reference_override_by_label_selector_can_make_the_config_invalid() -> None:
    """A matching override sets CPU high 10 under the default low 30: merged, and an error."""
    default_global = json.loads(COLOCATION.default_document_text())["globalConfig"]
    result = evaluate(
        {
            "globalConfig": default_global,
            "nodesConfig": [
                {
                    "selector": {"matchLabels": {"label-key": "label-value"}},
                    "evictingConfig": {"evictingCPUHighWatermark": 10},
                }
            ],
        },
        {"label-key": "label-value"},
    )
    assert result.config.value("evictingConfig", "evictingCPUHighWatermark") == 10
    assert [(i.path, i.message) for i in result.errors] == [
        (
            "nodesConfig[0].evictingConfig.evictingCPUHighWatermark",
            "cpu evicting low watermark is higher than high watermark",
        )
    ]


# --- the steps of the merge ---------------------------------------------------------------


def test_no_document_gives_the_defaults_without_error() -> None:
    """No document at all: the defaults, valid."""
    assert evaluate(None) == Evaluation(DEFAULT_CONFIG)


def test_no_global_config_gives_defaults_and_skips_labels_and_overrides() -> None:
    """No globalConfig: defaults, no error, labels and overrides ignored (Volcano quirk)."""
    result = evaluate(
        {"nodesConfig": [{"selector": {}, "cpuQosConfig": {"enable": True}}]},
        {OVER: "true", COLO: "false"},
    )
    assert result == Evaluation(DEFAULT_CONFIG)
    assert section(result.config, "nodeLabelConfig") == {
        "nodeColocationEnable": True,
        "nodeOverSubscriptionEnable": False,
    }


def test_no_global_config_still_reports_type_errors() -> None:
    """A type error anywhere refuses the document, even when globalConfig is missing."""
    result = evaluate({"nodesConfig": [{"selector": {}, "cpuQosConfig": {"enable": "yes"}}]})
    assert [i.path for i in result.errors] == ["nodesConfig[0].cpuQosConfig.enable"]
    assert result.config == DEFAULT_CONFIG


def test_global_merges_field_by_field_into_defaults() -> None:
    """A section in globalConfig replaces only the fields it sets."""
    result = evaluate({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 90}}})
    assert section(result.config, "evictingConfig") == {
        "evictingCPUHighWatermark": 90,
        "evictingMemoryHighWatermark": 60,
        "evictingCPULowWatermark": 30,
        "evictingMemoryLowWatermark": 30,
    }


def test_null_in_global_keeps_the_default() -> None:
    """A null field does not erase the default."""
    result = evaluate({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": None}}})
    assert result.config.value("evictingConfig", "evictingCPUHighWatermark") == 80


def test_override_merges_field_by_field_over_global() -> None:
    """The matching override replaces only its fields; global values stay for the others."""
    result = evaluate(
        {
            "globalConfig": {
                "evictingConfig": {"evictingCPUHighWatermark": 90, "evictingCPULowWatermark": 40}
            },
            "nodesConfig": [{"selector": {}, "evictingConfig": {"evictingCPULowWatermark": 20}}],
        }
    )
    assert result.config.value("evictingConfig", "evictingCPUHighWatermark") == 90
    assert result.config.value("evictingConfig", "evictingCPULowWatermark") == 20


def test_last_matching_override_wins_alone() -> None:
    """Only the last match is overlaid: fields set only by an earlier match do not apply."""
    result = evaluate(
        {
            "globalConfig": {},
            "nodesConfig": [
                {
                    "selector": {},
                    "cpuQosConfig": {"enable": True},
                    "cpuBurstConfig": {"enable": True},
                },
                {"selector": {"matchLabels": {"pool": "a"}}, "cpuQosConfig": {"enable": False}},
                {"selector": {"matchLabels": {"pool": "b"}}, "memoryQosConfig": {"enable": True}},
            ],
        },
        {"pool": "a"},
    )
    assert result.config.value("cpuQosConfig", "enable") is False
    assert result.config.value("cpuBurstConfig", "enable") is False
    assert result.config.value("memoryQosConfig", "enable") is False


def test_no_matching_override_leaves_global() -> None:
    """When no selector matches, the result is global over defaults."""
    result = evaluate(
        {
            "globalConfig": {"cpuQosConfig": {"enable": True}},
            "nodesConfig": [
                {"selector": {"matchLabels": {"pool": "x"}}, "cpuQosConfig": {"enable": False}}
            ],
        }
    )
    assert result.config.value("cpuQosConfig", "enable") is True


@pytest.mark.parametrize(
    ("labels", "colocation", "oversubscription"),
    [
        ({}, False, False),
        ({COLO: "true"}, True, False),
        ({COLO: "1"}, True, False),
        ({COLO: "yes"}, False, False),
        ({OVER: "T"}, True, True),
        ({OVER: "TRUE", COLO: "false"}, True, True),
        ({OVER: "False", COLO: "t"}, True, False),
        ({OVER: "on"}, False, False),
    ],
)
def test_node_labels_decide_node_label_config(
    labels: dict[str, str], colocation: bool, oversubscription: bool
) -> None:
    """Colocation = colocation label true or oversubscription; oversubscription = its label true."""
    result = evaluate({"globalConfig": {}}, labels)
    assert section(result.config, "nodeLabelConfig") == {
        "nodeColocationEnable": colocation,
        "nodeOverSubscriptionEnable": oversubscription,
    }


def test_node_labels_win_over_the_document() -> None:
    """nodeLabelConfig written in the document (global or override) is replaced by the labels."""
    result = evaluate(
        {
            "globalConfig": {
                "nodeLabelConfig": {
                    "nodeColocationEnable": True,
                    "nodeOverSubscriptionEnable": True,
                }
            },
            "nodesConfig": [
                {"selector": {}, "nodeLabelConfig": {"nodeOverSubscriptionEnable": True}}
            ],
        }
    )
    assert section(result.config, "nodeLabelConfig") == {
        "nodeColocationEnable": False,
        "nodeOverSubscriptionEnable": False,
    }


def test_wrongly_typed_field_counts_as_unset_in_the_merge() -> None:
    """A value of the wrong type keeps the lower layer's value, and the error is reported."""
    result = evaluate(
        {
            "globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 70}},
            "nodesConfig": [{"selector": {}, "evictingConfig": {"evictingCPUHighWatermark": "90"}}],
        }
    )
    assert result.config.value("evictingConfig", "evictingCPUHighWatermark") == 70
    assert [i.path for i in result.errors] == [
        "nodesConfig[0].evictingConfig.evictingCPUHighWatermark"
    ]


def test_type_errors_in_a_non_matching_override_refuse_the_document() -> None:
    """A type error in any override is an error for every node (Go cannot decode it)."""
    result = evaluate(
        {
            "globalConfig": {},
            "nodesConfig": [
                {"selector": {"matchLabels": {"pool": "x"}}, "cpuQosConfig": {"enable": 1}}
            ],
        }
    )
    assert not result.valid


def test_unknown_keys_do_not_make_the_result_invalid() -> None:
    """Warnings never become evaluation errors."""
    result = evaluate({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermak": 1}}, "x": 1})
    assert result.valid


# --- provenance -------------------------------------------------------------------------


def test_error_from_a_default_value_points_at_defaults() -> None:
    """A cross-field error where the other value is a default blames the value the document set."""
    result = evaluate({"globalConfig": {"evictingConfig": {"evictingMemoryHighWatermark": 20}}})
    assert [(i.path, i.value) for i in result.errors] == [
        ("globalConfig.evictingConfig.evictingMemoryHighWatermark", 20)
    ]


def test_cross_field_error_within_one_layer_blames_the_subject() -> None:
    """Both values from global: evicting blames the low value, network QoS the high one."""
    result = evaluate(
        {
            "globalConfig": {
                "evictingConfig": {"evictingCPUHighWatermark": 40, "evictingCPULowWatermark": 50},
                "networkQosConfig": {
                    "offlineLowBandwidthPercent": 50,
                    "offlineHighBandwidthPercent": 30,
                },
            }
        }
    )
    assert [(i.path, i.value) for i in result.errors] == [
        ("globalConfig.networkQosConfig.offlineHighBandwidthPercent", 30),
        ("globalConfig.evictingConfig.evictingCPULowWatermark", 50),
    ]


def test_cross_field_error_blames_the_override_over_global() -> None:
    """Global high, override low: the override's low watermark is blamed."""
    result = evaluate(
        {
            "globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 50}},
            "nodesConfig": [
                {"selector": {}},
                {"selector": {}, "evictingConfig": {"evictingCPULowWatermark": 60}},
            ],
        }
    )
    assert [i.path for i in result.errors] == [
        "nodesConfig[1].evictingConfig.evictingCPULowWatermark"
    ]


def test_explain_names_the_source_of_every_field() -> None:
    """explain maps each field to the path that set it: labels, override, global or defaults."""
    doc = COLOCATION.parse(
        json.dumps(
            {
                "globalConfig": {"cpuQosConfig": {"enable": True}},
                "nodesConfig": [{"selector": {}, "cpuBurstConfig": {"enable": True}}],
            }
        )
    )
    where = COLOCATION.explain(doc, {})
    assert where["cpuQosConfig.enable"] == "globalConfig.cpuQosConfig.enable"
    assert where["cpuBurstConfig.enable"] == "nodesConfig[0].cpuBurstConfig.enable"
    assert where["memoryQosConfig.enable"] == "defaults.memoryQosConfig.enable"
    assert (
        where["nodeLabelConfig.nodeOverSubscriptionEnable"]
        == 'nodeLabels["volcano.sh/oversubscription"]'
    )


def test_evaluate_refuses_a_foreign_document_type() -> None:
    """Passing something that is not a ColocationDocument is a programming error (TypeError)."""
    with pytest.raises(TypeError, match="ColocationDocument"):
        COLOCATION.evaluate(object(), {})  # type: ignore[arg-type]
