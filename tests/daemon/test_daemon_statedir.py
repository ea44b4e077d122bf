"""``--state-dir``: each applied revision persisted atomically; bad files ignored, one line."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import pytest

from daemon.daemonkit import Daemon
from nodeconf.cli.main import main
from nodeconf.cli.statestore import STATE_FILE, PersistedState, StateStore

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
