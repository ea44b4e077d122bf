"""Self-test of the free-threaded harness: it must see a race that the GIL hides.

Under the GIL an unlocked ``counter.value += 1`` practically never loses an update, whatever the
switch interval, so a green concurrency run there proves little. On a free-threaded build
threads really run at once and the same loop loses updates in nearly every run. These tests show
that `make test-ft` runs on such an interpreter and that its threads do race: the unlocked
counter must come out short, and the same counter under a lock must come out exact.

They need a free-threaded interpreter and are skipped elsewhere (the reason is in the marker);
under `make test-ft` the conftest refuses to run at all when the GIL is on, and the script fails
if these tests were skipped, so there they always run.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator

import pytest

__all__: list[str] = []

#: Threads hammering the counter at once, and increments each of them makes.
THREADS = 8
INCREMENTS_PER_THREAD = 200_000
#: Bounds a failure (a thread stuck at the barrier), not the expected run time.
JOIN_TIMEOUT_SECONDS = 120.0


def _gil_enabled() -> bool:
    """True unless this interpreter is a free-threaded build running without the GIL."""
    is_gil_enabled: Callable[[], bool] | None = getattr(sys, "_is_gil_enabled", None)
    return True if is_gil_enabled is None else is_gil_enabled()


pytestmark = [
    pytest.mark.concurrency,
    pytest.mark.skipif(
        _gil_enabled(),
        reason="needs a free-threaded CPython with the GIL off (sys._is_gil_enabled absent or"
        " True): under the GIL the unlocked race is rarely observed; `make test-ft` runs it",
    ),
]


class UnlockedCounter:
    """A counter with no synchronisation at all, so concurrent increments can be lost.

    Thread-safety: none, deliberately; this is the bug the harness must catch.
    """

    def __init__(self) -> None:
        self.value = 0  # shared by every incrementing thread, unguarded on purpose

    def increment(self) -> None:
        """Read, add one, write back: three steps another thread can interleave with."""
        self.value += 1


class LockedCounter:
    """The same counter with its read-modify-write under a lock.

    Thread-safety: ``increment`` may be called from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0  # guarded by self._lock

    def increment(self) -> None:
        """Add one atomically with respect to other callers."""
        with self._lock:
            self.value += 1


@pytest.fixture
def tiny_switch_interval() -> Iterator[None]:
    """Run the test with the smallest switch interval, as the stress tests do."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def hammer(increment: Callable[[], None]) -> None:
    """Call ``increment`` INCREMENTS_PER_THREAD times on each of THREADS threads at once."""
    start_together = threading.Barrier(THREADS)

    def work() -> None:
        start_together.wait()
        for _ in range(INCREMENTS_PER_THREAD):
            increment()

    threads = [threading.Thread(target=work, name=f"selftest-{i}") for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads), "an incrementing thread hung"


@pytest.mark.usefixtures("tiny_switch_interval")
def test_unlocked_counter_loses_updates() -> None:
    """Threads incrementing an unlocked counter at once lose updates on the free-threaded build."""
    counter = UnlockedCounter()
    hammer(counter.increment)
    expected = THREADS * INCREMENTS_PER_THREAD
    assert counter.value < expected, "no update lost: the threads did not really run at once"


@pytest.mark.usefixtures("tiny_switch_interval")
def test_locked_counter_loses_nothing() -> None:
    """The same increments under a lock all count: the race above is the missing lock."""
    counter = LockedCounter()
    hammer(counter.increment)
    assert counter.value == THREADS * INCREMENTS_PER_THREAD
