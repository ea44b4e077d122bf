"""The ``status`` subresource and strategic merge of ``status.conditions`` keyed by type."""

from __future__ import annotations

from typing import Any

import pytest

from kubeapi import KubeAPIError, KubeAPIServer
from kubeapi._patch import apply_strategic_merge_patch
from kubeapi.wire import http_request

POD = "/api/v1/namespaces/default/pods/agent-1"
SMP = "application/strategic-merge-patch+json"
KUBELET = [
    {"type": "Ready", "status": "True", "reason": ""},
    {"type": "PodScheduled", "status": "True"},
]


def _pod(server: KubeAPIServer) -> dict[str, Any]:
    return server.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "agent-1", "namespace": "default"},
            "spec": {"nodeName": "n1", "containers": [{"name": "a", "image": "agent:1"}]},
            "status": {"phase": "Running", "conditions": KUBELET},
        }
    )


def _condition(status: str, reason: str) -> dict[str, Any]:
    return {"type": "nodeconf.io/ConfigApplied", "status": status, "reason": reason}


def test_strategic_merge_adds_and_replaces_conditions_by_type() -> None:
    """A condition of a new type is appended; one of an existing type is merged in place."""
    target = {"status": {"conditions": [{"type": "A", "status": "True"}, {"type": "B"}]}}
    patched = apply_strategic_merge_patch(
        target, {"status": {"conditions": [{"type": "A", "status": "False"}, {"type": "C"}]}}
    )
    assert patched["status"]["conditions"] == [
        {"type": "A", "status": "False"},
        {"type": "B"},
        {"type": "C"},
    ]
    assert target["status"]["conditions"][0]["status"] == "True"


def test_strategic_merge_replaces_other_lists_whole() -> None:
    """Lists that have no merge key are replaced, as in a merge patch."""
    assert apply_strategic_merge_patch({"a": [1, 2]}, {"a": [3]}) == {"a": [3]}


def test_strategic_merge_condition_without_type_is_400() -> None:
    """A condition without its merge key is a 400 BadRequest."""
    with pytest.raises(KubeAPIError) as excinfo:
        apply_strategic_merge_patch({}, {"status": {"conditions": [{"status": "True"}]}})
    assert excinfo.value.code == 400


def test_status_patch_keeps_the_kubelets_conditions(server: KubeAPIServer) -> None:
    """PATCH pods/<name>/status merges our condition; the kubelet's stay as they were."""
    _pod(server)
    patch = {"status": {"conditions": [_condition("False", "Pending")]}}
    assert http_request(server.url, "PATCH", f"{POD}/status", patch, content_type=SMP).status == 200
    patch = {"status": {"conditions": [_condition("True", "Applied")]}}
    answer = http_request(server.url, "PATCH", f"{POD}/status", patch, content_type=SMP)
    assert answer.status == 200
    assert answer.body["status"]["conditions"] == [*KUBELET, _condition("True", "Applied")]
    stored = server.get("pods", "agent-1", "default")
    assert stored is not None
    assert stored["status"]["conditions"] == [*KUBELET, _condition("True", "Applied")]


def test_status_patch_ignores_everything_outside_status(server: KubeAPIServer) -> None:
    """A status patch cannot change the spec or the labels (only ``status`` is kept)."""
    _pod(server)
    patch = {
        "metadata": {"labels": {"x": "y"}},
        "spec": {"containers": [{"name": "a", "image": "evil:1"}]},
        "status": {"conditions": [_condition("True", "Applied")]},
    }
    answer = http_request(server.url, "PATCH", f"{POD}/status", patch, content_type=SMP)
    assert answer.status == 200
    assert answer.body["spec"]["containers"][0]["image"] == "agent:1"
    assert "labels" not in answer.body["metadata"]


def test_status_subresource_of_a_missing_pod_is_404(server: KubeAPIServer) -> None:
    """Patching the status of a pod that does not exist is a 404 NotFound."""
    patch = {"status": {"conditions": [_condition("True", "Applied")]}}
    answer = http_request(server.url, "PATCH", f"{POD}/status", patch, content_type=SMP)
    assert answer.status == 404


def test_unknown_subresource_and_status_put_are_refused(server: KubeAPIServer) -> None:
    """Only GET and PATCH of ``/status`` are served; other subresources do not exist."""
    _pod(server)
    assert http_request(server.url, "GET", f"{POD}/log").status == 404
    assert http_request(server.url, "PUT", f"{POD}/status", {"status": {}}).status == 405
    assert http_request(server.url, "GET", f"{POD}/status").body["metadata"]["name"] == "agent-1"
