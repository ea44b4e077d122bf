"""``nodeconf run --schema FILE``: the daemon serving a JSON Schema config end to end, and a
schema file it cannot use refused at start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.daemonkit import Daemon, kubelet_dir, kubelet_swap
from generic_e2e.genkit import SCHEMA, gpu_document

KEY = "gpu.json"


def effective(tmp_path: Path) -> dict[str, object]:
    return json.loads((tmp_path / "effective.json").read_text(encoding="utf-8"))


def test_daemon_applies_edits_keeps_last_good_and_follows_relabels(tmp_path: Path) -> None:
    """With --schema, the daemon writes the effective config, keeps it through an invalid
    edit (logging the problem's path) and applies the override a relabel selects."""
    schema = tmp_path / "gpu.schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    root = kubelet_dir(tmp_path / "configmap", gpu_document(350), key=KEY)
    labels = tmp_path / "node-labels"
    labels.write_text("pool=small\n", encoding="utf-8")
    args = [
        "--source", "file", "--path", str(root), "--key", KEY, "--labels-file", str(labels),
        "--schema", str(schema), "--write-effective", str(tmp_path / "effective.json"),
        "--status-addr", "0", "--shutdown-timeout", "10",
    ]  # fmt: skip
    with Daemon(*args) as daemon:
        daemon.wait_for("revision 1 synced to every listener")
        assert effective(tmp_path) == {"power": {"cap_watts": 350, "mode": "eco"}, "devices": []}

        kubelet_swap(root, gpu_document(5), key=KEY)
        invalid = daemon.wait_for("document invalid, keeping the last valid config")
        assert "must be >= 50" in invalid["message"]
        assert effective(tmp_path)["power"] == {"cap_watts": 350, "mode": "eco"}

        labels.write_text("pool=big\n", encoding="utf-8")
        kubelet_swap(root, gpu_document(360), key=KEY)
        # The relabel and the swap may be seen in either order (one or two revisions): wait
        # for the revision that carries the pool's override, then for it to be synced.
        daemon.wait_for(
            lambda r: (
                "config revision" in str(r.get("message")) and "-> 500" in str(r.get("message"))
            )
        )
        daemon.wait_for("synced to every listener")
        assert effective(tmp_path)["power"] == {"cap_watts": 500, "mode": "max"}
        assert daemon.terminate() == 0


def test_unusable_schema_file_exits_2_with_one_line(tmp_path: Path) -> None:
    """nodeconf run --schema with a schema it cannot use: one line naming it, exit 2."""
    schema = tmp_path / "bad.json"
    schema.write_text('{"type": "object", "properties": {"a": {"oneOf": []}}}', encoding="utf-8")
    doc = tmp_path / "doc.json"
    doc.write_text("{}", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "nodeconf", "run", "--source", "file", "--path", str(doc),
         "--schema", str(schema), "--status-addr", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"nodeconf: {schema}: properties.a.oneOf: keyword 'oneOf' is not supported "
        "(nodeconf supports type, properties, required, additionalProperties, items, enum, "
        "const, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength, maxLength, "
        "pattern, minItems, maxItems, default, $defs, $ref, and annotations)"
    ]


@pytest.mark.kubernetes
def test_daemon_with_the_kubernetes_source(tmp_path: Path) -> None:
    """--source kubernetes --schema: the missing ConfigMap is created with the schema's default
    document, and an edit selecting the Node's pool is applied."""
    from kubeapi import KubeAPIServer

    namespace, node, configmap = "agents", "node-1", "gpu-agent"
    schema = tmp_path / "gpu.schema.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    out = tmp_path / "effective.json"
    with KubeAPIServer() as api:
        api.create({"kind": "Node", "metadata": {"name": node, "labels": {"pool": "big"}}})
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=namespace)
        env = {"POD_NAMESPACE": namespace, "NODE_NAME": node}
        args = [
            "--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--configmap", configmap,
            "--key", KEY, "--schema", str(schema), "--write-effective", str(out),
            "--status-addr", "0", "--shutdown-timeout", "10", "--prepare",
        ]  # fmt: skip
        with Daemon(*args, env=env) as daemon:
            daemon.wait_for("revision 1 synced to every listener")
            created = api.get("ConfigMap", configmap, namespace)
            assert created is not None
            assert json.loads(created["data"][KEY]) == {
                "globalConfig": {"power": {"cap_watts": 300, "mode": "eco"}, "devices": []}
            }
            created["data"][KEY] = gpu_document(350)
            api.replace(created)
            daemon.wait_for("revision 2 synced to every listener")
            assert json.loads(out.read_text())["power"] == {"cap_watts": 500, "mode": "max"}
            assert daemon.terminate() == 0
