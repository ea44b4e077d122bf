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
from nodeconf import ConfigManager
from nodeconf.cli.main import build_parser
from nodeconf.manager.outcomes import Outcome
from nodeconf.model import COLOCATION
from nodeconf.sources.kubernetes import (
    DEFAULT_CONFIGMAP,
    KubernetesSource,
    PodConditionSettings,
)
from nodeconf.testing import StaticSource

pytestmark = pytest.mark.kubernetes

DEPLOY = Path(__file__).parents[2] / "deploy"
PREPARE = DEPLOY / "prepare"
DEPLOY_NAMESPACE = "volcano-system"


def manifests(directory: Path = DEPLOY) -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(directory.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def one(kind: str, name: str, directory: Path = DEPLOY) -> dict[str, Any]:
    found = [d for d in manifests(directory) if d["kind"] == kind and d["metadata"]["name"] == name]
    (only,) = found
    return only


def granted_rules(
    account: str = "nodeconf", directory: Path = DEPLOY, *, only: bool = True
) -> list[dict[str, Any]]:
    """Every rule reaching service account ``account`` from ``directory``'s bindings, with its
    scope. With ``only``, every binding there must name that account."""
    rules = []
    subject = {"kind": "ServiceAccount", "name": account, "namespace": DEPLOY_NAMESPACE}
    for binding in manifests(directory):
        if binding["kind"] not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        if subject not in binding["subjects"]:
            assert not only, f"{binding['metadata']['name']} binds another account"
            continue
        role = one(binding["roleRef"]["kind"], binding["roleRef"]["name"], directory)
        scope = binding["metadata"].get("namespace")  # None: cluster-wide
        rules += [{**rule, "scope": scope} for rule in role["rules"]]
    return rules


def rbac_request(record: RequestRecord) -> tuple[str, str, str | None, str | None]:
    """(verb, resource, name, namespace) the API server would authorise for a request."""
    parts = record.path.strip("/").split("/")  # api v1 [namespaces ns] resource [name]
    namespace = parts[3] if parts[2] == "namespaces" else None
    rest = parts[4:] if namespace else parts[2:]
    resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
    if len(rest) > 2:  # a subresource: pods/status
        resource = f"{resource}/{rest[2]}"
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


def allowed(
    verb: str,
    resource: str,
    name: str | None,
    namespace: str | None,
    rules: list[dict[str, Any]] | None = None,
) -> bool:
    for rule in granted_rules() if rules is None else rules:
        if rule["scope"] is not None and rule["scope"] != namespace:
            continue
        if resource not in rule["resources"] or verb not in rule["verbs"]:
            continue
        names = rule.get("resourceNames")
        if names is None or (name is not None and name in names):
            return True
    return False


def test_configmap_access_is_limited_to_the_one_configmap() -> None:
    """get/list/watch on ConfigMaps name the one ConfigMap (resourceNames)."""
    role = one("Role", "nodeconf-configmap")
    (named,) = role["rules"]
    assert named["resourceNames"] == [DEFAULT_CONFIGMAP]
    assert set(named["verbs"]) == {"get", "list", "watch"}


def test_the_daemonset_service_account_cannot_write_configmaps() -> None:
    """No role bound to the DaemonSet's ServiceAccount grants create, update or patch (or any
    other write, or a wildcard) on ConfigMaps."""
    account = one("DaemonSet", "nodeconf")["spec"]["template"]["spec"]["serviceAccountName"]
    writes = {"create", "update", "patch", "delete", "deletecollection", "*"}
    for directory in (DEPLOY, PREPARE):
        for rule in granted_rules(account, directory, only=directory == DEPLOY):
            if {"configmaps", "*"} & set(rule["resources"]):
                assert not writes & set(rule["verbs"]), rule


def test_the_prepare_job_runs_nodeconf_prepare_under_its_own_account() -> None:
    """The one-shot Job has its own ServiceAccount, the only one that may create and update
    the ConfigMap; its arguments parse as `nodeconf prepare`."""
    spec = one("Job", "nodeconf-prepare", PREPARE)["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "nodeconf-prepare"
    (container,) = spec["containers"]
    assert container["command"] == ["nodeconf"]
    args = [DEPLOY_NAMESPACE if a == "$(POD_NAMESPACE)" else a for a in container["args"]]
    parsed = build_parser().parse_args(args)
    assert (parsed.command, parsed.namespace) == ("prepare", DEPLOY_NAMESPACE)
    verbs = {v for r in granted_rules("nodeconf-prepare", PREPARE) for v in r["verbs"]}
    assert verbs == {"get", "update", "create"}


def test_a_network_policy_admits_only_the_scraper_to_the_status_port() -> None:
    """The status port is reachable only from pods the policy names (the metrics scraper)."""
    policy = one("NetworkPolicy", "nodeconf-status")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "nodeconf"}
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 9808}]
    (peer,) = rule["from"]
    assert set(peer) == {"namespaceSelector", "podSelector"}


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
    assert (("pods/status",), ("patch",)) in local


