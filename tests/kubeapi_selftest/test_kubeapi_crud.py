"""GET, LIST, POST, PUT, PATCH and DELETE over plain HTTP, as kube-apiserver answers them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kubeapi import KubeAPIError, KubeAPIServer
from kubeapi.wire import http_request

CM = "/api/v1/namespaces/default/configmaps"
Make = Callable[..., dict[str, Any]]


def test_post_creates_with_uid_timestamp_and_resource_version(
    server: KubeAPIServer, cm: Make
) -> None:
    """POST answers 201 with uid, creationTimestamp and resourceVersion set."""
    answer = http_request(server.url, "POST", CM, cm("a", {"k": "v"}))
    assert answer.status == 201
    meta = answer.body["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"].endswith("Z")
    assert meta["resourceVersion"] == str(server.resource_version)
    assert answer.headers["Content-Type"] == "application/json"


def test_post_existing_name_is_409_already_exists(server: KubeAPIServer, cm: Make) -> None:
    """Creating a name that exists is a 409 AlreadyExists Status."""
    server.create(cm("a"))
    answer = http_request(server.url, "POST", CM, cm("a"))
    assert (answer.status, answer.reason) == (409, "AlreadyExists")
    assert answer.body["kind"] == "Status"
    assert answer.body["code"] == 409
    assert answer.body["details"] == {"name": "a", "kind": "configmaps"}


def test_post_with_generate_name_picks_a_name(server: KubeAPIServer) -> None:
    """``metadata.generateName`` gets a random suffix."""
    body = {"kind": "ConfigMap", "metadata": {"generateName": "gen-"}}
    answer = http_request(server.url, "POST", CM, body)
    assert answer.status == 201
    assert answer.body["metadata"]["name"].startswith("gen-")
    assert len(answer.body["metadata"]["name"]) > len("gen-")


def test_post_rejects_non_string_configmap_data(server: KubeAPIServer, cm: Make) -> None:
    """ConfigMap data must map strings to strings (400 BadRequest)."""
    body = cm("a")
    body["data"] = {"n": 1}
    answer = http_request(server.url, "POST", CM, body)
    assert (answer.status, answer.reason) == (400, "BadRequest")


def test_get_returns_the_object(server: KubeAPIServer, cm: Make) -> None:
    """GET returns the stored object with kind and apiVersion."""
    created = server.create(cm("a", {"k": "v"}))
    answer = http_request(server.url, "GET", f"{CM}/a")
    assert answer.status == 200
    assert answer.body == created
    assert (answer.body["kind"], answer.body["apiVersion"]) == ("ConfigMap", "v1")


def test_get_missing_is_404_not_found(server: KubeAPIServer) -> None:
    """GET of a missing object is a 404 NotFound Status naming it."""
    answer = http_request(server.url, "GET", f"{CM}/nope")
    assert (answer.status, answer.reason) == (404, "NotFound")
    assert answer.body["message"] == 'configmaps "nope" not found'


def test_list_has_list_kind_and_current_resource_version(server: KubeAPIServer, cm: Make) -> None:
    """LIST answers ``ConfigMapList`` at the current global resourceVersion; items carry no
    kind/apiVersion, as the real server sends them."""
    server.create(cm("b"))
    server.create(cm("a"))
    server.create({"kind": "Node", "metadata": {"name": "n1"}})
    answer = http_request(server.url, "GET", CM)
    assert answer.body["kind"] == "ConfigMapList"
    assert answer.body["metadata"]["resourceVersion"] == "3"
    assert [i["metadata"]["name"] for i in answer.body["items"]] == ["a", "b"]
    assert all("kind" not in i and "apiVersion" not in i for i in answer.body["items"])


def test_list_across_namespaces(server: KubeAPIServer, cm: Make) -> None:
    """``/api/v1/configmaps`` lists every namespace; the namespaced path only its own."""
    server.create(cm("a", namespace="ns1"))
    server.create(cm("a", namespace="ns2"))
    everything = http_request(server.url, "GET", "/api/v1/configmaps").body["items"]
    only = http_request(server.url, "GET", "/api/v1/namespaces/ns2/configmaps").body["items"]
    assert [i["metadata"]["namespace"] for i in everything] == ["ns1", "ns2"]
    assert [i["metadata"]["namespace"] for i in only] == ["ns2"]


def test_list_pages_with_limit_and_continue(server: KubeAPIServer, cm: Make) -> None:
    """``limit`` cuts pages; ``continue`` fetches the next; the last page has no token."""
    for name in "abcde":
        server.create(cm(name))
    first = http_request(server.url, "GET", f"{CM}?limit=2").body
    assert first["metadata"]["remainingItemCount"] == 3
    token = first["metadata"]["continue"]
    second = http_request(server.url, "GET", f"{CM}?limit=2&continue={token}").body
    third_token = second["metadata"]["continue"]
    third = http_request(server.url, "GET", f"{CM}?limit=2&continue={third_token}").body
    names = [i["metadata"]["name"] for page in (first, second, third) for i in page["items"]]
    assert names == list("abcde")
    assert "continue" not in third["metadata"]


def test_put_replaces_and_bumps_resource_version(server: KubeAPIServer, cm: Make) -> None:
    """PUT with the current resourceVersion replaces the object under a new version."""
    created = server.create(cm("a", {"k": "1"}))
    body = cm("a", {"k": "2"})
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    answer = http_request(server.url, "PUT", f"{CM}/a", body)
    assert answer.status == 200
    assert answer.body["data"] == {"k": "2"}
    assert int(answer.body["metadata"]["resourceVersion"]) == server.resource_version == 2
    assert answer.body["metadata"]["uid"] == created["metadata"]["uid"]


def test_put_with_stale_resource_version_is_409_conflict(server: KubeAPIServer, cm: Make) -> None:
    """PUT with a stale resourceVersion is a 409 Conflict and changes nothing."""
    server.create(cm("a", {"k": "1"}))
    server.patch("configmaps", "a", {"data": {"k": "2"}})
    body = cm("a", {"k": "3"})
    body["metadata"]["resourceVersion"] = "1"
    answer = http_request(server.url, "PUT", f"{CM}/a", body)
    assert (answer.status, answer.reason) == (409, "Conflict")
    assert "the object has been modified" in answer.body["message"]
    stored = server.get("configmaps", "a")
    assert stored is not None
    assert stored["data"] == {"k": "2"}


def test_put_without_resource_version_is_unconditional(server: KubeAPIServer, cm: Make) -> None:
    """PUT without a resourceVersion overwrites whatever is stored."""
    server.create(cm("a", {"k": "1"}))
    server.patch("configmaps", "a", {"data": {"k": "2"}})
    answer = http_request(server.url, "PUT", f"{CM}/a", cm("a", {"k": "3"}))
    assert answer.status == 200
    assert answer.body["data"] == {"k": "3"}


def test_put_missing_is_404(server: KubeAPIServer, cm: Make) -> None:
    """PUT of an object that does not exist is a 404 NotFound."""
    answer = http_request(server.url, "PUT", f"{CM}/a", cm("a"))
    assert (answer.status, answer.reason) == (404, "NotFound")


def test_put_with_other_name_than_url_is_400(server: KubeAPIServer, cm: Make) -> None:
    """The body's name must match the URL's."""
    server.create(cm("a"))
    answer = http_request(server.url, "PUT", f"{CM}/a", cm("b"))
    assert (answer.status, answer.reason) == (400, "BadRequest")


def test_noop_update_creates_no_version(server: KubeAPIServer, cm: Make) -> None:
    """An update that changes nothing keeps the resourceVersion (no write happens)."""
    server.create(cm("a", {"k": "1"}))
    answer = http_request(server.url, "PUT", f"{CM}/a", cm("a", {"k": "1"}))
    assert answer.body["metadata"]["resourceVersion"] == "1"
    assert server.resource_version == 1


def test_merge_patch_merges_and_null_deletes(server: KubeAPIServer, cm: Make) -> None:
    """A merge patch merges maps and removes keys set to null."""
    server.create(cm("a", {"keep": "1", "drop": "2"}))
    patch = {"data": {"drop": None, "new": "3"}, "metadata": {"labels": {"x": "y"}}}
    answer = http_request(
        server.url, "PATCH", f"{CM}/a", patch, content_type="application/merge-patch+json"
    )
    assert answer.status == 200
    assert answer.body["data"] == {"keep": "1", "new": "3"}
    assert answer.body["metadata"]["labels"] == {"x": "y"}


def test_strategic_merge_patch_is_treated_as_merge(server: KubeAPIServer, cm: Make) -> None:
    """A strategic merge patch is applied as a merge patch."""
    server.create(cm("a", {"keep": "1"}))
    answer = http_request(
        server.url,
        "PATCH",
        f"{CM}/a",
        {"data": {"new": "2"}},
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.body["data"] == {"keep": "1", "new": "2"}


def test_json_patch_add_replace_remove(server: KubeAPIServer, cm: Make) -> None:
    """A JSON patch applies add, replace and remove in order."""
    server.create(cm("a", {"one": "1", "two": "2"}))
    ops = [
        {"op": "test", "path": "/data/one", "value": "1"},
        {"op": "replace", "path": "/data/one", "value": "uno"},
        {"op": "remove", "path": "/data/two"},
        {"op": "add", "path": "/data/three", "value": "3"},
    ]
    answer = http_request(
        server.url, "PATCH", f"{CM}/a", ops, content_type="application/json-patch+json"
    )
    assert answer.status == 200
    assert answer.body["data"] == {"one": "uno", "three": "3"}


def test_json_patch_failed_test_is_422_and_changes_nothing(server: KubeAPIServer, cm: Make) -> None:
    """A failing ``test`` operation rejects the whole patch with 422 Invalid."""
    server.create(cm("a", {"one": "1"}))
    ops = [
        {"op": "replace", "path": "/data/one", "value": "x"},
        {"op": "test", "path": "/data/one", "value": "1"},
    ]
    answer = http_request(
        server.url, "PATCH", f"{CM}/a", ops, content_type="application/json-patch+json"
    )
    assert (answer.status, answer.reason) == (422, "Invalid")
    stored = server.get("configmaps", "a")
    assert stored is not None
    assert stored["data"] == {"one": "1"}
    assert server.resource_version == 1


def test_patch_with_stale_resource_version_is_409(server: KubeAPIServer, cm: Make) -> None:
    """A resourceVersion inside a merge patch is a precondition."""
    server.create(cm("a", {"k": "1"}))
    server.patch("configmaps", "a", {"data": {"k": "2"}})
    patch = {"metadata": {"resourceVersion": "1"}, "data": {"k": "3"}}
    answer = http_request(
        server.url, "PATCH", f"{CM}/a", patch, content_type="application/merge-patch+json"
    )
    assert (answer.status, answer.reason) == (409, "Conflict")


def test_patch_missing_is_404(server: KubeAPIServer) -> None:
    """PATCH of a missing object is a 404 NotFound."""
    answer = http_request(
        server.url, "PATCH", f"{CM}/a", {"data": {}}, content_type="application/merge-patch+json"
    )
    assert (answer.status, answer.reason) == (404, "NotFound")


def test_unsupported_patch_type_is_415(server: KubeAPIServer, cm: Make) -> None:
    """Server-side apply (or any other patch type) is refused with 415."""
    server.create(cm("a"))
    answer = http_request(
        server.url, "PATCH", f"{CM}/a", {"data": {}}, content_type="application/apply-patch+yaml"
    )
    assert (answer.status, answer.reason) == (415, "UnsupportedMediaType")


def test_delete_answers_success_status(server: KubeAPIServer, cm: Make) -> None:
    """DELETE answers a Success Status with the object's name, kind and uid."""
    created = server.create(cm("a"))
    answer = http_request(server.url, "DELETE", f"{CM}/a")
    assert answer.status == 200
    assert answer.body["status"] == "Success"
    assert answer.body["details"] == {
        "name": "a",
        "kind": "configmaps",
        "uid": created["metadata"]["uid"],
    }
    assert server.get("configmaps", "a") is None
    assert server.resource_version == 2


