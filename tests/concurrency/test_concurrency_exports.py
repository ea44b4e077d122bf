"""The public names of nodeconf.concurrency, pinned."""

from __future__ import annotations

import pytest

from nodeconf import concurrency

pytestmark = pytest.mark.concurrency


def test_exported_names_are_pinned() -> None:
    """nodeconf.concurrency exports exactly these names, each of them importable."""
    assert sorted(concurrency.__all__) == sorted(
        [
            "DEFAULT_CLOCK",
            "BucketRateLimiter",
            "Clock",
            "FakeClock",
            "ItemExponentialFailureRateLimiter",
            "Latch",
            "MaxOfRateLimiter",
            "MonotonicClock",
            "RateLimiter",
            "default_clock",
            "default_controller_rate_limiter",
            "seconds_left",
        ]
    )
    for name in concurrency.__all__:
        assert getattr(concurrency, name) is not None
