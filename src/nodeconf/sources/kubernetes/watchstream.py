"""``WatchStream``: an open watch response, decoded line by line into ``WatchEvent``.

It has a *read* timeout (the watchdog: a connection that delivers nothing, not even a
bookmark, for the client's ``idle_timeout_seconds`` fails with ``ApiConnectionError``); every
failure while reading is an ``ApiConnectionError``. ``KubeClient.watch_collection`` opens it.

Thread-safety: a ``WatchStream`` belongs to the thread that opened it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx2

from nodeconf.sources.kubernetes.apierrors import ApiConnectionError
from nodeconf.sources.kubernetes.wire import WatchEvent, decode

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["WatchStream"]


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
            decoded = decode(line)
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