def test_the_agent_may_patch_pod_status_but_never_write_pods() -> None:
    """The condition needs ``patch`` on ``pods/status``; no rule lets the agent write a pod."""
    assert allowed("patch", "pods/status", POD, NAMESPACE)
    assert not allowed("patch", "pods/status", POD, "kube-system")
    for verb in ("create", "update", "patch", "delete"):
        assert not allowed(verb, "pods", POD, NAMESPACE)
    assert not allowed("update", "pods/status", POD, NAMESPACE)


def test_every_request_nodeconf_makes_is_allowed(api: KubeAPIServer, kubeconfig: str) -> None:
    """Prepare (create, then backfill) is authorised by deploy/prepare/'s account; the agent
    (both watches, Events posted and aggregated) by the DaemonSet's, which writes no
    ConfigMap: each request the API server saw is allowed - nothing more is needed."""
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
    second = KubernetesSource(
        namespace=NAMESPACE, node_name=NODE, kubeconfig=kubeconfig, settings=fast_settings()
    )
    second.prepare(COLOCATION, WAIT)  # backfills with an update
    assert second.stop(WAIT)
    prepared = len(api.requests)
    src = KubernetesSource(
        namespace=NAMESPACE,
        node_name=NODE,
        pod_name=POD,
        kubeconfig=kubeconfig,
        settings=fast_settings(),
        prepare=False,  # `nodeconf run`'s default
    )
    sink = src.event_sink()
    publisher = src.pod_condition_publisher(settings=PodConditionSettings(jitter_seconds=0.0))
    manager: ConfigManager[Any] = ConfigManager(StaticSource('{"globalConfig": {}}'))
    publisher.bind(manager)
    try:
        src.start(RecordingContext())
        assert src.wait_synced(WAIT)
        assert api.wait_for_watchers(2)
        sink.emit(Outcome("synced", revision=1))
        assert sink.wait_idle(WAIT)
        sink.emit(Outcome("synced", revision=2))  # identical: aggregated with a patch
        assert sink.wait_idle(WAIT)
        publisher.emit(Outcome("synced", revision=1))  # the condition: pods/status patch
        assert publisher.wait_stats(lambda stats: stats.written == 1, WAIT)
    finally:
        assert sink.close(WAIT)
        assert publisher.close(WAIT)
        assert src.stop(WAIT)

    def asked(records: list[RequestRecord]) -> set[tuple[str, str, str | None, str | None]]:
        return {rbac_request(r) for r in records if r.path.startswith("/api/v1/")}

    by_prepare, by_agent = asked(api.requests[:prepared]), asked(api.requests[prepared:])
    prepare_rules = granted_rules("nodeconf-prepare", PREPARE)
    assert {("create", "configmaps"), ("update", "configmaps")} <= {
        (verb, resource) for verb, resource, _, _ in by_prepare
    }
    assert [a for a in by_prepare if not allowed(*a, rules=prepare_rules)] == []
    assert ("patch", "events") in {(verb, resource) for verb, resource, _, _ in by_agent}
    assert ("patch", "pods/status") in {(verb, resource) for verb, resource, _, _ in by_agent}
    assert [a for a in by_agent if not allowed(*a)] == []
    assert api.get("configmaps", CONFIGMAP, NAMESPACE)["data"][KEY].count("evictingConfig") == 1  # type: ignore[index]


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


def test_the_state_dir_is_a_host_path_handed_to_the_agent_by_a_chown_only_init() -> None:
    """--state-dir names a hostPath mount (it must survive the pod); the only root step is an
    init container that can do nothing but chown that directory to the agent's user."""
    spec = one("DaemonSet", "nodeconf")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    args = container["args"]
    state_dir = args[args.index("--state-dir") + 1]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes[mounts[state_dir]]["hostPath"]["path"] == state_dir
    (init,) = spec["initContainers"]
    user = spec["securityContext"]["runAsUser"]
    assert init["command"] == ["chown", f"{user}:{user}", state_dir]
    sc = init["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["CHOWN"]}
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
