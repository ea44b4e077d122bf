"""The pure helpers: JSON merge/JSON patch and selector parsing."""

from __future__ import annotations

import pytest

from kubeapi import KubeAPIError
from kubeapi._patch import apply_json_patch, apply_merge_patch
from kubeapi._resources import RESOURCES
from kubeapi._selectors import parse_field_selector, parse_label_selector


def test_merge_patch_replaces_lists_whole() -> None:
    """Lists in a merge patch replace the target's list (no merging by key)."""
    assert apply_merge_patch({"a": [1, 2], "b": 1}, {"a": [3]}) == {"a": [3], "b": 1}


def test_merge_patch_does_not_mutate_its_target() -> None:
    """The target document is left untouched."""
    target = {"a": {"b": 1}}
    apply_merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_json_patch_pointer_escapes_and_list_ops() -> None:
    """``~1``/``~0`` escapes, ``-`` appends, ``move`` and ``copy`` work."""
    doc = {"a/b": {"m~n": 1}, "l": [1]}
    ops = [
        {"op": "add", "path": "/l/-", "value": 2},
        {"op": "copy", "from": "/a~1b/m~0n", "path": "/c"},
        {"op": "move", "from": "/l/0", "path": "/first"},
    ]
    assert apply_json_patch(doc, ops) == {"a/b": {"m~n": 1}, "l": [2], "c": 1, "first": 1}


def test_json_patch_replace_of_missing_path_is_invalid() -> None:
    """``replace`` needs the path to exist (422 Invalid)."""
    with pytest.raises(KubeAPIError) as excinfo:
        apply_json_patch({"a": {}}, [{"op": "replace", "path": "/a/b", "value": 1}])
    assert excinfo.value.code == 422


def test_malformed_label_selector_is_400() -> None:
    """An unparsable label selector is a 400 BadRequest."""
    with pytest.raises(KubeAPIError) as excinfo:
        parse_label_selector("tier>1")
    assert excinfo.value.code == 400


def test_label_selector_not_equal_matches_objects_without_the_label() -> None:
    """``k!=v`` matches objects that lack ``k``, as in Kubernetes."""
    selector = parse_label_selector("tier!=gold")
    assert selector.matches({"metadata": {}})
    assert not selector.matches({"metadata": {"labels": {"tier": "gold"}}})


def test_field_selector_on_event_involved_object() -> None:
    """Events can be selected by ``involvedObject.name``."""
    selector = parse_field_selector("involvedObject.name=agent", RESOURCES["events"])
    assert selector.matches({"metadata": {}, "involvedObject": {"name": "agent"}})
    assert not selector.matches({"metadata": {}, "involvedObject": {"name": "other"}})
