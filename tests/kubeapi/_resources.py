"""Resource table and the ``Status`` objects the fake API server answers errors with.

Pure data and pure functions: no I/O, no threads. Any thread may call anything here.

The table maps the plural resource name used in URLs (``configmaps``) to its kind
(``ConfigMap``), whether it is namespaced, and which field-selector labels the real
kube-apiserver accepts for it (anything else is a 400 ``BadRequest`` there too).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "RESOURCES",
    "KubeAPIError",
    "ResourceInfo",
    "bad_request",
    "conflict",
    "expired",
    "resolve_resource",
    "status_failure",
    "status_for_code",
    "status_success",
]


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource type.

    Thread-safety: immutable.
    """

    plural: str
    kind: str
    namespaced: bool
    #: Field-selector labels accepted besides ``metadata.name`` / ``metadata.namespace``.
    extra_fields: tuple[str, ...] = ()
    #: Subresources served (``status``: GET and PATCH of ``.../<name>/status``).
    subresources: tuple[str, ...] = ()

    @property
    def list_kind(self) -> str:
        """The ``kind`` of a LIST response (``ConfigMapList``)."""
        return f"{self.kind}List"


RESOURCES: dict[str, ResourceInfo] = {
    info.plural: info
    for info in (
        ResourceInfo("configmaps", "ConfigMap", namespaced=True),
        ResourceInfo(
            "nodes",
            "Node",
            namespaced=False,
            extra_fields=("spec.unschedulable",),
            subresources=("status",),
        ),
        ResourceInfo(
            "pods",
            "Pod",
            namespaced=True,
            extra_fields=("spec.nodeName", "spec.restartPolicy", "status.phase"),
            subresources=("status",),
        ),
        ResourceInfo(
            "events",
            "Event",
            namespaced=True,
            extra_fields=(
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ),
        ),
    )
}

_BY_KIND = {info.kind.lower(): info for info in RESOURCES.values()}


def resolve_resource(kind: str) -> ResourceInfo:
    """Accept a plural (``configmaps``) or a kind (``ConfigMap``); raise ``KeyError`` if unknown."""
    info = RESOURCES.get(kind) or _BY_KIND.get(kind.lower())
    if info is None:
        raise KeyError(f"unknown resource {kind!r}; served: {sorted(RESOURCES)}")
    return info


#: Reason strings of the real API server, by HTTP status code (metav1.StatusReason).
_REASONS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "the server rejected our request for an unknown reason"),
    401: ("Unauthorized", "Unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("NotFound", "the server could not find the requested resource"),
    405: ("MethodNotAllowed", "the server does not allow this method on the requested resource"),
    409: ("Conflict", "the server reported a conflict"),
    410: ("Expired", "too old resource version"),
    415: ("UnsupportedMediaType", "the server does not support the media type"),
    422: ("Invalid", "the server rejected our request due to an error in our request"),
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "an error on the server prevented the request from succeeding"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted"),
}


def status_failure(
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``Status`` object with ``status: Failure`` as the API server sends it."""
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


def status_success(details: dict[str, Any]) -> dict[str, Any]:
    """A ``Status`` with ``status: Success`` (the answer to an immediate DELETE)."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": details,
    }


def status_for_code(code: int, retry_after_seconds: int | None = None) -> dict[str, Any]:
    """The generic ``Status`` the API server sends for ``code`` (used by injected faults)."""
    reason, message = _REASONS.get(code, ("", f"injected status {code}"))
    details: dict[str, Any] | None = None
    if retry_after_seconds is not None:
        details = {"retryAfterSeconds": retry_after_seconds}
    return status_failure(code, reason, message, details)


class KubeAPIError(Exception):
    """An API error: carries the ``Status`` object the server answers with.

    Raised by the direct store API of ``KubeAPIServer`` (``create``, ``replace``, ``patch``,
    ``delete``) exactly where an HTTP client would get the same ``Status``.

    Thread-safety: immutable after construction.
    """

    def __init__(self, status: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status.get('code')} {status.get('reason')}: {status.get('message')}")
        self.status = status
        self.headers = dict(headers or {})

    @property
    def code(self) -> int:
        """The HTTP status code."""
        return int(self.status["code"])

    @property
    def reason(self) -> str:
        """The ``Status.reason`` (``NotFound``, ``Conflict`` ...)."""
        return str(self.status.get("reason", ""))


def bad_request(message: str) -> KubeAPIError:
    """400 ``BadRequest``."""
    return KubeAPIError(status_failure(400, "BadRequest", message))


def conflict(info: ResourceInfo, name: str) -> KubeAPIError:
    """409 ``Conflict`` for a stale ``resourceVersion`` precondition, worded as the real one."""
    message = (
        f'Operation cannot be fulfilled on {info.plural} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    details = {"name": name, "kind": info.plural}
    return KubeAPIError(status_failure(409, "Conflict", message, details))


def expired(requested: int, oldest: int) -> dict[str, Any]:
    """The 410 ``Expired`` Status of a watch from a compacted resourceVersion."""
    return status_failure(410, "Expired", f"too old resource version: {requested} ({oldest})")
