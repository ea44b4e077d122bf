"""Validation (spec section 5): Volcano's messages and order, only set fields, all at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.model import COLOCATION


def errors(global_config: dict[str, Any]) -> list[str]:
    doc = COLOCATION.parse(json.dumps({"globalConfig": global_config}))
    return [i.message for i in COLOCATION.evaluate(doc, {}).errors]


NET = "networkQosConfig"
EVI = "evictingConfig"
THR = "cpuThrottlingConfig"
OSC = "overSubscriptionConfig"


@pytest.mark.parametrize(
    ("section", "fields", "expected"),
    [
        (NET, {"qosCheckInterval": 0}, ["qosCheckInterval must be a positive number"]),
        (NET, {"qosCheckInterval": -5}, ["qosCheckInterval must be a positive number"]),
        (NET, {"qosCheckInterval": 1}, []),
        (
            NET,
            {"onlineBandwidthWatermarkPercent": 0},
            ["onlineBandwidthWatermarkPercent must be a positive number between 1 and 1000"],
        ),
        (
            NET,
            {"onlineBandwidthWatermarkPercent": 1001},
            ["onlineBandwidthWatermarkPercent must be a positive number between 1 and 1000"],
        ),
        (NET, {"onlineBandwidthWatermarkPercent": 1000}, []),
        (NET, {"onlineBandwidthWatermarkPercent": 1}, []),
        (
            NET,
            {"offlineHighBandwidthPercent": 1001},
            ["offlineHighBandwidthPercent must be a positive number between 1 and 1000"],
        ),
        (
            NET,
            {"offlineLowBandwidthPercent": 0},
            ["offlineLowBandwidthPercent must be a positive number between 1 and 1000"],
        ),
        (
            NET,
            {"offlineLowBandwidthPercent": 41},
            ["offlineHighBandwidthPercent cannot be less than offlineLowBandwidthPercent"],
        ),
        (NET, {"offlineLowBandwidthPercent": 40}, []),
        (OSC, {"overSubscriptionTypes": ""}, []),
        (OSC, {"overSubscriptionTypes": "cpu"}, []),
        (OSC, {"overSubscriptionTypes": "memory,cpu"}, []),
        (
            OSC,
            {"overSubscriptionTypes": "cpu,gpu"},
            ["overSubscriptionType(gpu) is not supported, only supports cpu/memory"],
        ),
        (
            OSC,
            {"overSubscriptionTypes": "cpu, memory"},
            ["overSubscriptionType( memory) is not supported, only supports cpu/memory"],
        ),
        (
            OSC,
            {"overSubscriptionTypes": "cpu,,memory"},
            ["overSubscriptionType() is not supported, only supports cpu/memory"],
        ),
        (
            OSC,
            {"overSubscriptionTypes": "CPU,disk"},
            [
                "overSubscriptionType(CPU) is not supported, only supports cpu/memory",
                "overSubscriptionType(disk) is not supported, only supports cpu/memory",
            ],
        ),
        (
            EVI,
            {"evictingCPUHighWatermark": 0},
            [
                "evictingCPUHighWatermark must be a positive number",
                "cpu evicting low watermark is higher than high watermark",
            ],
        ),
        (
            EVI,
            {"evictingMemoryHighWatermark": -1},
            [
                "evictingMemoryHighWatermark must be a positive number",
                "memory evicting low watermark is higher than high watermark",
            ],
        ),
        (
            EVI,
            {"evictingCPULowWatermark": 0},
            ["evictingCPULowWatermark must be a positive number"],
        ),
        (
            EVI,
            {"evictingMemoryLowWatermark": 0},
            ["evictingMemoryLowWatermark must be a positive number"],
        ),
        (
            EVI,
            {"evictingCPULowWatermark": 81},
            ["cpu evicting low watermark is higher than high watermark"],
        ),
        (EVI, {"evictingCPULowWatermark": 80}, []),
        (
            EVI,
            {"evictingMemoryLowWatermark": 61},
            ["memory evicting low watermark is higher than high watermark"],
        ),
        (
            THR,
            {"cpuThrottlingThreshold": 0},
            ["cpuThrottlingThreshold must be a positive number between 1 and 100"],
        ),
        (
            THR,
            {"cpuThrottlingThreshold": 101},
            ["cpuThrottlingThreshold must be a positive number between 1 and 100"],
        ),
        (THR, {"cpuThrottlingThreshold": 100}, []),
        (
            THR,
            {"cpuJitterLimitPercent": -1},
            ["cpuJitterLimitPercent must be a non-negative number between 1 and 100"],
        ),
        (THR, {"cpuJitterLimitPercent": 0}, []),
        (THR, {"cpuJitterLimitPercent": 1000}, []),
        (THR, {"cpuRecoverLimitPercent": 0}, ["cpuRecoverLimitPercent must be a positive number"]),
        (THR, {"cpuRecoverLimitPercent": 1}, []),
    ],
)
def test_rule(section: str, fields: dict[str, Any], expected: list[str]) -> None:
    """Each rule fires exactly outside its range, with Volcano's wording."""
    assert errors({section: fields}) == expected


