"""Rate limiters: client-go's exponential, token bucket and max-of, on an injectable clock."""

from __future__ import annotations

import math
import threading

import pytest

from nodeconf.concurrency import (
    BucketRateLimiter,
    FakeClock,
    ItemExponentialFailureRateLimiter,
    MaxOfRateLimiter,
    default_controller_rate_limiter,
)

pytestmark = pytest.mark.concurrency


def test_exponential_delays_double_from_half_a_second() -> None:
    """Consecutive failures of one key wait 0.5, 1, 2, 4, 8 seconds."""
    limiter = ItemExponentialFailureRateLimiter[str]()
    assert [limiter.when("k") for _ in range(5)] == [0.5, 1.0, 2.0, 4.0, 8.0]


def test_exponential_delay_is_capped_at_1000_seconds() -> None:
    """After enough failures the delay stays at the 1000 s cap (0.5 * 2**11 = 1024 > 1000)."""
    limiter = ItemExponentialFailureRateLimiter[str]()
    delays = [limiter.when("k") for _ in range(14)]
    assert delays[10] == 512.0
    assert delays[11:] == [1000.0, 1000.0, 1000.0]


def test_exponential_never_overflows() -> None:
    """Thousands of failures still give the cap, not an overflow error or infinity."""
    limiter = ItemExponentialFailureRateLimiter[str](base_delay_seconds=3.0, max_delay_seconds=7.0)
    for _ in range(3000):
        delay = limiter.when("k")
    assert delay == 7.0
    assert limiter.num_requeues("k") == 3000


def test_exponential_counts_failures_per_key() -> None:
    """num_requeues counts one key's failures; other keys are independent."""
    limiter = ItemExponentialFailureRateLimiter[str]()
    for _ in range(3):
        limiter.when("a")
    assert limiter.num_requeues("a") == 3
    assert limiter.num_requeues("b") == 0
    assert limiter.when("b") == 0.5


def test_forget_resets_the_backoff() -> None:
    """After forget, a key starts again at the base delay with no failures on record."""
    limiter = ItemExponentialFailureRateLimiter[str]()
    for _ in range(4):
        limiter.when("k")
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0
    assert limiter.when("k") == 0.5


