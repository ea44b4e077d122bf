"""The list-watch loop under failure: each lightkube pitfall, 410s, drops, silence, backoff.

Reconnect delays run on a ``FakeClock`` where a test must control when the loop comes back
(the loop parks on the clock; the test changes the world, then advances time). The request
log of the in-process server says exactly which requests were made, so "no hot loop" and
"resumed from the last resourceVersion" are checked request by request.
"""

from __future__ import annotations

import importlib.metadata
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.kubernetes.kube_helpers import (
    CONFIGMAP,
    NAMESPACE,
    NODE,
    WAIT,
    RecordingContext,
    configmap,
    document,
    fast_settings,
    put_document,
)

from kubeapi import Fault, KubeAPIServer, RequestRecord
from nodeconf.concurrency.clock import FakeClock
from nodeconf.manager.source import KEY_DOCUMENT
from nodeconf.sources.kubernetes import BackoffSettings, KubernetesSettings, KubernetesSource

pytestmark = pytest.mark.kubernetes

DOC_A = document(cpuQosConfig={"enable": True})
DOC_B = document(cpuQosConfig={"enable": False})
CM_PATH = f"/namespaces/{NAMESPACE}/configmaps"


def cm_requests(api: KubeAPIServer) -> list[RequestRecord]:
    return [r for r in api.requests if r.path.endswith(CM_PATH)]


def describe(records: list[RequestRecord]) -> list[tuple[str, int]]:
    return [("WATCH" if r.watch else "LIST", r.status) for r in records]


def is_cm_watch(r: RequestRecord) -> bool:
    return r.watch and r.path.endswith(CM_PATH)


