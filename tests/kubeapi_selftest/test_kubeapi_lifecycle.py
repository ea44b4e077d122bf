"""Start, stop, threads, the request log and the waiting helpers."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from typing import Any

import pytest

from kubeapi import KubeAPIServer, RequestRecord
from kubeapi.wire import WatchStream, http_request

CM = "/api/v1/namespaces/default/configmaps"
Make = Callable[..., dict[str, Any]]


def test_stop_closes_watches_and_idle_connections_and_joins_threads() -> None:
    """``stop()`` ends open watches and idle keep-alive connections and joins every thread
    it started before returning."""
    before = set(threading.enumerate())
    server = KubeAPIServer().start()
    idle = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=5)
    idle.request("GET", CM)
    assert idle.getresponse().read()  # the connection stays open (keep-alive)
    stream = WatchStream(server.url, f"{CM}?watch=true")
    assert server.wait_for_watchers(1)
    server.stop()
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(http.client.IncompleteRead):
        stream.next_event()
    stream.close()
    idle.close()


def test_keep_alive_connection_serves_several_requests(server: KubeAPIServer) -> None:
    """HTTP/1.1 keep-alive: one connection serves consecutive requests."""
    conn = http.client.HTTPConnection("127.0.0.1", int(server.url.rsplit(":", 1)[1]), timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", CM)
            response = conn.getresponse()
            assert response.status == 200
            response.read()
    finally:
        conn.close()


def test_stop_is_idempotent_and_start_while_running_is_an_error() -> None:
    """``stop()`` may be called again (or before ``start()``); ``start()`` while running
    raises."""
    never_started = KubeAPIServer()
    never_started.stop()
    server = KubeAPIServer()
    with server, pytest.raises(RuntimeError, match="running"):
        server.start()
    server.stop()


def test_restart_keeps_data_and_port_and_refuses_connections_meanwhile(cm: Make) -> None:
    """After ``stop()`` connections are refused; ``start()`` serves the same objects, history
    and resourceVersion on the same port, so a watch resumes from its version."""
    server = KubeAPIServer().start()
    try:
        server.create(cm("a"))
        url = server.url
        with WatchStream(url, f"{CM}?watch=true&resourceVersion=1") as stream:
            assert server.wait_for_watchers(1)
            server.stop()
            with pytest.raises(http.client.IncompleteRead):
                stream.next_event()
        with pytest.raises(ConnectionRefusedError):
            http_request(url, "GET", CM)
        server.patch("configmaps", "a", {"data": {"k": "2"}})  # the store works while down
        server.start()
        assert server.url == url
        with WatchStream(url, f"{CM}?watch=true&resourceVersion=1") as stream:
            event = stream.take(1)[0]
        assert (event["type"], event["object"]["metadata"]["resourceVersion"]) == ("MODIFIED", "2")
    finally:
        server.stop()


def test_url_needs_start() -> None:
    """``url`` is only known once the socket is bound."""
    with pytest.raises(RuntimeError, match="after start"):
        _ = KubeAPIServer().url


def test_requests_log_method_path_query_status_and_watch(server: KubeAPIServer) -> None:
    """Every answered request is logged with its query and status; watches are flagged."""
    http_request(server.url, "GET", f"{CM}/missing")
    with WatchStream(server.url, f"{CM}?watch=true&fieldSelector=metadata.name%3Dx"):
        assert server.wait_for_requests(lambda r: r.watch)
    assert server.requests == [
        RequestRecord("GET", f"{CM}/missing", {}, 404, False),
        RequestRecord("GET", CM, {"watch": "true", "fieldSelector": "metadata.name=x"}, 200, True),
    ]
    server.clear_requests()
    assert server.requests == []


def test_wait_for_requests_counts_matches_and_times_out(server: KubeAPIServer) -> None:
    """``wait_for_requests`` is True once ``count`` requests match, False on timeout."""
    for _ in range(2):
        http_request(server.url, "GET", CM)
    assert server.wait_for_requests(lambda r: r.method == "GET", count=2, timeout=1)
    # No third request is ever made, so the answer is known now: timeout=0 checks the state
    # itself instead of waiting a moment in the hope that nothing arrives meanwhile.
    assert not server.wait_for_requests(lambda r: r.method == "GET", count=3, timeout=0)


def test_settings_are_validated() -> None:
    """Unknown expired-watch modes and non-positive bookmark intervals are refused."""
    server = KubeAPIServer()
    with pytest.raises(ValueError, match="expired_watch_mode"):
        server.expired_watch_mode = "other"
    with pytest.raises(ValueError, match="bookmark_interval_seconds"):
        server.bookmark_interval_seconds = 0


def test_write_kubeconfig_points_at_the_server(server: KubeAPIServer, tmp_path: Any) -> None:
    """The kubeconfig names the server URL and the namespace in its current context."""
    import json

    path = server.write_kubeconfig(tmp_path / "kubeconfig", namespace="agents")
    config = json.loads(path.read_text())
    assert config["clusters"][0]["cluster"]["server"] == server.url
    assert config["contexts"][0]["context"]["namespace"] == "agents"


def test_stop_under_load_ends_every_stream_and_handler(cm: Make) -> None:
    """``stop()`` while writers write and ten watches stream: every reader ends, every
    server thread is joined and no handler raised."""
    server = KubeAPIServer(bookmark_interval_seconds=0.01).start()
    server.create(cm("a"))
    halt = threading.Event()
    endings: list[str] = []
    endings_lock = threading.Lock()

    def read() -> None:
        path = f"{CM}?watch=true&allowWatchBookmarks=true"
        try:
            with WatchStream(server.url, path) as stream:
                while stream.next_event() is not None:
                    pass
            ending = "clean"
        except (OSError, http.client.HTTPException):
            ending = "dropped"
        with endings_lock:
            endings.append(ending)

    def write() -> None:
        step = 0
        while not halt.is_set():
            step += 1
            server.patch("configmaps", "a", {"data": {"k": str(step)}})

    readers = [threading.Thread(target=read) for _ in range(10)]
    writer = threading.Thread(target=write)
    for thread in [*readers, writer]:
        thread.start()
    try:
        assert server.wait_for_watchers(10)
    finally:
        server.stop()
        halt.set()
        writer.join()
        for thread in readers:
            thread.join()
    assert endings == ["dropped"] * 10
    assert server.errors == []