def test_delete_with_stale_precondition_is_409(server: KubeAPIServer, cm: Make) -> None:
    """DeleteOptions preconditions are checked (409 Conflict, object kept)."""
    server.create(cm("a"))
    options = {"kind": "DeleteOptions", "preconditions": {"resourceVersion": "0"}}
    answer = http_request(server.url, "DELETE", f"{CM}/a", options)
    assert (answer.status, answer.reason) == (409, "Conflict")
    assert server.get("configmaps", "a") is not None


def test_delete_missing_is_404(server: KubeAPIServer) -> None:
    """DELETE of a missing object is a 404 NotFound."""
    answer = http_request(server.url, "DELETE", f"{CM}/a")
    assert (answer.status, answer.reason) == (404, "NotFound")


def test_one_global_resource_version_across_kinds(server: KubeAPIServer, cm: Make) -> None:
    """Every write of any kind bumps the same resourceVersion by one."""
    versions = [
        server.create(cm("a"))["metadata"]["resourceVersion"],
        server.create({"kind": "Node", "metadata": {"name": "n"}})["metadata"]["resourceVersion"],
        server.create({"kind": "Pod", "metadata": {"name": "p"}})["metadata"]["resourceVersion"],
        server.patch("nodes", "n", {"metadata": {"labels": {"a": "b"}}})["metadata"][
            "resourceVersion"
        ],
    ]
    assert versions == ["1", "2", "3", "4"]


