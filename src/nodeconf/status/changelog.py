"""Logging each applied change with its diff.

``json_diff(old, new)`` compares two effective configs in their JSON form (objects nested by
section) and returns one ``Change`` per leaf that differs, in the order of ``new``'s keys.
``ChangeLog`` is a listener that logs, for every revision it receives, that diff (the whole
config the first time), e.g.::

    config revision 3 applied: evictingConfig.evictingCPUHighWatermark: 80 -> 70

Register it first so the log line comes before the other listeners act on the change.

Thread-safety: ``json_diff`` is pure; ``ChangeLog`` is stateless.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nodeconf.manager.listeners import Change as ListenerChange
    from nodeconf.model.seam import EffectiveConfig

__all__ = ["Change", "ChangeLog", "json_diff"]

_log = logging.getLogger("nodeconf.changes")


@dataclass(frozen=True, slots=True)
class Change:
    """One leaf that differs: its dotted path, the old value (None when absent) and the new.

    Thread-safety: immutable.
    """

    path: str
    old: object
    new: object

    def __str__(self) -> str:
        return f"{self.path}: {_show(self.old)} -> {_show(self.new)}"


def _show(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def json_diff(
    old: Mapping[str, Any] | None, new: Mapping[str, Any], prefix: str = ""
) -> list[Change]:
    """Every leaf of ``new`` that differs from ``old``, then every leaf only ``old`` has."""
    old = old or {}
    changes: list[Change] = []
    for key, value in new.items():
        path = f"{prefix}{key}"
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping | None):
            changes.extend(json_diff(before, value, prefix=path + "."))
        elif before != value or key not in old:
            changes.append(Change(path, before, value))
    changes.extend(Change(f"{prefix}{k}", v, None) for k, v in old.items() if k not in new)
    return changes


class ChangeLog:
    """A listener that logs each revision it receives, as a diff from the one before.

    The manager passes a ``Change`` beside the config; the diff is taken against
    ``change.previous`` (the config this listener last received), and the whole config is
    logged the first time. Records go to the ``nodeconf.changes`` logger with ``revision`` and
    ``sections`` as extra fields.

    Thread-safety: stateless; safe from any thread.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or _log

    def sync_config(self, config: EffectiveConfig, change: ListenerChange[Any]) -> None:
        new = config.to_json()
        extra = {"revision": change.revision, "sections": ",".join(sorted(change.sections))}
        if change.previous is None:
            text = json.dumps(new, separators=(",", ":"))
            self._logger.info("config revision %d applied: %s", change.revision, text, extra=extra)
            return
        changes = json_diff(change.previous.to_json(), new)
        described = "; ".join(str(c) for c in changes) if changes else "no field changed"
        self._logger.info("config revision %d applied: %s", change.revision, described, extra=extra)
