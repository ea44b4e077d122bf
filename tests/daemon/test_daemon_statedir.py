"""``--state-dir``: each applied revision persisted atomically; bad files ignored, one line."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from daemon.daemonkit import Daemon, get
from kubeapi import Fault, KubeAPIServer
from nodeconf import load_json_schema
from nodeconf.cli.main import main
from nodeconf.cli.statestore import STATE_FILE, PersistedState, StateStore, rebuild
from nodeconf.model.colocation import COLOCATION

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "any-agent"

STATE = PersistedState(
    revision=3,
    effective={"cpuQosConfig": {"enable": True}},
    document='{"globalConfig": {}}',
    document_version="42",
    labels={"pool": "a"},
    written_at=1_790_000_000.0,
)


def test_save_then_load_round_trips_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """What ``save`` writes, ``load`` reads back equal; only the state file remains."""
    store = StateStore(str(tmp_path))
    store.save(STATE)
    assert store.load() == STATE
    assert os.listdir(tmp_path) == [STATE_FILE]
    assert json.loads((tmp_path / STATE_FILE).read_text())["format"] == 1


def test_missing_file_is_none_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No state file yet: ``None``, nothing logged."""
    assert StateStore(str(tmp_path)).load() is None
    assert caplog.records == []


def _good_text() -> str:
    return json.dumps(STATE.to_json())


@pytest.mark.parametrize(
    ("content", "why"),
    [
        pytest.param("{not json", "corrupt", id="corrupt"),
        pytest.param(_good_text()[:40], "truncated", id="truncated"),
        pytest.param('{"kind": "something/else", "format": 1}', "not a nodeconf", id="foreign"),
        pytest.param(
            _good_text().replace('"format": 1', '"format": 2'), "newer", id="future-format"
        ),
        pytest.param(
            _good_text().replace('"enable": true', '"enable": false'), "sha256", id="hash"
        ),
        pytest.param(_good_text().replace('"revision": 3', '"revision": "3"'), "type", id="type"),
    ],
)
def test_unusable_state_files_are_ignored_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str, why: str
) -> None:
    """Corrupt, truncated, foreign, future-format or tampered files: ``None`` and one line."""
    (tmp_path / STATE_FILE).write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="nodeconf.daemon"):
        assert StateStore(str(tmp_path)).load() is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert why in warnings[0]
    assert "\n" not in warnings[0]