def test_nodes_are_cluster_scoped(server: KubeAPIServer) -> None:
    """Nodes live at ``/api/v1/nodes/{name}`` and carry no namespace."""
    answer = http_request(server.url, "POST", "/api/v1/nodes", {"metadata": {"name": "n1"}})
    assert answer.status == 201
    assert "namespace" not in answer.body["metadata"]
    assert http_request(server.url, "GET", "/api/v1/nodes/n1").status == 200
    assert http_request(server.url, "GET", "/api/v1/namespaces/default/nodes/n1").status == 404


def test_events_accept_create_and_count_patch(server: KubeAPIServer) -> None:
    """core/v1 Events can be created and their count patched (client-go aggregation)."""
    path = "/api/v1/namespaces/default/events"
    event = {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": "agent.1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "agent", "namespace": "default"},
        "reason": "ConfigApplyFailed",
        "message": "Failed to apply config(x)",
        "type": "Warning",
        "count": 1,
    }
    assert http_request(server.url, "POST", path, event).status == 201
    answer = http_request(
        server.url,
        "PATCH",
        f"{path}/agent.1",
        {"count": 2},
        content_type="application/strategic-merge-patch+json",
    )
    assert answer.status == 200
    assert answer.body["count"] == 2
    selected = http_request(server.url, "GET", f"{path}?fieldSelector=reason=ConfigApplyFailed")
    assert len(selected.body["items"]) == 1


