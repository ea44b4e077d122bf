"""Volcano's test scenario, restated with a fake clock and no sleeps, 500 times over.

start -> call 1; push A; once A is applied push B. No failures: exactly 3 calls, last = B.
With the listener failing on its 2nd and 3rd calls (the clock advanced past each backoff):
exactly 5 calls, last = B.
"""

from __future__ import annotations

import pytest

from manager.kit import TIMEOUT, cpu_qos, doc
from nodeconf.manager import ConfigManager
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

pytestmark = pytest.mark.concurrency

REPETITIONS = 500
DOC_A = cpu_qos(True)
DOC_B = doc(cpuQosConfig={"enable": True}, cpuBurstConfig={"enable": True})


def advance_past_retry(manager: ConfigManager, clock: FakeClock) -> None:
    """Advance the fake clock to the listener's scheduled retry, then let it run."""
    due = manager.status().listeners[0].next_retry_at
    assert due is not None
    clock.advance(due - clock.now())
    assert manager.wait_idle(TIMEOUT)


def run_scenario(fail_on: set[int]) -> RecordingListener:
    clock = FakeClock()
    source = StaticSource(cpu_qos(False))
    listener = RecordingListener(fail_on=fail_on)
    with ConfigManager(source, [listener], clock=clock) as manager:
        assert listener.call_count == 1  # start called it once
        source.set_document(DOC_A)
        assert manager.wait_idle(TIMEOUT)
        while manager.status().listeners[0].applied_revision < 2:
            advance_past_retry(manager, clock)  # one failure at a time
        source.set_document(DOC_B)
        assert manager.wait_idle(TIMEOUT)
    return listener


@pytest.mark.parametrize("repetition", range(REPETITIONS))
def test_no_failures_gives_exactly_three_calls(repetition: int) -> None:
    """Without failures: start, A, B -> exactly 3 calls, the last one with B."""
    listener = run_scenario(fail_on=set())
    assert listener.call_count == 3
    assert listener.last.to_json()["cpuBurstConfig"] == {"enable": True}


@pytest.mark.parametrize("repetition", range(REPETITIONS))
def test_failing_second_and_third_calls_gives_exactly_five_calls(repetition: int) -> None:
    """Failing calls 2 and 3 are retried after their backoff: exactly 5 calls, last = B."""
    listener = run_scenario(fail_on={2, 3})
    assert listener.call_count == 5
    assert listener.last.to_json()["cpuBurstConfig"] == {"enable": True}
    assert listener.applied[-1] == listener.last
