"""Reconnect delays: capped exponential ceilings, full jitter, Retry-After floor, reset."""

from __future__ import annotations

import random

import pytest

from nodeconf.sources.kubernetes.backoff import Backoff, BackoffSettings

pytestmark = pytest.mark.kubernetes

SETTINGS = BackoffSettings(
    initial_delay_seconds=1.0, max_delay_seconds=8.0, multiplier=2.0, reset_after_seconds=60.0
)


def test_ceilings_double_until_capped() -> None:
    """The n-th consecutive failure may wait up to initial * 2**n, never beyond the cap."""
    assert [SETTINGS.ceiling(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_ceiling_of_a_long_outage_does_not_overflow() -> None:
    """Ten thousand failures in a row still give the cap, not an overflow."""
    assert SETTINGS.ceiling(10_000) == 8.0


def test_each_delay_is_drawn_uniformly_below_its_ceiling() -> None:
    """Full jitter: delay n is uniform in [0, ceiling(n)] - replayed with the same seed."""
    backoff = Backoff(SETTINGS, rng=random.Random(42))
    replay = random.Random(42)
    delays = [backoff.failure(now=0.0) for _ in range(8)]
    assert delays == [replay.uniform(0.0, SETTINGS.ceiling(n)) for n in range(8)]
    assert all(0.0 <= d <= SETTINGS.ceiling(n) for n, d in enumerate(delays))


def test_jitter_spreads_agents_that_failed_together() -> None:
    """Agents failing at the same moment draw different delays (no thundering herd)."""
    firsts = {Backoff(SETTINGS, rng=random.Random(seed)).failure(now=0.0) for seed in range(50)}
    assert len(firsts) == 50
    assert max(firsts) - min(firsts) > 0.5 * SETTINGS.initial_delay_seconds


def test_retry_after_is_a_floor() -> None:
    """A server's Retry-After is always waited in full, plus a jittered share."""
    backoff = Backoff(SETTINGS, rng=random.Random(1))
    delays = [backoff.failure(now=0.0, retry_after_seconds=5.0) for _ in range(20)]
    assert all(5.0 <= d <= 5.0 + 8.0 for d in delays)


def test_a_healthy_period_resets_the_count() -> None:
    """A connection that worked for reset_after_seconds starts the delays over."""
    backoff = Backoff(SETTINGS, rng=random.Random(3))
    for _ in range(5):
        backoff.failure(now=0.0)
    assert backoff.failures == 5
    backoff.healthy(now=100.0)
    delay = backoff.failure(now=160.0)
    assert backoff.failures == 1
    assert delay <= SETTINGS.initial_delay_seconds


def test_a_short_healthy_period_keeps_the_count() -> None:
    """A connection that worked briefly does not reset the delays (no hot reconnect loop)."""
    backoff = Backoff(SETTINGS, rng=random.Random(3))
    for _ in range(5):
        backoff.failure(now=0.0)
    backoff.healthy(now=100.0)
    backoff.failure(now=101.0)
    assert backoff.failures == 6


@pytest.mark.parametrize(
    "kwargs",
    [
        {"initial_delay_seconds": 0.0},
        {"initial_delay_seconds": 2.0, "max_delay_seconds": 1.0},
        {"multiplier": 0.5},
        {"reset_after_seconds": -1.0},
    ],
)
def test_settings_reject_nonsense(kwargs: dict[str, float]) -> None:
    """Settings that would make delays shrink or vanish are refused at construction."""
    with pytest.raises(ValueError, match="must be"):
        BackoffSettings(**kwargs)
