"""The status HTTP server: ``/healthz``, ``/readyz``, ``/metrics``, ``/status``.

* ``/healthz`` - 200 when the manager is starting or running and every extra check (the
  source's) passes; 503 otherwise, the body listing the reasons one per line (see
  ``nodeconf.status.health``).
* ``/readyz`` - 200 once a valid config exists and every listener holds one; 503 before.
* ``/metrics`` - Prometheus text exposition of ``registry`` (``generate_latest``).
* ``/status`` - ``manager.status().to_json()`` as JSON, plus ``"source"``: what the source
  says about itself (``source_status``, when given), so the state of a source that is failing
  but alive is visible somewhere other than the log, without failing ``/healthz``.

Any other path is 404; any other method than GET/HEAD is 501. Every request reads a fresh
``manager.status()`` snapshot: nothing is cached, nothing polls.

It cannot be starved (``nodeconf.status.httploop``): one event-loop thread serves every
connection and answers ``/healthz`` and ``/readyz`` itself, so they answer while the server
is busy; ``RENDER_WORKERS`` (2) threads render ``/metrics`` and ``/status``. The server runs
3 threads whatever the clients do; each request has ``REQUEST_DEADLINE_SECONDS`` (5 s) from
its accept to its answer's last byte; at most ``MAX_CONNECTIONS`` (256) are open (one more
closes the oldest); the listen backlog is 128. An idle server never wakes up.

Thread-safety: ``start`` and ``stop`` from one controlling thread (``stop`` is idempotent);
``address`` is readable from any thread after ``start`` returned.
"""

from __future__ import annotations

import json
import logging
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nodeconf.status.health import HealthCheck, health_problems, is_ready
from nodeconf.status.httploop import HttpLoop
from nodeconf.status.httpwire import Request, response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from prometheus_client import CollectorRegistry

    from nodeconf.status.metrics import StatusProvider

__all__ = ["StatusServer"]

_log = logging.getLogger("nodeconf.status")

#: Seconds for a whole request: from its accept to its answer's last byte.
REQUEST_DEADLINE_SECONDS: Final = 5.0
MAX_CONNECTIONS: Final = 256
RENDER_WORKERS: Final = 2
#: Renders of /metrics and /status waiting or running at once; one more is answered 503.
MAX_PENDING_RENDERS: Final = 64
#: Pages answered on the loop thread: cheap, and they must answer while the server is busy.
_LIGHT: Final = frozenset({"/healthz", "/readyz"})
_PAGES: Final = frozenset({"/healthz", "/readyz", "/metrics", "/status"})


class StatusServer:
    """Serves the health, readiness, metrics and status pages of one manager.

    ``addr`` is ``(host, port)``; port 0 picks a free port (read it from ``address`` after
    ``start``). ``registry`` is the Prometheus registry to expose (usually
    ``MetricsSink.registry``). ``checks`` are extra health checks (the source's
    ``health_problems``), run on every ``/healthz`` request; ``source_status`` returns the
    ``"source"`` member of ``/status`` (JSON-serialisable), run on every ``/status`` request.
    ``deadline_seconds`` and ``max_connections`` bound each request and the open connections.

    Thread-safety: ``start``/``stop`` from one controlling thread; pages are rendered on the
    server's loop thread (health) and its two workers, and only read thread-safe state
    (``manager.status()``, the registry, the checks).
    """

    def __init__(
        self,
        addr: tuple[str, int],
        manager: StatusProvider,
        registry: CollectorRegistry,
        *,
        checks: Sequence[HealthCheck] = (),
        source_status: Callable[[], Mapping[str, Any]] | None = None,
        deadline_seconds: float = REQUEST_DEADLINE_SECONDS,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        self._manager = manager
        self._registry = registry
        self._checks = tuple(checks)
        self._source_status = source_status
        self._loop = HttpLoop(
            addr,
            self._answer,
            lambda request: request.path in _LIGHT or request.path not in _PAGES,
            name="nodeconf-status",
            workers=RENDER_WORKERS,
            max_pending=MAX_PENDING_RENDERS,
            max_connections=max_connections,
            deadline_seconds=deadline_seconds,
        )

    @property
    def address(self) -> tuple[str, int]:
        """The bound ``(host, port)``; raises if the server is not started."""
        return self._loop.address

    def start(self) -> None:
        """Bind and start serving. Raises ``OSError`` if the address cannot be bound."""
        self._loop.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop serving: close every connection (answers in progress are cut short) and join
        the server's threads within ``timeout`` seconds (``None``: no bound). True when they
        all ended; False when a page is still stuck in a check (its thread is a daemon
        thread, so it cannot keep the process alive). Idempotent."""
        return self._loop.stop(timeout)

    def __enter__(self) -> StatusServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def render(self, path: str) -> tuple[int, str, bytes]:
        """``(http status, content type, body)`` for ``path``."""
        if path == "/metrics":
            return HTTPStatus.OK, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path not in _PAGES:
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

    def _answer(self, request: Request) -> bytes:
        """The response bytes for ``request``; a bug in a page is a logged 500."""
        try:
            status, content_type, body = self.render(request.path)
        except Exception:
            _log.exception("status: %s failed", request.path)
            status, content_type, body = 500, _TEXT, b"internal error\n"
        return response(
            status,
            content_type,
            body,
            head=request.method == "HEAD",
            keep_alive=request.keep_alive,
            date=formatdate(usegmt=True),
        )


_TEXT = "text/plain; charset=utf-8"
_NOT_FOUND = b"not found: try /healthz /readyz /metrics /status\n"
