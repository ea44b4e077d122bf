"""A plain ``http.client`` view of the server, for tests that check the wire itself.

``http_request`` sends one request on a fresh connection and returns the decoded answer.
``WatchStream`` opens a watch and reads its newline-delimited events one at a time;
reading raises ``http.client.IncompleteRead`` when the server drops the connection without
the terminating chunk, returns None at a clean end, and raises ``TimeoutError`` when nothing
arrives within ``timeout_seconds`` (a bound on failures, not a way to wait).
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Answer", "WatchStream", "http_request"]


@dataclass(frozen=True)
class Answer:
    """A decoded HTTP answer.

    Thread-safety: immutable.
    """

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def reason(self) -> str:
        """``body.reason`` of a ``Status`` answer ('' otherwise)."""
        return str(self.body.get("reason", "")) if isinstance(self.body, dict) else ""


def _connect(url: str, timeout_seconds: float) -> http.client.HTTPConnection:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout_seconds)


def http_request(
    url: str,
    method: str,
    path: str,
    body: Any = None,
    *,
    content_type: str = "application/json",
    timeout_seconds: float = 5.0,
) -> Answer:
    """Send one request to ``url`` + ``path`` on a new connection; decode the JSON answer."""
    conn = _connect(url, timeout_seconds)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": content_type} if payload is not None else {}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        decoded = json.loads(raw) if raw else None
        return Answer(response.status, dict(response.getheaders()), decoded)
    finally:
        conn.close()


class WatchStream:
    """One open watch request, read event by event.

    Thread-safety: use from one thread.
    """

    def __init__(self, url: str, path: str, *, timeout_seconds: float = 5.0) -> None:
        self._conn = _connect(url, timeout_seconds)
        self._conn.request("GET", path)
        self.response = self._conn.getresponse()
        self.status = self.response.status
        self.headers = dict(self.response.getheaders())
        self._chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
        self._buffer = b""
        self._ended = False

    def _read_chunk(self) -> bytes | None:
        """The next chunk's data; None for the terminating chunk."""
        fp = self.response.fp
        size_line = fp.readline()
        if not size_line.strip():
            raise http.client.IncompleteRead(self._buffer)  # EOF: dropped mid-stream
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            while fp.readline() not in (b"\r\n", b"\n", b""):
                pass
            return None
        data = fp.read(size + 2)
        if len(data) < size + 2:
            raise http.client.IncompleteRead(data)
        return bytes(data[:-2])

    def next_event(self) -> dict[str, Any] | None:
        """The next event, or None when the server ended the stream cleanly."""
        assert self._chunked, f"not a stream: HTTP {self.status}"
        while b"\n" not in self._buffer:
            if self._ended:
                return None
            chunk = self._read_chunk()
            if chunk is None:
                self._ended = True
                if self._buffer.strip():
                    raise http.client.IncompleteRead(self._buffer)
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        event: dict[str, Any] = json.loads(line)
        return event

    def take(self, count: int) -> list[dict[str, Any]]:
        """The next ``count`` events (fails if the stream ends first)."""
        events: list[dict[str, Any]] = []
        for _ in range(count):
            event = self.next_event()
            assert event is not None, f"stream ended after {events!r}"
            events.append(event)
        return events

    def rest(self) -> list[dict[str, Any]]:
        """Every event until the server ends the stream cleanly."""
        events: list[dict[str, Any]] = []
        while (event := self.next_event()) is not None:
            events.append(event)
        return events

    def body(self) -> Any:
        """For a non-200 answer: the decoded ``Status``."""
        return json.loads(self.response.read())

    def close(self) -> None:
        """Close the connection (the server sees the client leave)."""
        self.response.close()
        self._conn.close()

    def __enter__(self) -> WatchStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
