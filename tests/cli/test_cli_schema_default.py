"""``nodeconf schema`` and ``nodeconf default``."""

from __future__ import annotations

import json

from cli.clihelp import cli
from nodeconf.model import COLOCATION


def test_schema_prints_the_json_schema(capsys, monkeypatch) -> None:
    """The schema is a JSON Schema document describing globalConfig and nodesConfig."""
    run = cli(capsys, monkeypatch, "schema")
    assert run.code == 0
    schema = run.json()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert {"globalConfig", "nodesConfig"} <= set(schema["properties"])


def test_default_prints_the_default_document(capsys, monkeypatch) -> None:
    """The default document is exactly the text written when the ConfigMap is missing."""
    run = cli(capsys, monkeypatch, "default")
    assert run.code == 0
    assert run.out.rstrip("\n") == COLOCATION.default_document_text().rstrip("\n")
    assert list(json.loads(run.out)) == ["globalConfig"]


def test_default_document_validates(capsys, monkeypatch) -> None:
    """What ``default`` prints passes ``validate --strict``."""
    text = cli(capsys, monkeypatch, "default").out
    run = cli(capsys, monkeypatch, "validate", "--strict", "-", stdin=text.encode())
    assert run.code == 0
