"""Helpers for the CLI tests: run ``main([...])`` in-process and capture its streams."""

from __future__ import annotations

import io
import json
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from nodeconf.cli.main import main

__all__ = ["Run", "cli", "document", "manifest_yaml"]


@dataclass
class Run:
    """The exit code and the two output streams of one CLI call."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()

    def json(self) -> Any:
        return json.loads(self.out)


def cli(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *argv: str,
    stdin: bytes = b"",
) -> Run:
    """Run ``nodeconf *argv`` in-process with ``stdin`` as standard input."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    code = main(list(argv))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return Run(code, captured.out, captured.err)


def document(**global_sections: dict[str, Any]) -> dict[str, Any]:
    """A document with ``globalConfig`` made of the given sections."""
    return {"globalConfig": dict(global_sections)}


def manifest_yaml(document_text: str, key: str = "colocation-config") -> str:
    """A ConfigMap manifest in YAML holding ``document_text`` under ``data.<key>``."""
    body = "\n".join("    " + line for line in document_text.splitlines())
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: volcano-agent-configuration\n"
        f"data:\n  {key}: |\n{body}\n"
    )
