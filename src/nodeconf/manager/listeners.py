"""Listeners: what the manager calls, and what it tells them.

A *listener* is either an object with a ``sync_config`` method or a plain callable. It is
called with the effective config. Registered with ``with_change=True`` it is called with a
second argument, a ``Change``: the revision being delivered, the revision and config it last
applied, and the sections that differ between the two. So a listener learns what changed
*since its own last successful apply*, whatever it missed in between (revisions skipped while
it was slow, revisions its section filter ignored). Code that prefers to ask can call
``ConfigManager.changes_for(listener)`` instead. Whether a ``Change`` is passed is decided
only by ``with_change``, never by counting parameters.

``ListenerRecord`` is the manager's private bookkeeping for one registration; it is also the
key of that listener in the manager's work FIFO (hashed by identity). A key is never handed to
two workers at once, which is how "a listener is never called concurrently with itself" holds.

Thread-safety: ``Change`` and ``Revision`` are immutable. A ``ListenerRecord``'s mutable
fields are guarded by the owning manager's lock (see ``ConfigManager``); its other fields are
set once at registration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

__all__ = [
    "Change",
    "ChangeListener",
    "ConfigListener",
    "Listener",
    "ListenerRecord",
    "Revision",
    "describe_listener",
]


C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


@runtime_checkable
class ConfigListener(Protocol[C_contra]):
    """An object that receives effective configs (Volcano's listener shape)."""

    def sync_config(self, config: C_contra, /) -> object: ...


@runtime_checkable
class ChangeListener(Protocol[C_contra]):
    """An object that receives effective configs and a ``Change`` (``with_change=True``)."""

    def sync_config(self, config: C_contra, change: Change[Any], /) -> object: ...


#: What ``add_listener`` accepts: an object with ``sync_config`` or a callable.
Listener = ConfigListener[Any] | ChangeListener[Any] | Callable[..., object]


@dataclass(frozen=True, slots=True)
class Revision(Generic[C]):
    """One valid effective config the manager numbered.

    ``number`` counts distinct valid configs from 1; ``changed`` names the sections that
    differ from the previous revision (every section for revision 1). ``restored`` is True
    for the ``Fallback`` that ``start()`` delivered because the source gave no first state in
    time (it was not computed from the source).

    Thread-safety: immutable.
    """

    number: int
    config: C
    changed: frozenset[str]
    restored: bool = False


@dataclass(frozen=True, slots=True)
class Change(Generic[C]):
    """What a listener is given beside the config, if it takes a second argument.

    ``revision`` is the revision being delivered; ``previous_revision`` and ``previous`` are
    the revision and config this listener last applied successfully (0 and ``None`` the first
    time); ``sections`` are the sections that differ between ``previous`` and the delivered
    config (every section the first time); ``attempt`` is 1 on the first try of this revision,
    2 on the first retry, and so on. ``restored`` says the delivered config is ``start()``'s
    ``Fallback`` (a last-known-good from before a restart), not one computed from the source.

    Thread-safety: immutable.
    """

    revision: int
    previous_revision: int
    sections: frozenset[str]
    previous: C | None
    attempt: int = 1
    restored: bool = False


def describe_listener(listener: object) -> str:
    """A readable default name: a function's qualified name (without the ``<locals>`` of
    enclosing functions), else the object's class name."""
    name = getattr(listener, "__qualname__", None)
    if isinstance(name, str) and name:
        return name.rsplit("<locals>.", 1)[-1]
    return type(listener).__name__


class ListenerRecord:
    """One registration of a listener; the delivery-queue key for it.

    Fields set at registration: ``target`` (what was registered) and ``call``; ``name``,
    ``sections`` and ``wants_change`` (``add_listener``'s ``with_change``) change only when a
    removed registration whose call is still running is taken back by ``add_listener`` (under
    the manager's lock).

    Thread-safety: every other field is guarded by the owning manager's ``_lock``; only the
    manager reads or writes them.
    """

    __slots__ = (
        "again",
        "applied_revision",
        "attempt",
        "backing_off",
        "busy_revision",
        "busy_since",
        "call",
        "calls_total",
        "consecutive_failures",
        "delivered",
        "last_error",
        "last_success_wall",
        "name",
        "next_retry_at",
        "queued",
        "rejected_revision",
        "removed",
        "retry_seq",
        "sections",
        "slow_reported",
        "target",
        "wants_change",
    )

    def __init__(
        self,
        target: object,
        name: str,
        sections: frozenset[str] | None,
        wants_change: bool = False,
    ) -> None:
        call: Callable[..., object]
        sync = getattr(target, "sync_config", None)
        if callable(sync):
            call = sync
        elif callable(target):
            call = target
        else:
            raise TypeError(
                f"a listener must have a sync_config(config) method or be callable, got {target!r}"
            )
        self.target: object = target
        self.call = call
        self.wants_change = wants_change
        self.name = name
        self.sections = sections
        # All fields below: guarded by the manager's _lock.
        self.removed = False
        self.applied_revision = 0  # newest revision it holds (a call, or a no-op skip)
        self.delivered: Revision[Any] | None = None  # the last revision a call applied
        self.consecutive_failures = 0
        self.backing_off = False  # the retry limiter holds failures of this listener
        self.rejected_revision = 0
        self.next_retry_at: float | None = None  # clock time its retry is due
        self.busy_since: float | None = None  # clock time the current call began
        self.busy_revision = 0  # the revision of the call in progress
        self.attempt = 0  # tries of busy_revision so far
        self.slow_reported = False  # the call in progress was reported slow
        self.last_error = ""
        self.last_success_wall: float | None = None
        self.calls_total = 0
        # Its place in the manager's work FIFO (see ConfigManager):
        self.queued = False  # waiting in the FIFO
        self.again = False  # requested while its call runs: queued again when it ends
        self.retry_seq = 0  # the live entry of its pending retry timer (0: none)

    def invoke(self, config: object, change: Change[Any]) -> None:
        """Call the listener (from a worker thread, never under the manager's lock)."""
        if self.wants_change:
            self.call(config, change)
        else:
            self.call(config)

    def __repr__(self) -> str:
        return f"<listener {self.name!r}>"
