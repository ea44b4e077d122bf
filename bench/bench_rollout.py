"""``nodeconf rollout status`` at scale (issue 12): 5,000 nodes in 20 pools, 50 overrides.

One in-process API server (``tests/kubeapi``) holds the ConfigMap, 5,000 Nodes (a pool label
and a unique hostname label each) and 5,000 agent pods, each with the
``nodeconf.io/ConfigApplied`` condition its agent would publish (the expected hash for most,
another hash for some, a rejection for a few). The CLI runs as a child process
(``python -m nodeconf rollout status -o json``); its CPU seconds (user + system, from
``getrusage(RUSAGE_CHILDREN)``) are the measure, next to the baseline of the same child doing
only ``nodeconf --version`` (interpreter start-up and the CLI's import) in the same run.
The server's request log gives the LISTs per resource.

Target: under 2 s of CPU, one LIST per resource (pages of one paginated LIST counted once).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from bench._report import Result

__all__ = ["run"]

BENCH = "rollout"
ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "volcano-system"
NODES = 5_000
POOLS = 20
OVERRIDES = 50
TARGET_CPU_SECONDS = 2.0


def _document() -> str:
    overrides = [
        {
            "selector": {"matchLabels": {"pool": f"p{i % POOLS}"}},
            "networkQosConfig": {"qosCheckInterval": 1000 + i},
        }
        for i in range(OVERRIDES)
    ]
    return json.dumps(
        {"globalConfig": {"cpuQosConfig": {"enable": True}}, "nodesConfig": overrides}
    )


def _child_cpu(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, done


def _populate(server: object, text: str) -> None:
    from nodeconf.model.colocation import COLOCATION
    from nodeconf.sources.kubernetes.podstatus import CONDITION_TYPE, config_hash, format_message

    create = server.create  # type: ignore[attr-defined]
    cm = create(
        {
            "kind": "ConfigMap",
            "metadata": {"name": "volcano-agent-configuration", "namespace": NAMESPACE},
            "data": {"colocation-config": text},
        }
    )
    rv = cm["metadata"]["resourceVersion"]
    document = COLOCATION.parse(text)
    hashes = {
        p: config_hash(COLOCATION, COLOCATION.evaluate(document, {"pool": f"p{p}"}).config)
        for p in range(POOLS)
    }
    for n in range(NODES):
        pool = n % POOLS
        name = f"node-{n:05d}"
        labels = {"pool": f"p{pool}", "kubernetes.io/hostname": name}
        create({"kind": "Node", "metadata": {"name": name, "labels": labels}})
        reason, digest = "Applied", hashes[pool]
        if n % 100 == 1:
            reason = "ListenerRejected"
        elif n % 50 == 2:
            digest = "0" * 64  # still on an older document: pending
        condition = {
            "type": CONDITION_TYPE,
            "status": "True" if reason == "Applied" else "False",
            "reason": reason,
            "message": format_message(3, digest, rv, "bench"),
        }
        create(
            {
                "kind": "Pod",
                "metadata": {
                    "name": f"agent-{name}",
                    "namespace": NAMESPACE,
                    "labels": {"app.kubernetes.io/name": "nodeconf"},
                },
                "spec": {"nodeName": name},
                "status": {"phase": "Running", "conditions": [{"type": "Ready"}, condition]},
            }
        )


def run(quick: bool) -> list[Result]:
    sys.path.insert(0, str(ROOT / "tests"))
    from kubeapi import KubeAPIServer

    with KubeAPIServer() as server, tempfile.TemporaryDirectory() as tmp:
        _populate(server, _document())
        kubeconfig = str(server.write_kubeconfig(Path(tmp) / "kc", namespace=NAMESPACE))
        base_cpu, _ = _child_cpu([sys.executable, "-m", "nodeconf", "--version"])
        server.clear_requests()
        cli = [sys.executable, "-m", "nodeconf", "rollout", "status", "--kubeconfig", kubeconfig]
        cpu, done = _child_cpu([*cli, "-o", "json"])
        requests = [r for r in server.requests if r.path.startswith("/api/v1/")]
    if done.returncode not in (0, 1, 3):
        raise RuntimeError(f"rollout status failed ({done.returncode}): {done.stderr.strip()}")
    summary = json.loads(done.stdout)["summary"]
    lists = {}
    for r in requests:
        resource_name = r.path.rstrip("/").split("/")[-1]
        if "continue" not in r.query:  # the first page starts a LIST; later pages continue it
            lists[resource_name] = lists.get(resource_name, 0) + 1
    one_each = lists == {"configmaps": 1, "nodes": 1, "pods": 1}
    return [
        Result(
            BENCH,
            f"CPU of rollout status, {NODES} nodes / {POOLS} pools / {OVERRIDES} overrides",
            cpu,
            "s",
            baseline=base_cpu,
            baseline_name="nodeconf --version (start-up and import)",
            target=f"< {TARGET_CPU_SECONDS:g} s CPU, one LIST per resource",
            met=cpu < TARGET_CPU_SECONDS and one_each,
            extra={
                "requests": len(requests),
                "lists": json.dumps(lists, sort_keys=True),
                "up_to_date": summary["up-to-date"],
                "rejected": summary["rejected"],
                "pending": summary["pending"],
                "exit_code": done.returncode,
            },
        )
    ]
