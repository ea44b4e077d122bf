"""``nodeconf rollout status`` against five real agents (managers with the Kubernetes source
and the pod condition publisher), one per node, in two pools."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.kubernetes.kube_helpers import CONFIGMAP, KEY, NAMESPACE, WAIT, fast_settings

from kubeapi import Fault, KubeAPIServer
from nodeconf import ConfigManager, Reject
from nodeconf.cli.main import main
from nodeconf.sources.kubernetes import KubernetesSource, PodConditionPublisher

pytestmark = pytest.mark.kubernetes

POOLS = {"n1": "a", "n2": "a", "n3": "a", "n4": "b", "n5": "b"}
KUBELET = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]


def doc(interval: int, *, pool_b: dict[str, Any] | None = None) -> str:
    nodes = [{"selector": {"matchLabels": {"pool": "b"}}, **pool_b}] if pool_b else []
    return json.dumps(
        {"globalConfig": {"networkQosConfig": {"qosCheckInterval": interval}}, "nodesConfig": nodes}
    )


class Agent:
    """One node's agent: a manager, its Kubernetes source and its condition publisher."""

    def __init__(self, node: str, kubeconfig: str, listener: Any) -> None:
        self.source = KubernetesSource(
            namespace=NAMESPACE,
            node_name=node,
            pod_name=f"agent-{node}",
            kubeconfig=kubeconfig,
            settings=fast_settings(),
        )
        self.publisher: PodConditionPublisher = self.source.pod_condition_publisher(
            jitter_seconds=0.0
        )
        self.manager: ConfigManager[Any] = ConfigManager(self.source, sink=self.publisher)
        self.publisher.bind(self.manager)
        self.manager.add_listener(listener, name="apply")
        self.running = False

    def start(self) -> None:
        self.manager.start(WAIT)
        self.running = True

    def stop(self) -> None:
        if self.running:
            self.running = False
            assert self.manager.stop(WAIT).completed
        assert self.publisher.close(WAIT)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[KubeAPIServer, str]]:
    with KubeAPIServer() as server:
        for node, pool in POOLS.items():
            server.create({"kind": "Node", "metadata": {"name": node, "labels": {"pool": pool}}})
            server.create(
                {
                    "kind": "Pod",
                    "metadata": {
                        "name": f"agent-{node}",
                        "namespace": NAMESPACE,
                        "labels": {"app.kubernetes.io/name": "nodeconf"},
                    },
                    "spec": {"nodeName": node},
                    "status": {"phase": "Running", "conditions": KUBELET},
                }
            )
        server.create(
            {
                "kind": "ConfigMap",
                "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
                "data": {KEY: doc(1)},
            }
        )
        yield server, str(server.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE))


@pytest.fixture
def agents(cluster: tuple[KubeAPIServer, str]) -> Iterator[dict[str, Agent]]:
    _, kubeconfig = cluster

    def picky(config: Any) -> None:
        if config.to_json()["networkQosConfig"]["qosCheckInterval"] == 666:
            raise Reject("interval 666 is refused on this node")

    made = {
        node: Agent(node, kubeconfig, picky if node == "n1" else (lambda config: None))
        for node in POOLS
    }
    try:
        for agent in made.values():
            agent.start()
        yield made
    finally:
        for agent in made.values():
            agent.stop()


def rollout(
    kubeconfig: str, capsys: pytest.CaptureFixture[str], *flags: str
) -> tuple[int, dict[str, Any]]:
    """Run the CLI as a function with ``-o json``; (exit code, decoded output)."""
    capsys.readouterr()
    code = main(["rollout", "status", "--kubeconfig", kubeconfig, "-o", "json", *flags])
    out = capsys.readouterr().out
    return code, json.loads(out)


def states(report: dict[str, Any]) -> dict[str, str]:
    return {n["node"]: n["state"] for n in report["nodes"]}


def edit(api: KubeAPIServer, text: str) -> None:
    api.patch("configmaps", CONFIGMAP, {"data": {KEY: text}}, namespace=NAMESPACE)


def kubelet_untouched(api: KubeAPIServer) -> None:
    for node in POOLS:
        pod = api.get("pods", f"agent-{node}", NAMESPACE)
        assert pod is not None
        assert pod["status"]["conditions"][:2] == KUBELET