class Running:
    """A started source with its context, stopped by the fixture."""

    def __init__(self, source: KubernetesSource, context: RecordingContext) -> None:
        self.source = source
        self.context = context

    def cm_stats(self):  # type: ignore[no-untyped-def]
        return self.source.watch_stats()["configmap"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def make(api: KubeAPIServer, kubeconfig: str) -> Iterator[object]:
    started: list[KubernetesSource] = []

    def _make(
        clock: FakeClock | None = None,
        settings: KubernetesSettings | None = None,
        context: RecordingContext | None = None,
    ) -> Running:
        src = KubernetesSource(
            namespace=NAMESPACE,
            node_name=NODE,
            kubeconfig=kubeconfig,
            prepare=False,
            clock=clock,
            settings=settings or fast_settings(),
        )
        started.append(src)
        context = context or RecordingContext()
        before = api.watcher_count()
        src.start(context)
        assert src.wait_synced(WAIT)
        assert api.wait_for_watchers(before + 2)  # both watches open: ready for faults
        return Running(src, context)

    yield _make
    for src in started:
        assert src.stop(WAIT)


# -- pitfall: dependency pins ----------------------------------------------------------------


def test_lightkube_and_httpx2_are_pinned_and_installed_as_pinned() -> None:
    """Pitfall: lightkube 1.0.1 pulls httpx2, released after it; both are pinned exactly,
    and the installed versions are the pinned ones."""
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = dict(
        spec.split("==") for spec in pyproject["project"]["optional-dependencies"]["kubernetes"]
    )
    for name in ("lightkube", "httpx2", "httpcore2", "msgspec"):
        assert name in pins, f"{name} is not pinned in the kubernetes extra"
        assert importlib.metadata.version(name) == pins[name]


# -- pitfall: 410 as an error event ----------------------------------------------------------


def test_410_error_event_relists_and_sees_the_deletion_missed_in_the_gap(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """Pitfall: a 410 ERROR event makes us relist and diff, so a ConfigMap deleted while we
    were away is reported as deleted; one LIST, no hot loop."""
    put_document(api, DOC_A)
    run = make(clock)  # type: ignore[operator]
    api.close_watches("configmaps", abrupt=True)
    assert clock.wait_for_waiters(1, WAIT)  # the loop parks in its reconnect delay
    api.delete("configmaps", CONFIGMAP, NAMESPACE)
    api.compact()
    stale_rv = run.cm_stats().resource_version
    api.clear_requests()
    clock.advance(10.0)
    assert run.context.wait_report(lambda r: r.kind == "document-deleted")
    assert api.wait_for_requests(is_cm_watch, 2, WAIT)
    records = cm_requests(api)
    assert describe(records) == [("WATCH", 200), ("LIST", 200), ("WATCH", 200)]
    assert records[0].query["resourceVersion"] == stale_rv  # resumed, did not relist first
    assert int(records[2].query["resourceVersion"]) > int(stale_rv)
    assert run.source.snapshot().document == DOC_A  # last-known-good kept


# -- pitfall: 410 as an HTTP status ----------------------------------------------------------


def test_410_status_relists_once_instead_of_retrying_the_stale_version(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """Pitfall: a WATCH answered with HTTP 410 is recognised: one LIST, then a WATCH from the
    new version (lightkube retried the stale version about 100 times a second)."""
    api.expired_watch_mode = "status"
    put_document(api, DOC_A)
    run = make(clock)  # type: ignore[operator]
    api.close_watches("configmaps", abrupt=True)
    assert clock.wait_for_waiters(1, WAIT)
    put_document(api, DOC_B)
    api.compact()
    api.clear_requests()
    clock.advance(10.0)
    assert run.context.wait_keys(KEY_DOCUMENT)
    assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 200, 1, WAIT)
    assert describe(cm_requests(api)) == [("WATCH", 410), ("LIST", 200), ("WATCH", 200)]
    assert run.source.snapshot().document == DOC_B


def test_410_after_a_fresh_relist_backs_off(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """A server answering 410 to every watch gets one immediate relist, then backoff delays
    on the clock: never a hot loop."""
    run = make(clock)  # type: ignore[operator]
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=410, times=None))
    api.clear_requests()
    api.close_watches("configmaps")
    assert clock.wait_for_waiters(1, WAIT)  # parked after the early end of the open watch
    clock.advance(10.0)
    assert api.wait_for_requests(is_cm_watch, 2, WAIT)
    assert clock.wait_for_waiters(1, WAIT)
    assert describe(cm_requests(api)) == [("WATCH", 410), ("LIST", 200), ("WATCH", 410)]
    assert run.cm_stats().expired == 2


# -- pitfall: refused reconnect --------------------------------------------------------------


def test_a_refused_reconnect_is_retried_until_the_server_is_back(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Pitfall: connection refused while the API server restarts is an ordinary failure:
    the loop backs off, retries, and picks up the new server's state."""
    first = KubeAPIServer().start()
    port = int(first.url.rsplit(":", 1)[1])
    kubeconfig = str(first.write_kubeconfig(tmp_path / "kc", namespace=NAMESPACE))
    first.create({"kind": "Node", "metadata": {"name": NODE}})
    first.create(configmap(DOC_A))
    src = KubernetesSource(
        namespace=NAMESPACE,
        node_name=NODE,
        kubeconfig=kubeconfig,
        prepare=False,
        clock=clock,
        settings=fast_settings(),
    )
    context = RecordingContext()
    second: KubeAPIServer | None = None
    try:
        src.start(context)
        assert src.wait_synced(WAIT)
        first.stop()
        assert clock.wait_for_waiters(2, WAIT)  # both loops lost their watch
        clock.advance(10.0)
        assert context.wait_report(lambda r: "ConnectError" in r.detail, 2)
        assert clock.wait_for_waiters(2, WAIT)  # both backing off again, threads alive
        second = KubeAPIServer(port=port).start()
        second.create({"kind": "Node", "metadata": {"name": NODE}})
        for n in range(3):  # move the new server's version past the one we resume from
            second.create(configmap("{}", name=f"filler-{n}"))
        second.create(configmap(DOC_B))
        clock.advance(10.0)
        assert context.wait_keys(KEY_DOCUMENT)
        assert src.snapshot().document == DOC_B
    finally:
        assert src.stop(WAIT)
        first.stop()
        if second is not None:
            second.stop()


# -- pitfall: no read timeout ----------------------------------------------------------------


def test_a_silent_watch_is_replaced_by_the_watchdog(api: KubeAPIServer, make: object) -> None:
    """Pitfall: a watch that goes silent (not even bookmarks) is closed after
    watch_idle_timeout_seconds and reopened from the last version; updates flow again."""
    api.inject(Fault(watch=True, path_contains=CM_PATH, silent=True, times=1))
    run = make(settings=fast_settings(watch_idle_timeout_seconds=0.3))  # type: ignore[operator]
    put_document(api, DOC_B)
    assert run.context.wait_keys(KEY_DOCUMENT)
    assert run.context.wait_report(lambda r: "ReadTimeout" in r.detail)
    assert run.source.snapshot().document == DOC_B
    assert run.cm_stats().lists == 1  # resumed from the version, no relist


def test_bookmarks_move_the_resume_point(api: KubeAPIServer, make: object) -> None:
    """Pitfall (bookmarks): a BOOKMARK advances the version the next watch resumes from, so
    a compaction behind us costs no relist."""
    run = make()  # type: ignore[operator]
    api.create(configmap("{}", name="unrelated"))  # moves the global version on
    api.send_bookmark()
    bookmarked = str(api.resource_version)
    api.clear_requests()
    api.close_watches("configmaps")
    api.compact()
    assert api.wait_for_requests(is_cm_watch, 1, WAIT)
    (watch,) = [r for r in api.requests if is_cm_watch(r)]
    assert watch.query["resourceVersion"] == bookmarked
    assert watch.status == 200
    assert run.cm_stats().lists == 1


# -- ordinary failures -----------------------------------------------------------------------


def test_a_dropped_watch_resumes_without_losing_updates(api: KubeAPIServer, make: object) -> None:
    """A connection cut mid-stream is reopened from the last version; every update arrives."""
    put_document(api, DOC_A)
    api.inject(Fault(watch=True, path_contains=CM_PATH, drop_after_events=1, times=3))
    run = make()  # type: ignore[operator]
    for n in range(4):
        put_document(api, document(evictingConfig={"evictingCPUHighWatermark": 80 + n}))
    assert run.context.wait_report(lambda r: r.kind == "watch-restarted", 3)
    put_document(api, DOC_B)
    assert run.context.wait_keys(KEY_DOCUMENT, 5)
    assert run.source.snapshot().document == DOC_B
    assert run.cm_stats().lists == 1


def test_a_run_of_500s_is_survived(api: KubeAPIServer, make: object) -> None:
    """Five 500s in a row on the watch: the loop backs off, retries, then delivers."""
    run = make()  # type: ignore[operator]
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=500, times=5))
    api.close_watches("configmaps")
    assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 500, 5, WAIT)
    put_document(api, DOC_B)
    assert run.context.wait_keys(KEY_DOCUMENT)
    assert run.cm_stats().failures >= 5


