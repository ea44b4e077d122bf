"""Suite-wide guards.

* ``no_leaked_threads`` (autouse): a test fails if a thread it started is still alive when it
  ends. Each new thread gets a bounded ``join`` first (threads that are already stopping get to
  finish), so the check waits on the threads themselves, never on a sleep.
"""

from __future__ import annotations

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
