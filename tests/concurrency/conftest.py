"""Helpers for the concurrency tests: run a function on a thread and collect its outcome.

``background(fn, *args)`` starts ``fn`` on a new thread and returns a ``Background`` handle;
``handle.result(timeout)`` joins it and returns its value or re-raises its exception. At the
end of the test every thread started this way is joined (bounded), so a test that forgets to
release one fails loudly instead of leaking it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: Upper bound for a thread to finish once the test has released it. Only bounds failures.
JOIN_SECONDS = 10.0


class Background:
    """One function running on its own thread; its result or exception, once it ends."""

    def __init__(self, fn: Callable[..., Any], *args: Any, name: str = "") -> None:
        self._fn = fn
        self._args = args
        self._value: Any = None
        self._error: BaseException | None = None
        self.finished = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=name or f"bg-{fn.__name__}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # handed to the test thread by result()
            self._error = exc
        finally:
            self.finished.set()

    def result(self, timeout: float = JOIN_SECONDS) -> Any:
        """Wait (bounded) for the function to end; return its value or raise its error."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"{self.thread.name} did not finish within {timeout}s")
        if self._error is not None:
            raise self._error
        return self._value

    def error(self, timeout: float = JOIN_SECONDS) -> BaseException | None:
        """Wait (bounded) for the function to end; return the exception it raised, if any."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"{self.thread.name} did not finish within {timeout}s")
        return self._error


@pytest.fixture
def background() -> Iterator[Callable[..., Background]]:
    """Factory: ``background(fn, *args)`` runs ``fn`` on a thread joined at teardown."""
    started: list[Background] = []

    def start(fn: Callable[..., Any], *args: Any) -> Background:
        handle = Background(fn, *args)
        started.append(handle)
        return handle

    yield start
    stuck = []
    for handle in started:
        handle.thread.join(JOIN_SECONDS)
        if handle.thread.is_alive():
            stuck.append(handle.thread.name)
    if stuck:
        pytest.fail(f"background threads still running at teardown: {stuck}")
