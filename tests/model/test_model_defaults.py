"""Defaults (spec section 2) and the prepare-step backfill (spec section 3)."""

from __future__ import annotations

import json

import pytest

from nodeconf.errors import DocumentError
from nodeconf.model import COLOCATION, DEFAULT_CONFIG, default_document_text, prepare_document

DEFAULTS = {
    "nodeLabelConfig": {"nodeColocationEnable": True, "nodeOverSubscriptionEnable": False},
    "cpuQosConfig": {"enable": False},
    "cpuBurstConfig": {"enable": False},
    "memoryQosConfig": {"enable": False},
    "memoryQosV2Config": {"enable": False},
    "networkQosConfig": {
        "enable": False,
        "onlineBandwidthWatermarkPercent": 80,
        "offlineLowBandwidthPercent": 10,
        "offlineHighBandwidthPercent": 40,
        "qosCheckInterval": 10000000,
    },
    "overSubscriptionConfig": {"enable": True, "overSubscriptionTypes": "cpu,memory"},
    "evictingConfig": {
        "evictingCPUHighWatermark": 80,
        "evictingMemoryHighWatermark": 60,
        "evictingCPULowWatermark": 30,
        "evictingMemoryLowWatermark": 30,
    },
    "cpuThrottlingConfig": {"enable": False},
}


def test_default_config_has_exactly_the_spec_values() -> None:
    """Every default of spec section 2, and nothing else (throttling numbers unset)."""
    assert DEFAULT_CONFIG.to_json() == DEFAULTS


def test_default_document_is_global_config_with_the_defaults() -> None:
    """The default document holds globalConfig with exactly the defaults, in the order of
    Volcano's default text (cpuBurstConfig first), fields in Go struct order."""
    text = default_document_text()
    assert json.loads(text) == {"globalConfig": DEFAULTS}
    order = list(json.loads(text)["globalConfig"])
    assert order[:3] == ["nodeLabelConfig", "cpuBurstConfig", "cpuQosConfig"]
    assert order[3:] == list(DEFAULTS)[3:]
    assert list(json.loads(text)["globalConfig"]["networkQosConfig"]) == list(
        DEFAULTS["networkQosConfig"]
    )
    assert list(json.loads(text)["globalConfig"]["evictingConfig"]) == list(
        DEFAULTS["evictingConfig"]
    )


def test_default_document_is_pretty_printed_with_two_spaces() -> None:
    """Two-space indentation, one trailing newline."""
    text = default_document_text()
    order = list(json.loads(text)["globalConfig"])
    assert text == json.dumps({"globalConfig": {k: DEFAULTS[k] for k in order}}, indent=2) + "\n"
    assert text.splitlines()[1] == '  "globalConfig": {'


def test_default_document_evaluates_to_defaults_without_issues() -> None:
    """Parsing and evaluating the default document gives the default config, no warning."""
    doc = COLOCATION.parse(default_document_text())
    assert doc.warnings == ()
    assert doc.errors == ()
    result = COLOCATION.evaluate(doc, {"volcano.sh/colocation": "true"})
    assert result.valid
    assert result.config == DEFAULT_CONFIG


def test_prepare_leaves_a_complete_document_untouched() -> None:
    """Nothing to add: the original text comes back, unchanged, with changed=False."""
    text = '{"globalConfig": {"overSubscriptionConfig": {}, "evictingConfig": {"x": 1}}}'
    assert prepare_document(text) == (text, False)


def test_prepare_accepts_bytes() -> None:
    """Bytes input is decoded; the returned text is a str."""
    text = default_document_text()
    assert prepare_document(text.encode()) == (text, False)


def test_prepare_adds_missing_oversubscription_and_evicting_defaults() -> None:
    """Missing overSubscriptionConfig and evictingConfig get defaults; nothing else is added."""
    text, changed = prepare_document('{"globalConfig": {"cpuQosConfig": {"enable": true}}}')
    assert changed
    assert json.loads(text) == {
        "globalConfig": {
            "cpuQosConfig": {"enable": True},
            "overSubscriptionConfig": {"enable": True, "overSubscriptionTypes": "cpu,memory"},
            "evictingConfig": DEFAULTS["evictingConfig"],
        }
    }
    assert text.startswith('{\n  "globalConfig": {\n    "cpuQosConfig"')


@pytest.mark.parametrize("present", ["overSubscriptionConfig", "evictingConfig"])
def test_prepare_adds_only_the_missing_section(present: str) -> None:
    """Only the absent one of the two sections is added."""
    text, changed = prepare_document(json.dumps({"globalConfig": {present: {}}}))
    assert changed
    added = {"overSubscriptionConfig", "evictingConfig"} - {present}
    assert set(json.loads(text)["globalConfig"]) == {present, *added}
    assert json.loads(text)["globalConfig"][present] == {}


def test_prepare_treats_a_null_section_as_missing() -> None:
    """A null section is filled like a missing one (Go sees a nil pointer)."""
    text, changed = prepare_document(
        '{"globalConfig": {"evictingConfig": null, "overSubscriptionConfig": {}}}'
    )
    assert changed
    assert json.loads(text)["globalConfig"]["evictingConfig"] == DEFAULTS["evictingConfig"]


def test_prepare_preserves_everything_else_the_admin_wrote() -> None:
    """Unknown keys, nodesConfig and key order survive the backfill (Volcano drops unknown keys)."""
    original = {
        "zeta": {"note": "keep me"},
        "globalConfig": {"custom": [1, 2], "cpuQosConfig": {"enable": True, "extra": "x"}},
        "nodesConfig": [
            {"selector": {"matchLabels": {"a": "b"}}, "cpuBurstConfig": {"enable": True}}
        ],
    }
    text, changed = prepare_document(json.dumps(original))
    out = json.loads(text)
    assert changed
    assert list(out) == ["zeta", "globalConfig", "nodesConfig"]
    assert out["zeta"] == original["zeta"]
    assert out["nodesConfig"] == original["nodesConfig"]
    assert list(out["globalConfig"])[:2] == ["custom", "cpuQosConfig"]
    assert out["globalConfig"]["cpuQosConfig"] == {"enable": True, "extra": "x"}


@pytest.mark.parametrize("text", ["{}", '{"globalConfig": null}', '{"nodesConfig": []}'])
def test_prepare_without_global_config_is_an_error(text: str) -> None:
    """No globalConfig: "empty global config"."""
    with pytest.raises(DocumentError, match=r"^<document>: empty global config$"):
        prepare_document(text)


def test_prepare_with_global_config_not_an_object_is_an_error() -> None:
    """A globalConfig that is not an object cannot be backfilled."""
    with pytest.raises(DocumentError, match="globalConfig must be an object"):
        prepare_document('{"globalConfig": []}')


def test_prepare_unreadable_document_is_an_error() -> None:
    """Bad JSON is a DocumentError with a position."""
    with pytest.raises(DocumentError) as exc:
        prepare_document("{")
    assert exc.value.line == 1


def test_prepared_text_is_stable() -> None:
    """Preparing the prepared text changes nothing more."""
    text, _ = prepare_document('{"globalConfig": {}}')
    assert prepare_document(text) == (text, False)