def test_server_side_timeout_reconnects_at_once(api: KubeAPIServer, make: object) -> None:
    """A watch ended by its timeoutSeconds is reopened immediately from the last version:
    no backoff, no relist."""
    run = make(settings=fast_settings(watch_timeout_min_seconds=1, watch_timeout_max_seconds=1))  # type: ignore[operator]
    assert api.wait_for_requests(is_cm_watch, 2, WAIT)
    put_document(api, DOC_B)
    assert run.context.wait_keys(KEY_DOCUMENT)
    stats = run.cm_stats()
    assert (stats.lists, stats.failures) == (1, 0)


def test_429_retry_after_is_honoured(api: KubeAPIServer, make: object, clock: FakeClock) -> None:
    """429 with Retry-After: the loop waits at least that long (on its clock) before
    retrying, then delivers."""
    run = make(clock)  # type: ignore[operator]
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=429, retry_after_seconds=3))
    api.close_watches("configmaps")
    assert clock.wait_for_waiters(1, WAIT)  # the early end's own (short) delay
    clock.advance(1.0)
    assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 429, 1, WAIT)
    assert clock.wait_for_waiters(1, WAIT)
    delay = run.cm_stats().reconnect_delays[-1]
    assert 3.0 <= delay <= 3.0 + 0.05
    put_document(api, DOC_B)
    clock.advance(delay)
    assert run.context.wait_keys(KEY_DOCUMENT)


# -- reconnect delays on the fake clock --------------------------------------------------------

GROWING = BackoffSettings(
    initial_delay_seconds=1.0, max_delay_seconds=8.0, reset_after_seconds=60.0
)


def test_reconnect_delays_grow_are_capped_and_jittered(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """Consecutive failures: delay n is drawn in [0, min(8, 2**n)] - growing ceilings, a
    cap, and jitter (so a restarted API server is not hit by every node at once)."""
    run = make(clock, fast_settings(backoff=GROWING))  # type: ignore[operator]
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=500, times=None))
    api.close_watches("configmaps")
    failures = 8
    for n in range(1, failures + 1):
        assert clock.wait_for_waiters(1, WAIT)
        if n > 1:  # the n-th 500 was answered: the waiter seen is the n-th delay
            assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 500, n - 1, WAIT)
            assert clock.wait_for_waiters(1, WAIT)
        delays = run.cm_stats().reconnect_delays
        assert len(delays) == n
        clock.advance(delays[-1])
    ceilings = [GROWING.ceiling(n) for n in range(failures)]
    assert ceilings == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[3:]) > GROWING.initial_delay_seconds  # they did grow
    assert len({round(d / c, 6) for d, c in zip(delays, ceilings, strict=True)}) == failures
    api.clear_faults()
    assert clock.wait_for_waiters(1, WAIT)
    put_document(api, DOC_B)
    clock.advance(GROWING.max_delay_seconds)
    assert run.context.wait_keys(KEY_DOCUMENT)


