"""deploy/: RBAC that covers exactly what nodeconf asks for, and a DaemonSet that runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.kubernetes.kube_helpers import (
    CONFIGMAP,
    KEY,
    NAMESPACE,
    NODE,
    POD,
    WAIT,
    RecordingContext,
    configmap,
    fast_settings,
)

from kubeapi import KubeAPIServer, RequestRecord
from nodeconf.cli.main import build_parser
from nodeconf.manager.outcomes import Outcome
from nodeconf.model import COLOCATION
from nodeconf.sources.kubernetes import DEFAULT_CONFIGMAP, KubernetesSource

pytestmark = pytest.mark.kubernetes

DEPLOY = Path(__file__).parents[2] / "deploy"
DEPLOY_NAMESPACE = "volcano-system"


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(DEPLOY.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def one(kind: str, name: str) -> dict[str, Any]:
    (found,) = [d for d in manifests() if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def granted_rules() -> list[dict[str, Any]]:
    """Every rule reaching the nodeconf service account, with its scope."""
    rules = []
    for binding in manifests():
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        assert {
            "kind": "ServiceAccount",
            "name": "nodeconf",
            "namespace": DEPLOY_NAMESPACE,
        } in binding["subjects"]
        role = one(binding["roleRef"]["kind"], binding["roleRef"]["name"])
        scope = binding["metadata"].get("namespace")  # None: cluster-wide
        rules += [{**rule, "scope": scope} for rule in role["rules"]]
    return rules


def rbac_request(record: RequestRecord) -> tuple[str, str, str | None, str | None]:
    """(verb, resource, name, namespace) the API server would authorise for a request."""
    parts = record.path.strip("/").split("/")  # api v1 [namespaces ns] resource [name]
    namespace = parts[3] if parts[2] == "namespaces" else None
    rest = parts[4:] if namespace else parts[2:]
    resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
    if record.method == "GET":
        verb = "get" if name else ("watch" if record.watch else "list")
        if name is None:  # list/watch narrowed by a field selector count as that name
            selector = record.query.get("fieldSelector", "")
            name = (
                selector.removeprefix("metadata.name=")
                if selector.startswith("metadata.name=")
                else None
            )
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[
            record.method
        ]
    return verb, resource, name, namespace


def allowed(verb: str, resource: str, name: str | None, namespace: str | None) -> bool:
    for rule in granted_rules():
        if rule["scope"] is not None and rule["scope"] != namespace:
            continue
        if resource not in rule["resources"] or verb not in rule["verbs"]:
            continue
        names = rule.get("resourceNames")
        if names is None or (name is not None and name in names):
            return True
    return False


def test_configmap_access_is_limited_to_the_one_configmap() -> None:
    """get/list/watch/update on ConfigMaps name the one ConfigMap (resourceNames)."""
    role = one("Role", "nodeconf-configmap")
    (named,) = [r for r in role["rules"] if "resourceNames" in r]
    assert named["resourceNames"] == [DEFAULT_CONFIGMAP]
    assert set(named["verbs"]) == {"get", "list", "watch", "update"}


def test_create_is_a_separate_rule_marked_prepare_only() -> None:
    """create cannot be limited by name: it is its own rule, explained as prepare-only."""
    role = one("Role", "nodeconf-configmap")
    (create,) = [r for r in role["rules"] if "create" in r["verbs"]]
    assert create["verbs"] == ["create"]
    assert "resourceNames" not in create
    text = (DEPLOY / "role.yaml").read_text()
    assert "ONLY WHEN PREPARE IS ON" in text
    assert "--no-prepare" in text


def test_cluster_permissions_are_nodes_events_and_pods_only() -> None:
    """Cluster-wide: nodes get/list/watch. Events create/patch and pods get only in the
    agent's namespace (a ClusterRole bound by a RoleBinding)."""
    wide = [r for r in granted_rules() if r["scope"] is None]
    assert [(r["resources"], sorted(r["verbs"])) for r in wide] == [
        (["nodes"], ["get", "list", "watch"])
    ]
    local = {
        (tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in granted_rules() if r["scope"]
    }
    assert (("events",), ("create", "patch")) in local
    assert (("pods",), ("get",)) in local


def test_every_request_nodeconf_makes_is_allowed(api: KubeAPIServer, kubeconfig: str) -> None:
    """Prepare (create, then backfill), both watches and Events (post and aggregate): each
    request the API server saw is authorised by deploy/'s RBAC - nothing more is needed."""
    api.create({"kind": "Pod", "metadata": {"name": POD, "namespace": NAMESPACE}, "spec": {}})
    first = KubernetesSource(
        namespace=NAMESPACE, node_name=NODE, kubeconfig=kubeconfig, settings=fast_settings()
    )
    first.prepare(COLOCATION, WAIT)  # creates the ConfigMap
    assert first.stop(WAIT)
    api.replace(
        {
            **configmap('{"globalConfig": {}}'),
            "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
        }
    )
    src = KubernetesSource(
        namespace=NAMESPACE,
        node_name=NODE,
        pod_name=POD,
        kubeconfig=kubeconfig,
        settings=fast_settings(),
    )
    sink = src.event_sink()
    try:
        src.prepare(COLOCATION, WAIT)  # backfills with an update
        src.start(RecordingContext())
        assert src.wait_synced(WAIT)
        assert api.wait_for_watchers(2)
        sink.emit(Outcome("synced", revision=1))
        assert sink.wait_idle(WAIT)
        sink.emit(Outcome("synced", revision=2))  # identical: aggregated with a patch
        assert sink.wait_idle(WAIT)
    finally:
        assert sink.close(WAIT)
        assert src.stop(WAIT)
    asked = {rbac_request(r) for r in api.requests if r.path.startswith("/api/v1/")}
    verbs = {(verb, resource) for verb, resource, _, _ in asked}
    assert {("create", "configmaps"), ("update", "configmaps"), ("patch", "events")} <= verbs
    assert api.get("configmaps", CONFIGMAP, NAMESPACE)["data"][KEY].count("evictingConfig") == 1  # type: ignore[index]
    denied = [a for a in asked if not allowed(*a)]
    assert denied == []


def test_daemonset_passes_identity_through_the_downward_api() -> None:
    """NODE_NAME, POD_NAME and POD_NAMESPACE come from the pod's own fields."""
    (container,) = one("DaemonSet", "nodeconf")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}
    assert env == {
        "NODE_NAME": "spec.nodeName",
        "POD_NAME": "metadata.name",
        "POD_NAMESPACE": "metadata.namespace",
    }


def test_daemonset_runs_non_root_on_a_read_only_root() -> None:
    """Non-root user, read-only root filesystem, no privilege escalation, no capabilities."""
    spec = one("DaemonSet", "nodeconf")["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] != 0
    assert spec["serviceAccountName"] == "nodeconf"
    (container,) = spec["containers"]
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]


def test_daemonset_arguments_are_accepted_by_nodeconf_run() -> None:
    """The container's arguments parse as `nodeconf run --source kubernetes ...`."""
    (container,) = one("DaemonSet", "nodeconf")["spec"]["template"]["spec"]["containers"]
    env = {"$(POD_NAMESPACE)": DEPLOY_NAMESPACE, "$(NODE_NAME)": NODE, "$(POD_NAME)": POD}
    args = [env.get(a, a) for a in container["args"]]
    parsed = build_parser().parse_args(["run", *args])
    assert (parsed.source, parsed.namespace, parsed.node_name, parsed.pod_name) == (
        "kubernetes",
        DEPLOY_NAMESPACE,
        NODE,
        POD,
    )
