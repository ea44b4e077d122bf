"""pytest fixtures for testing code that uses nodeconf (registered as a ``pytest11`` plugin).

Installed with nodeconf, so any test can ask for:

* ``nodeconf_clock``: a fresh ``FakeClock``;
* ``nodeconf_source``: an empty ``StaticSource`` (no document: the defaults apply);
* ``nodeconf_listener``: a ``RecordingListener``;
* ``nodeconf_manager``: a started ``ConfigManager`` wired to the three above; stopped after
  the test, which fails if the stop did not complete (a listener still running, work
  dropped);
* ``nodeconf_manager_factory``: ``make(source=..., listeners=..., **kwargs)`` builds and
  starts more managers (on ``nodeconf_clock`` unless ``clock=`` is given), all stopped and
  checked the same way after the test.

Example::

    def test_my_listener_enables_cpu_qos(nodeconf_manager, nodeconf_source):
        mine = MyListener()
        nodeconf_manager.add_listener(mine)
        nodeconf_source.set_document({"globalConfig": {"cpuQosConfig": {"enable": True}}})
        assert nodeconf_manager.wait_idle(5)
        assert mine.cpu_qos_enabled

Thread-safety: fixtures run on pytest's thread; the objects they return are thread-safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from nodeconf.manager.config_manager import ConfigManager
from nodeconf.manager.listeners import ConfigListener
from nodeconf.manager.source import Source
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

__all__ = [
    "nodeconf_clock",
    "nodeconf_listener",
    "nodeconf_manager",
    "nodeconf_manager_factory",
    "nodeconf_source",
]

#: Real seconds a fixture waits for a start or a stop before failing the test.
FIXTURE_TIMEOUT_SECONDS = 10.0


def _stop_and_check(manager: ConfigManager[Any]) -> None:
    report = manager.stop(FIXTURE_TIMEOUT_SECONDS)
    if not report.completed:
        pytest.fail(f"the nodeconf manager did not stop cleanly: {report}")


@pytest.fixture
def nodeconf_clock() -> FakeClock:
    """A fake clock: retries and the slow-listener threshold move only with ``advance``."""
    return FakeClock()


@pytest.fixture
def nodeconf_source() -> StaticSource:
    """An in-memory source with no document (the defaults apply) and no labels."""
    return StaticSource()


@pytest.fixture
def nodeconf_listener() -> RecordingListener:
    """A listener recording every config it receives."""
    return RecordingListener()


@pytest.fixture
def nodeconf_manager(
    nodeconf_source: StaticSource,
    nodeconf_clock: FakeClock,
    nodeconf_listener: RecordingListener,
) -> Iterator[ConfigManager[Any]]:
    """A started manager on ``nodeconf_source`` and ``nodeconf_clock``, with
    ``nodeconf_listener`` registered (it has received revision 1); stopped after the test."""
    manager = ConfigManager(nodeconf_source, [nodeconf_listener], clock=nodeconf_clock)
    manager.start(FIXTURE_TIMEOUT_SECONDS)
    try:
        yield manager
    finally:
        _stop_and_check(manager)


@pytest.fixture
def nodeconf_manager_factory(
    nodeconf_clock: FakeClock,
) -> Iterator[Callable[..., ConfigManager[Any]]]:
    """``make(source=None, listeners=(), **kwargs)``: a started manager (a new
    ``StaticSource`` when ``source`` is None); every one is stopped after the test."""
    made: list[ConfigManager[Any]] = []

    def make(
        source: Source | None = None,
        listeners: Iterable[ConfigListener[Any] | Callable[[Any], object]] = (),
        **kwargs: Any,
    ) -> ConfigManager[Any]:
        kwargs.setdefault("clock", nodeconf_clock)
        manager = ConfigManager(
            source if source is not None else StaticSource(), listeners, **kwargs
        )
        made.append(manager)
        manager.start(FIXTURE_TIMEOUT_SECONDS)
        return manager

    try:
        yield make
    finally:
        for manager in reversed(made):
            _stop_and_check(manager)
