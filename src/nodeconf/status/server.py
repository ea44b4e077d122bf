"""The status HTTP server: ``/healthz``, ``/readyz``, ``/metrics``, ``/status``.

Built on the standard library's ``ThreadingHTTPServer`` so the daemon needs no web framework.

* ``/healthz`` - 200 when the manager is starting or running and every extra check (the
  source's) passes; 503 otherwise, the body listing the reasons one per line (see
  ``nodeconf.status.health``).
* ``/readyz`` - 200 once a valid config exists and every listener holds one; 503 before.
* ``/metrics`` - Prometheus text exposition of ``registry`` (``generate_latest``).
* ``/status`` - ``manager.status().to_json()`` as JSON, plus ``"source"``: what the source
  says about itself (``source_status``, when given: for example each watch's failures and
  last error), so the state of a source that is failing but alive is visible somewhere
  other than the log, without failing ``/healthz``.

Any other path is 404; any other method than GET/HEAD is 501 (the standard library's answer).
Every request reads a fresh ``manager.status()`` snapshot: nothing is cached, nothing polls.

Threads: ``start()`` binds the socket (so a bad address fails there, in the caller's thread)
and starts one accept thread, ``nodeconf-status``, which blocks in ``select`` on the listening
socket and a wake-up pipe with no timeout (an idle daemon never wakes up); each request is
handled on its own short thread. ``stop()`` writes to the pipe, joins the accept thread, closes
the socket and joins every request thread (requests have a socket timeout, so a stalled client
cannot hold ``stop`` for longer than ``REQUEST_TIMEOUT_SECONDS``).

Thread-safety: ``start`` and ``stop`` from one controlling thread (``stop`` is idempotent);
``address`` is readable from any thread after ``start`` returned.
"""

from __future__ import annotations

import json
import logging
import os
import selectors
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nodeconf.status.health import HealthCheck, health_problems, is_ready

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from prometheus_client import CollectorRegistry

    from nodeconf.status.metrics import StatusProvider

__all__ = ["StatusServer"]

_log = logging.getLogger("nodeconf.status")

#: Seconds a client may stall a request before its handler thread gives up.
REQUEST_TIMEOUT_SECONDS = 5.0


class _Server(ThreadingHTTPServer):
    # Request threads are joined by server_close() (not daemon threads left to die at exit).
    daemon_threads = False
    block_on_close = True

    timeout = 0.0  # handle_request() is only called once the socket is readable

    def __init__(self, address: tuple[str, int], status_server: StatusServer) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.status_server = status_server
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        _log.warning("status: request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = REQUEST_TIMEOUT_SECONDS
    server_version = "nodeconf"

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _respond(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        try:
            status, content_type, body = self.server.status_server.render(path)
        except Exception:  # never let a bug in a page take the thread down silently
            _log.exception("status: %s failed", path)
            status, content_type, body = 500, "text/plain; charset=utf-8", b"internal error\n"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("status: %s %s", self.address_string(), format % args)


class StatusServer:
    """Serves the health, readiness, metrics and status pages of one manager.

    ``addr`` is ``(host, port)``; port 0 picks a free port (read it from ``address`` after
    ``start``). ``registry`` is the Prometheus registry to expose (usually
    ``MetricsSink.registry``). ``checks`` are extra health checks (the source's
    ``health_problems``), run on every ``/healthz`` request; ``source_status`` returns the
    ``"source"`` member of ``/status`` (JSON-serialisable), run on every ``/status`` request.

    Thread-safety: ``start``/``stop`` from one controlling thread; pages are rendered on request
    threads and only read thread-safe state (``manager.status()``, the registry).
    """

    def __init__(
        self,
        addr: tuple[str, int],
        manager: StatusProvider,
        registry: CollectorRegistry,
        *,
        checks: Sequence[HealthCheck] = (),
        source_status: Callable[[], Mapping[str, Any]] | None = None,
    ) -> None:
        self._addr = addr
        self._manager = manager
        self._registry = registry
        self._checks = tuple(checks)
        self._source_status = source_status
        # All three written by start()/stop() on the controlling thread only; the accept thread
        # reads _server and the read end of _wake, which stay open until it has been joined.
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None  # pipe (read, write): stop() wakes the loop

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``; raises if the server is not started."""
        if self._server is None:
            raise RuntimeError("StatusServer is not started")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Bind and start serving. Raises ``OSError`` if the address cannot be bound."""
        if self._server is not None:
            raise RuntimeError("StatusServer already started")
        self._server = _Server(self._addr, self)
        self._wake = os.pipe()
        self._thread = threading.Thread(
            target=self._serve, args=(self._server, self._wake[0]), name="nodeconf-status"
        )
        self._thread.start()

    def _serve(self, server: _Server, wake_fd: int) -> None:
        # Accept thread. Blocks in select() on the listening socket and the wake pipe with no
        # timeout: an idle daemon never wakes up; stop() writes to the pipe to end the loop.
        with selectors.DefaultSelector() as selector:
            selector.register(server.socket, selectors.EVENT_READ)
            selector.register(wake_fd, selectors.EVENT_READ)
            while True:
                ready = selector.select()
                if any(key.fd == wake_fd for key, _ in ready):
                    return
                server.handle_request()  # hands the connection to a request thread

    def stop(self) -> None:
        """Stop serving and join every thread the server started. Idempotent."""
        server, thread, wake = self._server, self._thread, self._wake
        if server is None or thread is None or wake is None:
            return
        os.write(wake[1], b"x")
        thread.join()
        server.server_close()  # joins request threads still finishing
        os.close(wake[0])
        os.close(wake[1])
        self._thread = None
        self._wake = None

    def __enter__(self) -> StatusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def render(self, path: str) -> tuple[int, str, bytes]:
        """``(http status, content type, body)`` for ``path``. Called on request threads."""
        if path == "/metrics":
            return HTTPStatus.OK, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path not in ("/healthz", "/readyz", "/status"):
            return HTTPStatus.NOT_FOUND, _TEXT, _NOT_FOUND
        status = self._manager.status()
        if path == "/status":
            data = status.to_json()
            if self._source_status is not None:
                data["source"] = self._source_status()
            body = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
            return HTTPStatus.OK, "application/json", body.encode()
        if path == "/readyz":
            if is_ready(status):
                return HTTPStatus.OK, _TEXT, b"ready\n"
            return HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, b"no valid config applied yet\n"
        problems = health_problems(status, self._checks)
        if not problems:
            return HTTPStatus.OK, _TEXT, b"ok\n"
        return HTTPStatus.SERVICE_UNAVAILABLE, _TEXT, ("\n".join(problems) + "\n").encode()


_TEXT = "text/plain; charset=utf-8"
_NOT_FOUND = b"not found: try /healthz /readyz /metrics /status\n"
