"""Health and readiness decided from a real manager's status."""

from __future__ import annotations

from nodeconf.manager import ConfigManager
from nodeconf.status.health import health_problems, is_ready
from nodeconf.testing import FakeClock, RecordingListener, StaticSource

VALID = {"globalConfig": {}}
INVALID = {"globalConfig": {"evictingConfig": {"evictingCPULowWatermark": 99}}}


def test_not_ready_while_a_listener_never_applied_a_config() -> None:
    """A listener that failed its first call holds no config yet: not ready."""
    manager = ConfigManager(
        StaticSource(VALID), [RecordingListener(fail_times=1)], clock=FakeClock()
    )
    with manager:
        assert manager.wait_idle(10)
        assert not is_ready(manager.status())


def test_not_ready_when_the_first_document_is_invalid() -> None:
    """An invalid first document means no valid config at all: not ready, but healthy."""
    with ConfigManager(StaticSource(INVALID), [RecordingListener()]) as manager:
        status = manager.status()
        assert not is_ready(status)
        assert health_problems(status) == []


def test_a_later_invalid_document_keeps_a_ready_daemon_ready() -> None:
    """The last-known-good stays in force, so readiness does not flap on a bad edit."""
    source = StaticSource(VALID)
    with ConfigManager(source, [RecordingListener()]) as manager:
        source.set_document(INVALID)
        assert manager.wait_idle(10)
        assert is_ready(manager.status())


def test_a_broken_check_is_reported_not_raised() -> None:
    """A health check that raises becomes a problem line."""
    with ConfigManager(StaticSource(VALID)) as manager:

        def broken() -> list[str]:
            raise RuntimeError("no stats")

        (problem,) = health_problems(manager.status(), [broken])
    assert problem == "health check failed: RuntimeError: no stats"
