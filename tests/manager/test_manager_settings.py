"""Settings: defaults are Volcano's, bad values are refused with the field's name."""

from __future__ import annotations

import pytest

from nodeconf.manager import Lifecycle, Settings

pytestmark = pytest.mark.concurrency


def test_defaults_are_volcanos() -> None:
    """Retries default to 0.5 s doubling to 1000 s, with a 10/s bucket of 100."""
    settings = Settings()
    assert (settings.retry_base_delay_seconds, settings.retry_max_delay_seconds) == (0.5, 1000.0)
    assert (settings.retry_bucket_rate_per_second, settings.retry_bucket_burst) == (10.0, 100)
    assert settings.max_dispatch_threads is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slow_listener_seconds", 0.0),
        ("stop_timeout_seconds", -1.0),
        ("retry_base_delay_seconds", -0.5),
        ("retry_max_delay_seconds", 0.1),
        ("retry_bucket_rate_per_second", 0.0),
        ("retry_bucket_burst", 0),
        ("dispatch_threads", 0),
        ("max_dispatch_threads", 0),
    ],
)
def test_bad_values_name_their_field(field: str, value: float) -> None:
    """Each invalid value raises ValueError naming the field."""
    with pytest.raises(ValueError, match=f"Settings.{field}"):
        Settings(**{field: value})


def test_settings_are_frozen() -> None:
    """Settings cannot be changed after construction."""
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.slow_listener_seconds = 1.0  # type: ignore[misc]


def test_lifecycle_prints_lower_case() -> None:
    """str(Lifecycle.RUNNING) is "running" (as in status JSON)."""
    assert [str(state) for state in Lifecycle] == [
        "new",
        "starting",
        "running",
        "stopping",
        "stopped",
    ]