def test_exponential_counts_every_failure_under_contention() -> None:
    """Failures recorded from many threads at once are all counted."""
    limiter = ItemExponentialFailureRateLimiter[str]()
    start = threading.Barrier(4)

    def fail_many() -> None:
        start.wait(10.0)
        for _ in range(2_000):
            limiter.when("k")

    threads = [threading.Thread(target=fail_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30.0)
    assert limiter.num_requeues("k") == 8_000


def test_exponential_rejects_bad_settings() -> None:
    """A negative base or a cap below the base is an error naming the setting."""
    with pytest.raises(ValueError, match="base_delay_seconds"):
        ItemExponentialFailureRateLimiter[str](base_delay_seconds=-1.0)
    with pytest.raises(ValueError, match="max_delay_seconds"):
        ItemExponentialFailureRateLimiter[str](base_delay_seconds=2.0, max_delay_seconds=1.0)


def test_bucket_is_free_for_the_burst_then_delays() -> None:
    """With 10/s and burst 100, the first 100 reservations are free, then 0.1 s, 0.2 s, ..."""
    limiter = BucketRateLimiter(10.0, 100, clock=FakeClock())
    assert [limiter.when(i) for i in range(100)] == [0.0] * 100
    assert limiter.when("x") == pytest.approx(0.1)
    assert limiter.when("y") == pytest.approx(0.2)
    assert limiter.when("z") == pytest.approx(0.3)


def test_bucket_refills_at_its_rate_on_its_clock() -> None:
    """Tokens come back at rate_per_second as the injected clock advances."""
    clock = FakeClock()
    limiter = BucketRateLimiter(10.0, 5, clock=clock)
    for _ in range(5):
        assert limiter.when("k") == 0.0
    assert limiter.when("k") == pytest.approx(0.1)  # 1 token owed
    clock.advance(0.5)  # +5 tokens: 4 available
    assert [limiter.when("k") for _ in range(4)] == [0.0] * 4
    assert limiter.when("k") == pytest.approx(0.1)


def test_bucket_never_holds_more_than_its_burst() -> None:
    """However long the clock advances, at most `burst` reservations are free."""
    clock = FakeClock()
    limiter = BucketRateLimiter(1.0, 3, clock=clock)
    clock.advance(10_000.0)
    assert [limiter.when("k") for _ in range(4)] == [0.0, 0.0, 0.0, 1.0]


def test_bucket_tracks_no_keys() -> None:
    """The bucket is shared: forget does nothing and num_requeues is always 0."""
    limiter = BucketRateLimiter(1.0, 1, clock=FakeClock())
    limiter.when("k")
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0
    assert limiter.when("k") == 1.0


def test_bucket_rejects_bad_settings() -> None:
    """A non-positive rate or a burst below 1 is an error naming the setting."""
    with pytest.raises(ValueError, match="rate_per_second"):
        BucketRateLimiter(0.0, 1)
    with pytest.raises(ValueError, match="burst"):
        BucketRateLimiter(1.0, 0)


def test_max_of_takes_the_largest_delay() -> None:
    """MaxOf returns the largest delay of its limiters, and every limiter records the failure."""
    clock = FakeClock()
    exponential = ItemExponentialFailureRateLimiter[str](1.0, 100.0)
    bucket = BucketRateLimiter(1.0, 2, clock=clock)
    limiter = MaxOfRateLimiter[str](exponential, bucket)
    assert limiter.when("a") == 1.0  # exponential 1, bucket 0
    assert limiter.when("b") == 1.0  # exponential 1, bucket 0
    assert limiter.when("c") == 1.0  # exponential 1, bucket 1
    assert limiter.when("d") == 2.0  # exponential 1, bucket 2
    assert exponential.num_requeues("a") == 1


def test_max_of_forgets_in_every_limiter_and_reports_the_largest_count() -> None:
    """MaxOf.forget clears every limiter; num_requeues is the largest count of any limiter."""
    first = ItemExponentialFailureRateLimiter[str]()
    second = ItemExponentialFailureRateLimiter[str]()
    limiter = MaxOfRateLimiter[str](first, second)
    limiter.when("k")
    second.when("k")
    assert limiter.num_requeues("k") == 2
    limiter.forget("k")
    assert (first.num_requeues("k"), second.num_requeues("k")) == (0, 0)


def test_max_of_needs_a_limiter() -> None:
    """MaxOf with no limiters is an error."""
    with pytest.raises(ValueError, match="at least one"):
        MaxOfRateLimiter[str]()


def test_default_controller_limiter_is_exponential_then_bucket_bound() -> None:
    """Volcano's limiter: per-key 0.5 s doubling, but never faster than 10/s after 100 keys."""
    limiter = default_controller_rate_limiter(FakeClock())
    assert [limiter.when("k") for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    assert limiter.num_requeues("k") == 4
    for i in range(96):  # the bucket has 100 tokens; 4 went to "k"
        assert limiter.when(i) == 0.5
    # The bucket is now empty: the 6th extra key waits 0.6 s, more than its 0.5 s backoff.
    extra = [limiter.when(("extra", i)) for i in range(6)]
    assert extra[:5] == [0.5] * 5
    assert extra[5] == pytest.approx(0.6)
    limiter.forget("k")
    assert limiter.num_requeues("k") == 0


def test_bucket_hands_out_each_reservation_once_under_contention() -> None:
    """Reservations from many threads at one instant are serialised: the burst is free once,
    then every deficit of 1, 2, 3, ... tokens is handed out exactly once."""
    limiter = BucketRateLimiter(10.0, 100, clock=FakeClock())
    threads_n, per_thread = 8, 250
    start = threading.Barrier(threads_n)
    delays: list[list[float]] = [[] for _ in range(threads_n)]

    def reserve(mine: list[float]) -> None:
        start.wait(10.0)
        for i in range(per_thread):
            mine.append(limiter.when(i))

    threads = [threading.Thread(target=reserve, args=(mine,)) for mine in delays]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30.0)
    got = sorted(delay for mine in delays for delay in mine)
    owed = threads_n * per_thread - 100
    assert got == [0.0] * 100 + [n / 10.0 for n in range(1, owed + 1)]


def test_default_limiter_survives_1000_failures_of_one_key() -> None:
    """1000 consecutive failures of one key: finite, never-decreasing delays that settle at the
    1000 s cap (the bucket's 90 s deficit stays below it), every failure on record."""
    limiter = default_controller_rate_limiter(FakeClock())
    delays = [limiter.when("k") for _ in range(1000)]
    assert all(math.isfinite(delay) for delay in delays)
    assert delays == sorted(delays)
    assert delays[-1] == 1000.0
    assert limiter.num_requeues("k") == 1000


def test_bucket_deficit_after_1000_failures_is_exact() -> None:
    """The bucket owes one token per reservation past the burst: after 1000 at one instant the
    next waits (1000 - 100 + 1) / rate seconds, and the debt is paid back as time passes."""
    clock = FakeClock()
    limiter = BucketRateLimiter(10.0, 100, clock=clock)
    for _ in range(1000):
        limiter.when("k")
    assert limiter.when("k") == 90.1
    clock.advance(90.1)  # exactly the 901 tokens owed have come back
    assert limiter.when("k") == pytest.approx(0.1)


def test_exponential_with_an_infinite_cap_saturates_at_infinity() -> None:
    """With no cap, the delay grows until it is infinite (never an OverflowError)."""
    limiter = ItemExponentialFailureRateLimiter[str](1.0, math.inf)
    delays = [limiter.when("k") for _ in range(1100)]
    assert delays[1023] == 2.0**1023
    assert delays[1024:] == [math.inf] * (1100 - 1024)
