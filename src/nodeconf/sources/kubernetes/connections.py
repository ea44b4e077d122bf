"""``Connections``: the network streams one ``KubeClient`` opened, so that ``interrupt`` can
shut them down and wake a thread blocked anywhere in a request (connect excepted: bounded by
the request timeout).

Thread-safety: see ``Connections``; ``trace`` runs on the requesting threads, ``interrupt`` on
any thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

from nodeconf.concurrency.clock import seconds_left

__all__ = ["Connections", "join_or_interrupt"]

#: What a thread gets, once its connections are shut down, to notice and end.
_AFTER_INTERRUPT_SECONDS: Final = 1.0


def join_or_interrupt(
    thread: threading.Thread, interrupt: Callable[[], None], deadline: float
) -> bool:
    """Join ``thread`` until ``deadline`` (``time.monotonic``); if it is still running then
    (a request still on the wire), ``interrupt`` its client's connections and give it one more
    second to end. Whether it ended. Call from any thread but ``thread`` itself."""
    thread.join(seconds_left(deadline))
    if thread.is_alive():
        interrupt()
        thread.join((seconds_left(deadline) or 0.0) + _AFTER_INTERRUPT_SECONDS)
    return not thread.is_alive()


class Connections:
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