def test_network_qos_checks_run_in_volcano_order() -> None:
    """Network QoS: interval, online, offline high, offline low, then low above high."""
    assert errors(
        {
            NET: {
                "qosCheckInterval": 0,
                "onlineBandwidthWatermarkPercent": 0,
                "offlineLowBandwidthPercent": 2000,
                "offlineHighBandwidthPercent": 1500,
            }
        }
    ) == [
        "qosCheckInterval must be a positive number",
        "onlineBandwidthWatermarkPercent must be a positive number between 1 and 1000",
        "offlineHighBandwidthPercent must be a positive number between 1 and 1000",
        "offlineLowBandwidthPercent must be a positive number between 1 and 1000",
        "offlineHighBandwidthPercent cannot be less than offlineLowBandwidthPercent",
    ]


def test_sections_are_checked_in_volcano_order_and_all_errors_reported() -> None:
    """Errors of several sections come together, in section order, whatever the document order."""
    assert errors(
        {
            THR: {"cpuRecoverLimitPercent": 0},
            EVI: {"evictingCPULowWatermark": 0},
            OSC: {"overSubscriptionTypes": "gpu"},
            NET: {"qosCheckInterval": 0},
        }
    ) == [
        "qosCheckInterval must be a positive number",
        "overSubscriptionType(gpu) is not supported, only supports cpu/memory",
        "evictingCPULowWatermark must be a positive number",
        "cpuRecoverLimitPercent must be a positive number",
    ]


def test_unset_throttling_numbers_are_not_checked() -> None:
    """cpuThrottlingConfig's numbers are unset by default and an unset field is never checked."""
    assert errors({THR: {"enable": True}}) == []


def test_default_config_is_valid() -> None:
    """The defaults pass every rule."""
    assert errors({}) == []


def test_error_carries_path_value_and_message() -> None:
    """Each error names the path of the offending value and the value itself."""
    doc = COLOCATION.parse(json.dumps({"globalConfig": {THR: {"cpuThrottlingThreshold": 150}}}))
    (issue,) = COLOCATION.evaluate(doc, {}).errors
    assert issue.path == "globalConfig.cpuThrottlingConfig.cpuThrottlingThreshold"
    assert issue.value == 150
    assert issue.severity == "error"


# --- check_document: no node -------------------------------------------------------------


def check(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (i.path, i.message) for i in COLOCATION.check_document(COLOCATION.parse(json.dumps(doc)))
    ]


def test_check_document_validates_global_and_each_override() -> None:
    """Global over defaults, then each override over global; errors carry the override's path."""
    assert check(
        {
            "globalConfig": {NET: {"qosCheckInterval": 0}},
            "nodesConfig": [
                {"selector": {"matchLabels": {"a": "b"}}, EVI: {"evictingCPUHighWatermark": 10}},
                {"selector": {}, THR: {"cpuJitterLimitPercent": -1}},
            ],
        }
    ) == [
        (
            "globalConfig.networkQosConfig.qosCheckInterval",
            "qosCheckInterval must be a positive number",
        ),
        (
            "nodesConfig[0].evictingConfig.evictingCPUHighWatermark",
            "cpu evicting low watermark is higher than high watermark",
        ),
        (
            "nodesConfig[1].cpuThrottlingConfig.cpuJitterLimitPercent",
            "cpuJitterLimitPercent must be a non-negative number between 1 and 100",
        ),
    ]


def test_check_document_reports_a_global_error_once() -> None:
    """A global error is not repeated for every override."""
    found = check(
        {
            "globalConfig": {EVI: {"evictingCPULowWatermark": 0}},
            "nodesConfig": [{"selector": {}, "cpuQosConfig": {"enable": True}}] * 3,
        }
    )
    assert found == [
        (
            "globalConfig.evictingConfig.evictingCPULowWatermark",
            "evictingCPULowWatermark must be a positive number",
        )
    ]


def test_check_document_includes_type_errors_first() -> None:
    """Type errors from parsing come before rule violations."""
    found = check(
        {"globalConfig": {"cpuQosConfig": {"enable": "no"}, EVI: {"evictingCPULowWatermark": 0}}}
    )
    assert [p for p, _ in found] == [
        "globalConfig.cpuQosConfig.enable",
        "globalConfig.evictingConfig.evictingCPULowWatermark",
    ]


def test_check_document_without_global_config_is_an_error() -> None:
    """No globalConfig: the agent's prepare step would refuse it, so check says so."""
    assert check({"nodesConfig": []}) == [("globalConfig", "empty global config")]


def test_check_document_validates_overrides_with_invalid_selectors_too() -> None:
    """An inert override's values are still checked: fixing its selector reveals nothing new."""
    found = check(
        {
            "globalConfig": {},
            "nodesConfig": [
                {
                    "selector": {"matchExpressions": [{"key": "a", "operator": "Bad"}]},
                    THR: {"cpuRecoverLimitPercent": 0},
                }
            ],
        }
    )
    assert found == [
        (
            "nodesConfig[0].cpuThrottlingConfig.cpuRecoverLimitPercent",
            "cpuRecoverLimitPercent must be a positive number",
        )
    ]


def test_valid_document_checks_clean() -> None:
    """The default document has no errors."""
    assert COLOCATION.check_document(COLOCATION.parse(COLOCATION.default_document_text())) == ()
