"""HTTP/1.1 front of the fake API server: routing, faults, responses and watch streams.

Threads: one accept thread (owned by ``KubeAPIServer``) hands each connection to a new
handler thread (``ThreadingMixIn`` with ``daemon_threads = False`` and ``block_on_close``:
``server_close()`` joins every one). A handler thread serves the requests of its connection
one after the other (keep-alive). A watch is served by its handler thread, which waits with
one ``poll`` on its watch's wake-up pipe and on its socket (so a client that goes away
ends the stream at once), with a timeout only for the next bookmark or ``timeoutSeconds``.

Shutdown: ``KubeAPIServer.stop()`` ends every watch (abort) and shuts down every connection
socket it tracked here; that wakes handlers blocked reading the next request, writing, or
selecting. Fault delays wait on the server's stop event, never on ``sleep``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import select
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from kubeapi._faults import Fault
from kubeapi._patch import PATCH_TYPES
from kubeapi._resources import (
    RESOURCES,
    KubeAPIError,
    ResourceInfo,
    bad_request,
    status_failure,
    status_for_code,
    status_success,
)
from kubeapi._selectors import parse_field_selector, parse_label_selector
from kubeapi._store import Watcher, WatchItem

if TYPE_CHECKING:
    from kubeapi._server import KubeAPIServer

__all__ = ["APIHTTPServer", "APIRequestHandler"]

_TRUE = ("true", "1")


class APIHTTPServer(ThreadingHTTPServer):
    """A ``ThreadingHTTPServer`` that joins its handler threads and tracks its connections.

    Thread-safety: ``process_request`` runs on the accept thread, ``shutdown_request`` on the
    handler threads; the connection set is guarded by ``api._conn_lock``.
    """

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: KubeAPIServer) -> None:
        self.api = api
        super().__init__(address, APIRequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.api._track_connection(request):
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.api._untrack_connection(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # a client went away or stop() closed the socket
            return
        if exc is not None:
            self.api._record_error(exc)
        super().handle_error(request, client_address)


def _frame(event_type: str, data: bytes) -> bytes:
    return b'{"type":"' + event_type.encode() + b'","object":' + data + b"}\n"


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class APIRequestHandler(BaseHTTPRequestHandler):
    """Serves the kube-apiserver paths for configmaps, nodes, pods and events.

    Thread-safety: one instance per connection, used by its handler thread only.
    """

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # watch events are small writes: send each at once
    server: APIHTTPServer
    server_version = "kubeapi-test"

    # -- plumbing --------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the request log is ``KubeAPIServer.requests``."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    @property
    def api(self) -> KubeAPIServer:
        return self.server.api

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _record(self, status: int, watch: bool) -> None:
        self.api._record_request(self.command, self._path, self._query, status, watch)

    def _send_json(self, code: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        body = _dump(obj)
        self._record(code, self._watch)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_error_status(self, exc: KubeAPIError) -> None:
        self._send_json(exc.code, exc.status, exc.headers)

    # -- dispatch --------------------------------------------------------------------------

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        self._path = url.path
        self._query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self._watch = self.command == "GET" and self._query.get("watch", "").lower() in _TRUE
        try:
            body = self._read_body()
            fault = self.api._faults.take(self.command, self._path, self._watch)
            # Interruptible delay: stop() sets the event and the client gets no answer.
            if (
                fault is not None
                and fault.delay_seconds > 0
                and self.api._stopping.wait(fault.delay_seconds)
            ):
                self.close_connection = True
                return
            if fault is not None and fault.status is not None:
                headers = {}
                if fault.retry_after_seconds is not None:
                    headers["Retry-After"] = str(fault.retry_after_seconds)
                status = status_for_code(fault.status, fault.retry_after_seconds)
                raise KubeAPIError(status, headers)
            self._route(body, fault)
        except KubeAPIError as exc:
            self._send_error_status(exc)
        except OSError:
            self.close_connection = True
        except Exception as exc:
            self.api._record_error(exc)
            self._send_error_status(
                KubeAPIError(status_failure(500, "InternalError", f"{type(exc).__name__}: {exc}"))
            )

    def _route(self, body: bytes, fault: Fault | None) -> None:
        parts = [p for p in self._path.split("/") if p]
        if parts == ["version"]:
            self._send_json(200, self.api._version_info())
            return
        if parts == ["api"]:
            self._send_json(200, {"kind": "APIVersions", "versions": ["v1"]})
            return
        if parts == ["apis"]:
            self._send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
            return
        if parts == ["api", "v1"]:
            self._send_json(200, _discovery())
            return
        if len(parts) < 3 or parts[:2] != ["api", "v1"]:
            raise _no_route()
        rest = parts[2:]
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        info = RESOURCES.get(rest[0])
        subresource = rest[2] if len(rest) == 3 else ""
        if info is None or len(rest) > 3 or (subresource and subresource not in info.subresources):
            raise _no_route()
        name = rest[1] if len(rest) >= 2 else None
        if namespace is not None and not info.namespaced:
            raise _no_route()
        if name is None:
            self._collection(info, namespace, body, fault)
        else:
            if info.namespaced and namespace is None:
                raise _no_route()
            self._item(info, namespace, name, body, fault, subresource=subresource)

    def _collection(
        self, info: ResourceInfo, namespace: str | None, body: bytes, fault: Fault | None
    ) -> None:
        if self.command == "GET":
            if self._watch:
                self._serve_watch(info, namespace, fault)
            else:
                self._serve_list(info, namespace)
            return
        if self.command == "POST" and (namespace is not None or not info.namespaced):
            created = self.api._store.create(info, namespace, _parse(body))
            self._send_json(201, created)
            return
        raise _not_allowed()

    def _item(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        body: bytes,
        fault: Fault | None,
        *,
        subresource: str = "",
    ) -> None:
        store = self.api._store
        if subresource and (self._watch or self.command not in ("GET", "PATCH")):
            raise _not_allowed()
        if self._watch:  # legacy single-object watch = a watch selecting metadata.name
            self._serve_watch(info, namespace, fault, only_name=name)
            return
        if self.command == "GET":
            obj = store.get(info, namespace, name)
            if obj is None:
                details = {"name": name, "kind": info.plural}
                message = f'{info.plural} "{name}" not found'
                raise KubeAPIError(status_failure(404, "NotFound", message, details))
            self._send_json(200, obj)
        elif self.command == "PUT":
            self._send_json(200, store.replace(info, namespace, name, _parse(body)))
        elif self.command == "PATCH":
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
            patch_type = PATCH_TYPES.get(content_type)
            if patch_type is None:
                message = f"the body of the request was in an unknown format: {content_type}"
                raise KubeAPIError(status_failure(415, "UnsupportedMediaType", message))
            patched = store.patch(
                info, namespace, name, _parse(body), patch_type, subresource=subresource
            )
            self._send_json(200, patched)
        elif self.command == "DELETE":
            options = _parse(body) if body.strip() else {}
            preconditions = options.get("preconditions") if isinstance(options, dict) else None
            gone = store.delete(info, namespace, name, preconditions)
            details = {"name": name, "kind": info.plural, "uid": gone["metadata"]["uid"]}
            self._send_json(200, status_success(details))
        else:
            raise _not_allowed()

    # -- list ------------------------------------------------------------------------------

    def _serve_list(self, info: ResourceInfo, namespace: str | None) -> None:
        labels = parse_label_selector(self._query.get("labelSelector"))
        fields = parse_field_selector(self._query.get("fieldSelector"), info)
        rv, items = self.api._store.list(info, namespace, labels, fields)
        metadata: dict[str, Any] = {"resourceVersion": str(rv)}
        token = self._query.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                start = tuple(state["after"])
                rv = int(state["rv"])
            except (ValueError, KeyError, TypeError) as exc:
                raise bad_request(f"invalid continue token: {exc}") from exc
            items = [i for i in items if _item_key(i) > start]
            metadata["resourceVersion"] = str(rv)
        limit = _int_param(self._query, "limit")
        if limit and len(items) > limit:
            items, remaining = items[:limit], len(items) - limit
            state = {"rv": rv, "after": list(_item_key(items[-1]))}
            metadata["continue"] = base64.urlsafe_b64encode(_dump(state)).decode()
            metadata["remainingItemCount"] = remaining
        for item in items:  # like the real server, list items carry no kind/apiVersion
            item.pop("kind", None)
            item.pop("apiVersion", None)
        self._send_json(
            200,
            {"kind": info.list_kind, "apiVersion": "v1", "metadata": metadata, "items": items},
        )

    # -- watch -----------------------------------------------------------------------------

    def _serve_watch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        fault: Fault | None,
        only_name: str | None = None,
    ) -> None:
        labels = parse_label_selector(self._query.get("labelSelector"))
        field_text = self._query.get("fieldSelector")
        if only_name is not None:
            by_name = f"metadata.name={only_name}"
            field_text = f"{field_text},{by_name}" if field_text else by_name
        fields = parse_field_selector(field_text, info)
        resource_version = _int_param(self._query, "resourceVersion")
        timeout_seconds = _int_param(self._query, "timeoutSeconds")
        bookmarks = self._query.get("allowWatchBookmarks", "").lower() in _TRUE
        silent = fault is not None and fault.silent
        store = self.api._store
        try:
            watcher = store.open_watch(
                info,
                namespace,
                labels,
                fields,
                resource_version,
                bookmarks=bookmarks,
                silent=silent,
            )
        except KubeAPIError as exc:
            if exc.code != 410 or self.api.expired_watch_mode != "event":
                raise
            # The real server accepts the watch, then reports the expiry as an event.
            self._start_stream()
            self._write_chunk(_frame("ERROR", _dump(exc.status)))
            self._write_chunk(b"")
            return
        try:
            self._start_stream()
            drop_after = fault.drop_after_events if fault is not None else None
            self._pump(watcher, info, timeout_seconds, drop_after)
        except OSError:
            self.close_connection = True
        finally:
            store.unregister(watcher)
            watcher.release()

    def _start_stream(self) -> None:
        self._record(200, True)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _abort(self) -> None:
        """Close the connection without the terminating chunk (a dropped connection)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _pump(
        self,
        watcher: Watcher,
        info: ResourceInfo,
        timeout_seconds: int | None,
        drop_after: int | None,
    ) -> None:
        """Forward the watcher's items until its end item, the client leaving, or a drop."""
        store = self.api._store
        start = time.monotonic()
        deadline = start + timeout_seconds if timeout_seconds and not watcher.silent else None
        timed = watcher.bookmarks and not watcher.silent
        next_bookmark = start + self.api.bookmark_interval_seconds if timed else None
        sent = 0
        if drop_after == 0:
            store.unregister(watcher)
            self._abort()
            return
        sock = self.connection
        poller = select.poll()
        poller.register(watcher.wake_r, select.POLLIN)
        poller.register(sock, select.POLLIN)
        while True:
            watcher.drain_wake()
            while (item := watcher.pop()) is not None:
                if item.tag == "end":
                    store.unregister(watcher)  # not counted as open once the client sees the end
                    self._finish(item)
                    return
                if watcher.silent:
                    continue
                if item.tag == "bookmark":
                    bookmark = {
                        "kind": info.kind,
                        "apiVersion": "v1",
                        "metadata": {"resourceVersion": str(item.rv)},
                    }
                    self._write_chunk(_frame("BOOKMARK", _dump(bookmark)))
                    continue
                self._write_chunk(_frame(item.type, item.data))
                sent += 1
                if drop_after is not None and sent >= drop_after:
                    store.unregister(watcher)
                    self._abort()
                    return
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                deadline = next_bookmark = None
                if watcher.bookmarks:
                    store.bookmark(watcher)  # the real server bookmarks just before timing out
                watcher.put(WatchItem("end", end="keep"))
                continue
            if next_bookmark is not None and now >= next_bookmark:
                store.bookmark(watcher)
                next_bookmark = now + self.api.bookmark_interval_seconds
                continue
            wakes = [t for t in (deadline, next_bookmark) if t is not None]
            wait = max(0.0, min(wakes) - now) if wakes else None
            ready = dict(poller.poll(None if wait is None else math.ceil(wait * 1000)))
            if sock.fileno() in ready:
                try:
                    peeked = sock.recv(1, socket.MSG_PEEK)
                except OSError:
                    peeked = b""
                if not peeked:  # the client went away (or stop() shut the socket down)
                    self.close_connection = True
                    return
                poller.unregister(sock)  # unexpected bytes: stop watching the socket

    def _finish(self, item: WatchItem) -> None:
        if item.end == "abort":
            self._abort()
            return
        self._write_chunk(b"")
        if item.end == "close":
            self.close_connection = True


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise bad_request(f"the body is not valid JSON: {exc}") from exc


def _int_param(query: dict[str, str], name: str) -> int | None:
    value = query.get(name, "")
    if value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise bad_request(f"invalid {name}: {value!r}") from exc


def _item_key(item: dict[str, Any]) -> tuple[str, str]:
    meta = item["metadata"]
    return (meta.get("namespace") or "", meta["name"])


def _no_route() -> KubeAPIError:
    return KubeAPIError(
        status_failure(404, "NotFound", "the server could not find the requested resource")
    )


def _not_allowed() -> KubeAPIError:
    return KubeAPIError(
        status_failure(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    )


def _discovery() -> dict[str, Any]:
    verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
    return {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": info.plural,
                "singularName": info.kind.lower(),
                "namespaced": info.namespaced,
                "kind": info.kind,
                "verbs": verbs,
            }
            for info in RESOURCES.values()
        ],
    }
