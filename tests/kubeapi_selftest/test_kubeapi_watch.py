"""WATCH over plain HTTP: initial state, replay, expiry, bookmarks, timeouts, selectors."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from kubeapi import KubeAPIServer
from kubeapi.wire import WatchStream, http_request

CM = "/api/v1/namespaces/default/configmaps"
Make = Callable[..., dict[str, Any]]


def _names(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


def test_watch_without_version_sends_current_state_as_added_then_live(
    server: KubeAPIServer, cm: Make
) -> None:
    """No resourceVersion: synthetic ADDED for each current object, then live events."""
    server.create(cm("a"))
    server.create(cm("b"))
    with WatchStream(server.url, f"{CM}?watch=true") as stream:
        assert stream.headers["Transfer-Encoding"] == "chunked"
        assert _names(stream.take(2)) == [("ADDED", "a"), ("ADDED", "b")]
        server.patch("configmaps", "a", {"data": {"k": "v"}})
        event = stream.take(1)[0]
    assert (event["type"], event["object"]["data"]) == ("MODIFIED", {"k": "v"})
    assert event["object"]["metadata"]["resourceVersion"] == "3"


def test_watch_from_version_zero_also_starts_with_current_state(
    server: KubeAPIServer, cm: Make
) -> None:
    """``resourceVersion=0`` behaves like no version: current state first."""
    server.create(cm("a"))
    server.patch("configmaps", "a", {"data": {"k": "2"}})
    with WatchStream(server.url, f"{CM}?watch=1&resourceVersion=0") as stream:
        event = stream.take(1)[0]
    assert (event["type"], event["object"]["data"]) == ("ADDED", {"k": "2"})


def test_watch_from_version_replays_exactly_the_later_changes(
    server: KubeAPIServer, cm: Make
) -> None:
    """``resourceVersion=N`` replays the changes after N from history, nothing before."""
    server.create(cm("a"))  # rv 1
    server.patch("configmaps", "a", {"data": {"k": "2"}})  # rv 2
    server.create(cm("b"))  # rv 3
    server.delete("configmaps", "a")  # rv 4
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion=2") as stream:
        events = stream.take(2)
        server.create(cm("c"))
        events += stream.take(1)
    assert _names(events) == [("ADDED", "b"), ("DELETED", "a"), ("ADDED", "c")]
    assert [e["object"]["metadata"]["resourceVersion"] for e in events] == ["3", "4", "5"]


def test_watch_from_current_version_replays_nothing(server: KubeAPIServer, cm: Make) -> None:
    """A watch from the current version sees only what happens next."""
    server.create(cm("a"))
    rv = server.resource_version
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion={rv}") as stream:
        server.create(cm("b"))
        assert _names(stream.take(1)) == [("ADDED", "b")]


def test_watch_of_one_kind_ignores_other_kinds(server: KubeAPIServer, cm: Make) -> None:
    """A ConfigMap watch never sees Node or Pod changes, only the shared version moves."""
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion=0") as stream:
        server.create({"kind": "Node", "metadata": {"name": "n"}})
        server.create(cm("a"))
        event = stream.take(1)[0]
    assert _names([event]) == [("ADDED", "a")]
    assert event["object"]["metadata"]["resourceVersion"] == "2"


def test_watch_after_compaction_gets_an_expired_error_event(
    server: KubeAPIServer, cm: Make
) -> None:
    """By default a compacted version yields 200 then an ERROR event with a 410 Status
    (as the real watch cache answers), and the stream ends."""
    server.create(cm("a"))
    server.patch("configmaps", "a", {"data": {"k": "2"}})
    server.compact()
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion=1") as stream:
        assert stream.status == 200
        events = stream.rest()
    assert len(events) == 1
    assert events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")
    assert status["message"] == "too old resource version: 1 (2)"


def test_watch_after_compaction_gets_http_410_in_status_mode(
    server: KubeAPIServer, cm: Make
) -> None:
    """With ``expired_watch_mode = "status"`` the same watch is refused with HTTP 410."""
    server.expired_watch_mode = "status"
    server.create(cm("a"))
    server.patch("configmaps", "a", {"data": {"k": "2"}})
    server.compact()
    answer = http_request(server.url, "GET", f"{CM}?watch=true&resourceVersion=1")
    assert (answer.status, answer.reason) == (410, "Expired")


def test_compaction_keeps_watches_from_the_current_version(server: KubeAPIServer, cm: Make) -> None:
    """After ``compact()`` a watch from the version at compaction time is still served."""
    server.create(cm("a"))
    server.compact()
    rv = server.resource_version
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion={rv}") as stream:
        server.create(cm("b"))
        assert _names(stream.take(1)) == [("ADDED", "b")]


def test_history_limit_expires_versions_that_fell_out_of_the_window(cm: Make) -> None:
    """With ``history_limit=2`` a watch older than the last two changes gets 410."""
    with KubeAPIServer(history_limit=2, expired_watch_mode="status") as server:
        for name in "abcd":
            server.create(cm(name))
        answer = http_request(server.url, "GET", f"{CM}?watch=1&resourceVersion=1")
        assert (answer.status, answer.body["message"]) == (410, "too old resource version: 1 (2)")
        with WatchStream(server.url, f"{CM}?watch=1&resourceVersion=2") as stream:
            assert _names(stream.take(2)) == [("ADDED", "c"), ("ADDED", "d")]


def test_history_is_per_resource(cm: Make) -> None:
    """Churn on another resource does not expire a ConfigMap watch (per-kind window)."""
    with KubeAPIServer(history_limit=2, expired_watch_mode="status") as server:
        server.create(cm("a"))
        for index in range(5):
            server.create({"kind": "Event", "metadata": {"name": f"e{index}"}})
        with WatchStream(server.url, f"{CM}?watch=1&resourceVersion=1") as stream:
            server.create(cm("b"))
            assert _names(stream.take(1)) == [("ADDED", "b")]


def test_bookmark_on_demand_carries_only_the_version(server: KubeAPIServer, cm: Make) -> None:
    """``send_bookmark()`` pushes a BOOKMARK whose object holds only kind, apiVersion and
    metadata.resourceVersion, after the events already queued."""
    server.create(cm("a"))
    path = f"{CM}?watch=true&resourceVersion=0&allowWatchBookmarks=true"
    with WatchStream(server.url, path) as stream:
        assert server.wait_for_watchers(1)
        server.create({"kind": "Node", "metadata": {"name": "n"}})
        server.send_bookmark()
        events = stream.take(2)
    assert _names(events[:1]) == [("ADDED", "a")]
    assert events[1] == {
        "type": "BOOKMARK",
        "object": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": "2"}},
    }


def test_no_bookmarks_unless_asked(server: KubeAPIServer, cm: Make) -> None:
    """A watch without ``allowWatchBookmarks`` never receives a BOOKMARK."""
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion=0") as stream:
        assert server.wait_for_watchers(1)
        server.send_bookmark()
        server.create(cm("a"))
        assert _names(stream.take(1)) == [("ADDED", "a")]


def test_bookmarks_are_sent_periodically(cm: Make) -> None:
    """Bookmarks arrive every ``bookmark_interval_seconds`` without any write."""
    with KubeAPIServer(bookmark_interval_seconds=0.05) as server:
        path = f"{CM}?watch=true&resourceVersion=0&allowWatchBookmarks=true"
        with WatchStream(server.url, path) as stream:
            events = stream.take(3)
    assert [e["type"] for e in events] == ["BOOKMARK"] * 3


def test_timeout_seconds_ends_the_stream_cleanly_after_a_bookmark(
    server: KubeAPIServer, cm: Make
) -> None:
    """``timeoutSeconds`` ends the stream with the terminating chunk, a BOOKMARK just
    before it when bookmarks were asked for; the connection stays usable."""
    server.create(cm("a"))
    path = f"{CM}?watch=true&resourceVersion=1&timeoutSeconds=1&allowWatchBookmarks=true"
    with WatchStream(server.url, path) as stream:
        events = stream.rest()
    assert [e["type"] for e in events] == ["BOOKMARK"]
    assert events[0]["object"]["metadata"]["resourceVersion"] == "1"
    assert server.wait_for_no_watchers()


def test_field_selector_watch_sees_only_its_object(server: KubeAPIServer, cm: Make) -> None:
    """A ``metadata.name`` field-selected watch gets MODIFIED for its object only and
    DELETED when it is deleted."""
    server.create(cm("mine"))
    server.create(cm("other"))
    path = f"{CM}?watch=true&fieldSelector=metadata.name%3Dmine"
    with WatchStream(server.url, path) as stream:
        assert _names(stream.take(1)) == [("ADDED", "mine")]
        server.patch("configmaps", "other", {"data": {"k": "1"}})
        server.patch("configmaps", "mine", {"data": {"k": "1"}})
        server.delete("configmaps", "other")
        server.delete("configmaps", "mine")
        assert _names(stream.take(2)) == [("MODIFIED", "mine"), ("DELETED", "mine")]


def test_field_selector_on_namespace(server: KubeAPIServer, cm: Make) -> None:
    """``metadata.namespace`` selects on the all-namespaces list."""
    server.create(cm("a", namespace="x"))
    server.create(cm("a", namespace="y"))
    answer = http_request(
        server.url, "GET", "/api/v1/configmaps?fieldSelector=metadata.namespace=y"
    )
    assert [i["metadata"]["namespace"] for i in answer.body["items"]] == ["y"]


def test_label_selector_watch_sees_objects_enter_and_leave(server: KubeAPIServer, cm: Make) -> None:
    """Relabelling into the selector is ADDED, changing inside it MODIFIED, relabelling
    out of it DELETED (watch-cache semantics)."""
    server.create(cm("a", labels={"pool": "x"}))
    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion=1&labelSelector=pool%3Dy") as s:
        server.patch("configmaps", "a", {"metadata": {"labels": {"pool": "y"}}})
        server.patch("configmaps", "a", {"data": {"k": "1"}})
        server.patch("configmaps", "a", {"metadata": {"labels": {"pool": "z"}}})
        events = s.take(3)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("tier=gold", ["a"]),
        ("tier==gold", ["a"]),
        ("tier!=gold", ["b", "c"]),
        ("tier in (gold,silver)", ["a", "b"]),
        ("tier notin (gold)", ["b", "c"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c"]),
        ("tier in (gold,silver),zone=1", ["b"]),
    ],
)
def test_label_selector_equality_and_set_based(
    server: KubeAPIServer, cm: Make, selector: str, expected: list[str]
) -> None:
    """Label selectors support =, ==, !=, in, notin, exists and !exists, ANDed by commas."""
    server.create(cm("a", labels={"tier": "gold"}))
    server.create(cm("b", labels={"tier": "silver", "zone": "1"}))
    server.create(cm("c", labels={}))
    from urllib.parse import quote

    answer = http_request(server.url, "GET", f"{CM}?labelSelector={quote(selector)}")
    assert [i["metadata"]["name"] for i in answer.body["items"]] == expected


def test_unsupported_field_selector_is_400(server: KubeAPIServer) -> None:
    """A field the resource does not index is refused like the real server does."""
    answer = http_request(server.url, "GET", f"{CM}?fieldSelector=data.k%3Dv")
    assert (answer.status, answer.reason) == (400, "BadRequest")
    assert "field label not supported" in answer.body["message"]


def test_concurrent_writers_reach_a_watch_once_each_in_order(
    server: KubeAPIServer, cm: Make
) -> None:
    """Writes from several threads reach a watch exactly once each, versions ascending."""
    server.create(cm("a"))
    writers, per_writer = 4, 25
    start = threading.Barrier(writers)

    def write(index: int) -> None:
        start.wait()
        for step in range(per_writer):
            server.patch("configmaps", "a", {"data": {f"w{index}": str(step)}})

    with WatchStream(server.url, f"{CM}?watch=true&resourceVersion=1") as stream:
        threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events = stream.take(writers * per_writer)
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == list(range(2, 2 + writers * per_writer))
    assert events[-1]["object"]["data"] == {f"w{i}": str(per_writer - 1) for i in range(writers)}


def test_close_watches_ends_every_stream_cleanly(server: KubeAPIServer) -> None:
    """``close_watches()`` ends open streams with the terminating chunk (apiserver restart)."""
    with (
        WatchStream(server.url, f"{CM}?watch=true") as a,
        WatchStream(server.url, "/api/v1/nodes?watch=true") as b,
    ):
        assert server.wait_for_watchers(2)
        assert server.close_watches("configmaps") == 1
        assert a.rest() == []
        assert server.watcher_count() == 1  # a stream is no longer counted once it ended
        assert server.close_watches() == 1
        assert b.rest() == []
    assert server.wait_for_no_watchers()


def test_close_watches_abrupt_omits_the_terminating_chunk(server: KubeAPIServer) -> None:
    """``close_watches(abrupt=True)`` drops connections mid-stream."""
    import http.client

    with WatchStream(server.url, f"{CM}?watch=true") as stream:
        assert server.wait_for_watchers(1)
        server.close_watches(abrupt=True)
        with pytest.raises(http.client.IncompleteRead):
            stream.next_event()


def test_client_leaving_ends_its_stream_at_once(server: KubeAPIServer) -> None:
    """Closing the client side releases the server's watch without any write."""
    stream = WatchStream(server.url, f"{CM}?watch=true")
    assert server.wait_for_watchers(1, kind="configmaps")
    stream.close()
    assert server.wait_for_no_watchers()


