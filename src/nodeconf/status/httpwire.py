"""HTTP/1.1 for the status server, without sockets: read a request head, write a response.

The status server (``nodeconf.status.server``) feeds the bytes a client sent to
``parse_head`` and sends what ``response`` returns; this module never touches a socket, a
thread or a clock, so every case is tested directly.

What it accepts: a request line ``METHOD SP target SP HTTP/1.x``, headers up to
``MAX_HEAD_BYTES`` in all, no body (a ``Content-Length`` other than 0 or any
``Transfer-Encoding`` is answered and the connection closed, since nothing here reads
bodies). HTTP/1.1 keeps the connection open unless the client says ``Connection: close``;
HTTP/1.0 closes it unless the client says ``keep-alive``.

Thread-safety: pure functions and immutable values; safe from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

__all__ = ["MAX_HEAD_BYTES", "BadRequest", "Request", "parse_head", "response"]

#: Request line plus headers; a longer head is answered 431 and the connection closed.
MAX_HEAD_BYTES: Final = 8192
_END: Final = b"\r\n\r\n"
SERVER: Final = "nodeconf"


@dataclass(frozen=True, slots=True)
class Request:
    """One request head: ``method``, ``path`` (the target without its query),
    ``keep_alive`` (whether the client may send another request on the connection).

    Thread-safety: immutable.
    """

    method: str
    path: str
    keep_alive: bool


class BadRequest(Exception):  # noqa: N818 - the HTTP status it answers with
    """The head cannot be served: ``status`` is the answer; the connection is closed after it.

    Thread-safety: immutable after construction.
    """

    def __init__(self, status: HTTPStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def parse_head(buffer: bytes | bytearray) -> tuple[Request, int] | None:
    """The request at the start of ``buffer`` and the length of its head; ``None`` while the
    head is incomplete. Raises ``BadRequest`` for a head that is too long or malformed."""
    end = buffer.find(_END, 0, MAX_HEAD_BYTES + len(_END))
    if end < 0:
        if len(buffer) > MAX_HEAD_BYTES:
            raise BadRequest(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "request head too long")
        return None
    text = bytes(buffer[:end]).decode("latin-1")  # every byte decodes
    line, _, rest = text.partition("\r\n")
    parts = line.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed request line")
    method, target, version = parts
    headers: dict[str, str] = {}
    for header in rest.split("\r\n") if rest else ():
        name, colon, value = header.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(HTTPStatus.BAD_REQUEST, "malformed header")
        headers[name.lower()] = value.strip().lower()
    if "transfer-encoding" in headers or headers.get("content-length", "0") != "0":
        raise BadRequest(HTTPStatus.BAD_REQUEST, "request bodies are not accepted")
    connection = headers.get("connection", "")
    keep_alive = "keep-alive" in connection if version == "HTTP/1.0" else "close" not in connection
    path = target.split("?", 1)[0]
    return Request(method, path, keep_alive), end + len(_END)


def response(
    status: int,
    content_type: str,
    body: bytes,
    *,
    head: bool = False,
    keep_alive: bool = False,
    date: str = "",
) -> bytes:
    """The bytes of one response; ``head`` leaves the body out (its length is still given).

    ``date`` is the ``Date`` header's value (RFC 9110 format), left out when empty. The
    ``Server`` header names nodeconf only, never the Python version.
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    lines = [
        f"HTTP/1.1 {status} {phrase}",
        f"Server: {SERVER}",
        *([f"Date: {date}"] if date else []),
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Cache-Control: no-store",
        "Connection: keep-alive" if keep_alive else "Connection: close",
    ]
    head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head_bytes if head else head_bytes + body