def test_unwritable_state_dir_exits_2_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A --state-dir that cannot be created or written is a one-line usage error (exit 2)."""
    for name in ("KUBERNETES_SERVICE_HOST", "POD_NAMESPACE", "NODE_NAME", "POD_NAME"):
        monkeypatch.delenv(name, raising=False)
    doc = tmp_path / "doc.json"
    doc.write_text('{"globalConfig": {}}', encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("", encoding="utf-8")
    capsys.readouterr()
    code = main(["run", "--path", str(doc), "--state-dir", str(blocker / "state")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert err[0].startswith(f"nodeconf: --state-dir {blocker / 'state'}: cannot write")


def test_daemon_persists_each_applied_revision(tmp_path: Path) -> None:
    """``nodeconf run --state-dir`` writes the applied revision with its document and labels."""
    doc = tmp_path / "doc.json"
    doc.write_text('{"globalConfig": {"cpuQosConfig": {"enable": true}}}', encoding="utf-8")
    state_dir = tmp_path / "state"
    args = ["--source", "file", "--path", str(doc), "--node-labels", "pool=a"]
    args += ["--state-dir", str(state_dir), "--status-addr", "0"]
    with Daemon(*args) as daemon:
        daemon.wait_for("revision 1 synced to every listener")
        assert daemon.terminate(signal.SIGTERM) == 0
    found = StateStore(str(state_dir)).load()
    assert found is not None
    assert found.revision == 1
    assert found.effective["cpuQosConfig"] == {"enable": True}
    assert found.labels == {"pool": "a"}
    assert found.document is not None
    assert "cpuQosConfig" in found.document
    assert found.written_at > 0


def _state_for(schema: Any, text: str, labels: dict[str, str], revision: int = 4) -> Any:
    config = schema.evaluate(schema.parse(text), labels).config
    effective = config.to_json() if hasattr(config, "to_json") else schema.to_json(config)
    return config, PersistedState(
        revision=revision, effective=effective, document=text, labels=labels
    )


POOL_DOC = json.dumps(
    {
        "globalConfig": {"cpuQosConfig": {"enable": False}},
        "nodesConfig": [
            {"selector": {"matchLabels": {"pool": "a"}}, "cpuQosConfig": {"enable": True}}
        ],
    }
)


def test_rebuild_gives_back_the_persisted_colocation_config() -> None:
    """The persisted effective config (with the node's labels) rebuilds the same config."""
    config, state = _state_for(COLOCATION, POOL_DOC, {"pool": "a"})
    assert rebuild(COLOCATION, state) == config


def test_rebuild_gives_back_a_generic_schemas_config() -> None:
    """A JSON Schema agent's persisted config rebuilds the same config."""
    schema = load_json_schema(str(EXAMPLE / "schema.json"))
    text = (EXAMPLE / "document.json").read_text(encoding="utf-8")
    config, state = _state_for(schema, text, {"pool": "gpu"})
    assert rebuild(schema, state) == config


def test_a_state_the_schema_cannot_rebuild_is_ignored_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A state persisted under another schema (the hash cannot be matched) gives ``None``
    and one warning naming its revision."""
    schema = load_json_schema(str(EXAMPLE / "schema.json"))
    _, state = _state_for(COLOCATION, POOL_DOC, {"pool": "a"})
    with caplog.at_level(logging.WARNING, logger="nodeconf.daemon"):
        assert rebuild(schema, state) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "revision 4" in warnings[0]


@pytest.mark.parametrize("content", ["{not json", '{"kind": "something/else", "format": 1}'])
def test_the_daemon_starts_normally_past_an_unusable_state_file(
    tmp_path: Path, content: str
) -> None:
    """A corrupt or foreign state file: one warning, then the daemon applies the document
    as if there were none (and replaces the file)."""
    doc = tmp_path / "doc.json"
    doc.write_text('{"globalConfig": {}}', encoding="utf-8")
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / STATE_FILE).write_text(content, encoding="utf-8")
    args = ["--source", "file", "--path", str(doc), "--state-dir", str(state_dir)]
    with Daemon(*args, "--status-addr", "0") as daemon:
        daemon.wait_for("ignoring the state file")
        daemon.wait_for("revision 1 synced to every listener")
        assert daemon.terminate(signal.SIGTERM) == 0
    assert StateStore(str(state_dir)).load() is not None


@pytest.mark.kubernetes
def test_a_restart_during_an_outage_delivers_the_persisted_config_until_the_live_one(
    tmp_path: Path,
) -> None:
    """Issue 12's acceptance: a daemon with --state-dir applies revision 1 and is stopped;
    the API server then refuses every request; a new daemon delivers revision 1's config to
    its listeners (--write-effective) within its start-up, /status says it is restored; when
    the server answers again, the live document supersedes it."""
    namespace, node, pod = "volcano-system", "node-1", "agent-abc"
    out = tmp_path / "effective.json"
    state_dir = tmp_path / "state"
    with KubeAPIServer() as api:
        api.create({"kind": "Node", "metadata": {"name": node, "labels": {"pool": "a"}}})
        api.create({"kind": "Pod", "metadata": {"name": pod, "namespace": namespace}})
        configmap = api.create(
            {
                "kind": "ConfigMap",
                "metadata": {"name": "volcano-agent-configuration", "namespace": namespace},
                "data": {"colocation-config": POOL_DOC},
            }
        )
        kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig", namespace=namespace)
        env = {"POD_NAMESPACE": namespace, "NODE_NAME": node, "POD_NAME": pod}
        args = ["--source", "kubernetes", "--kubeconfig", str(kubeconfig), "--status-addr"]
        args += ["127.0.0.1:0", "--write-effective", str(out), "--state-dir", str(state_dir)]
        args += ["--restore-after", "1", "--backoff-max-delay", "0.5", "--shutdown-timeout", "10"]
        with Daemon(*args, env=env) as daemon:
            daemon.wait_for("revision 1 synced to every listener")
            assert daemon.terminate(signal.SIGTERM) == 0
        persisted = StateStore(str(state_dir)).load()
        assert persisted is not None
        assert persisted.effective["cpuQosConfig"] == {"enable": True}
        out.unlink()

        api.inject(Fault(status=503, times=None))  # every request refused
        configmap["data"]["colocation-config"] = json.dumps({"globalConfig": {}})
        api.replace(configmap)  # the live document changed meanwhile: no override
        with Daemon(*args, env=env) as daemon:
            address = daemon.status_address()
            daemon.wait_for("restored revision 1 from state dir")
            daemon.wait_for("revision 1 synced to every listener")
            assert json.loads(out.read_text())["cpuQosConfig"] == {"enable": True}
            status = json.loads(get(address, "/status")[1])
            assert status["restored_from"] == f"state dir {state_dir}"
            assert status["restored_revision"] == 1
            assert status["document_version"] == persisted.document_version
            metrics = get(address, "/metrics")[1]
            assert "nodeconf_restored_config 1.0" in metrics

            api.clear_faults()  # the API server answers again
            daemon.wait_for("revision 2 synced to every listener")
            assert json.loads(out.read_text())["cpuQosConfig"] == {"enable": False}
            status = json.loads(get(address, "/status")[1])
            assert status["restored_from"] == ""
            assert status["restored_revision"] is None
            assert daemon.terminate(signal.SIGTERM) == 0
        persisted = StateStore(str(state_dir)).load()
        assert persisted is not None
        assert persisted.effective["cpuQosConfig"] == {"enable": False}