def test_field_selected_watch_sees_recreation_as_added(server: KubeAPIServer, cm: Make) -> None:
    """Deleting and re-creating the selected object yields DELETED then ADDED."""
    server.create(cm("mine"))
    path = f"{CM}?watch=true&resourceVersion=1&fieldSelector=metadata.name%3Dmine"
    with WatchStream(server.url, path) as stream:
        server.delete("configmaps", "mine")
        server.create(cm("mine", {"k": "new"}))
        events = stream.take(2)
    assert [e["type"] for e in events] == ["DELETED", "ADDED"]
    assert events[0]["object"]["metadata"]["resourceVersion"] == "2"
    assert events[1]["object"]["data"] == {"k": "new"}


def test_single_object_watch_path_selects_that_object(server: KubeAPIServer, cm: Make) -> None:
    """The legacy ``/configmaps/{name}?watch=true`` form watches that object only."""
    server.create(cm("mine"))
    server.create(cm("other"))
    with WatchStream(server.url, f"{CM}/mine?watch=true&resourceVersion=2") as stream:
        server.patch("configmaps", "other", {"data": {"k": "1"}})
        server.patch("configmaps", "mine", {"data": {"k": "1"}})
        assert _names(stream.take(1)) == [("MODIFIED", "mine")]


def test_watch_with_malformed_version_is_400(server: KubeAPIServer) -> None:
    """A resourceVersion that is not a number is refused with 400 BadRequest."""
    answer = http_request(server.url, "GET", f"{CM}?watch=true&resourceVersion=abc")
    assert (answer.status, answer.reason) == (400, "BadRequest")
