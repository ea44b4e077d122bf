"""Each applied change is logged with its diff."""

from __future__ import annotations

from nodeconf.status.changelog import Change, json_diff


def test_diff_lists_only_changed_leaves_with_their_path() -> None:
    """Unchanged fields are left out; a changed field shows its dotted path, old and new."""
    old = {"evictingConfig": {"evictingCPUHighWatermark": 80, "evictingCPULowWatermark": 30}}
    new = {"evictingConfig": {"evictingCPUHighWatermark": 70, "evictingCPULowWatermark": 30}}
    assert json_diff(old, new) == [Change("evictingConfig.evictingCPUHighWatermark", 80, 70)]


def test_diff_from_nothing_lists_every_leaf() -> None:
    """The first config is reported whole."""
    new = {"cpuQosConfig": {"enable": False}, "overSubscriptionConfig": {"enable": True}}
    assert [c.path for c in json_diff(None, new)] == [
        "cpuQosConfig.enable",
        "overSubscriptionConfig.enable",
    ]


def test_diff_reports_a_field_that_became_unset() -> None:
    """A field present before and absent now shows as ``-> null``."""
    change = json_diff({"s": {"a": 1, "b": 2}}, {"s": {"a": 1}})
    assert change == [Change("s.b", 2, None)]
    assert str(change[0]) == "s.b: 2 -> null"


def test_diff_of_equal_configs_is_empty() -> None:
    """Nothing changed, nothing to log."""
    config = {"s": {"a": 1, "t": "cpu,memory"}}
    assert json_diff(config, dict(config)) == []
