"""Suite-wide guards.

* ``no_leaked_threads`` (autouse): a test fails if a thread it started is still alive when it
  ends. Each new thread gets a bounded ``join`` first (threads that are already stopping get to
  finish), so the check waits on the threads themselves, never on a sleep.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import pytest

#: How long a thread that is already on its way out may take to finish after its test.
LEAK_JOIN_SECONDS = 5.0


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail the test if it leaves a thread behind."""
    before = set(threading.enumerate())
    yield
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for thread in leaked:
        thread.join(LEAK_JOIN_SECONDS)
    still = [t for t in leaked if t.is_alive()]
    if still:
        names = ", ".join(f"{t.name} (daemon={t.daemon})" for t in still)
        pytest.fail(f"test leaked {len(still)} thread(s): {names}")


def pytest_configure(config: pytest.Config) -> None:
    """With NODECONF_REQUIRE_FREE_THREADING=1 (set by `make test-ft`), refuse a GIL interpreter.

    A green concurrency run proves little under the GIL, so the free-threaded run must really be
    free-threaded: this stops before collecting anything if the interpreter has no
    ``sys._is_gil_enabled`` (a GIL-only build) or reports the GIL enabled (``PYTHON_GIL=1``, or a
    C extension imported while configuring that re-enabled it).
    """
    if os.environ.get("NODECONF_REQUIRE_FREE_THREADING") != "1":
        return
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is None or is_gil_enabled():
        build = "a GIL-only build" if is_gil_enabled is None else "the GIL is enabled"
        raise pytest.UsageError(
            f"NODECONF_REQUIRE_FREE_THREADING=1 but {sys.executable} runs with the GIL ({build});"
            " run the concurrency tests with `make test-ft` on a free-threaded CPython"
        )
