"""Health and readiness, decided from one ``ManagerStatus`` snapshot.

* **healthy** (``/healthz``): the manager is starting or running (its worker is alive), and
  every extra check (the source's own, when it has one) reports no problem. A source may offer
  ``health_problems() -> Sequence[str]`` (for example "watch of configmaps ... is stuck: no
  progress for 301s"); the daemon passes it here. A stuck watch is the source's to detect,
  since only it knows its connections. Only what a restart would cure belongs here (this is
  the liveness check): an unreachable API server does not.
* **ready** (``/readyz``): the manager is running, a valid config exists (a last-known-good
  revision), and every listener holds a valid config (has applied some revision). A later
  invalid document does not make a ready daemon unready: the last-known-good stays in force.

Thread-safety: pure functions of their arguments; extra checks must be thread-safe themselves
(they run on the status server's request threads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from nodeconf.manager.lifecycle import Lifecycle
from nodeconf.manager.reports import ManagerStatus

__all__ = ["HealthCheck", "health_problems", "is_ready"]

#: An extra check: returns the problems it sees, nothing when healthy.
HealthCheck = Callable[[], Iterable[str]]

_ALIVE = (Lifecycle.STARTING, Lifecycle.RUNNING)


def health_problems(status: ManagerStatus, checks: Sequence[HealthCheck] = ()) -> list[str]:
    """Every reason the daemon is unhealthy; an empty list when it is healthy."""
    problems: list[str] = []
    if status.lifecycle not in _ALIVE:
        problems.append(f"manager is {status.lifecycle}")
    for check in checks:
        try:
            problems.extend(check())
        except Exception as exc:  # a broken check is itself a problem, not a crash
            problems.append(f"health check failed: {type(exc).__name__}: {exc}")
    return problems


def is_ready(status: ManagerStatus) -> bool:
    """True once a valid config exists and every listener holds one (see module docstring)."""
    return (
        status.lifecycle is Lifecycle.RUNNING
        and status.last_known_good_revision is not None
        and all(listener.applied_revision > 0 for listener in status.listeners)
    )
