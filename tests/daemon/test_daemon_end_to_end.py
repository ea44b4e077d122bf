"""``nodeconf run`` end to end: a real process on a kubelet-style directory.

Every wait is on the daemon's own log lines (read from its pipe as they are written), bounded
by a timeout that only matters when something is broken.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
from pathlib import Path

from daemon.daemonkit import Daemon, get, kubelet_dir, kubelet_swap

FIRST = {"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 80}}}
SECOND = {"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": 70}}}
INVALID = {"globalConfig": {"evictingConfig": {"evictingCPULowWatermark": 95}}}


def start_args(tmp_path: Path, *extra: str) -> list[str]:
    root = kubelet_dir(tmp_path / "configmap", FIRST)
    labels = tmp_path / "node-labels"
    labels.write_text("volcano.sh/colocation=true\n", encoding="utf-8")
    return [
        "--source", "file", "--path", str(root), "--labels-file", str(labels),
        "--write-effective", str(tmp_path / "effective.json"),
        "--status-addr", "127.0.0.1:0", "--shutdown-timeout", "10", *extra,
    ]  # fmt: skip


def effective(tmp_path: Path) -> dict[str, object]:
    return json.loads((tmp_path / "effective.json").read_text(encoding="utf-8"))


def test_edit_is_applied_observed_and_the_daemon_stops_cleanly(tmp_path: Path) -> None:
    """Start, apply, edit by a kubelet-style swap, see the change in the effective file,
    /status, /metrics and /readyz, then SIGTERM: exit 0 and a clean stop."""
    with Daemon(*start_args(tmp_path)) as daemon:
        address = daemon.status_address()
        daemon.wait_for("revision 1 synced to every listener")
        assert effective(tmp_path)["evictingConfig"]["evictingCPUHighWatermark"] == 80  # type: ignore[index]
        assert effective(tmp_path)["nodeLabelConfig"]["nodeColocationEnable"] is True  # type: ignore[index]

        kubelet_swap(tmp_path / "configmap", SECOND)
        change = daemon.wait_for("config revision 2 applied")
        assert change["message"] == (
            "config revision 2 applied: evictingConfig.evictingCPUHighWatermark: 80 -> 70"
        )
        daemon.wait_for("revision 2 synced to every listener")

        assert effective(tmp_path)["evictingConfig"]["evictingCPUHighWatermark"] == 70  # type: ignore[index]
        mode = stat.S_IMODE(os.stat(tmp_path / "effective.json").st_mode)
        assert mode == 0o644
        status, body = get(address, "/status")
        assert status == 200
        assert json.loads(body)["revision"] == 2
        source = json.loads(body)["source"]
        assert (source["kind"], source["mode"], source["synced"]) == ("file", "inotify", True)
        assert source["path"] == str(tmp_path / "configmap")
        assert source["errors"] == {}
        assert get(address, "/readyz") == (200, "ready\n")
        assert get(address, "/healthz") == (200, "ok\n")
        metrics = get(address, "/metrics")[1]
        assert 'nodeconf_configs_applied_total{listener="write-effective"} 2.0' in metrics
        assert "nodeconf_current_revision 2.0" in metrics
        assert "nodeconf_queue_depth 0.0" in metrics
        assert "nodeconf_seconds_since_last_successful_apply " in metrics

        assert daemon.terminate(signal.SIGTERM) == 0
    assert "stopped cleanly" in daemon.messages()
    assert not list(tmp_path.glob(".effective.json.*"))  # no temporary file left behind


def test_sigint_stops_cleanly_too(tmp_path: Path) -> None:
    """Ctrl-C runs the same two-phase stop and exits 0."""
    with Daemon(*start_args(tmp_path)) as daemon:
        daemon.wait_for("revision 1 synced to every listener")
        assert daemon.terminate(signal.SIGINT) == 0
    assert daemon.messages()[-1] == "stopped cleanly"


def test_forced_polling_follows_an_edit(tmp_path: Path) -> None:
    """--force-polling (a network file system, where inotify misses other hosts' changes):
    the source says once that it polls, and an edit is applied by the next poll."""
    args = start_args(tmp_path, "--force-polling", "--poll-interval", "0.05")
    with Daemon(*args) as daemon:
        daemon.wait_for("polling was asked for (force_polling); polling every 0.05s instead")
        daemon.wait_for("revision 1 synced to every listener")
        kubelet_swap(tmp_path / "configmap", SECOND)
        daemon.wait_for("revision 2 synced to every listener")
        assert effective(tmp_path)["evictingConfig"]["evictingCPUHighWatermark"] == 70  # type: ignore[index]
        assert daemon.terminate(signal.SIGTERM) == 0


def test_invalid_edit_keeps_the_last_good_config(tmp_path: Path) -> None:
    """An invalid edit is logged with its field path and never written; the next valid edit
    applies."""
    with Daemon(*start_args(tmp_path)) as daemon:
        address = daemon.status_address()
        daemon.wait_for("revision 1 synced to every listener")
        kubelet_swap(tmp_path / "configmap", INVALID)
        invalid = daemon.wait_for("document invalid, keeping the last valid config")
        assert invalid["issues"][0].startswith(
            "globalConfig.evictingConfig.evictingCPULowWatermark: "
        )
        assert effective(tmp_path)["evictingConfig"]["evictingCPULowWatermark"] == 30  # type: ignore[index]
        assert get(address, "/readyz")[0] == 200
        assert "nodeconf_invalid_documents_total 1.0" in get(address, "/metrics")[1]

        kubelet_swap(tmp_path / "configmap", SECOND)
        daemon.wait_for("revision 2 synced to every listener")
        assert effective(tmp_path)["evictingConfig"]["evictingCPUHighWatermark"] == 70  # type: ignore[index]
        assert daemon.terminate() == 0


def test_a_path_that_disappears_is_waited_for(tmp_path: Path) -> None:
    """Removing the whole directory is not fatal: the daemon keeps the last config and applies
    the document again once the directory comes back."""
    with Daemon(*start_args(tmp_path)) as daemon:
        address = daemon.status_address()
        daemon.wait_for("revision 1 synced to every listener")
        root = tmp_path / "configmap"
        for child in sorted(root.iterdir(), key=lambda p: p.is_symlink(), reverse=True):
            if child.is_symlink():
                child.unlink()
            else:
                for f in child.iterdir():
                    f.unlink()
                child.rmdir()
        root.rmdir()
        daemon.wait_for("document-deleted")
        assert get(address, "/healthz")[0] == 200
        kubelet_dir(root, SECOND)
        daemon.wait_for("revision 2 synced to every listener")
        assert daemon.terminate() == 0


def test_json_log_lines_carry_machine_fields(tmp_path: Path) -> None:
    """With --log-format json every line is a JSON object; applies carry revision and
    listener fields."""
    with Daemon(*start_args(tmp_path)) as daemon:
        record = daemon.wait_for("listener write-effective applied revision 1")
        assert record["revision"] == 1
        assert record["listener"] == "write-effective"
        assert record["level"] == "INFO"
        assert daemon.terminate() == 0
    assert all(r.get("level") != "RAW" for r in daemon.records)


def test_status_address_in_use_is_a_start_up_failure(tmp_path: Path) -> None:
    """When the status port is taken the daemon says so and exits 1 without starting."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = start_args(tmp_path)
        args[args.index("127.0.0.1:0")] = f"127.0.0.1:{port}"
        with Daemon(*args) as daemon:
            daemon.read_to_end()
            assert daemon.proc is not None
            assert daemon.proc.wait(30) == 1
    assert any("cannot listen on 127.0.0.1" in m for m in daemon.messages())
    assert not (tmp_path / "effective.json").exists()