def test_five_agents_up_to_date_then_pool_b_rejected(
    cluster: tuple[KubeAPIServer, str], agents: dict[str, Agent], capsys: pytest.CaptureFixture[str]
) -> None:
    """5/5 up to date; an override making pool B invalid ends with A up to date and B
    rejected with the validation message, and --wait exits 1 without waiting the timeout."""
    api, kubeconfig = cluster
    code, report = rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")
    assert code == 0
    assert report["summary"]["up-to-date"] == 5
    assert report["summary"]["total"] == 5
    edit(api, doc(2, pool_b={"networkQosConfig": {"qosCheckInterval": -1}}))
    code, report = rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")
    assert code == 1
    assert states(report) == {
        "n1": "up-to-date",
        "n2": "up-to-date",
        "n3": "up-to-date",
        "n4": "rejected",
        "n5": "rejected",
    }
    b = next(n for n in report["nodes"] if n["node"] == "n4")
    assert "qosCheckInterval must be a positive number" in b["message"]
    assert b["pod"] == "agent-n4"
    kubelet_untouched(api)


def test_stopped_agent_is_pending_and_wait_times_out_with_3(
    cluster: tuple[KubeAPIServer, str], agents: dict[str, Agent], capsys: pytest.CaptureFixture[str]
) -> None:
    """A stopped agent leaves its node pending after the next edit: --wait --timeout exits 3."""
    api, kubeconfig = cluster
    assert rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")[0] == 0
    agents["n5"].stop()
    edit(api, doc(3))
    code, report = rollout(kubeconfig, capsys, "--wait", "--timeout", "2s")
    assert code == 3
    assert states(report)["n5"] == "pending"
    assert [n for n, s in states(report).items() if s != "up-to-date"] == ["n5"]


def test_no_agent_pod_and_a_rejecting_listener(
    cluster: tuple[KubeAPIServer, str], agents: dict[str, Agent], capsys: pytest.CaptureFixture[str]
) -> None:
    """A node without an agent pod is no-agent; a listener raising Reject makes its node
    rejected with the listener's message."""
    api, kubeconfig = cluster
    api.create({"kind": "Node", "metadata": {"name": "n6", "labels": {"pool": "a"}}})
    edit(api, doc(666))
    code, report = rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")
    assert code == 1
    assert states(report)["n6"] == "no-agent"
    assert states(report)["n1"] == "rejected"
    n1 = next(n for n in report["nodes"] if n["node"] == "n1")
    assert "interval 666 is refused on this node" in n1["message"]
    assert report["summary"]["up-to-date"] == 4
    assert report["summary"]["total"] == 6


def test_status_patch_500s_are_retried_and_converge(
    cluster: tuple[KubeAPIServer, str], agents: dict[str, Agent], capsys: pytest.CaptureFixture[str]
) -> None:
    """500s on the pods/status PATCH are retried with backoff; every node converges."""
    api, kubeconfig = cluster
    assert rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")[0] == 0
    api.inject(Fault(method="PATCH", path_contains="/status", status=500, times=4))
    edit(api, doc(4))
    code, report = rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")
    assert code == 0
    assert report["summary"]["up-to-date"] == 5
    assert sum(a.publisher.stats().failed for a in agents.values()) == 4
    kubelet_untouched(api)


def test_subprocess_prints_the_table_and_summary(
    cluster: tuple[KubeAPIServer, str], agents: dict[str, Agent], capsys: pytest.CaptureFixture[str]
) -> None:
    """As a subprocess: the table lists every node and ends with the summary line."""
    _, kubeconfig = cluster
    assert rollout(kubeconfig, capsys, "--wait", "--timeout", "30s")[0] == 0
    done = subprocess.run(
        [sys.executable, "-m", "nodeconf", "rollout", "status", "--kubeconfig", kubeconfig],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].split() == ["NODE", "STATE", "POD", "REVISION", "MESSAGE"]
    assert [line.split()[1] for line in lines[1:6]] == ["up-to-date"] * 5
    assert lines[-1] == "5/5 nodes up to date"


def test_unreachable_server_and_bad_timeout_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kubeconfig pointing at nothing and an unparsable --timeout are one-line exit-2 errors."""
    with KubeAPIServer() as server:
        kubeconfig = str(server.write_kubeconfig(tmp_path / "kc", namespace=NAMESPACE))
    assert main(["rollout", "status", "--kubeconfig", kubeconfig]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert main(["rollout", "status", "--kubeconfig", kubeconfig, "--timeout", "soon"]) == 2
    assert "--timeout" in capsys.readouterr().err
