"""``nodeconf run`` stops within ``--shutdown-timeout``, its status server included."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

from daemon.daemonkit import Daemon, get, kubelet_dir

DOCUMENT = {"globalConfig": {"cpuQosConfig": {"enable": True}}}
SHUTDOWN_TIMEOUT_SECONDS = 3


def test_slow_clients_do_not_hold_the_stop_past_the_timeout(tmp_path: Path) -> None:
    """With 20 clients trickling requests, SIGTERM with --shutdown-timeout 3 exits 0 within 4 s."""
    root = kubelet_dir(tmp_path / "configmap", DOCUMENT)
    args = ["--source", "file", "--path", str(root), "--node-labels", "a=b"]
    args += ["--status-addr", "127.0.0.1:0", "--shutdown-timeout", str(SHUTDOWN_TIMEOUT_SECONDS)]
    with Daemon(*args) as daemon:
        address = daemon.status_address()
        daemon.wait_for("revision 1 synced to every listener")
        slow = [socket.create_connection(address, timeout=10) for _ in range(20)]
        for sock in slow:
            sock.sendall(b"GET /status HTTP/1.1\r\nHost: x")  # never finished
        assert get(address, "/healthz") == (200, "ok\n")
        try:
            code = daemon.terminate(signal.SIGTERM, timeout=SHUTDOWN_TIMEOUT_SECONDS + 1)
        finally:
            for sock in slow:
                sock.close()
    assert code == 0
    assert "stopped cleanly" in daemon.messages()
