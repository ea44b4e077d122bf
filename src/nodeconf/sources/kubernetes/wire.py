"""The JSON the API server speaks, as plain values: request and answer bodies, a LIST's
result, a watch event.

Objects stay plain JSON dicts (decoded with the standard library's ``json``), never lightkube
models, so an administrator's fields we do not know survive a read-modify-write unchanged.

Thread-safety: pure functions and immutable values; any thread.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ListResult", "WatchEvent", "decode", "encode"]


def encode(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def decode(content: bytes) -> Any:
    """Decode a JSON body; ``ValueError`` (``json.JSONDecodeError`` or ``UnicodeDecodeError``)
    when it is not JSON, ``RecursionError`` when it nests too deeply."""
    return json.loads(content)


@dataclass(frozen=True, slots=True)
class ListResult:
    """A LIST answer: the collection's resourceVersion and its items (plain dicts).

    Thread-safety: immutable (do not mutate the item dicts).
    """

    resource_version: str
    items: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One watch event: ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR; ``object`` is
    the object (a ``Status`` for ERROR).

    Thread-safety: immutable (do not mutate ``object``).
    """

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        meta = self.object.get("metadata") or {}
        return str(meta.get("resourceVersion") or "")
