"""The ``nodeconf.io/ConfigApplied`` pod condition: what it says and how it is computed.

The condition ``nodeconf.io/ConfigApplied`` is written through the ``pods/status``
subresource with a strategic merge patch, so the list of conditions is merged by ``type``:
the kubelet's own conditions (``Ready``, ``PodScheduled``, ...) are never touched, and a
pod's ``readinessGates`` can name this one. RBAC: ``patch`` on ``pods/status`` only.

What is published (``compute_state``, from ``manager.status()`` and ``manager.current``):

* ``status`` ``True`` when the current effective config is applied by every listener,
  ``False`` otherwise;
* ``reason``: ``Applied``; ``InvalidDocument`` (the latest evaluation is invalid, the
  last-known-good stays in force); ``ListenerRejected`` (a listener raised ``Reject`` for the
  current revision); ``ListenerFailing`` (a listener failed and is retrying); ``Pending``
  (no config yet, a listener has not applied the current revision yet, or the config in
  force is the persisted last-known-good restored at start, until the live document
  supersedes it: then ``revision`` and ``resourceVersion`` are the persisted ones);
* ``message``, a stable form (``format_message`` / ``parse_message``)::

      revision=<n> sha256=<hex> resourceVersion=<rv> reason=<short human text>

  ``revision`` and ``sha256`` are those of the last-known-good effective config (the one
  listeners are driven to; ``0`` and empty before the first), the hash being the sha256 of
  ``config_json_text`` (its canonical JSON); ``resourceVersion`` is the ConfigMap's version
  the latest evaluation was computed from (``status().document_version``); the free text is
  last and may contain spaces.

The publisher that writes it is ``PodConditionPublisher`` (``podpublisher``).

Thread-safety: pure functions and immutable values; any thread.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Final

from nodeconf.manager.reports import ManagerStatus

__all__ = [
    "CONDITION_TYPE",
    "REASONS",
    "ConfigState",
    "compute_state",
    "config_hash",
    "config_json_text",
    "format_message",
    "parse_message",
]

CONDITION_TYPE: Final = "nodeconf.io/ConfigApplied"
REASONS: Final = ("Applied", "InvalidDocument", "ListenerFailing", "ListenerRejected", "Pending")
_MESSAGE_KEYS: Final = ("revision", "sha256", "resourceVersion", "reason")
_MAX_REASON_TEXT: Final = 512


def config_json_text(schema: Any, config: Any) -> str:
    """The canonical JSON of an effective config: ``config.to_json()`` (or, for a dataclass
    schema, ``schema.to_json(config)``) dumped with sorted keys and no spaces."""
    to_json = getattr(config, "to_json", None)
    data = to_json() if callable(to_json) else schema.to_json(config)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def config_hash(schema: Any, config: Any) -> str:
    """The sha256 (hex) of ``config_json_text``: what agents publish and the CLI compares."""
    return hashlib.sha256(config_json_text(schema, config).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ConfigState:
    """One published state. Thread-safety: immutable."""

    status: bool
    reason: str
    revision: int = 0
    sha256: str = ""
    resource_version: str = ""
    text: str = ""

    @property
    def message(self) -> str:
        return format_message(self.revision, self.sha256, self.resource_version, self.text)


def format_message(revision: int, sha256: str, resource_version: str, text: str) -> str:
    """The condition's message in its stable form (see the module docstring)."""
    short = " ".join(text.split())[:_MAX_REASON_TEXT]
    return f"revision={revision} sha256={sha256} resourceVersion={resource_version} reason={short}"


def parse_message(message: str) -> dict[str, str] | None:
    """The fields of a message written by ``format_message``; ``None`` if not in that form."""
    fields: dict[str, str] = {}
    rest = message
    for key in _MESSAGE_KEYS:
        prefix = f"{key}="
        if not rest.startswith(prefix):
            return None
        rest = rest[len(prefix) :]
        if key == "reason":
            fields[key] = rest
            break
        value, sep, rest = rest.partition(" ")
        if not sep:
            return None
        fields[key] = value
    if not fields.get("revision", "").isdigit():
        return None
    return fields


def compute_state(status: ManagerStatus, current: Any, schema: Any) -> ConfigState:
    """The state to publish for a manager snapshot (``current``: its last-known-good
    ``Revision`` or ``None``). Pure."""
    number = current.number if current is not None else 0
    digest = config_hash(schema, current.config) if current is not None else ""
    rv = status.document_version

    def state(ok: bool, reason: str, text: str) -> ConfigState:
        return ConfigState(ok, reason, number, digest, rv, text)

    if status.revision is None and status.last_error:
        paths = [
            i.path
            for i in status.issues
            if i.severity == "error" and i.path and i.path not in status.last_error
        ]
        where = f" at {', '.join(dict.fromkeys(paths))}" if paths else ""
        return state(False, "InvalidDocument", status.last_error + where)
    if current is None:
        return state(False, "Pending", status.source_error or "no effective config yet")
    if status.restored_from:
        text = f"restored from {status.restored_from}; waiting for the live document"
        return ConfigState(False, "Pending", status.restored_revision or number, digest, rv, text)
    for listener in status.listeners:
        if listener.rejected_revision == number:
            return state(False, "ListenerRejected", f"{listener.name}: {listener.last_error}")
    for listener in status.listeners:
        if listener.applied_revision < number and listener.consecutive_failures:
            return state(False, "ListenerFailing", f"{listener.name}: {listener.last_error}")
    for listener in status.listeners:
        if listener.applied_revision < number:
            return state(False, "Pending", f"{listener.name} has not applied it yet")
    return state(True, "Applied", "applied by every listener")
