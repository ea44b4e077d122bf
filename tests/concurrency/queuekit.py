"""A worker's loop for work-queue tests: the one shape every consumer of a WorkQueue has."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from nodeconf.concurrency import QueueShutDown, WorkQueue

K = TypeVar("K")


def serve(queue: WorkQueue[K], handle: Callable[[K], object]) -> None:
    """Take keys until the queue shuts down: ``get``, ``handle(key)``, ``done(key)``.

    Returns when ``get`` raises ``QueueShutDown``; an exception from ``handle`` propagates
    (the key is then left in processing, which the test will see).
    """
    while True:
        try:
            key = queue.get()
        except QueueShutDown:
            return
        handle(key)
        queue.done(key)
