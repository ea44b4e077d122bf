"""The one adapter between nodeconf and lightkube: plain requests, a watch stream we can abort.

lightkube (1.0.1) gives us configuration loading (kubeconfig file, ``KUBECONFIG``, in-cluster
service account) and, from a configuration, what an HTTP client needs: the server URL, TLS
verification and authentication (token, rotated token file, exec plugin, client
certificates). Its own watch loop is not used: it has no bookmarks option, turns the read
timeout off, mishandles 410 Gone (as a status and as an error event) and lets a refused
reconnect escape its retry handler. Instead this module sends plain requests, on paths it
builds itself (four core/v1 kinds), on ``httpx2`` clients set up the way lightkube sets up
its own. The list-watch loop itself lives in ``listwatch``.

What this adapter promises:

* objects are plain JSON dicts (decoded with the standard library's ``json``), never
  lightkube models, so an administrator's fields we do not know survive a read-modify-write
  unchanged;
* every failure is one of two ``SourceError`` subclasses: ``ApiStatusError`` (the server
  answered with a non-2xx status; carries ``code``, ``reason``, ``retry_after_seconds`` and
  the request's method and path) or ``ApiConnectionError`` (no usable answer: refused, reset,
  timed out, garbage). Nothing from httpx2 or lightkube escapes;
* a ``WatchStream`` has a *read* timeout (the watchdog: a connection that delivers nothing,
  not even a bookmark, for ``idle_timeout_seconds`` fails with ``ApiConnectionError``);
* ``KubeClient.interrupt`` wakes a thread blocked anywhere in a request of that client (connect
  excepted: bounded by the request timeout) by shutting its sockets down, which is how ``stop``
  is prompt. Each thread that must be woken separately uses its own ``fork()``.

What it takes from lightkube beyond its public API (``Client``, ``Client.config``,
``Client.namespace``, ``KubeConfig``, ``SingleConfig``), kept to two names and pinned by
``tests/kubernetes/test_kube_lightkube_contract.py``, which fails with a message naming the
internal when a lightkube upgrade changes it:

* ``lightkube.config.client_adapter.ConnectionParams(timeout=...).httpx_params(config)``: the
  keyword arguments of an ``httpx2.Client`` for a configuration (what lightkube's own
  ``Client`` is built from), so our clients authenticate exactly as lightkube does;
* ``Client._client._client``: the ``httpx2.Client`` inside a lightkube ``Client`` that a
  caller hands us (``KubeClient(client)``), so its transport, proxy and pool are honoured.

Thread-safety: ``KubeClient`` may be shared by several threads (httpx2's pool locks its own
state); ``interrupt`` may be called from any thread. A ``WatchStream`` belongs to the thread
that opened it.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import httpx2
from lightkube import Client as LightkubeClient
from lightkube import KubeConfig, SingleConfig
from lightkube.config.client_adapter import ConnectionParams

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

#: Every kind is core/v1; its name is the resource's plural, as in its API path.
_KINDS: Final = frozenset({KIND_CONFIGMAPS, KIND_NODES, KIND_PODS, KIND_EVENTS})
_NAMESPACED: Final = frozenset({KIND_CONFIGMAPS, KIND_PODS, KIND_EVENTS})

_JSON: Final = "application/json"
_MERGE_PATCH: Final = "application/merge-patch+json"
_STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"


def _encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _decode(content: bytes) -> Any:
    """Decode a JSON body; ``ValueError`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``)
    when it is not JSON, ``RecursionError`` when it nests too deeply."""
    return json.loads(content)


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
            decoded = _decode(line)
        except (ValueError, RecursionError) as exc:
            raise ApiConnectionError(
                f"undecodable watch line ({exc})", method=self._method, path=self._path
            ) from exc
        kind = decoded.get("type") if isinstance(decoded, dict) else None
        obj = decoded.get("object") if isinstance(decoded, dict) else None
        if not isinstance(kind, str) or not isinstance(obj, dict):
            raise ApiConnectionError(
                "undecodable watch line (expected an object with a string 'type' and an "
                "object 'object')",
                method=self._method,
                path=self._path,
            )
        return WatchEvent(kind, obj)

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
    """The requests nodeconf makes, on ``httpx2`` clients configured as lightkube's are.

    Build one with ``KubeClient.connect(kubeconfig)`` (a path, else the in-cluster service
    account, else ``KUBECONFIG``, else ``~/.kube/config``: lightkube's ``KubeConfig.from_env``
    order), or wrap an existing lightkube ``Client`` with ``KubeClient(client)``: its own HTTP
    client (transport, proxy, connection pool) carries the requests, and closing it stays the
    caller's business. ``request_timeout_seconds`` bounds every non-watch request (connect,
    read, write).

    ``fork()`` gives a sibling; ``interrupt()`` shuts down every connection *this* object
    opened and fails its later requests, which is how a list-watch loop is woken from another
    thread at any point of a request. Each list-watch loop and the event recorder use a fork
    of their own. A fork of a client from ``connect`` has a connection pool of its own (same
    server, credentials and TLS); forks of a wrapped lightkube ``Client`` share its pool.

    Thread-safety: safe to share between threads (httpx2's pool locks its own state);
    ``interrupt`` may be called from any thread.
    """

    def __init__(self, client: LightkubeClient, *, request_timeout_seconds: float = 10.0) -> None:
        self._setup(
            namespace=str(client.namespace),
            http=_http_client_of(client),
            owns_http=False,
            http_params=None,
            request_timeout_seconds=request_timeout_seconds,
        )

    def _setup(
        self,
        *,
        namespace: str,
        http: httpx2.Client,
        owns_http: bool,
        http_params: Mapping[str, Any] | None,
        request_timeout_seconds: float,
    ) -> None:
        self._namespace = namespace
        self._http = http  # the httpx2 client requests go through
        self._owns_http = owns_http
        # Keyword arguments for a new httpx2.Client (a fork's own pool); None: forks share _http.
        self._http_params = http_params
        self._timeout = httpx2.Timeout(request_timeout_seconds)
        self._request_timeout_seconds = request_timeout_seconds
        self._connections = _Connections()
        self._extensions = {"trace": self._connections.trace}

    @classmethod
    def _build(
        cls,
        *,
        namespace: str,
        http: httpx2.Client,
        owns_http: bool,
        http_params: Mapping[str, Any] | None,
        request_timeout_seconds: float,
    ) -> KubeClient:
        client = cls.__new__(cls)
        client._setup(
            namespace=namespace,
            http=http,
            owns_http=owns_http,
            http_params=http_params,
            request_timeout_seconds=request_timeout_seconds,
        )
        return client

    @classmethod
    def connect(
        cls, kubeconfig: str | None = None, *, request_timeout_seconds: float = 10.0
    ) -> KubeClient:
        """A client from ``kubeconfig`` (a path), else from the environment (see class doc).

        Raises ``SourceError`` (not temporary) when no configuration can be loaded.
        """
        config = load_config(kubeconfig).get()
        if config is None:
            raise _config_error(kubeconfig, ValueError("no current context"))
        params = _http_params(config, kubeconfig, request_timeout_seconds)
        return cls._build(
            namespace=config.namespace,
            http=httpx2.Client(**params),
            owns_http=True,
            http_params=params,
            request_timeout_seconds=request_timeout_seconds,
        )

    def fork(self) -> KubeClient:
        """A sibling (its own pool, unless this client wraps a lightkube ``Client``); close it
        when done."""
        params = self._http_params
        return KubeClient._build(
            namespace=self._namespace,
            http=self._http if params is None else httpx2.Client(**params),
            owns_http=params is not None,
            http_params=params,
            request_timeout_seconds=self._request_timeout_seconds,
        )

    @property
    def default_namespace(self) -> str:
        """The namespace of the configuration's current context (``default`` when unset)."""
        return self._namespace

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
        """The API path of one object (``name``) or of the collection (no name), relative
        to the server URL; a namespaced kind without ``namespace`` uses the default one."""
        if kind not in _KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        if kind in _NAMESPACED:
            ns = quote(namespace or self._namespace, safe="")
            collection = f"api/v1/namespaces/{ns}/{kind}"
        else:
            collection = f"api/v1/{kind}"
        return collection if name is None else f"{collection}/{quote(name, safe='')}"

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
        params = {"fieldSelector": f"metadata.name={name}"}
        body = self._send("GET", self.path(kind, namespace=namespace), params=params)
        meta = body.get("metadata") or {}
        items = tuple(body.get("items") or ())
        return ListResult(str(meta.get("resourceVersion") or ""), items)

    def list_all(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        page_size: int = 500,
    ) -> ListResult:
        """LIST a whole collection (cluster-wide for a cluster-scoped kind), page by page
        (``limit``/``continue``, one consistent snapshot); the resourceVersion is the first
        page's, the one a watch continues from."""
        params: dict[str, str] = {"limit": str(page_size)}
        if label_selector:
            params["labelSelector"] = label_selector
        path = self.path(kind, namespace=namespace)
        items: list[dict[str, Any]] = []
        version = ""
        while True:
            body = self._send("GET", path, params=params)
            meta = body.get("metadata") or {}
            version = version or str(meta.get("resourceVersion") or "")
            items.extend(body.get("items") or ())
            token = meta.get("continue")
            if not token:
                return ListResult(version, tuple(items))
            params = {**params, "continue": str(token)}

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

    def status_patch(
        self, kind: str, name: str, patch: Mapping[str, Any], *, namespace: str | None = None
    ) -> dict[str, Any]:
        """PATCH the ``status`` subresource with a strategic merge patch (lists such as
        ``status.conditions`` merge by their key instead of being replaced)."""
        return self._send(
            "PATCH",
            self.path(kind, name=name, namespace=namespace) + "/status",
            body=patch,
            content_type=_STRATEGIC_MERGE_PATCH,
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
        content = _encode(body) if body is not None else None
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
            decoded = _decode(response.content) if response.content else {}
        except (ValueError, RecursionError) as exc:
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
        return self.watch_collection(
            kind,
            namespace=namespace,
            field_selector=f"metadata.name={name}",
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            idle_timeout_seconds=idle_timeout_seconds,
        )

    def watch_collection(
        self,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str,
        timeout_seconds: int,
        idle_timeout_seconds: float,
    ) -> WatchStream:
        """Open a WATCH of a collection (narrowed by the selectors) from
        ``resource_version``, with bookmarks; timeouts and errors as ``watch_named``."""
        path = self.path(kind, namespace=namespace)
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
        }
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        self._check_interrupted("WATCH", path)
        timeout = httpx2.Timeout(self._request_timeout_seconds, read=idle_timeout_seconds)
        try:
            request = self._http.build_request(
                "GET", path, params=params, timeout=timeout, extensions=self._extensions
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


def _http_params(
    config: SingleConfig, kubeconfig: str | None, request_timeout_seconds: float
) -> dict[str, Any]:
    """The keyword arguments of an ``httpx2.Client`` for ``config``, as lightkube's ``Client``
    builds its own (server URL, TLS verification, authentication). lightkube internal: see
    the module docstring."""
    try:
        params = ConnectionParams(timeout=httpx2.Timeout(request_timeout_seconds))
        return dict(params.httpx_params(config))
    except Exception as exc:  # lightkube raises ConfigError, AssertionError, OSError
        raise _config_error(kubeconfig, exc) from exc


def _http_client_of(client: LightkubeClient) -> httpx2.Client:
    """The ``httpx2.Client`` inside a lightkube ``Client``. lightkube internal: see the module
    docstring."""
    http = getattr(getattr(client, "_client", None), "_client", None)
    if not isinstance(http, httpx2.Client):
        raise TypeError(
            "cannot find the httpx2.Client inside this lightkube Client (Client._client._client"
            f" is {type(http).__name__}); this lightkube version is not supported: pass "
            "KubeClient.connect(...) instead"
        )
    return http


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
        status = _decode(response.content) if response.content else {}
    except (ValueError, RecursionError):
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
