"""Feature gates (spec section 6)."""

from __future__ import annotations

import pytest

from nodeconf.errors import ConfigInvalid
from nodeconf.model import (
    COLOCATION,
    DEFAULT_CONFIG,
    FEATURES,
    config_from_json,
    feature_enabled,
    features,
)
from nodeconf.model.config import ColocationConfig

ENABLE_SECTIONS = {
    "CPUQoS": "cpuQosConfig",
    "CPUBurst": "cpuBurstConfig",
    "MemoryQoS": "memoryQosConfig",
    "MemoryQoSV2": "memoryQosV2Config",
    "NetworkQoS": "networkQosConfig",
    "OverSubscription": "overSubscriptionConfig",
    "CPUThrottle": "cpuThrottlingConfig",
}


def config(
    colocation: bool | None, oversubscription: bool | None, enable: bool | None
) -> ColocationConfig:
    data = DEFAULT_CONFIG.to_json()
    data["nodeLabelConfig"] = {
        "nodeColocationEnable": colocation,
        "nodeOverSubscriptionEnable": oversubscription,
    }
    for key in ENABLE_SECTIONS.values():
        data[key] = {**data[key], "enable": enable}
    return config_from_json(data)


def test_features_lists_all_nine_gates_in_order() -> None:
    """features() returns the nine gates."""
    assert list(features(DEFAULT_CONFIG)) == [
        "CPUQoS",
        "CPUBurst",
        "MemoryQoS",
        "MemoryQoSV2",
        "NetworkQoS",
        "OverSubscription",
        "CPUThrottle",
        "Eviction",
        "Resources",
    ]
    assert list(FEATURES) == list(features(DEFAULT_CONFIG))


@pytest.mark.parametrize(
    ("colocation", "oversubscription", "enable", "expected_on"),
    [
        (False, False, True, {"Eviction", "Resources"}),
        (
            True,
            False,
            True,
            {
                "CPUQoS",
                "CPUBurst",
                "MemoryQoS",
                "MemoryQoSV2",
                "NetworkQoS",
                "Eviction",
                "Resources",
            },
        ),
        (False, True, True, set(FEATURES)),
        (True, True, True, set(FEATURES)),
        (True, True, False, {"Eviction", "Resources"}),
        (False, False, False, {"Eviction", "Resources"}),
    ],
)
def test_feature_gate_table(
    colocation: bool, oversubscription: bool, enable: bool, expected_on: set[str]
) -> None:
    """QoS gates need colocated + enable; OverSubscription/CPUThrottle need oversubscription."""
    gates = features(config(colocation, oversubscription, enable))
    assert {k for k, v in gates.items() if v} == expected_on


def test_oversubscription_label_turns_on_qos_gates_through_colocation() -> None:
    """End to end: the oversubscription label makes the node colocated and oversubscribed."""
    doc = COLOCATION.parse(
        '{"globalConfig": {"cpuQosConfig": {"enable": true}, '
        '"cpuThrottlingConfig": {"enable": true}}}'
    )
    config_ = COLOCATION.evaluate(doc, {"volcano.sh/oversubscription": "true"}).config
    gates = COLOCATION.features(config_)
    assert gates["CPUQoS"]
    assert gates["CPUThrottle"]
    assert gates["OverSubscription"]
    assert not gates["CPUBurst"]


@pytest.mark.parametrize(("feature", "section"), sorted(ENABLE_SECTIONS.items()))
def test_missing_enable_is_an_error_for_that_feature(feature: str, section: str) -> None:
    """A config lacking a section's enable fails that feature with the section's message."""
    data = DEFAULT_CONFIG.to_json()
    del data[section]["enable"]
    cfg = config_from_json(data)
    with pytest.raises(ConfigInvalid) as exc:
        feature_enabled(cfg, feature)
    (issue,) = exc.value.issues
    assert issue.path == f"{section}.enable"
    assert issue.message.startswith("nil ")
    assert feature_enabled(cfg, "Eviction") is True


def test_features_reports_every_missing_enable_at_once() -> None:
    """features() raises one ConfigInvalid naming every missing enable."""
    with pytest.raises(ConfigInvalid) as exc:
        features(config(True, True, None))
    assert [i.path for i in exc.value.issues] == [f"{s}.enable" for s in ENABLE_SECTIONS.values()]


def test_missing_node_label_config_fails_every_feature() -> None:
    """No nodeLabelConfig at all: "nil node label config", as Volcano's gate says."""
    with pytest.raises(ConfigInvalid, match="nil node label config"):
        feature_enabled(config(None, None, True), "Resources")


def test_known_volcano_messages() -> None:
    """The messages Volcano uses for missing sections."""
    messages = {}
    for feature, section in ENABLE_SECTIONS.items():
        data = DEFAULT_CONFIG.to_json()
        del data[section]["enable"]
        with pytest.raises(ConfigInvalid) as exc:
            feature_enabled(config_from_json(data), feature)
        messages[feature] = exc.value.issues[0].message
    assert messages["CPUQoS"] == "nil cpu qos config"
    assert messages["CPUBurst"] == "nil cpu burst config"
    assert messages["MemoryQoS"] == "nil memory qos config"
    assert messages["OverSubscription"] == "nil overSubscription config"


def test_unknown_feature_name_is_a_key_error() -> None:
    """Asking for a feature that does not exist raises KeyError."""
    with pytest.raises(KeyError):
        feature_enabled(DEFAULT_CONFIG, "BlkioQoS")
