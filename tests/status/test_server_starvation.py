"""The status server cannot be starved: slow clients, stuck pages and floods hold no thread."""

from __future__ import annotations

import http.client
import logging
import socket
import struct
import threading
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from nodeconf.manager import ConfigManager
from nodeconf.status.httploop import HttpLoop
from nodeconf.status.httpwire import Request, response
from nodeconf.status.server import StatusServer
from nodeconf.testing import RecordingListener, StaticSource

VALID = {"globalConfig": {"cpuQosConfig": {"enable": True}}}
WAIT = 10.0  # bounds a failure only


class Gate:
    """A page that blocks until opened, counting the threads that entered it."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self) -> dict[str, str]:
        self.entered.release()
        self.opened.wait(WAIT)
        return {"kind": "gate"}


@pytest.fixture
def manager() -> Iterator[ConfigManager]:
    manager = ConfigManager(StaticSource(VALID), [RecordingListener()])
    manager.start(10)
    yield manager
    manager.stop(10)


def raw(address: tuple[str, int], request: bytes) -> socket.socket:
    sock = socket.create_connection(address, timeout=WAIT)
    sock.sendall(request)
    return sock


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def closed_by_server(sock: socket.socket) -> bool:
    """True when the server closed ``sock`` (a FIN, or a reset if it had unread bytes)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def healthz(address: tuple[str, int]) -> tuple[int, str]:
    conn = http.client.HTTPConnection(*address, timeout=WAIT)
    try:
        conn.request("GET", "/healthz")
        answer = conn.getresponse()
        answer.read()
        return answer.status, answer.getheader("Server", "")
    finally:
        conn.close()


def test_healthz_answers_while_every_worker_is_stuck(manager) -> None:
    """With both renderers stuck in /status, /healthz still answers from a fresh connection."""
    gate = Gate()
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry(), source_status=gate)
    with server:
        stuck = [
            raw(server.address, b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")
            for _ in range(3)
        ]
        assert gate.entered.acquire(timeout=WAIT)
        assert gate.entered.acquire(timeout=WAIT)
        assert healthz(server.address) == (200, "nodeconf")
        gate.opened.set()
        assert all(read_all(s).startswith(b"HTTP/1.1 200 ") for s in stuck)
        for s in stuck:
            s.close()


def test_slow_clients_hold_no_thread(manager) -> None:
    """200 clients that never finish their request add no thread, and /healthz answers."""
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry())
    with server:
        threads = threading.active_count()
        slow = [raw(server.address, b"GET /status HTTP/1.1\r\nHo") for _ in range(200)]
        assert healthz(server.address)[0] == 200
        assert threading.active_count() == threads
        for s in slow:
            s.close()


def test_a_request_has_one_deadline_for_the_whole_exchange(manager) -> None:
    """A client trickling a byte every 0.1 s is cut off at the deadline, before its head ends."""
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry(), deadline_seconds=0.5)
    head = b"GET /healthz HTTP/1.1\r\nHost: example\r\nUser-Agent: slow\r\n\r\n"
    with server, socket.create_connection(server.address, timeout=WAIT) as sock:
        sock.settimeout(0.1)  # the trickle's pace, not a wait for another thread
        closed_after = None
        for sent in range(len(head)):
            sock.send(head[sent : sent + 1])
            try:
                if sock.recv(1) == b"":
                    closed_after = sent + 1
                    break
            except TimeoutError:
                continue
        assert closed_after is not None
        assert closed_after < len(head)


def test_one_connection_too_many_closes_the_oldest(manager) -> None:
    """At max_connections, a new client gets in and the oldest connection is closed."""
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry(), max_connections=3)
    with server:
        idle = [raw(server.address, b"GET") for _ in range(3)]
        assert healthz(server.address)[0] == 200
        assert closed_by_server(idle[0])
        for s in idle:
            s.close()


def test_keep_alive_serves_several_requests_on_one_connection(manager) -> None:
    """An HTTP/1.1 client may send its next request on the same connection."""
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry())
    with server:
        conn = http.client.HTTPConnection(*server.address, timeout=WAIT)
        try:
            for path in ("/healthz", "/status", "/metrics", "/readyz"):
                conn.request("GET", path)
                answer = conn.getresponse()
                answer.read()
                assert answer.status == 200, path
        finally:
            conn.close()


def test_a_client_that_goes_away_logs_one_debug_line_and_no_traceback(manager, caplog) -> None:
    """Resetting the connection mid-request is logged at debug level, without a traceback."""
    caplog.set_level(logging.DEBUG, logger="nodeconf.status")
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry())
    with server:
        for _ in range(20):
            sock = raw(server.address, b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()  # RST
        assert healthz(server.address)[0] == 200
    records = [r for r in caplog.records if r.name == "nodeconf.status"]
    assert all(r.levelno == logging.DEBUG and r.exc_info is None for r in records)


def test_renders_beyond_the_bound_are_answered_503_at_once() -> None:
    """With every render slot taken, one more slow request is refused rather than queued."""
    opened = threading.Event()
    entered = threading.Semaphore(0)

    def answer(request: Request) -> bytes:
        if request.path == "/slow":
            entered.release()
            opened.wait(WAIT)
        return response(200, "text/plain", b"ok\n")

    loop = HttpLoop(
        ("127.0.0.1", 0),
        answer,
        lambda request: request.path == "/light",
        name="test-loop",
        workers=1,
        max_pending=1,
        max_connections=16,
        deadline_seconds=WAIT,
    )
    loop.start()
    try:
        first = raw(loop.address, b"GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert entered.acquire(timeout=WAIT)
        refused = raw(loop.address, b"GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert read_all(refused).startswith(b"HTTP/1.1 503 ")
        light = raw(loop.address, b"GET /light HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert read_all(light).startswith(b"HTTP/1.1 200 ")
        opened.set()
        assert read_all(first).startswith(b"HTTP/1.1 200 ")
        for s in (first, refused, light):
            s.close()
    finally:
        opened.set()
        assert loop.stop(WAIT)


def test_stop_gives_up_on_a_stuck_page_within_its_timeout(manager) -> None:
    """stop(timeout) returns False when a page is stuck, instead of waiting for it."""
    gate = Gate()
    server = StatusServer(("127.0.0.1", 0), manager, CollectorRegistry(), source_status=gate)
    server.start()
    sock = raw(server.address, b"GET /status HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert gate.entered.acquire(timeout=WAIT)
    assert server.stop(0.2) is False
    gate.opened.set()
    assert server.stop(WAIT) is True
    sock.close()
