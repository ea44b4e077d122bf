"""How the Kubernetes source behaves: timeouts, watch lengths, reconnect and prepare pacing.

Thread-safety: immutable values, safe to share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nodeconf.sources.kubernetes.backoff import BackoffSettings

__all__ = ["KubernetesSettings"]


@dataclass(frozen=True, slots=True)
class KubernetesSettings:
    """Settings of ``KubernetesSource`` (every field has a production default).

    * ``request_timeout_seconds``: bound of every non-watch request (connect, read, write);
      also how long ``stop`` may wait for such a request already on the wire.
    * ``watch_timeout_min_seconds`` / ``watch_timeout_max_seconds``: each WATCH asks the server
      to end it after a random whole number of seconds in this range (client-go's reflector
      does the same), so agents do not reconnect in lockstep.
    * ``watch_idle_timeout_seconds``: the read watchdog. A watch that delivers nothing, not
      even a bookmark, for this long is closed and reopened from the last resourceVersion.
      Keep it above the API server's bookmark period (about one minute).
    * ``backoff``: reconnect delays after a failure (see ``BackoffSettings``).
    * ``prepare_retry_interval_seconds`` / ``prepare_timeout_seconds``: prepare retries a
      failed request every interval until the timeout (Volcano: 200 ms, one minute).
    * ``jitter_seed``: seed of the random generator behind the jitter and the watch lengths;
      ``None`` (default) seeds from the OS. Tests pin it to replay the delays.

    ``stuck_after_seconds`` (derived): a list-watch loop that made no progress for this long
    is stuck (``KubernetesSource.health_problems``).

    Thread-safety: immutable.
    """

    request_timeout_seconds: float = 10.0
    watch_timeout_min_seconds: int = 240
    watch_timeout_max_seconds: int = 360
    watch_idle_timeout_seconds: float = 150.0
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    prepare_retry_interval_seconds: float = 0.2
    prepare_timeout_seconds: float = 60.0
    jitter_seed: int | None = None

    @property
    def stuck_after_seconds(self) -> float:
        """Twice the longest a healthy loop can go without a step: a request's timeout or a
        quiet watch's read watchdog (a backoff wait counts from its own end)."""
        return 2 * max(self.request_timeout_seconds, self.watch_idle_timeout_seconds)

    def __post_init__(self) -> None:
        if not self.request_timeout_seconds > 0:
            raise ValueError(
                f"request_timeout_seconds must be > 0, got {self.request_timeout_seconds!r}"
            )
        if not 1 <= self.watch_timeout_min_seconds <= self.watch_timeout_max_seconds:
            raise ValueError(
                "need 1 <= watch_timeout_min_seconds <= watch_timeout_max_seconds, got "
                f"{self.watch_timeout_min_seconds!r}, {self.watch_timeout_max_seconds!r}"
            )
        if not self.watch_idle_timeout_seconds > 0:
            raise ValueError(
                f"watch_idle_timeout_seconds must be > 0, got {self.watch_idle_timeout_seconds!r}"
            )
        if not self.prepare_retry_interval_seconds >= 0:
            raise ValueError(
                "prepare_retry_interval_seconds must be >= 0, got "
                f"{self.prepare_retry_interval_seconds!r}"
            )
        if not self.prepare_timeout_seconds >= 0:
            raise ValueError(
                f"prepare_timeout_seconds must be >= 0, got {self.prepare_timeout_seconds!r}"
            )
