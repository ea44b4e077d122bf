"""Every failure of the Kubernetes adapter, and the mapping from an answer to its error.

Nothing from httpx2 or lightkube escapes the adapter; what it raises is a ``SourceError``::

    SourceError
    +-- ApiStatusError       the server answered with a non-2xx status (``status_error``), or
    |                        a watch sent an ERROR event (``status_of``)
    +-- ApiConnectionError   no usable answer: refused, reset, timed out, garbage
    +-- (plain, not temporary) a client configuration that cannot be loaded (``config_error``)

Thread-safety: pure functions and immutable errors; any thread.
"""

from __future__ import annotations

import contextlib

import httpx2

from nodeconf.errors import SourceError
from nodeconf.sources.kubernetes.wire import WatchEvent, decode

__all__ = ["ApiConnectionError", "ApiStatusError", "config_error", "status_error", "status_of"]


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


def config_error(kubeconfig: str | None, exc: Exception) -> SourceError:
    reason = f"missing field {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())
    where = kubeconfig or "the environment"
    return SourceError(
        f"cannot load a Kubernetes client configuration from {where}: {reason}",
        temporary=False,
    )


def status_error(response: httpx2.Response, *, method: str, path: str) -> ApiStatusError:
    """Build an ``ApiStatusError`` from a non-2xx answer (body read already)."""
    reason = ""
    message = response.reason_phrase
    retry_after: float | None = None
    try:
        status = decode(response.content) if response.content else {}
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
