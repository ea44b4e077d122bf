"""The manager's lifecycle: one enum, and the transitions it allows.

::

    NEW ──start()──> STARTING ──(first state known, listeners told once)──> RUNNING
     │                  │                                                     │
     │                  └──(start failed)──> STOPPED                         stop()
     │                                           ^                            │
     └──stop()──> STOPPED                        └──(everything finished)── STOPPING

``start()`` is allowed only in ``NEW``; calling it again, or after ``stop()``, raises
``nodeconf.errors.LifecycleError``. ``stop()`` is allowed in every state and is idempotent.
"Everything finished" means: the stop sequence ended and no listener call or sync is left in
progress (worker threads may still be returning from their last loop; they call nothing).

Thread-safety: the enum is immutable.
"""

from __future__ import annotations

import enum

__all__ = ["Lifecycle", "Started"]


class Lifecycle(enum.Enum):
    """Where a ``ConfigManager`` is in its life. ``str()`` gives the lower-case name.

    Thread-safety: immutable.
    """

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value


class Started(enum.Enum):
    """What ``ConfigManager.start()`` saw before it returned. ``str()`` gives the name.

    * ``APPLIED``: the first revision reached every listener registered by then (each
      applied it, or had nothing to do).
    * ``PENDING``: the first calls ended, but some listener failed (it is retried), rejected
      the config, or is still running past ``Settings.slow_listener_seconds``; or the first
      read of the source failed (it is retried). ``status()`` says which.
    * ``INVALID``: the first effective config is invalid: no listener was called;
      ``status()`` says why.
    * ``RESTORED``: the source gave no first complete state in time (``Fallback``): the
      fallback config was delivered as the last-known-good, and the source's start-up goes on
      in the background; its first valid state supersedes the fallback. ``status()`` says
      whether every listener applied it (``restored_from``, the listeners).
    * ``TIMED_OUT``: ``start``'s timeout passed first; delivery goes on in the background.
    * ``STOPPED``: ``stop()`` was called meanwhile.

    Thread-safety: immutable.
    """

    APPLIED = "applied"
    PENDING = "pending"
    INVALID = "invalid"
    RESTORED = "restored"
    TIMED_OUT = "timed-out"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return self.value
