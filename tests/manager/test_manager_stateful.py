"""A Hypothesis state machine over random interleavings of everything a manager lives through.

Steps: push valid, invalid and unreadable documents; delete the document; relabel the node;
add listeners that succeed, fail on some calls, hang at a gate, or watch only some sections;
remove them; release gates; move the fake clock; wait until idle; stop at any point (and keep
going after the stop).

Asserted throughout:
* no listener ever receives a config that is not the valid evaluation of some pushed state;
* each listener's successfully applied revisions strictly increase (calls never go back);
* after ``wait_idle`` (gates released, retries let through) every listener holds the
  manager's last-known-good config, which is the evaluation of the latest state when valid;
* nothing starts after ``stop`` returns, and ``stop`` returns within its timeout.

Uses only Hypothesis APIs that exist in 6.150 (the free-threaded interpreter's pin).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from manager.kit import TIMEOUT
from nodeconf.errors import DocumentError
from nodeconf.manager import Change, ConfigManager, Lifecycle, Settings
from nodeconf.model.colocation import COLOCATION
from nodeconf.model.seam import Document, EffectiveConfig
from nodeconf.testing import FakeClock, StaticSource

pytestmark = pytest.mark.concurrency

#: Real-time slack allowed beyond a stop timeout on a loaded 2-core machine.
STOP_SLACK_SECONDS = 1.0

VALID_DOCS = [
    {"globalConfig": {}},
    {"globalConfig": {"cpuQosConfig": {"enable": True}}},
    {"globalConfig": {"cpuBurstConfig": {"enable": True}}},
    {
        "globalConfig": {"memoryQosConfig": {"enable": True}},
        "nodesConfig": [
            {"selector": {"matchLabels": {"pool": "a"}}, "cpuQosConfig": {"enable": True}}
        ],
    },
]
INVALID_DOCS = [
    {"globalConfig": {"evictingConfig": {"evictingCPUHighWatermark": -1}}},
    {"globalConfig": {"cpuThrottlingConfig": {"cpuThrottlingThreshold": 500}}},
    '{"globalConfig": {',  # unreadable
]
LABELS = [{}, {"pool": "a"}, {"volcano.sh/oversubscription": "true"}, {"pool": "b"}]
SECTION_CHOICES = [("cpuQosConfig",), ("memoryQosConfig", "cpuBurstConfig")]


class Unknown:
    """The expected config cannot be known from the pushes alone (see ``_expected``)."""


UNKNOWN = Unknown()


class Probe:
    """A listener for the machine: records calls, can fail on chosen calls or hang at a gate.

    Thread-safety: ``_lock`` guards the lists and counters; ``gate`` is an Event.
    """

    def __init__(self, mode: str, fail_on: frozenset[int]) -> None:
        self.mode = mode
        self.fail_on = fail_on
        self.gate = threading.Event()
        if mode != "hang":
            self.gate.set()
        self._lock = threading.Lock()
        self.started = 0  # guarded by _lock
        self.active = 0  # guarded by _lock
        self.received: list[tuple[int, EffectiveConfig]] = []  # guarded by _lock
        self.applied: list[tuple[int, EffectiveConfig]] = []  # guarded by _lock

    def sync_config(self, config: EffectiveConfig, change: Change) -> None:
        with self._lock:
            self.started += 1
            self.active += 1
            number = self.started
            self.received.append((change.revision, config))
        try:
            assert self.gate.wait(TIMEOUT), "a gate was never released"
            if number in self.fail_on:
                raise RuntimeError(f"probe fails call {number}")
            with self._lock:
                self.applied.append((change.revision, config))
        finally:
            with self._lock:
                self.active -= 1

    def snapshot(self) -> tuple[int, int, list[tuple[int, Any]], list[tuple[int, Any]]]:
        with self._lock:
            return self.started, self.active, list(self.received), list(self.applied)


class ManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.document: Any = VALID_DOCS[0]
        self.labels: dict[str, str] = {}
        self.source = StaticSource(self.document, self.labels)
        self.manager = ConfigManager(
            self.source,
            clock=self.clock,
            settings=Settings(slow_listener_seconds=1e6),
        )
        self.probes: list[tuple[Probe, tuple[str, ...] | None]] = []  # registered
        self.all_probes: list[Probe] = []
        self.last_parsed: Document | None = COLOCATION.parse(json.dumps(self.document))
        self.valid_configs: set[EffectiveConfig] = set()
        self.seen_documents: dict[str, Document] = {}  # by text
        self.seen_labels: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self.deleted = False
        self.started_at_stop: int | None = None
        self.allowance = 0
        self.running_at_stop: tuple[str, ...] = ()
        self.manager.start(TIMEOUT)
        self._record_state()

    # -- the model: what the manager should compute -------------------------------------------

    def _record_state(self) -> None:
        """Evaluate the state just pushed, as the manager will; remember valid results.

        Keys collapse, so the manager may pair any document it read with any labels it read:
        every valid evaluation of a pushed document with pushed labels is a config it may
        deliver, and nothing else is.
        """
        if self.document is not None:
            text = self.document if isinstance(self.document, str) else json.dumps(self.document)
            try:
                self.last_parsed = COLOCATION.parse(text)
            except DocumentError:
                return
            self.seen_documents[text] = self.last_parsed
        self.seen_labels[tuple(sorted(self.labels.items()))] = dict(self.labels)
        for document in self.seen_documents.values():
            for labels in self.seen_labels.values():
                evaluation = COLOCATION.evaluate(document, labels)
                if evaluation.valid:
                    self.valid_configs.add(evaluation.config)

    def _expected(self) -> EffectiveConfig | Unknown | None:
        """The effective config of the latest state; None when it is not valid; UNKNOWN after
        a deletion (the manager keeps the last document *it* read, and keys collapse, so a
        document set and deleted before the worker saw it was never in force)."""
        if self.deleted:
            return UNKNOWN
        if isinstance(self.document, str):
            return None
        evaluation = COLOCATION.evaluate(self.last_parsed, self.labels)
        return evaluation.config if evaluation.valid else None

    @property
    def stopped(self) -> bool:
        return self.started_at_stop is not None

    # -- rules ------------------------------------------------------------------------------

    @rule(index=st.integers(0, len(VALID_DOCS) - 1))
    def push_valid(self, index: int) -> None:
        self.deleted = False
        self.document = VALID_DOCS[index]
        self.source.set_document(self.document)
        self._record_state()

    @rule(index=st.integers(0, len(INVALID_DOCS) - 1))
    def push_invalid(self, index: int) -> None:
        self.deleted = False
        self.document = INVALID_DOCS[index]
        self.source.set_document(self.document)
        self._record_state()

    @rule()
    def delete_document(self) -> None:
        self.deleted = True
        self.document = None
        self.source.delete_document()
        self._record_state()

    @rule(index=st.integers(0, len(LABELS) - 1))
    def relabel(self, index: int) -> None:
        self.labels = LABELS[index]
        self.source.set_node_labels(self.labels)
        self._record_state()

    @rule(
        mode=st.sampled_from(["ok", "flaky", "hang"]),
        fail_on=st.frozensets(st.integers(1, 4), max_size=2),
        sections=st.none() | st.sampled_from(SECTION_CHOICES),
    )
    def add_listener(
        self, mode: str, fail_on: frozenset[int], sections: tuple[str, ...] | None
    ) -> None:
        probe = Probe(mode, fail_on if mode == "flaky" else frozenset())
        self.manager.add_listener(probe, sections=sections, with_change=True)
        self.probes.append((probe, sections))
        self.all_probes.append(probe)

    @precondition(lambda self: self.probes)
    @rule(data=st.data())
    def remove_listener(self, data: st.DataObject) -> None:
        index = data.draw(st.integers(0, len(self.probes) - 1))
        probe, _ = self.probes.pop(index)
        assert self.manager.remove_listener(probe)

    @rule()
    def release_gates(self) -> None:
        for probe in self.all_probes:
            probe.gate.set()

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 4.0]))
    def advance_clock(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def settle(self) -> None:
        """Release gates, let every retry through, then check every listener is current."""
        self.release_gates()
        assert self.manager.wait_idle(TIMEOUT)
        for _ in range(20):  # each round lets one retry per listener through
            dues = [
                s.next_retry_at
                for s in self.manager.status().listeners
                if s.next_retry_at is not None
            ]
            if not dues or self.stopped:
                break
            self.clock.advance(max(dues) - self.clock.now())
            assert self.manager.wait_idle(TIMEOUT)
        if self.stopped:
            return
        status = self.manager.status()
        current = self.manager.current
        expected = self._expected()
        if isinstance(expected, Unknown):
            pass
        elif expected is not None:
            assert current is not None
            assert current.config == expected
            assert status.revision == current.number
        else:
            assert status.revision is None
        if current is None:
            return
        assert current.config in self.valid_configs
        for (probe, sections), listener_status in zip(self.probes, status.listeners, strict=True):
            assert listener_status.applied_revision == current.number
            assert listener_status.next_retry_at is None
            _, _, _, applied = probe.snapshot()
            assert applied, "a registered listener never applied anything"
            held = applied[-1][1].to_json()
            wanted = current.config.to_json()
            for section in sections or COLOCATION.section_names():
                assert held[section] == wanted[section]

    @rule(timeout=st.sampled_from([0.0, 0.05, 0.2, 0.5]))
    def stop(self, timeout: float) -> None:
        began = time.monotonic()
        report = self.manager.stop(timeout)
        elapsed = time.monotonic() - began
        assert elapsed <= timeout + STOP_SLACK_SECONDS, f"stop({timeout}) took {elapsed:.3f}s"
        started = sum(probe.snapshot()[0] for probe in self.all_probes)
        if self.started_at_stop is None:
            # A call committed before the deadline is listed in still_running: it may enter
            # the listener just after stop() returns. Nothing else may ever start.
            self.started_at_stop = started
            self.allowance = len(report.still_running)
        active = sum(probe.snapshot()[1] for probe in self.all_probes)
        if report.completed:
            assert active == 0
            assert self.manager.lifecycle is Lifecycle.STOPPED
        else:
            assert (
                len(report.still_running) >= active or report.dropped or not report.source_stopped
            )

    # -- invariants -------------------------------------------------------------------------

    @invariant()
    def only_valid_configs_are_received(self) -> None:
        for probe in self.all_probes:
            _, _, received, _ = probe.snapshot()
            for _, config in received:
                assert config in self.valid_configs

    @invariant()
    def revisions_only_increase(self) -> None:
        for probe in self.all_probes:
            _, _, received, applied = probe.snapshot()
            calls = [revision for revision, _ in received]
            assert calls == sorted(calls)
            applied_revisions = [revision for revision, _ in applied]
            assert applied_revisions == sorted(set(applied_revisions))

    @invariant()
    def nothing_starts_after_stop(self) -> None:
        if self.started_at_stop is not None:
            started = sum(probe.snapshot()[0] for probe in self.all_probes)
            assert self.started_at_stop <= started <= self.started_at_stop + self.allowance

    def teardown(self) -> None:
        self.release_gates()
        report = self.manager.stop(TIMEOUT)
        assert self.manager.lifecycle is Lifecycle.STOPPED
        assert report.still_running == ()
        if self.started_at_stop is None:
            assert report.completed, report
        else:  # an earlier stop(timeout) may have dropped queued work at its deadline
            self.nothing_starts_after_stop()


ManagerMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestManagerMachine = ManagerMachine.TestCase
