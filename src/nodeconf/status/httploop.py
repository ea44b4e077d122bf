"""A small HTTP server that clients cannot starve: one event loop, a fixed pool of renderers.

Clients never hold a thread. One event-loop thread accepts connections and reads and writes
every socket without blocking (``selectors``); a fixed number of worker threads render the
answers that may be slow. What it promises:

* **Bounded threads**: 1 loop thread plus ``workers`` (2 in the status server), whatever the
  number of clients. At most ``max_pending`` renders wait or run at once; one more is
  answered 503 at once (memory for answers stays bounded too).
* **A deadline for the whole exchange**: a request, from the accept (or, on a kept-alive
  connection, from the end of the previous answer) to the last byte of its answer, has
  ``deadline_seconds``; then the connection is closed. A client trickling a byte a second
  cannot hold anything past it.
* **At most ``max_connections`` open**: one more closes the oldest (the nearest deadline),
  so new clients (the kubelet's probe) always get in. Listen backlog ``LISTEN_BACKLOG``.
* **Light answers never wait**: requests for which ``is_light(request)`` is true are answered
  on the loop thread itself, even while every worker is busy.
* **Quiet**: a client that goes away is one debug line, never a traceback.
* **Zero idle wake-ups**: with no connection open the loop waits in ``select`` with no
  timeout (otherwise only the nearest deadline bounds the wait); workers block on their queue.

The wire format (request heads, responses) is ``nodeconf.status.httpwire``.

Threads: ``start()`` binds (a bad address fails there, on the caller's thread) and starts the
loop (``{name}``) and the workers (``{name}-render-N``). ``stop(timeout)`` sets ``_closing``
and wakes the loop through a pipe; the loop closes every connection and ends; ``stop`` joins
every thread within ``timeout`` and says whether they all ended. The loop thread owns
``_conns``, ``_in_flight`` and every client socket; workers hand their answers back through
``_done`` (a deque) and one byte on the wake pipe.

Thread-safety: ``start``/``stop`` from one controlling thread (``stop`` is idempotent);
``address`` from any thread after ``start`` returned; ``answer`` must be thread-safe (it runs
on the loop and on the workers).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Final

from nodeconf.status.httpwire import BadRequest, Request, parse_head, response

__all__ = ["LISTEN_BACKLOG", "HttpLoop"]

_log = logging.getLogger("nodeconf.status")

LISTEN_BACKLOG: Final = 128
_TEXT: Final = "text/plain; charset=utf-8"
_LISTEN: Final = "listen"
_WAKE: Final = "wake"


class _Conn:
    """One client connection; touched by the loop thread only (workers only carry it)."""

    __slots__ = ("busy", "deadline", "inbuf", "keep_alive", "out", "peer", "sock")

    def __init__(self, sock: socket.socket, peer: str, deadline: float) -> None:
        self.sock: socket.socket | None = sock  # None once closed
        self.peer = peer
        self.deadline = deadline
        self.inbuf = bytearray()
        self.out = memoryview(b"")
        self.busy = False  # a worker is rendering its answer
        self.keep_alive = False


class HttpLoop:
    """Serves ``answer(request) -> response bytes`` on ``addr`` (see the module docstring).

    Thread-safety: ``start``/``stop`` from one controlling thread; ``answer`` runs on the loop
    thread (light requests) and on the workers.
    """

    def __init__(
        self,
        addr: tuple[str, int],
        answer: Callable[[Request], bytes],
        is_light: Callable[[Request], bool],
        *,
        name: str,
        workers: int,
        max_pending: int,
        max_connections: int,
        deadline_seconds: float,
    ) -> None:
        self._addr = addr
        self._answer = answer
        self._is_light = is_light
        self._name = name
        self._workers = workers
        self._max_pending = max_pending
        self._max_connections = max_connections
        self._deadline_seconds = deadline_seconds
        # Written by start()/stop() on the controlling thread; the loop uses the socket, the
        # selector and the wake pipe, which stay open until it has been joined.
        self._sock: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake: tuple[int, int] | None = None  # pipe (read, write)
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()  # set by stop() before it wakes the loop
        self._jobs: queue.SimpleQueue[tuple[_Conn, Request] | None] = queue.SimpleQueue()
        self._done: collections.deque[tuple[_Conn, Request, bytes]] = collections.deque()
        self._conns: dict[int, _Conn] = {}  # loop thread only: fd -> connection
        self._in_flight = 0  # loop thread only: renders handed to workers, not yet answered

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``; raises if not started."""
        if self._sock is None:
            raise RuntimeError("the status server is not started")
        host, port = self._sock.getsockname()[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and start serving. Raises ``OSError`` if the address cannot be bound."""
        if self._sock is not None:
            raise RuntimeError("the status server is already started")
        host, port = self._addr
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
        sock.setblocking(False)
        self._sock = sock
        self._wake = os.pipe()
        os.set_blocking(self._wake[0], False)
        os.set_blocking(self._wake[1], False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(sock, selectors.EVENT_READ, _LISTEN)
        self._selector.register(self._wake[0], selectors.EVENT_READ, _WAKE)
        self._closing.clear()
        # Daemon threads: a page stuck in a check must not keep the process alive after
        # stop() gave up on it (stop() reports that).
        self._threads = [threading.Thread(target=self._loop, name=self._name, daemon=True)]
        self._threads += [
            threading.Thread(target=self._work, name=f"{self._name}-render-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop serving: close every connection and join every thread within ``timeout``
        seconds (``None``: no bound). True when every thread ended. Idempotent."""
        sock, wake, selector = self._sock, self._wake, self._selector
        if sock is None or wake is None or selector is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        self._closing.set()
        self._wake_loop()
        for _ in range(self._workers):
            self._jobs.put(None)
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            return False
        selector.close()  # no thread uses them any more
        sock.close()
        os.close(wake[0])
        os.close(wake[1])
        self._sock = self._selector = self._wake = None
        self._threads = []
        return True

    # -- worker threads ---------------------------------------------------------------------

    def _work(self) -> None:
        # Worker thread: renders the answers that may be slow; hands them to the loop thread.
        while (job := self._jobs.get()) is not None:
            conn, request = job
            self._done.append((conn, request, self._answer(request)))
            self._wake_loop()

    def _wake_loop(self) -> None:
        wake = self._wake
        if wake is not None:
            # A full pipe means the loop has wake-ups pending anyway.
            with contextlib.suppress(BlockingIOError):
                os.write(wake[1], b"x")

    # -- the loop thread --------------------------------------------------------------------

    def _loop(self) -> None:
        selector = self._selector
        assert selector is not None
        conns = self._conns
        try:
            while True:
                timeout = None  # no connection: nothing can time out, wait for ever
                if conns:
                    first = min(c.deadline for c in conns.values())
                    timeout = max(0.0, first - time.monotonic())
                for key, mask in selector.select(timeout):
                    if key.data is _LISTEN:
                        self._accept()
                    elif key.data is _WAKE:
                        if self._on_wake():
                            return
                    elif key.data.sock is None:  # closed earlier in this round
                        continue
                    elif mask & selectors.EVENT_WRITE:
                        self._write(key.data)
                    else:
                        self._read(key.data)
                self._expire(time.monotonic())
        finally:
            for conn in list(conns.values()):
                self._close(conn)

    def _accept(self) -> None:
        assert self._sock is not None
        assert self._selector is not None
        for _ in range(64):  # then let the other sockets have a turn
            try:
                sock, peer = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: the client retries
                _log.warning("status: cannot accept a connection: %s", exc)
                return
            if len(self._conns) >= self._max_connections:
                oldest = min(self._conns.values(), key=lambda c: c.deadline)
                _log.debug("status: %s dropped: %d connections open", oldest.peer, len(self._conns))
                self._close(oldest)
            sock.setblocking(False)
            conn = _Conn(sock, _peer(peer), time.monotonic() + self._deadline_seconds)
            self._conns[sock.fileno()] = conn
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _on_wake(self) -> bool:
        """Send the answers the workers finished; True when ``stop()`` asked the loop to end."""
        assert self._wake is not None
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake[0], 4096):
                pass
        while self._done:
            conn, request, data = self._done.popleft()
            self._in_flight -= 1
            conn.busy = False
            if conn.sock is not None:
                self._send(conn, data, keep_alive=request.keep_alive)
        return self._closing.is_set()

    def _read(self, conn: _Conn) -> None:
        assert conn.sock is not None
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._gone(conn, exc)
            return
        if not data:
            self._close(conn)
            return
        conn.inbuf += data
        if not conn.busy:
            self._serve(conn)

    def _serve(self, conn: _Conn) -> None:
        """Answer the request at the start of ``conn.inbuf``, once its head is complete."""
        try:
            parsed = parse_head(conn.inbuf)
        except BadRequest as exc:
            self._send(conn, response(exc.status, _TEXT, f"{exc.reason}\n".encode()))
            return
        if parsed is None:
            return
        request, used = parsed
        del conn.inbuf[:used]
        if request.method not in ("GET", "HEAD"):
            body = b"only GET and HEAD\n"
            self._send(conn, response(HTTPStatus.NOT_IMPLEMENTED, _TEXT, body))
        elif self._is_light(request):
            self._send(conn, self._answer(request), keep_alive=request.keep_alive)
        elif self._in_flight >= self._max_pending:
            body = b"busy: too many requests waiting, try again\n"
            self._send(conn, response(HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, body))
        else:
            # Hand-off to a worker thread; the answer comes back through _done.
            conn.busy = True
            self._in_flight += 1
            self._jobs.put((conn, request))

    def _send(self, conn: _Conn, data: bytes, *, keep_alive: bool = False) -> None:
        assert conn.sock is not None
        assert self._selector is not None
        conn.out = memoryview(data)
        conn.keep_alive = keep_alive and not self._closing.is_set()
        self._selector.modify(conn.sock, selectors.EVENT_WRITE, conn)
        self._write(conn)

    def _write(self, conn: _Conn) -> None:
        assert conn.sock is not None
        assert self._selector is not None
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self._gone(conn, exc)
            return
        conn.out = conn.out[sent:]
        if conn.out:
            return
        if not conn.keep_alive:
            self._close(conn)
            return
        # The next request on this connection gets a fresh deadline.
        conn.deadline = time.monotonic() + self._deadline_seconds
        self._selector.modify(conn.sock, selectors.EVENT_READ, conn)
        if conn.inbuf:
            self._serve(conn)

    def _expire(self, now: float) -> None:
        for conn in [c for c in self._conns.values() if c.deadline <= now]:
            _log.debug("status: %s closed: no complete exchange within the deadline", conn.peer)
            self._close(conn)

    def _gone(self, conn: _Conn, exc: OSError) -> None:
        _log.debug("status: %s went away: %s", conn.peer, exc)
        self._close(conn)

    def _close(self, conn: _Conn) -> None:
        sock = conn.sock
        if sock is None:
            return
        conn.sock = None  # a worker's late answer for it is dropped
        assert self._selector is not None
        del self._conns[sock.fileno()]
        self._selector.unregister(sock)
        sock.close()


def _peer(address: Any) -> str:
    try:
        return f"{address[0]}:{address[1]}"
    except (TypeError, IndexError):
        return str(address)
