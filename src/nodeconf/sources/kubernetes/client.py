"""The one adapter between nodeconf and lightkube: plain requests, a watch stream we can abort.

lightkube (1.0.1) gives us configuration loading (kubeconfig file, ``KUBECONFIG``, in-cluster
service account), authentication, TLS and URL building. Its own watch loop is not used: it
has no bookmarks option, turns the read timeout off, mishandles 410 Gone (as a status and as
an error event) and lets a refused reconnect escape its retry handler. Instead this module
builds each request through lightkube's request-building path (``prepare_request``, which
carries any query parameter, so ``allowWatchBookmarks=true`` rides along) and sends it on
lightkube's own ``httpx2`` client. The list-watch loop itself lives in ``listwatch``.

What this adapter promises:

* objects are plain JSON dicts (decoded with ``msgspec``), never lightkube models, so an
  administrator's fields we do not know survive a read-modify-write unchanged;
* every failure is one of two ``SourceError`` subclasses: ``ApiStatusError`` (the server
  answered with a non-2xx status; carries ``code``, ``reason``, ``retry_after_seconds`` and
  the request's method and path) or ``ApiConnectionError`` (no usable answer: refused, reset,
  timed out, garbage). Nothing from httpx2 or lightkube escapes;
* a ``WatchStream`` has a *read* timeout (the watchdog: a connection that delivers nothing,
  not even a bookmark, for ``idle_timeout_seconds`` fails with ``ApiConnectionError``);
* ``KubeClient.interrupt`` wakes a thread blocked anywhere in a request of that client (connect
  excepted: bounded by the request timeout) by shutting its sockets down, which is how ``stop``
  is prompt. Each thread that must be woken separately uses its own ``fork()``.

Thread-safety: ``KubeClient`` may be shared by several threads (httpx2's pool locks its own
state); ``interrupt`` may be called from any thread. A ``WatchStream`` belongs to the thread
that opened it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import httpx2
import msgspec
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig
from lightkube.config.client_adapter import ConnectionParams
from lightkube.resources.core_v1 import ConfigMap, Event, Node, Pod

from nodeconf.errors import SourceError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "KIND_CONFIGMAPS",
    "KIND_EVENTS",
    "KIND_NODES",
    "KIND_PODS",
    "ApiConnectionError",
    "ApiStatusError",
    "KubeClient",
    "ListResult",
    "WatchEvent",
    "WatchStream",
    "load_config",
    "status_of",
]

KIND_CONFIGMAPS: Final = "configmaps"
KIND_NODES: Final = "nodes"
KIND_PODS: Final = "pods"
KIND_EVENTS: Final = "events"

_RESOURCES: Final[Mapping[str, Any]] = {
    KIND_CONFIGMAPS: ConfigMap,
    KIND_NODES: Node,
    KIND_PODS: Pod,
    KIND_EVENTS: Event,
}
_NAMESPACED: Final = frozenset({KIND_CONFIGMAPS, KIND_PODS, KIND_EVENTS})

_JSON: Final = "application/json"
_MERGE_PATCH: Final = "application/merge-patch+json"
_decode = msgspec.json.Decoder()
_encode = msgspec.json.Encoder()


class ApiStatusError(SourceError):
    """The API server answered a request with a non-success status.

    Attributes: ``code`` (HTTP status), ``reason`` (the Status object's ``reason``, e.g.
    ``AlreadyExists``, ``Conflict``, ``Expired``; ``""`` when absent), ``retry_after_seconds``
    (from ``Retry-After`` or the Status details; ``None`` when absent), ``method``, ``path``.
    Temporary unless the status is one that retrying the same request cannot fix.

    Thread-safety: immutable after construction.
    """

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str = "",
        retry_after_seconds: float | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.code = code
        self.reason = reason
        self.retry_after_seconds = retry_after_seconds
        self.method = method
        self.path = path
        temporary = code >= 500 or code in (409, 410, 429)
        super().__init__(f"{method} {path}: HTTP {code} {reason}: {message}", temporary=temporary)

    @property
    def gone(self) -> bool:
        """True for 410 Gone: the resourceVersion asked for is no longer available."""
        return self.code == 410

    @property
    def not_found(self) -> bool:
        return self.code == 404

    @property
    def conflict(self) -> bool:
        """True for 409 (``Conflict`` on a stale update, ``AlreadyExists`` on a create)."""
        return self.code == 409


class ApiConnectionError(SourceError):
    """No usable answer: connection refused or reset, a timeout, an undecodable body.

    Attributes: ``method``, ``path``; the cause is chained.

    Thread-safety: immutable after construction.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {message}", temporary=True)


