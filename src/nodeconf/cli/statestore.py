"""``--state-dir``: the last-known-good state, persisted so it survives a restart.

Every applied revision is written atomically (``write_atomically``: a temporary file,
fsync, rename, fsync of the directory) to ``<dir>/last-known-good.json``, a versioned
format::

    {"kind": "nodeconf/last-known-good", "format": 1, "revision": 3,
     "document": "<text or null>", "documentVersion": "1234", "labels": {...},
     "effective": {...}, "sha256": "<hex>", "writtenAt": 1790000000.0}

``sha256`` is ``podstatus``'s hash of the canonical JSON of ``effective`` (the same value
the pod condition publishes), so a damaged file is recognised. ``document`` and ``labels``
are the source's raw state read when the revision was applied (``Source.snapshot()``; a
change that arrives meanwhile can make them newer than ``effective``, which is the
authoritative part).

``StateStore.load`` never raises: a missing file is ``None``; a corrupt, truncated, foreign
(another ``kind``) or future-format (``format`` above ``STATE_FORMAT``) file, or one whose
hash does not match, is ignored with one warning line and gives ``None``.
``StateStore.check_writable`` (at start-up) creates the directory if needed and writes and
removes a probe file; the daemon turns its ``OSError`` into exit 2 naming ``--state-dir``.

At start, ``attach`` registers the ``StateRecorder`` and turns the persisted state into the
manager's ``Fallback`` (``rebuild``: the schema evaluates the persisted effective config as a
document's ``globalConfig`` with the persisted labels, or else the persisted document, and
the result must hash to ``sha256``; a state this schema cannot rebuild is ignored with one
warning line). The recorder skips the restored delivery itself (``Change.restored``): the
file already holds it, with more than the unsynced source could say.

Thread-safety: ``StateStore`` holds only its path; ``save`` may run on any thread (the
manager calls ``StateRecorder.sync_config`` from one worker at a time for this listener);
concurrent saves each replace the file whole.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Final

from nodeconf.cli.listeners import write_atomically
from nodeconf.manager import ConfigManager, Fallback

__all__ = [
    "STATE_FILE",
    "STATE_FORMAT",
    "PersistedState",
    "StateRecorder",
    "StateStore",
    "attach",
    "rebuild",
]

STATE_FILE: Final = "last-known-good.json"
STATE_FORMAT: Final = 1
STATE_KIND: Final = "nodeconf/last-known-good"

_log = logging.getLogger("nodeconf.daemon")


def _hash(effective: Any) -> str:
    text = json.dumps(effective, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PersistedState:
    """One applied revision as persisted. Thread-safety: immutable (do not mutate the dicts)."""

    revision: int
    effective: dict[str, Any]
    document: str | None = None
    document_version: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    written_at: float = 0.0

    @property
    def sha256(self) -> str:
        """The hash of the canonical JSON of ``effective`` (as the pod condition publishes)."""
        return _hash(self.effective)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": STATE_KIND,
            "format": STATE_FORMAT,
            "revision": self.revision,
            "document": self.document,
            "documentVersion": self.document_version,
            "labels": self.labels,
            "effective": self.effective,
            "sha256": self.sha256,
            "writtenAt": self.written_at,
        }


class StateStore:
    """The state file in one directory. Thread-safety: see the module docstring."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, STATE_FILE)

    def check_writable(self) -> None:
        """Create the directory if missing and prove a file can be written there (raises
        ``OSError`` otherwise)."""
        os.makedirs(self.directory, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=self.directory, prefix=".probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)

    def save(self, state: PersistedState) -> None:
        """Replace the state file with ``state``, atomically and durably (mode 0600)."""
        data = (json.dumps(state.to_json(), sort_keys=True, indent=1) + "\n").encode()
        write_atomically(self.path, data, mode=0o600)

    def load(self) -> PersistedState | None:
        """The persisted state; ``None`` when absent or unusable (one warning line)."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._ignore(f"cannot read: {exc.strerror or exc}")
            return None
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            self._ignore(f"corrupt or truncated ({exc})")
            return None
        if not isinstance(data, dict) or data.get("kind") != STATE_KIND:
            self._ignore("not a nodeconf state file")
            return None
        version = data.get("format")
        if not isinstance(version, int) or version < 1:
            self._ignore(f"unknown format {version!r}")
            return None
        if version > STATE_FORMAT:
            self._ignore(f"format {version} is newer than this nodeconf ({STATE_FORMAT})")
            return None
        return self._parse(data)

    def _parse(self, data: dict[str, Any]) -> PersistedState | None:
        revision, effective = data.get("revision"), data.get("effective")
        document, labels = data.get("document"), data.get("labels")
        written_at = data.get("writtenAt")
        if (
            not isinstance(revision, int)
            or not isinstance(effective, dict)
            or not (document is None or isinstance(document, str))
            or not isinstance(labels, dict)
            or not all(isinstance(v, str) for v in labels.values())
            or not isinstance(written_at, int | float)
        ):
            self._ignore("a field is missing or has the wrong type")
            return None
        state = PersistedState(
            revision=revision,
            effective=effective,
            document=document,
            document_version=str(data.get("documentVersion") or ""),
            labels={str(k): v for k, v in labels.items()},
            written_at=float(written_at),
        )
        if data.get("sha256") != state.sha256:
            self._ignore("sha256 does not match the effective config")
            return None
        return state

    def _ignore(self, why: str) -> None:
        _log.warning("ignoring the state file %s: %s", self.path, why)


class StateRecorder:
    """Listener: persist each applied revision (``source.snapshot()`` adds the document text
    and labels). Registered with ``with_change=True``.

    Thread-safety: called by the manager from one worker at a time; holds no mutable state.
    """

    def __init__(self, store: StateStore, source: Any, schema: Any, wall: Any) -> None:
        self.store = store
        self.name = f"state-dir:{store.directory}"
        self._source = source
        self._schema = schema
        self._wall = wall  # () -> seconds since the epoch (the clock's wall())

    def sync_config(self, config: Any, change: Any) -> None:
        if change.restored:  # the persisted state itself: the file already holds it
            return
        to_json = getattr(config, "to_json", None)
        effective = to_json() if callable(to_json) else self._schema.to_json(config)
        snapshot = self._source.snapshot()
        document = snapshot.document
        if isinstance(document, bytes):
            document = document.decode("utf-8", errors="replace")
        self.store.save(
            PersistedState(
                revision=int(change.revision),
                effective=effective,
                document=document,
                document_version=str(snapshot.document_version),
                labels=dict(snapshot.node_labels),
                written_at=float(self._wall()),
            )
        )


def rebuild(schema: Any, state: PersistedState) -> Any:
    """The config of ``state`` for ``schema``, or ``None`` (one warning line) when neither
    its effective config nor its document evaluates to a config with its hash."""
    candidates = [json.dumps({"globalConfig": state.effective})]
    if state.document is not None:
        candidates.append(state.document)
    for text in candidates:
        try:
            evaluation = schema.evaluate(schema.parse(text), state.labels)
        except Exception:  # a document this schema cannot read: try the next
            _log.debug("state file candidate unreadable", exc_info=True)
            continue
        if not evaluation.valid:
            continue
        config = evaluation.config
        to_json = getattr(config, "to_json", None)
        effective = to_json() if callable(to_json) else schema.to_json(config)
        if _hash(effective) == state.sha256:
            return config
    _log.warning(
        "ignoring the state file's revision %d: this schema does not rebuild its effective "
        "config (sha256 %s)",
        state.revision,
        state.sha256,
    )
    return None


def attach(
    manager: ConfigManager[Any], source: Any, directory: str, restore_after: float
) -> Fallback[Any] | None:
    """Persist every revision ``manager`` applies in ``directory``; return the persisted
    state as the ``Fallback`` for ``start()`` (``None``: nothing usable there)."""
    store = StateStore(directory)
    found = store.load()
    recorder = StateRecorder(store, source, manager.schema, manager.clock.wall)
    manager.add_listener(recorder.sync_config, name=recorder.name, with_change=True)
    if found is None:
        return None
    config = rebuild(manager.schema, found)
    if config is None:
        return None
    _log.info(
        "state dir holds revision %d (sha256 %s) from document version %s: delivered if "
        "the source gives no first state within %gs",
        found.revision,
        found.sha256,
        found.document_version or "-",
        restore_after,
    )
    return Fallback(
        config,
        after_seconds=restore_after,
        revision=found.revision,
        document_version=found.document_version,
        origin=f"state dir {directory}",
    )
