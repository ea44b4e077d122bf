"""The typed document: overrides, their value maps and selectors, the matching override."""

from __future__ import annotations

import json

import pytest

from nodeconf.model import COLOCATION, ColocationDocument
from nodeconf.model.fields import field_index

DOC = {
    "globalConfig": {"cpuQosConfig": {"enable": True}},
    "nodesConfig": [
        {"selector": {"matchLabels": {"pool": "a"}}, "cpuBurstConfig": {"enable": True}},
        {
            "selector": {"matchExpressions": [{"key": "zone", "operator": "Exists"}]},
            "evictingConfig": {"evictingCPUHighWatermark": 70, "evictingCPULowWatermark": "x"},
        },
        {"selector": {"matchLabels": {"pool": "a"}}, "memoryQosConfig": {"enable": True}},
    ],
}


def parsed() -> ColocationDocument:
    return COLOCATION.parse(json.dumps(DOC))


def test_overrides_list_every_entry_with_its_set_values() -> None:
    """Each override exposes its position, path and the well-typed fields it sets."""
    overrides = parsed().overrides
    assert [o.position for o in overrides] == [0, 1, 2]
    assert [o.path for o in overrides] == ["nodesConfig[0]", "nodesConfig[1]", "nodesConfig[2]"]
    assert dict(overrides[1].values) == {
        field_index("evictingConfig", "evictingCPUHighWatermark"): 70
    }


def test_override_values_are_read_only() -> None:
    """An override's value map cannot be changed."""
    values = parsed().overrides[0].values
    with pytest.raises(TypeError):
        values[0] = False  # type: ignore[index]


def test_plain_match_labels_and_general_selectors_compile_alike() -> None:
    """A plain matchLabels selector and an expression selector both become Selector objects."""
    first, second, _ = parsed().overrides
    assert first.selector.kind == "requirements"
    assert first.selector.equal == (("pool", "a"),)
    assert second.selector.expressions == (("zone", "Exists", frozenset()),)


def test_matching_override_is_the_last_match() -> None:
    """matching_override returns the last override whose selector matches."""
    doc = parsed()
    match = doc.matching_override({"pool": "a", "zone": "z"})
    assert match is not None
    assert match.position == 2
    only_zone = doc.matching_override({"zone": "z"})
    assert only_zone is not None
    assert only_zone.position == 1
    assert doc.matching_override({}) is None


def test_selector_label_keys_cover_both_selector_forms() -> None:
    """Keys from plain matchLabels and from expressions are all listed."""
    assert parsed().selector_label_keys == frozenset({"pool", "zone"})


def test_global_json_shows_what_global_sets() -> None:
    """global_json renders the set global fields as sections."""
    assert parsed().global_json() == {"cpuQosConfig": {"enable": True}}
    assert COLOCATION.parse("{}").global_json() is None


def test_repr_summarises_the_document() -> None:
    """repr names the counts of overrides, warnings and errors."""
    assert "overrides=3, warnings=0, errors=1" in repr(parsed())