@dataclass(frozen=True, slots=True)
class ListResult:
    """A LIST answer: the collection's resourceVersion and its items (plain dicts).

    Thread-safety: immutable (do not mutate the item dicts).
    """

    resource_version: str
    items: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; ``object`` is
    the object (a ``Status`` for ERROR).

    Thread-safety: immutable (do not mutate ``object``).
    """

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        meta = self.object.get("metadata") or {}
        return str(meta.get("resourceVersion") or "")


class _EventLine(msgspec.Struct):
    type: str
    object: dict[str, Any]


_decode_event = msgspec.json.Decoder(_EventLine)


class WatchStream:
    """An open watch response, iterated line by line.

    Iterating yields ``WatchEvent``; it ends normally when the server closes the response
    cleanly (its ``timeoutSeconds`` ran out) and raises ``ApiConnectionError`` when the
    connection breaks, delivers nothing for the read timeout, is interrupted, or sends an
    undecodable line. ``close`` releases the response. Use as a context manager.

    Thread-safety: one thread iterates and closes it; to wake that thread from another, call
    ``KubeClient.interrupt`` on the client that opened it.
    """

    def __init__(self, response: httpx2.Response, *, method: str, path: str) -> None:
        self._response = response
        self._method = method
        self._path = path

    def __iter__(self) -> Iterator[WatchEvent]:
        buffer = b""
        try:
            for chunk in self._response.iter_bytes():
                buffer += chunk
                while True:
                    end = buffer.find(b"\n")
                    if end < 0:
                        break
                    line, buffer = buffer[:end], buffer[end + 1 :]
                    if line.strip():
                        yield self._event(line)
            if buffer.strip():
                yield self._event(buffer)
        except httpx2.HTTPError as exc:
            raise ApiConnectionError(
                f"watch stream broken ({type(exc).__name__}: {exc})",
                method=self._method,
                path=self._path,
            ) from exc

    def _event(self, line: bytes) -> WatchEvent:
        try:
            decoded = _decode_event.decode(line)
        except msgspec.DecodeError as exc:
            raise ApiConnectionError(
                f"undecodable watch line ({exc})", method=self._method, path=self._path
            ) from exc
        return WatchEvent(decoded.type, decoded.object)

    def close(self) -> None:
        """Release the response (idempotent)."""
        with contextlib.suppress(httpx2.HTTPError, OSError):
            self._response.close()

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Connections:
    """The network streams one ``KubeClient`` opened, so ``interrupt`` can shut them down.

    Fed by httpcore2's ``trace`` extension (``connect_tcp`` / ``start_tls`` complete), which
    runs on the requesting thread. Once interrupted, every stream opened later is shut down
    as soon as it is connected, so a request racing ``interrupt`` cannot slip through.

    Thread-safety: ``_lock`` guards ``_streams`` and ``_interrupted``.
    """

    _TRACKED: Final = frozenset(
        {"connection.connect_tcp.complete", "connection.start_tls.complete"}
    )

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: list[Any] = []  # guarded by _lock: streams whose socket may be open
        self._interrupted = False  # guarded by _lock; only goes False -> True

    @property
    def interrupted(self) -> bool:
        with self._lock:
            return self._interrupted

    def trace(self, name: str, info: Mapping[str, Any]) -> None:
        if name not in self._TRACKED:
            return
        stream = info.get("return_value")
        if stream is None:
            return
        with self._lock:
            self._streams = [s for s in self._streams if _socket_of(s) is not None]
            self._streams.append(stream)
            if self._interrupted:
                _shutdown(stream)

    def interrupt(self) -> None:
        with self._lock:
            self._interrupted = True
            for stream in self._streams:
                _shutdown(stream)


def _socket_of(stream: Any) -> socket.socket | None:
    sock = stream.get_extra_info("socket")
    if isinstance(sock, socket.socket) and sock.fileno() >= 0:
        return sock
    return None


def _shutdown(stream: Any) -> None:
    sock = _socket_of(stream)
    if sock is not None:
        # socket.socket.shutdown, not ssl.SSLSocket.shutdown: the latter drops its SSL object
        # under the reading thread's feet. Shutting the descriptor down makes a blocked recv
        # (or send) return at once; the owner closes the socket as usual afterwards.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class KubeClient:
    """The requests nodeconf makes, on a lightkube sync ``Client``.

    Build one with ``KubeClient.connect(kubeconfig)`` (a path, else the in-cluster service
    account, else ``KUBECONFIG``, else ``~/.kube/config``: lightkube's ``KubeConfig.from_env``
    order), or wrap an existing lightkube ``Client`` with ``KubeClient(client)`` (closing that
    client stays the caller's business). ``request_timeout_seconds`` bounds every non-watch
    request (connect, read, write).

    ``fork()`` gives a sibling with its own connection pool (same server, credentials and
    TLS); ``interrupt()`` shuts down every connection *this* object opened and fails its later
    requests, which is how a list-watch loop is woken from another thread at any point of a
    request. Each list-watch loop and the event recorder use a fork of their own.

    Thread-safety: safe to share between threads (httpx2's pool locks its own state);
    ``interrupt`` may be called from any thread.
    """

    def __init__(
        self,
        client: LightkubeClient,
        *,
        request_timeout_seconds: float = 10.0,
        http: httpx2.Client | None = None,
        owns_http: bool = False,
        fork_params: dict[str, Any] | None = None,
    ) -> None:
        self._lightkube = client
        self._generic = client._client  # lightkube's request builder (GenericSyncClient)
        # The httpx2 client requests go through: lightkube's own, or a fork's.
        self._http: httpx2.Client = http if http is not None else self._generic._client
        self._owns_http = owns_http
        self._timeout = httpx2.Timeout(request_timeout_seconds)
        self._request_timeout_seconds = request_timeout_seconds
        self._connections = _Connections()
        self._extensions = {"trace": self._connections.trace}
        self._fork_lock = threading.Lock()
        self._fork_params = fork_params  # guarded by _fork_lock; built on the first fork

    @classmethod
    def connect(
        cls, kubeconfig: str | None = None, *, request_timeout_seconds: float = 10.0
    ) -> KubeClient:
        """A client from ``kubeconfig`` (a path), else from the environment (see class doc).

        Raises ``SourceError`` (not temporary) when no configuration can be loaded.
        """
        config = load_config(kubeconfig)
        try:
            client = LightkubeClient(
                config,
                timeout=httpx2.Timeout(request_timeout_seconds),
                field_manager="nodeconf",
            )
        except Exception as exc:  # lightkube raises ConfigError, KeyError, OSError
            raise _config_error(kubeconfig, exc) from exc
        return cls(client, request_timeout_seconds=request_timeout_seconds, owns_http=True)

    def fork(self) -> KubeClient:
        """A sibling with its own connection pool; close it when done.

        A lightkube client built with a custom ``transport`` cannot be re-created from its
        configuration: its forks then share its connection pool (``interrupt`` still cuts
        the connections each fork opened itself).
        """
        if not isinstance(getattr(self._http, "_transport", None), httpx2.HTTPTransport):
            return KubeClient(
                self._lightkube,
                request_timeout_seconds=self._request_timeout_seconds,
                http=self._http,
                owns_http=False,
            )
        with self._fork_lock:
            if self._fork_params is None:
                params = ConnectionParams(timeout=self._timeout)
                self._fork_params = params.httpx_params(self._lightkube.config)
            fork_params = self._fork_params
        return KubeClient(
            self._lightkube,
            request_timeout_seconds=self._request_timeout_seconds,
            http=httpx2.Client(**fork_params),
            owns_http=True,
            fork_params=fork_params,
        )

    @property
    def default_namespace(self) -> str:
        """The namespace of the configuration's current context (``default`` when unset)."""
        return str(self._lightkube.namespace)

    def interrupt(self) -> None:
        """Shut down this object's connections now; its later requests fail (any thread)."""
        self._connections.interrupt()

    def close(self) -> None:
        """Close this object's connection pool if it created it (idempotent)."""
        if self._owns_http:
            with contextlib.suppress(OSError, httpx2.HTTPError):
                self._http.close()

    # -- paths -----------------------------------------------------------------------------

    def path(self, kind: str, *, name: str | None = None, namespace: str | None = None) -> str:
        """The API path of one object (``name``) or of the collection (no name)."""
        verb = "get" if name is not None else "list"
        return str(self._prepare(verb, kind, name=name, namespace=namespace).url)

    def _prepare(
        self,
        verb: str,
        kind: str,
        *,
        name: str | None = None,
        namespace: str | None = None,
        params: dict[str, str] | None = None,
        watch: bool = False,
    ) -> Any:
        ns = namespace if kind in _NAMESPACED else None
        return self._generic.prepare_request(
            verb, _RESOURCES[kind], name=name, namespace=ns, watch=watch, params=params
        )

    # -- plain requests --------------------------------------------------------------------

    def get(self, kind: str, name: str, *, namespace: str | None = None) -> dict[str, Any] | None:
        """GET one object; ``None`` when it does not exist (404)."""
        try:
            return self._send("GET", self.path(kind, name=name, namespace=namespace))
        except ApiStatusError as exc:
            if exc.not_found:
                return None
            raise

    def list_named(self, kind: str, name: str, *, namespace: str | None = None) -> ListResult:
        """LIST the collection narrowed to the object called ``name`` (a field selector).

        No resourceVersion is sent: the answer is a consistent (quorum) read, so diffing it
        against a cache is exact.
        """
        br = self._prepare(
            "list", kind, namespace=namespace, params={"fieldSelector": f"metadata.name={name}"}
        )
        body = self._send("GET", br.url, params=br.params)
        meta = body.get("metadata") or {}
        items = tuple(body.get("items") or ())
        return ListResult(str(meta.get("resourceVersion") or ""), items)

    def create(
        self, kind: str, obj: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """POST ``obj`` into its collection; 409 ``AlreadyExists`` raises ``ApiStatusError``."""
        return self._send("POST", self.path(kind, namespace=namespace), body=obj)

    def replace(
        self, kind: str, name: str, obj: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """PUT ``obj``; with ``metadata.resourceVersion`` set, a stale write fails with 409."""
        return self._send("PUT", self.path(kind, name=name, namespace=namespace), body=obj)

    def merge_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """PATCH with a JSON merge patch."""
        return self._send(
            "PATCH",
            self.path(kind, name=name, namespace=namespace),
            body=patch,
            content_type=_MERGE_PATCH,
        )

    def _check_interrupted(self, method: str, path: str) -> None:
        if self._connections.interrupted:
            raise ApiConnectionError("client interrupted", method=method, path=path)

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        content_type: str = _JSON,
    ) -> dict[str, Any]:
        self._check_interrupted(method, path)
        content = _encode.encode(body) if body is not None else None
        headers = {"Content-Type": content_type} if body is not None else None
        try:
            request = self._http.build_request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=self._timeout,
                extensions=self._extensions,
            )
            response = self._send_retrying_stale(request, stream=False)
        except httpx2.HTTPError as exc:
            raise ApiConnectionError(
                f"{type(exc).__name__}: {exc}", method=method, path=path
            ) from exc
        if response.status_code >= 300:
            raise _status_error(response, method=method, path=path)
        try:
            decoded = _decode.decode(response.content) if response.content else {}
        except msgspec.DecodeError as exc:
            raise ApiConnectionError(
                f"undecodable answer ({exc})", method=method, path=path
            ) from exc
        if not isinstance(decoded, dict):
            raise ApiConnectionError("answer is not a JSON object", method=method, path=path)
        return decoded

    def _send_retrying_stale(self, request: httpx2.Request, *, stream: bool) -> httpx2.Response:
        """Send; a GET that finds its pooled keep-alive connection already closed by the
        server ("disconnected without sending a response") is sent once more at once, on a
        new connection, as Go's HTTP client does for idempotent requests. This race is
        routine after a server ends a watch and closes the connection behind it."""
        try:
            return self._http.send(request, stream=stream)
        except httpx2.RemoteProtocolError:
            if request.method != "GET" or self._connections.interrupted:
                raise
            return self._http.send(request, stream=stream)

    # -- watch -----------------------------------------------------------------------------

    def watch_named(
        self,
        kind: str,
        name: str,
        *,
        namespace: str | None = None,
        resource_version: str,
        timeout_seconds: int,
        idle_timeout_seconds: float,
    ) -> WatchStream:
        """Open a WATCH of the object called ``name`` from ``resource_version``, with bookmarks.

        ``timeout_seconds`` is the server-side timeout (the server ends the response cleanly
        then); ``idle_timeout_seconds`` is the read timeout on the connection (the watchdog:
        it also bounds the wait for the response headers). A non-2xx answer raises
        ``ApiStatusError`` (410 included); no answer raises ``ApiConnectionError``.
        """
        br = self._prepare(
            "list",
            kind,
            namespace=namespace,
            watch=True,
            params={
                "fieldSelector": f"metadata.name={name}",
                "resourceVersion": resource_version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": str(timeout_seconds),
            },
        )
        path = str(br.url)
        self._check_interrupted("WATCH", path)
        timeout = httpx2.Timeout(self._request_timeout_seconds, read=idle_timeout_seconds)
        try:
            request = self._http.build_request(
                "GET", path, params=br.params, timeout=timeout, extensions=self._extensions
            )
            response = self._send_retrying_stale(request, stream=True)
        except httpx2.HTTPError as exc:
            raise ApiConnectionError(
                f"{type(exc).__name__}: {exc}", method="WATCH", path=path
            ) from exc
        if response.status_code >= 300:
            try:
                response.read()
            except httpx2.HTTPError as exc:
                raise ApiConnectionError(
                    f"HTTP {response.status_code} with a broken body ({exc})",
                    method="WATCH",
                    path=path,
                ) from exc
            finally:
                response.close()
            raise _status_error(response, method="WATCH", path=path)
        return WatchStream(response, method="WATCH", path=path)


def load_config(kubeconfig: str | None) -> KubeConfig:
    """The client configuration from ``kubeconfig`` (a path), else from the environment
    (``KUBECONFIG``, ``~/.kube/config``, or the in-cluster service account), checked to name
    a cluster (its current context resolves).

    Raises ``SourceError`` (not temporary) with a one-line reason when it cannot be loaded.
    """
    try:
        config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_env()
        config.get()  # the current context, its cluster and user: a broken file fails here
    except Exception as exc:  # lightkube raises ConfigError, KeyError, OSError, yaml errors
        raise _config_error(kubeconfig, exc) from exc
    return config


def _config_error(kubeconfig: str | None, exc: Exception) -> SourceError:
    reason = f"missing field {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
    where = kubeconfig or "the environment"
    return SourceError(
        f"cannot load a Kubernetes client configuration from {where}: {reason}",
        temporary=False,
    )


def _status_error(response: httpx2.Response, *, method: str, path: str) -> ApiStatusError:
    """Build an ``ApiStatusError`` from a non-2xx answer (body read already)."""
    reason = ""
    message = response.reason_phrase
    retry_after: float | None = None
    try:
        status = _decode.decode(response.content) if response.content else {}
    except msgspec.DecodeError:
        status = {}
    if isinstance(status, dict):
        reason = str(status.get("reason") or "")
        message = str(status.get("message") or message)
        details = status.get("details")
        if isinstance(details, dict) and isinstance(details.get("retryAfterSeconds"), int):
            retry_after = float(details["retryAfterSeconds"])
    header = response.headers.get("Retry-After")
    if header is not None:
        with contextlib.suppress(ValueError):
            retry_after = max(0.0, float(header))
    return ApiStatusError(
        response.status_code,
        message,
        reason=reason,
        retry_after_seconds=retry_after,
        method=method,
        path=path,
    )


def status_of(event: WatchEvent) -> ApiStatusError:
    """The error an ERROR watch event carries (its object is a ``Status``)."""
    obj = event.object
    code = obj.get("code")
    details = obj.get("details")
    retry_after = None
    if isinstance(details, dict) and isinstance(details.get("retryAfterSeconds"), int):
        retry_after = float(details["retryAfterSeconds"])
    return ApiStatusError(
        code if isinstance(code, int) else 500,
        str(obj.get("message") or "watch error event"),
        reason=str(obj.get("reason") or ""),
        retry_after_seconds=retry_after,
        method="WATCH",
    )
