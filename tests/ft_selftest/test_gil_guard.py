"""Self-test of the conftest guard that `make test-ft` relies on.

With ``NODECONF_REQUIRE_FREE_THREADING=1`` the suite's ``pytest_configure`` must refuse an
interpreter running with the GIL, so a free-threaded run can never silently turn into a GIL
run. Each test starts pytest in a subprocess (collection only) on this same directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

__all__: list[str] = []

pytestmark = pytest.mark.concurrency

REPO_ROOT = Path(__file__).resolve().parents[2]
SELFTEST_DIR = Path(__file__).resolve().parent
#: Bounds a failure (a hung child pytest), not the expected run time.
CHILD_TIMEOUT_SECONDS = 120.0


def collect_with_free_threading_required(*, force_gil: bool) -> subprocess.CompletedProcess[str]:
    """Run ``pytest --collect-only`` on this directory with the guard switched on."""
    env = dict(os.environ, NODECONF_REQUIRE_FREE_THREADING="1")
    env.pop("PYTHON_GIL", None)
    if force_gil:
        env["PYTHON_GIL"] = "1"  # on a free-threaded build: start with the GIL on
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", str(SELFTEST_DIR)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        check=False,
    )


def test_guard_refuses_an_interpreter_with_the_gil() -> None:
    """Requiring free threading on an interpreter with the GIL on stops pytest with an error."""
    result = collect_with_free_threading_required(force_gil=True)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    assert "NODECONF_REQUIRE_FREE_THREADING=1" in result.stderr


@pytest.mark.skipif(
    getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="needs a free-threaded CPython with the GIL off: the guard must let it through",
)
def test_guard_accepts_a_free_threaded_interpreter() -> None:
    """Requiring free threading on a free-threaded interpreter with the GIL off lets pytest run."""
    result = collect_with_free_threading_required(force_gil=False)
    assert result.returncode == pytest.ExitCode.OK, result.stdout + result.stderr
