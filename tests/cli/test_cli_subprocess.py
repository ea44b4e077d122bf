"""``python -m nodeconf`` is the same command as ``nodeconf``, in a real process."""

from __future__ import annotations

import json
import subprocess
import sys


def test_python_m_nodeconf_validates_stdin() -> None:
    """The module entry point reads stdin, prints problems on stderr and sets the exit code."""
    doc = {"globalConfig": {"evictingConfig": {"evictingCPULowWatermark": 90}}}
    proc = subprocess.run(
        [sys.executable, "-m", "nodeconf", "validate", "-"],
        input=json.dumps(doc).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "<stdin>: error: globalConfig.evictingConfig.evictingCPULowWatermark = 90: "
        "cpu evicting low watermark is higher than high watermark"
    ]


def test_python_m_nodeconf_bad_yaml_has_no_traceback() -> None:
    """Malformed input in a real process: exit 2, one line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "nodeconf", "validate", "-"],
        input=b"kind: ConfigMap\ndata: [\n",
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.decode().splitlines()) == 1
    assert b"Traceback" not in proc.stderr
