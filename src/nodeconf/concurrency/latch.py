"""``Latch``: a one-shot flag whose waiters can also be released by cancelling it.

A source's "first complete state is known" is such a flag: ``wait_synced`` waits for it, and
when the manager is stopped during ``start()`` the wait must end at once instead of running
out its timeout (``cancel``). ``threading.Event`` has no way to release a waiter without
setting the flag, which would claim a state that is not there.

Thread-safety: every method is safe from any thread; ``_cond`` guards ``_set`` and
``_cancelled``, which only ever go from False to True; ``is_set`` and ``cancelled`` read them
without it (one load of a flag that can only have turned True since).
"""

from __future__ import annotations

import threading

__all__ = ["Latch"]


class Latch:
    """Set once; ``wait`` returns when it is set, when it is cancelled, or at the timeout.

    Thread-safety: see the module docstring.
    """

    __slots__ = ("_cancelled", "_cond", "_set")

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._set = False  # guarded by _cond
        self._cancelled = False  # guarded by _cond

    def set(self) -> None:
        """Set the flag (idempotent) and release every waiter."""
        with self._cond:
            self._set = True
            self._cond.notify_all()

    def cancel(self) -> None:
        """Release every waiter, now and later, without setting the flag (idempotent)."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()

    def is_set(self) -> bool:
        """Whether the flag is set (never blocks on a waiter: a plain read of one bool)."""
        return self._set

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called."""
        return self._cancelled

    def wait(self, timeout: float | None) -> bool:
        """Wait until set or cancelled, at most ``timeout`` real seconds (``None``: no limit);
        return whether the flag is set."""
        with self._cond:
            self._cond.wait_for(lambda: self._set or self._cancelled, timeout)
            return self._set

    def __repr__(self) -> str:
        state = "set" if self._set else "cancelled" if self._cancelled else "unset"
        return f"<Latch {state}>"
