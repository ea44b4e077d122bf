"""The effective config: immutable, hashable, by value; JSON round trip; changed sections."""

from __future__ import annotations

import json

import pytest

from nodeconf.errors import DocumentError
from nodeconf.model import (
    COLOCATION,
    DEFAULT_CONFIG,
    SECTION_KEYS,
    ColocationConfig,
    config_from_json,
)
from nodeconf.model.seam import EffectiveConfig


def evaluated(doc: dict[str, object], labels: dict[str, str] | None = None) -> ColocationConfig:
    config = COLOCATION.evaluate(COLOCATION.parse(json.dumps(doc)), labels or {}).config
    assert isinstance(config, ColocationConfig)
    return config


def test_config_implements_effective_config() -> None:
    """ColocationConfig satisfies the seam's EffectiveConfig protocol."""
    assert isinstance(DEFAULT_CONFIG, EffectiveConfig)


def test_equal_configs_from_different_documents_are_equal_and_hash_alike() -> None:
    """Two documents with the same effective result give equal, equally hashed configs."""
    a = evaluated({"globalConfig": {"cpuQosConfig": {"enable": True}}})
    b = evaluated(
        {"globalConfig": {}, "nodesConfig": [{"selector": {}, "cpuQosConfig": {"enable": True}}]}
    )
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1


def test_different_configs_are_not_equal() -> None:
    """One differing field makes configs unequal."""
    assert evaluated({"globalConfig": {"cpuQosConfig": {"enable": True}}}) != DEFAULT_CONFIG


def test_config_is_immutable() -> None:
    """Attributes cannot be set, replaced or deleted on a config."""
    with pytest.raises(AttributeError):
        DEFAULT_CONFIG.extra = 1  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        DEFAULT_CONFIG._values = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del DEFAULT_CONFIG._values


def test_config_survives_pickling() -> None:
    """A config pickles by value (it may cross process boundaries in tools)."""
    import pickle

    config = evaluated({"globalConfig": {"cpuQosConfig": {"enable": True}}})
    assert pickle.loads(pickle.dumps(config)) == config


def test_config_is_not_equal_to_other_types() -> None:
    """Comparing with a non-config is simply unequal."""
    assert DEFAULT_CONFIG.to_json() != DEFAULT_CONFIG


def test_to_json_lists_every_section_and_omits_unset_fields() -> None:
    """Every section is present in canonical order; unset fields are omitted, never null."""
    data = DEFAULT_CONFIG.to_json()
    assert tuple(data) == SECTION_KEYS
    assert data["cpuThrottlingConfig"] == {"enable": False}
    assert "null" not in json.dumps(data)


def test_empty_config_still_lists_every_section() -> None:
    """A config with nothing set renders every section as an empty object."""
    empty = ColocationConfig((None,) * len(DEFAULT_CONFIG.values))
    assert empty.to_json() == {key: {} for key in SECTION_KEYS}


def test_round_trip_through_json_text() -> None:
    """config_from_json(json.dumps(c.to_json())) == c."""
    config = evaluated(
        {"globalConfig": {"cpuThrottlingConfig": {"cpuThrottlingThreshold": 50}}},
        {"volcano.sh/oversubscription": "1"},
    )
    assert config_from_json(json.dumps(config.to_json())) == config
    assert config_from_json(config.to_json()) == config


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"bogus": {}}, "bogus: unknown section"),
        ({"cpuQosConfig": {"x": 1}}, "cpuQosConfig.x: unknown field"),
        ({"cpuQosConfig": {"enable": 1}}, "cpuQosConfig.enable: must be bool, got integer"),
        ({"cpuQosConfig": []}, "cpuQosConfig: must be an object"),
        ({"evictingConfig": {"evictingCPUHighWatermark": 2**64}}, "must be int"),
    ],
)
def test_config_from_json_is_strict(data: dict[str, object], fragment: str) -> None:
    """Reading a config back rejects unknown names and wrong types with the path."""
    with pytest.raises(DocumentError, match=fragment):
        config_from_json(data)


def test_config_from_json_treats_missing_and_null_as_unset() -> None:
    """Missing sections and null fields are unset."""
    config = config_from_json({"cpuQosConfig": {"enable": None}})
    assert config.value("cpuQosConfig", "enable") is None
    assert config["evictingConfig"] == {}


def test_changed_sections_of_first_config_is_every_section() -> None:
    """With no previous config, every section counts as changed."""
    assert COLOCATION.changed_sections(None, DEFAULT_CONFIG) == frozenset(SECTION_KEYS)


def test_changed_sections_lists_exactly_the_differing_sections() -> None:
    """Only sections with a differing field are listed."""
    new = evaluated(
        {
            "globalConfig": {
                "cpuQosConfig": {"enable": True},
                "evictingConfig": {"evictingCPULowWatermark": 10},
            }
        },
        {"volcano.sh/colocation": "true"},
    )
    old = evaluated({"globalConfig": {}}, {"volcano.sh/colocation": "true"})
    assert COLOCATION.changed_sections(old, new) == {"cpuQosConfig", "evictingConfig"}
    assert COLOCATION.changed_sections(new, new) == frozenset()


def test_value_and_item_access() -> None:
    """value() reads one field; [section] gives the set fields; unknown names raise KeyError."""
    assert DEFAULT_CONFIG.value("evictingConfig", "evictingCPUHighWatermark") == 80
    assert DEFAULT_CONFIG["overSubscriptionConfig"] == {
        "enable": True,
        "overSubscriptionTypes": "cpu,memory",
    }
    assert list(DEFAULT_CONFIG) == list(SECTION_KEYS)
    with pytest.raises(KeyError):
        DEFAULT_CONFIG.value("evictingConfig", "nope")
    with pytest.raises(KeyError):
        DEFAULT_CONFIG["nope"]


def test_wrong_number_of_values_is_refused() -> None:
    """A value tuple of the wrong length is a ValueError."""
    with pytest.raises(ValueError, match="expected"):
        ColocationConfig((True,))


def test_repr_is_compact_json() -> None:
    """repr shows the config's JSON."""
    assert repr(DEFAULT_CONFIG).startswith('ColocationConfig({"nodeLabelConfig":')
