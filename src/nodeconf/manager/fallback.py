"""``Fallback``: a config to deliver when the source cannot give a first state at start.

A node agent restarted during an API-server outage would otherwise start with nothing until
the server answers. ``ConfigManager.start(timeout, fallback=Fallback(config, ...))`` waits for
the source's first complete state for at most ``after_seconds`` (and never past ``timeout``);
when it has not come by then (the source's start-up step raised ``SourceError``, or the wait
ran out), the fallback's config is published as revision 1 with ``Revision.restored`` set, and
delivered to every listener like any revision (``Change.restored`` tells them). The source's
start-up goes on in the background; its first valid evaluation supersedes the fallback (a new
revision when the config differs, and ``ManagerStatus.restored_from`` goes back to ``""``).

Where the config comes from is the caller's business (``nodeconf run --state-dir`` persists
every applied revision and rebuilds it at start); ``revision`` and ``document_version`` are
what it had then, reported in ``status()`` for people.

Thread-safety: immutable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Fallback"]

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Fallback(Generic[C]):
    """A last-known-good config for ``start()`` (see the module docstring).

    ``config``: an effective config of the manager's schema; ``after_seconds``: how long
    ``start()`` waits for the source before delivering it (real seconds, at most its
    timeout); ``revision`` / ``document_version``: the revision number and document version
    it had where it was persisted (0 and ``""``: unknown); ``origin``: where it comes from,
    for logs and ``status()``.
    """

    config: C
    after_seconds: float = 10.0
    revision: int = 0
    document_version: str = ""
    origin: str = "fallback"

    def __post_init__(self) -> None:
        if not (self.after_seconds >= 0 and math.isfinite(self.after_seconds)):
            raise ValueError(
                f"Fallback.after_seconds must be a finite number >= 0, got {self.after_seconds!r}"
            )
        if self.revision < 0:
            raise ValueError(f"Fallback.revision must be >= 0, got {self.revision!r}")
        if not self.origin:
            raise ValueError("Fallback.origin must not be empty")
