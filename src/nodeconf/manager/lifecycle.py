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

__all__ = ["Lifecycle"]


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
