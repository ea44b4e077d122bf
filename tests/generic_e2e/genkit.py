"""Shared pieces of the generic-schema end-to-end tests: a dataclass config with its
equivalent JSON Schema, documents, and a listener and a sink a test can wait on.

Every wait is on a condition the manager's threads notify; the timeout only bounds a failure.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from nodeconf import Outcome
from nodeconf.testing import RecordingListener

__all__ = [
    "SCHEMA",
    "WAIT",
    "GpuConfig",
    "Outcomes",
    "Power",
    "Waiting",
    "gpu_document",
]

WAIT = 10.0  # seconds: bounds a failure, never paces a test


@dataclass(frozen=True)
class Power:
    cap_watts: Annotated[int, {"minimum": 50, "maximum": 700}] = 300
    mode: Literal["eco", "max"] = "eco"


@dataclass(frozen=True)
class GpuConfig:
    power: Power = Power()
    devices: tuple[str, ...] = ()


#: The JSON Schema equivalent of ``GpuConfig``.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "gpu",
    "type": "object",
    "properties": {
        "power": {
            "type": "object",
            "properties": {
                "cap_watts": {"type": "integer", "minimum": 50, "maximum": 700, "default": 300},
                "mode": {"enum": ["eco", "max"], "default": "eco"},
            },
        },
        "devices": {"type": "array", "items": {"type": "string"}, "default": []},
    },
}


def gpu_document(cap: int, *, pool_cap: int = 500, pool: str = "big") -> str:
    """A document: global cap ``cap``; nodes labelled ``pool=<pool>`` get ``pool_cap`` and max."""
    return json.dumps(
        {
            "globalConfig": {"power": {"cap_watts": cap}},
            "nodesConfig": [
                {
                    "selector": {"matchLabels": {"pool": pool}},
                    "power": {"cap_watts": pool_cap, "mode": "max"},
                }
            ],
        }
    )


#: A listener a test can wait on (``RecordingListener.wait_applied``).
Waiting = RecordingListener


class Outcomes:
    """An outcome sink a test can wait on. Thread-safety: ``_cond`` guards ``_seen``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seen: list[Outcome] = []  # guarded by _cond

    def emit(self, outcome: Outcome) -> None:
        with self._cond:
            self._seen.append(outcome)
            self._cond.notify_all()

    def wait_for(self, kind: str, count: int = 1, timeout: float = WAIT) -> list[Outcome]:
        """Wait for ``count`` outcomes of ``kind``; return them (fewer on timeout)."""
        with self._cond:
            self._cond.wait_for(
                lambda: sum(1 for o in self._seen if o.kind == kind) >= count, timeout
            )
            return [o for o in self._seen if o.kind == kind]
