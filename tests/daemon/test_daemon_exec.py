"""``nodeconf run --exec CMD``: the hook's input, its failures, its timeout."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from daemon.daemonkit import Daemon, kubelet_dir, kubelet_swap, pid_alive

FIRST = {"globalConfig": {"cpuQosConfig": {"enable": True}}}
SECOND = {
    "globalConfig": {
        "cpuQosConfig": {"enable": True},
        "evictingConfig": {"evictingCPUHighWatermark": 70},
    }
}


def hook(tmp_path: Path, body: str) -> list[str]:
    """A Python hook script; returns the argv that runs it."""
    script = tmp_path / "hook.py"
    script.write_text(textwrap.dedent(body), encoding="utf-8")
    return [sys.executable, str(script), str(tmp_path)]


def daemon_args(tmp_path: Path, *extra: str) -> list[str]:
    root = kubelet_dir(tmp_path / "configmap", FIRST)
    return ["--path", str(root), "--status-addr", "0", "--shutdown-timeout", "10", *extra]


def test_hook_gets_the_effective_json_on_stdin_and_the_revision_in_env(tmp_path: Path) -> None:
    """stdin is the effective config; NODECONF_REVISION and NODECONF_CHANGED_SECTIONS say
    which revision and what changed since the hook's last successful run."""
    argv = hook(
        tmp_path,
        """
        import json, os, sys
        out = os.path.join(sys.argv[1], "run-" + os.environ["NODECONF_REVISION"] + ".json")
        with open(out, "w") as f:
            json.dump({"stdin": json.load(sys.stdin),
                       "changed": os.environ["NODECONF_CHANGED_SECTIONS"]}, f)
        """,
    )
    with Daemon(*daemon_args(tmp_path, "--exec", *argv)) as daemon:
        daemon.wait_for("listener exec applied revision 1")
        kubelet_swap(tmp_path / "configmap", SECOND)
        daemon.wait_for("listener exec applied revision 2")
        assert daemon.terminate() == 0
    first = json.loads((tmp_path / "run-1.json").read_text())
    second = json.loads((tmp_path / "run-2.json").read_text())
    assert first["stdin"]["cpuQosConfig"] == {"enable": True}
    assert set(first["changed"].split(",")) == {
        "nodeLabelConfig", "cpuQosConfig", "cpuBurstConfig", "memoryQosConfig",
        "memoryQosV2Config", "networkQosConfig", "overSubscriptionConfig", "evictingConfig",
        "cpuThrottlingConfig",
    }  # fmt: skip
    assert second["stdin"]["evictingConfig"]["evictingCPUHighWatermark"] == 70
    assert second["changed"] == "evictingConfig"


def test_failing_hook_is_retried_with_growing_backoff(tmp_path: Path) -> None:
    """A non-zero exit is a failure; the hook is run again after a delay that grows, until it
    succeeds."""
    argv = hook(
        tmp_path,
        """
        import os, sys, time
        log = os.path.join(sys.argv[1], "attempts")
        with open(log, "a") as f:
            f.write(f"{time.monotonic()}\\n")
        with open(log) as f:
            attempts = len(f.readlines())
        sys.exit(3 if attempts <= 2 else 0)
        """,
    )
    with Daemon(*daemon_args(tmp_path, "--exec", *argv)) as daemon:
        failed = daemon.wait_for("listener exec failed on revision 1 (attempt 1)")
        assert failed["message"].endswith("exited with status 3")
        daemon.wait_for("listener exec failed on revision 1 (attempt 2)")
        applied = daemon.wait_for("listener exec applied revision 1")
        assert applied["attempt"] == 3
        assert daemon.terminate() == 0
    times = [float(t) for t in (tmp_path / "attempts").read_text().split()]
    first_gap, second_gap = times[1] - times[0], times[2] - times[1]
    assert first_gap >= 0.4  # the backoff starts at 0.5 s ...
    assert second_gap > first_gap  # ... and doubles


def test_hung_hook_is_killed_with_its_process_group_at_the_timeout(tmp_path: Path) -> None:
    """A hook that outlives --exec-timeout is killed (with the children it started) and the
    failure is reported and retried."""
    argv = hook(
        tmp_path,
        """
        import os, subprocess, sys, time
        pids = os.path.join(sys.argv[1], "pids")
        if not os.path.exists(pids):  # the first attempt starts a child, then hangs
            # The hook hangs on purpose (it and its child are killed at --exec-timeout);
            # the test waits on the daemon's log lines, never on a sleep.
            hang = "import time; time.sleep(600)"  # the hook's child hangs on purpose too
            child = subprocess.Popen([sys.executable, "-c", hang])
            with open(pids, "w") as f:
                f.write(f"{os.getpid()} {child.pid}")
            time.sleep(600)  # hangs on purpose: the daemon must kill it at --exec-timeout
        """,
    )
    with Daemon(*daemon_args(tmp_path, "--exec-timeout", "1", "--exec", *argv)) as daemon:
        failed = daemon.wait_for("listener exec failed on revision 1 (attempt 1)")
        assert "timed out after 1s (process group killed)" in failed["message"]
        daemon.wait_for("listener exec applied revision 1")
        hook_pid, child_pid = map(int, (tmp_path / "pids").read_text().split())
        assert not pid_alive(hook_pid)
        assert not pid_alive(child_pid)
        assert daemon.terminate() == 0


def test_hook_still_running_at_shutdown_is_killed_and_the_exit_code_says_so(
    tmp_path: Path,
) -> None:
    """A hook that blocks the stop past --shutdown-timeout is killed; the daemon exits 1."""
    argv = hook(
        tmp_path,
        """
        import os, sys, time
        with open(os.path.join(sys.argv[1], "pid"), "w") as f:
            f.write(str(os.getpid()))
        print("hook running", flush=True)
        time.sleep(600)  # hangs on purpose: the daemon must kill it at --shutdown-timeout
        """,
    )
    args = ["--path", str(kubelet_dir(tmp_path / "configmap", FIRST)), "--status-addr", "0"]
    args += ["--shutdown-timeout", "0.5", "--exec-timeout", "600", "--exec", *argv]
    with Daemon(*args) as daemon:
        daemon.wait_for("hook running")
        assert daemon.terminate() == 1
    assert "killed the --exec command still running at shutdown" in daemon.messages()
    assert not pid_alive(int((tmp_path / "pid").read_text()))