def test_agents_draw_different_delays(api: KubeAPIServer, make: object) -> None:
    """Two agents losing the server together wait different times (different seeds)."""
    clocks = [FakeClock(), FakeClock()]
    runs = [
        make(c, fast_settings(backoff=GROWING, jitter_seed=seed))  # type: ignore[operator]
        for c, seed in zip(clocks, (1, 2), strict=True)
    ]
    api.close_watches("configmaps")
    for c in clocks:
        assert c.wait_for_waiters(1, WAIT)
    first = [r.cm_stats().reconnect_delays[0] for r in runs]
    assert first[0] != first[1]
    for c in clocks:
        c.advance(GROWING.max_delay_seconds)


def test_a_long_healthy_watch_resets_the_delays(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """After a watch stayed healthy for reset_after_seconds, the next delay starts from the
    initial ceiling again."""
    settings = fast_settings(
        backoff=GROWING, watch_timeout_min_seconds=600, watch_timeout_max_seconds=600
    )
    run = make(clock, settings)  # type: ignore[operator]
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=500, times=4))
    api.close_watches("configmaps")
    for n in range(5):  # the early end's delay, then one per 500
        if n:
            assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 500, n, WAIT)
        assert clock.wait_for_waiters(1, WAIT)
        clock.advance(GROWING.max_delay_seconds)
    assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 200, 2, WAIT)
    assert run.cm_stats().consecutive_failures == 5
    assert api.wait_for_watchers(2)
    clock.advance(GROWING.reset_after_seconds)  # healthy for a full minute
    api.close_watches("configmaps")
    assert clock.wait_for_waiters(1, WAIT)
    stats = run.cm_stats()
    assert (stats.failures, stats.consecutive_failures) == (6, 1)
    assert stats.reconnect_delays[-1] <= GROWING.initial_delay_seconds
    clock.advance(GROWING.max_delay_seconds)


def node_steps(api: KubeAPIServer, run: Running) -> None:
    """Make the node's quiet watch take a step now: a bookmark past a fresh version."""
    api.create(configmap("{}", name=f"unrelated-{api.resource_version}"))
    api.send_bookmark()
    assert run.source.wait_for_version(api.resource_version, kind="node", timeout=WAIT)


def test_a_watch_that_keeps_failing_is_no_liveness_problem(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """An API server answering 503 for a long time: the loop keeps failing and waiting, which
    is progress. health_problems() (the liveness check) stays empty, since a restart would
    cure nothing, while watch_stats() shows the failures and their last error."""
    run = make(clock)  # type: ignore[operator]
    assert run.source.health_problems() == []
    api.inject(Fault(watch=True, path_contains=CM_PATH, status=503, times=None))
    api.close_watches("configmaps")
    for n in range(8):  # the early end, then 503s, each followed by a backoff wait
        if n:
            assert api.wait_for_requests(lambda r: is_cm_watch(r) and r.status == 503, n, WAIT)
        assert clock.wait_for_waiters(1, WAIT)
        clock.advance(50.0)  # 400 s in all, far past stuck_after_seconds (60 here)
        node_steps(api, run)
        assert run.source.health_problems() == []
    stats = run.cm_stats()
    assert stats.consecutive_failures >= 8
    assert "503" in stats.last_error
    said = run.source.status_json()  # what /status shows instead
    assert said["kind"] == "kubernetes"
    assert said["synced"] is True
    assert said["watches"]["configmap"]["consecutive_failures"] >= 8
    assert "503" in said["watches"]["configmap"]["last_error"]
    assert said["watches"]["node"]["consecutive_failures"] == 0


class GatedContext(RecordingContext):
    """A context whose ``notify`` blocks until ``gate`` is set (``entered`` says it did)."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def notify(self, key: str) -> None:
        self.entered.set()
        assert self.gate.wait(WAIT)
        super().notify(key)


def test_a_stuck_watch_is_a_liveness_problem(
    api: KubeAPIServer, make: object, clock: FakeClock
) -> None:
    """A loop blocked beyond every bound it has (here: in its handler, as in a deadlock) is
    reported as stuck once stuck_after_seconds pass on the clock, with how long; the node's
    loop, which takes a step meanwhile, is not."""
    context = GatedContext()
    settings = fast_settings(watch_idle_timeout_seconds=30.0)
    run = make(clock, settings, context)  # type: ignore[operator]
    assert settings.stuck_after_seconds == 60.0
    try:
        put_document(api, DOC_B)
        assert context.entered.wait(WAIT)  # the event was counted (a step), then it blocked
        clock.advance(59.0)
        node_steps(api, run)
        assert run.source.health_problems() == []
        clock.advance(2.0)
        node_steps(api, run)
        (problem,) = run.source.health_problems()
    finally:
        context.gate.set()
    assert problem.startswith("watch of configmaps ")
    assert "is stuck: no progress for 61s" in problem
