"""docs/operations.md documents every field ``/status`` serves, and nothing it does not."""

from __future__ import annotations

import re
from pathlib import Path

from nodeconf import ConfigManager
from nodeconf.testing import FakeClock, StaticSource

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def documented_fields() -> set[str]:
    """The field names in the "Every field of /status" table (top level only)."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("### Every field of `/status`", 1)[1].split("\n\n", 2)[1]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        first_cell = row.split("|")[1]
        names.update(re.findall(r"`([a-z_]+)(?:\[\])?`", first_cell))
    return names


def test_every_status_field_is_documented() -> None:
    """The manager's part of /status (``to_json``) plus ``source`` is exactly the table."""
    with ConfigManager(StaticSource({"globalConfig": {}}), clock=FakeClock()) as manager:
        served = set(manager.status().to_json()) | {"source"}
    assert documented_fields() == served
