"""``KubeAPIServer``: lifecycle, settings, request log and the direct store API.

Threads started here: one accept thread (``kubeapi-accept``) and one handler thread per
connection (joined by ``server_close``). ``stop()`` joins them all before it returns. Test
code may call every public method from any thread.
"""

from __future__ import annotations

import builtins
import contextlib
import enum
import json
import os
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeapi._faults import Fault, FaultTable
from kubeapi._http import APIHTTPServer
from kubeapi._resources import resolve_resource
from kubeapi._store import Store

__all__ = ["KubeAPIServer", "RequestRecord"]

_PATCH_TYPES = ("merge", "strategic", "json")
_EXPIRED_MODES = ("event", "status")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server answered it (``status`` 200 for an accepted watch).

    Thread-safety: immutable (treat ``query`` as read-only).
    """

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    status: int = 0
    watch: bool = False


class _State(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class KubeAPIServer:
    """An in-process kube-apiserver look-alike for configmaps, nodes, pods and events.

    ``start()`` binds and serves; ``stop()`` (idempotent; also ``__exit__``) ends every
    watch, closes every connection and joins every thread it started; ``start()`` again (or
    ``restart()``) serves the same data on the same port, like a restarted API server.

    The direct store API (``create``, ``replace``, ``patch``, ``delete``, ``get``, ``list``)
    goes through the same code as HTTP requests: each write bumps the one global
    resourceVersion and feeds watches. Errors of the direct API raise ``KubeAPIError`` with
    the ``Status`` an HTTP client would get. ``kind`` is the plural resource
    (``configmaps``) or the kind (``ConfigMap``).

    Thread-safety: every public method may be called from any thread.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        history_limit: int = 1000,
        *,
        bookmark_interval_seconds: float = 1.0,
        expired_watch_mode: str = "event",
    ) -> None:
        self._host = host
        self._port = port
        self._store = Store(history_limit)
        self._faults = FaultTable()
        self._stopping = threading.Event()  # set once by stop(); interrupts fault delays
        # Guards _state, _port, _httpd, _accept_thread, _wake (lifecycle).
        self._life = threading.Condition()
        self._state = _State.NEW
        self._httpd: APIHTTPServer | None = None
        self._accept_thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None  # pipe waking the accept loop on stop
        # Guards _connections and _closing (accept thread adds, handler threads remove).
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._closing = False
        # Guards _requests, _errors (handler threads append, tests read and wait).
        self._log = threading.Condition()
        self._requests: list[RequestRecord] = []
        self._errors: list[BaseException] = []
        # Guards the two settings below.
        self._settings_lock = threading.Lock()
        self._bookmark_interval_seconds = 1.0
        self._expired_watch_mode = "event"
        self.bookmark_interval_seconds = bookmark_interval_seconds
        self.expired_watch_mode = expired_watch_mode

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> KubeAPIServer:
        """Bind and start serving. After ``stop()`` this starts again on the same port with
        the same objects, history and resourceVersion (an API server restart).

        Raises ``RuntimeError`` when already running or stopping.
        """
        with self._life:
            if self._state not in (_State.NEW, _State.STOPPED):
                raise RuntimeError(f"KubeAPIServer is {self._state.value}; cannot start")
            self._stopping.clear()
            with self._conn_lock:
                self._closing = False
            self._httpd = APIHTTPServer((self._host, self._port), self)
            self._port = int(self._httpd.server_address[1])  # a restart reuses it
            self._wake = os.pipe()
            self._accept_thread = threading.Thread(
                target=self._accept_loop,
                args=(self._httpd, self._wake[0]),
                name="kubeapi-accept",
            )
            self._accept_thread.start()
            self._state = _State.RUNNING
        return self

    def stop(self) -> None:
        """End every watch, close every connection, join every thread; connections are
        refused afterwards. Idempotent: a concurrent caller waits for the first to finish."""
        with self._life:
            if self._state is _State.STOPPING:
                self._life.wait_for(lambda: self._state is not _State.STOPPING)
                return
            if self._state is not _State.RUNNING:
                return
            self._state = _State.STOPPING
            httpd, accept_thread, wake = self._httpd, self._accept_thread, self._wake
        assert httpd is not None
        assert accept_thread is not None
        assert wake is not None
        try:
            self._stopping.set()
            os.write(wake[1], b"\0")
            accept_thread.join()  # no connection is accepted after this
            self._store.close_watches(abrupt=True)
            with self._conn_lock:
                self._closing = True
                connections = list(self._connections)
            for conn in connections:  # wakes handlers reading, writing or polling
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            httpd.server_close()  # closes the listener and joins every handler thread
            os.close(wake[0])
            os.close(wake[1])
        finally:
            with self._life:
                self._state = _State.STOPPED
                self._life.notify_all()

    def restart(self) -> None:
        """``stop()`` then ``start()``: every connection drops, the data survives."""
        self.stop()
        self.start()

    def __enter__(self) -> KubeAPIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @staticmethod
    def _accept_loop(httpd: APIHTTPServer, wake_fd: int) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(httpd, selectors.EVENT_READ)
            selector.register(wake_fd, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj == wake_fd:
                        return
                    KubeAPIServer._accept_one(httpd)

    @staticmethod
    def _accept_one(httpd: APIHTTPServer) -> None:
        """Accept one connection and hand it to a new handler thread."""
        try:
            request, client_address = httpd.get_request()
        except OSError:
            return
        try:
            httpd.process_request(request, client_address)
        except Exception:
            httpd.handle_error(request, client_address)
            httpd.shutdown_request(request)

    def _track_connection(self, conn: socket.socket) -> bool:
        with self._conn_lock:
            if self._closing:
                return False
            self._connections.add(conn)
            return True

    def _untrack_connection(self, conn: socket.socket) -> None:
        with self._conn_lock:
            self._connections.discard(conn)

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` (after ``start()``)."""
        with self._life:
            if self._httpd is None:
                raise RuntimeError("KubeAPIServer.url is known after start()")
            host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def write_kubeconfig(self, path: str | os.PathLike[str], namespace: str = "default") -> Path:
        """Write a kubeconfig (JSON, which is YAML) pointing at this server; return its path.

        Plain http, no TLS; the user has a dummy bearer token (the server checks nothing).
        """
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "kubeapi",
            "clusters": [{"name": "kubeapi", "cluster": {"server": self.url}}],
            "users": [{"name": "kubeapi", "user": {"token": "kubeapi-test-token"}}],
            "contexts": [
                {
                    "name": "kubeapi",
                    "context": {"cluster": "kubeapi", "user": "kubeapi", "namespace": namespace},
                }
            ],
        }
        target = Path(path)
        target.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        return target

    # -- settings --------------------------------------------------------------------------

    @property
    def expired_watch_mode(self) -> str:
        """How a watch from a compacted version is refused: ``event`` (200 + ERROR event,
        as the real server does) or ``status`` (HTTP 410 at request time)."""
        with self._settings_lock:
            return self._expired_watch_mode

    @expired_watch_mode.setter
    def expired_watch_mode(self, mode: str) -> None:
        if mode not in _EXPIRED_MODES:
            raise ValueError(f"expired_watch_mode must be one of {_EXPIRED_MODES}, got {mode!r}")
        with self._settings_lock:
            self._expired_watch_mode = mode

    @property
    def bookmark_interval_seconds(self) -> float:
        """Period of BOOKMARK events on watches with ``allowWatchBookmarks=true``."""
        with self._settings_lock:
            return self._bookmark_interval_seconds

    @bookmark_interval_seconds.setter
    def bookmark_interval_seconds(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"bookmark_interval_seconds must be > 0, got {seconds}")
        with self._settings_lock:
            self._bookmark_interval_seconds = float(seconds)

    # -- direct store API ------------------------------------------------------------------

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create ``obj`` (its ``kind`` picks the resource; namespace defaults to ``default``)."""
        info = resolve_resource(str(obj.get("kind", "")))
        namespace = (obj.get("metadata") or {}).get("namespace")
        return self._store.create(info, namespace, obj)

    def replace(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Replace ``obj`` (a ``metadata.resourceVersion`` in it is a precondition)."""
        info = resolve_resource(str(obj.get("kind", "")))
        metadata = obj.get("metadata") or {}
        return self._store.replace(info, metadata.get("namespace"), metadata.get("name", ""), obj)

    def patch(
        self,
        kind: str,
        name: str,
        patch: Any,
        namespace: str | None = None,
        patch_type: str = "merge",
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        """Patch an object; ``patch_type`` is ``merge``, ``strategic`` or ``json``;
        ``subresource="status"`` keeps only the patched ``status``."""
        if patch_type not in _PATCH_TYPES:
            raise ValueError(f"patch_type must be one of {_PATCH_TYPES}, got {patch_type!r}")
        return self._store.patch(
            resolve_resource(kind), namespace, name, patch, patch_type, subresource=subresource
        )

    def delete(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """Delete an object; return its last state (with the deletion's resourceVersion)."""
        return self._store.delete(resolve_resource(kind), namespace, name)

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        """A copy of the object, or None (namespace defaults to ``default``)."""
        return self._store.get(resolve_resource(kind), namespace, name)

    def list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        """Copies of the objects of ``kind`` (all namespaces when ``namespace`` is None)."""
        return self._store.list(resolve_resource(kind), namespace)[1]

    def compact(self) -> None:
        """Forget history: a watch from any older resourceVersion now gets 410."""
        self._store.compact()

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        return self._store.resource_version

    # -- watches ---------------------------------------------------------------------------

    def send_bookmark(self) -> None:
        """Push a BOOKMARK now to every open watch that asked for bookmarks."""
        self._store.bookmark()

    def close_watches(self, kind: str | None = None, *, abrupt: bool = False) -> int:
        """End every open watch stream (of ``kind``) and close its connection, like an API
        server restart; ``abrupt`` omits the terminating chunk. Return how many."""
        plural = resolve_resource(kind).plural if kind is not None else None
        return self._store.close_watches(plural, abrupt=abrupt)

    def watcher_count(self, kind: str | None = None) -> int:
        """How many watch streams (of ``kind``) are open now (silent ones included)."""
        plural = resolve_resource(kind).plural if kind is not None else None
        return self._store.watcher_count(plural)

    def wait_for_watchers(self, n: int, kind: str | None = None, timeout: float = 5.0) -> bool:
        """Wait until at least ``n`` watch streams (of ``kind``) are open; False on timeout."""
        plural = resolve_resource(kind).plural if kind is not None else None
        return self._store.wait_for_watchers(n, plural, timeout)

    def wait_for_no_watchers(self, kind: str | None = None, timeout: float = 5.0) -> bool:
        """Wait until no watch stream (of ``kind``) is open; False on timeout."""
        plural = resolve_resource(kind).plural if kind is not None else None
        return self._store.wait_until(lambda: self._store._count_locked(plural) == 0, timeout)

    # -- faults ----------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Apply ``fault`` to the next matching requests (after earlier faults)."""
        self._faults.inject(fault)

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """How many injected faults still have uses left."""
        return self._faults.pending()

    def wait_for_faults_used(self, timeout: float = 5.0) -> bool:
        """Wait until every injected fault has hit its last request (a delayed or silent
        one is then in progress); False on timeout."""
        return self._faults.wait_until_used(timeout)

    # -- request log -----------------------------------------------------------------------

    def _record_request(
        self, method: str, path: str, query: dict[str, str], status: int, watch: bool
    ) -> None:
        with self._log:
            self._requests.append(RequestRecord(method, path, dict(query), status, watch))
            self._log.notify_all()

    def _record_error(self, exc: BaseException) -> None:
        with self._log:
            self._errors.append(exc)
            self._log.notify_all()

    @property
    def requests(self) -> builtins.list[RequestRecord]:
        """A copy of every request answered so far, in order."""
        with self._log:
            return list(self._requests)

    @property
    def errors(self) -> builtins.list[BaseException]:
        """Unexpected exceptions raised inside handlers (a bug in the server if not empty)."""
        with self._log:
            return list(self._errors)

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._log:
            self._requests.clear()

    def wait_for_requests(
        self,
        predicate: Callable[[RequestRecord], bool],
        count: int = 1,
        timeout: float = 5.0,
    ) -> bool:
        """Wait until at least ``count`` logged requests satisfy ``predicate``."""
        with self._log:
            return self._log.wait_for(
                lambda: sum(1 for r in self._requests if predicate(r)) >= count, timeout
            )

    def _version_info(self) -> dict[str, str]:
        return {
            "major": "1",
            "minor": "31",
            "gitVersion": "v1.31.0-kubeapi",
            "platform": "linux/amd64",
        }
