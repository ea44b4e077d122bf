"""``nodeconf run --source kubernetes`` against the in-process API server (tests/kubeapi)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.daemonkit import Daemon, get
from kubeapi import Fault, KubeAPIServer

pytestmark = pytest.mark.kubernetes

NAMESPACE = "volcano-system"
NODE = "node-1"
POD = "agent-abc"
CONFIGMAP = "volcano-agent-configuration"


@pytest.fixture
def api() -> Iterator[KubeAPIServer]:
    with KubeAPIServer() as server:
        server.create({"kind": "Node", "metadata": {"name": NODE, "labels": {"pool": "a"}}})
        server.create({"kind": "Pod", "metadata": {"name": POD, "namespace": NAMESPACE}})
        yield server


def test_prepares_applies_follows_and_posts_events(api: KubeAPIServer, tmp_path: Path) -> None:
    """With --prepare the daemon creates the missing ConfigMap with the default document,
    applies it, follows an edit, posts Events on its pod, and stops cleanly on SIGTERM."""
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
    out = tmp_path / "effective.json"
    env = {"POD_NAMESPACE": NAMESPACE, "NODE_NAME": NODE, "POD_NAME": POD}
    args = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--status-addr"]
    args += ["127.0.0.1:0", "--write-effective", str(out), "--shutdown-timeout", "10"]
    with Daemon(*args, "--prepare", env=env) as daemon:
        address = daemon.status_address()
        daemon.wait_for("revision 1 synced to every listener")
        created = api.get("ConfigMap", CONFIGMAP, NAMESPACE)
        assert created is not None
        assert "globalConfig" in json.loads(created["data"]["colocation-config"])

        document = {
            "globalConfig": {},
            "nodesConfig": [
                {"selector": {"matchLabels": {"pool": "a"}}, "cpuQosConfig": {"enable": True}}
            ],
        }
        created["data"]["colocation-config"] = json.dumps(document)
        api.replace(created)
        daemon.wait_for("revision 2 synced to every listener")
        assert json.loads(out.read_text())["cpuQosConfig"] == {"enable": True}
        assert json.loads(get(address, "/status")[1])["revision"] == 2
        assert daemon.terminate(signal.SIGTERM) == 0
    reasons = {event["reason"] for event in api.list("Event", NAMESPACE)}
    assert "ConfigApplySuccess" in reasons
    pod_events = [e for e in api.list("Event", NAMESPACE) if e["involvedObject"]["name"] == POD]
    assert pod_events


def test_sigterm_while_the_api_server_fails_ends_start_up_cleanly(
    api: KubeAPIServer, tmp_path: Path
) -> None:
    """An API server that answers 500 to every ConfigMap read keeps start-up retrying (and
    the log says why, once); SIGTERM then cancels the start-up: a clean stop, exit 0, well
    within the shutdown timeout rather than after it."""
    api.inject(Fault(method="GET", path_contains="/configmaps", status=500, times=None))
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
    env = {"POD_NAMESPACE": NAMESPACE, "NODE_NAME": NODE, "POD_NAME": POD}
    args = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--status-addr"]
    args += ["127.0.0.1:0", "--shutdown-timeout", "60", "--prepare"]
    with Daemon(*args, env=env) as daemon:
        daemon.wait_for("cannot prepare ConfigMap")
        assert daemon.terminate(signal.SIGTERM, timeout=30) == 0
        messages = daemon.messages()
    assert any("start-up ended early" in m for m in messages)
    assert any("stopped cleanly" in m for m in messages)
    assert sum("cannot prepare ConfigMap" in m for m in messages) == 1


def test_by_default_the_agent_writes_no_configmap_and_prepare_does(
    api: KubeAPIServer, tmp_path: Path
) -> None:
    """Without --prepare a missing ConfigMap is not created: the agent starts on the defaults
    and writes nothing; `nodeconf prepare` then creates it and the agent follows."""
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
    out = tmp_path / "effective.json"
    env = {"POD_NAMESPACE": NAMESPACE, "NODE_NAME": NODE}
    args = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--status-addr"]
    args += ["127.0.0.1:0", "--write-effective", str(out)]
    with Daemon(*args, env=env) as daemon:
        daemon.wait_for("revision 1 synced to every listener")
        assert api.get("ConfigMap", CONFIGMAP, NAMESPACE) is None
        assert json.loads(out.read_text())["cpuQosConfig"] == {"enable": False}
        writes = [r for r in api.requests if r.method != "GET" and "configmaps" in r.path]
        assert writes == []
        prepare = subprocess.run(
            [sys.executable, "-m", "nodeconf", "prepare", "--kubeconfig", str(kubeconfig)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert (prepare.returncode, prepare.stderr) == (0, "")
        expected = f"ConfigMap {NAMESPACE}/{CONFIGMAP} key colocation-config: created\n"
        assert prepare.stdout == expected
        assert api.get("ConfigMap", CONFIGMAP, NAMESPACE) is not None
        assert daemon.terminate(signal.SIGTERM) == 0


def _status_patch(record: object) -> bool:
    return getattr(record, "method", "") == "PATCH" and str(getattr(record, "path", "")).endswith(
        f"/pods/{POD}/status"
    )


def test_publishes_the_config_applied_condition_on_its_pod(
    api: KubeAPIServer, tmp_path: Path
) -> None:
    """With a pod name the daemon publishes nodeconf.io/ConfigApplied (True/Applied) on its
    pod through pods/status, leaving the pod's other conditions as they were."""
    kubelet = [{"type": "Ready", "status": "True"}]
    api.patch("pods", POD, {"status": {"conditions": kubelet}}, namespace=NAMESPACE)
    api.create(
        {
            "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
            "data": {"colocation-config": '{"globalConfig": {}}'},
        }
    )
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
    env = {"POD_NAMESPACE": NAMESPACE, "NODE_NAME": NODE, "POD_NAME": POD}
    args = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--status-addr", "0"]
    with Daemon(*args, "--pod-condition-jitter", "0", env=env) as daemon:
        daemon.wait_for("revision 1 synced to every listener")
        assert api.wait_for_requests(_status_patch, timeout=10.0)
        assert daemon.terminate(signal.SIGTERM) == 0
    pod = api.get("pods", POD, NAMESPACE)
    assert pod is not None
    conditions = pod["status"]["conditions"]
    assert conditions[0] == kubelet[0]
    ours = conditions[1]
    assert (ours["type"], ours["status"], ours["reason"]) == (
        "nodeconf.io/ConfigApplied",
        "True",
        "Applied",
    )
    assert ours["message"].startswith("revision=1 sha256=")


def test_no_pod_condition_flag_writes_no_pod_status(api: KubeAPIServer, tmp_path: Path) -> None:
    """``--no-pod-condition`` turns the condition off: no request to pods/status."""
    api.create(
        {
            "kind": "ConfigMap",
            "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE},
            "data": {"colocation-config": '{"globalConfig": {}}'},
        }
    )
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=NAMESPACE)
    env = {"POD_NAMESPACE": NAMESPACE, "NODE_NAME": NODE, "POD_NAME": POD}
    args = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--no-pod-condition"]
    args += ["--status-addr", "0"]
    with Daemon(*args, env=env) as daemon:
        daemon.wait_for("revision 1 synced to every listener")
        assert daemon.terminate(signal.SIGTERM) == 0
    assert not any(_status_patch(r) for r in api.requests)
    assert any(r.method == "POST" and "/events" in r.path for r in api.requests)