def test_version_and_discovery(server: KubeAPIServer) -> None:
    """``/version``, ``/api`` and ``/api/v1`` answer minimal discovery documents."""
    assert http_request(server.url, "GET", "/version").body["major"] == "1"
    assert http_request(server.url, "GET", "/api").body["versions"] == ["v1"]
    resources = http_request(server.url, "GET", "/api/v1").body["resources"]
    assert {r["name"] for r in resources} == {"configmaps", "nodes", "pods", "events"}


def test_unknown_path_is_404_status(server: KubeAPIServer) -> None:
    """An unserved path is a 404 NotFound Status."""
    answer = http_request(server.url, "GET", "/api/v1/namespaces/default/secrets")
    assert (answer.status, answer.reason) == (404, "NotFound")


def test_invalid_json_body_is_400(server: KubeAPIServer) -> None:
    """A body that is not JSON is a 400 BadRequest."""
    answer = http_request(server.url, "POST", CM, "not json")
    assert (answer.status, answer.reason) == (400, "BadRequest")


def test_direct_api_raises_the_status_an_http_client_gets(server: KubeAPIServer, cm: Make) -> None:
    """The direct store API raises ``KubeAPIError`` carrying the same Status."""
    server.create(cm("a"))
    with pytest.raises(KubeAPIError) as excinfo:
        server.create(cm("a"))
    assert (excinfo.value.code, excinfo.value.reason) == (409, "AlreadyExists")
    with pytest.raises(KubeAPIError) as missing:
        server.delete("configmaps", "zzz")
    assert missing.value.code == 404
    assert server.get("ConfigMap", "a") is not None  # kind names work too
    assert [o["metadata"]["name"] for o in server.list("configmaps")] == ["a"]
