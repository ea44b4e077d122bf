"""Fault injection: error statuses, delays, dropped streams and silent streams."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from kubeapi import Fault, KubeAPIServer
from kubeapi.wire import Answer, WatchStream, http_request

CM = "/api/v1/namespaces/default/configmaps"
Make = Callable[..., dict[str, Any]]


def test_fault_429_carries_retry_after(server: KubeAPIServer, cm: Make) -> None:
    """A 429 fault answers TooManyRequests with a Retry-After header and retryAfterSeconds."""
    server.create(cm("a"))
    server.inject(Fault(status=429, retry_after_seconds=3))
    answer = http_request(server.url, "GET", f"{CM}/a")
    assert (answer.status, answer.reason) == (429, "TooManyRequests")
    assert answer.headers["Retry-After"] == "3"
    assert answer.body["details"]["retryAfterSeconds"] == 3
    assert http_request(server.url, "GET", f"{CM}/a").status == 200


def test_fault_applies_times_then_the_server_recovers(server: KubeAPIServer, cm: Make) -> None:
    """``times=3`` of 500 InternalError hit the next three matching requests only."""
    server.create(cm("a"))
    server.inject(Fault(status=500, times=3))
    answers = [http_request(server.url, "GET", f"{CM}/a") for _ in range(4)]
    assert [a.status for a in answers] == [500, 500, 500, 200]
    assert answers[0].reason == "InternalError"
    assert server.pending_faults == 0


def test_fault_without_times_limit_lasts_until_cleared(server: KubeAPIServer) -> None:
    """``times=None`` keeps failing until ``clear_faults()``."""
    server.inject(Fault(status=503, times=None))
    assert [http_request(server.url, "GET", CM).status for _ in range(3)] == [503] * 3
    server.clear_faults()
    assert http_request(server.url, "GET", CM).status == 200


def test_fault_matches_method_path_and_watch(server: KubeAPIServer, cm: Make) -> None:
    """Only requests matching method, path substring and watch flag are affected."""
    server.create(cm("a"))
    server.inject(Fault(method="PUT", path_contains="/configmaps/a", status=500))
    server.inject(Fault(watch=True, status=410))
    assert http_request(server.url, "GET", f"{CM}/a").status == 200
    assert http_request(server.url, "GET", CM).status == 200  # a list is not a watch
    assert http_request(server.url, "GET", f"{CM}?watch=true").status == 410
    assert http_request(server.url, "PUT", f"{CM}/a", cm("a")).status == 500
    assert server.pending_faults == 0


def test_fault_410_status_on_a_watch_is_an_http_410(server: KubeAPIServer) -> None:
    """A watch fault with status 410 answers HTTP 410 Expired, not a stream."""
    server.inject(Fault(watch=True, status=410))
    answer = http_request(server.url, "GET", f"{CM}?watch=true&resourceVersion=5")
    assert (answer.status, answer.reason) == (410, "Expired")


def test_fault_delay_then_normal_answer(server: KubeAPIServer, cm: Make) -> None:
    """A delay-only fault answers normally once the delay has passed."""
    server.create(cm("a"))
    server.inject(Fault(delay_seconds=0.05))
    assert http_request(server.url, "GET", f"{CM}/a").status == 200
    assert server.pending_faults == 0


def test_fault_delay_is_interrupted_by_stop(cm: Make) -> None:
    """``stop()`` interrupts a pending delay: the handler thread ends, the client gets no
    answer (the connection closes)."""
    server = KubeAPIServer().start()
    try:
        server.inject(Fault(delay_seconds=600))
        outcome: list[Answer | BaseException] = []

        def call() -> None:
            try:
                outcome.append(http_request(server.url, "GET", CM, timeout_seconds=30))
            except (OSError, http.client.HTTPException) as exc:
                outcome.append(exc)

        client = threading.Thread(target=call)
        client.start()
        assert server.wait_for_faults_used()
    finally:
        server.stop()
    client.join()
    assert len(outcome) == 1
    assert isinstance(outcome[0], (OSError, http.client.HTTPException))


def test_fault_drops_a_watch_after_n_events(server: KubeAPIServer, cm: Make) -> None:
    """``drop_after_events=2`` delivers two events, then closes without the terminating
    chunk; the next watch is normal."""
    for name in "abc":
        server.create(cm(name))
    server.inject(Fault(watch=True, drop_after_events=2))
    with WatchStream(server.url, f"{CM}?watch=true") as stream:
        assert [e["object"]["metadata"]["name"] for e in stream.take(2)] == ["a", "b"]
        with pytest.raises(http.client.IncompleteRead):
            stream.next_event()
    with WatchStream(server.url, f"{CM}?watch=true") as stream:
        assert len(stream.take(3)) == 3


def test_fault_drop_after_zero_events_drops_right_after_the_headers(
    server: KubeAPIServer, cm: Make
) -> None:
    """``drop_after_events=0`` sends the 200 headers, then drops the connection."""
    server.create(cm("a"))
    server.inject(Fault(drop_after_events=0))
    with WatchStream(server.url, f"{CM}?watch=true") as stream:
        assert stream.status == 200
        with pytest.raises(http.client.IncompleteRead):
            stream.next_event()


def test_fault_silent_watch_sends_headers_then_nothing(server: KubeAPIServer, cm: Make) -> None:
    """A silent watch answers 200 and then never sends an event, even for writes."""
    server.create(cm("a"))
    server.inject(Fault(silent=True))
    with WatchStream(server.url, f"{CM}?watch=true&timeoutSeconds=1", timeout_seconds=0.3) as s:
        assert s.status == 200
        server.patch("configmaps", "a", {"data": {"k": "1"}})
        with pytest.raises((TimeoutError, socket.timeout)):
            s.next_event()  # observing: nothing arrives within the short bound
        assert server.watcher_count("configmaps") == 1
    assert server.wait_for_no_watchers()  # the client leaving ends it


def test_fault_silent_watch_ends_when_the_server_stops(cm: Make) -> None:
    """``stop()`` ends a silent watch (its connection is shut down)."""
    server = KubeAPIServer().start()
    server.inject(Fault(silent=True))
    stream = WatchStream(server.url, f"{CM}?watch=true")
    try:
        assert server.wait_for_watchers(1)
    finally:
        server.stop()
    with pytest.raises(http.client.IncompleteRead):
        stream.next_event()
    stream.close()


def test_fault_rejects_contradictory_settings() -> None:
    """A fault cannot both answer a status and drop or silence a stream."""
    with pytest.raises(ValueError, match="status"):
        Fault(status=500, silent=True)
    with pytest.raises(ValueError, match="exclusive"):
        Fault(silent=True, drop_after_events=1)
    with pytest.raises(ValueError, match="times"):
        Fault(times=0)
