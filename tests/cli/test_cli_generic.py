"""``--schema FILE``: every offline command with a JSON Schema config; exit codes and streams."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cli.clihelp import cli

SCHEMA: dict[str, Any] = {
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
    },
}
DOCUMENT = {
    "globalConfig": {"power": {"cap_watts": 350}},
    "nodesConfig": [
        {"selector": {"matchLabels": {"pool": "big"}}, "power": {"cap_watts": 900}},
        {"selector": {"matchLabels": {"pool": "max"}}, "power": {"mode": "max", "cap_wats": 1}},
    ],
}


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    schema, doc = tmp_path / "gpu.schema.json", tmp_path / "doc.json"
    schema.write_text(json.dumps(SCHEMA), encoding="utf-8")
    doc.write_text(json.dumps(DOCUMENT), encoding="utf-8")
    return str(schema), str(doc)


def test_render_prints_the_effective_config(files, capsys, monkeypatch) -> None:
    """render --schema: the effective config on stdout, warnings on stderr, exit 0."""
    schema, doc = files
    run = cli(capsys, monkeypatch, "render", doc, "--schema", schema, "--node-labels", "pool=max")
    assert run.code == 0
    assert run.json() == {"power": {"cap_watts": 350, "mode": "max"}}
    assert run.err_lines == [
        f"{doc}: warning: nodesConfig[1].power.cap_wats = 1: unknown field, ignored "
        "(did you mean 'cap_watts'?)"
    ]


def test_render_invalid_for_the_node_prints_nothing_on_stdout(files, capsys, monkeypatch) -> None:
    """render --schema for a node whose config is invalid: no stdout, problems on stderr, 1."""
    schema, doc = files
    run = cli(capsys, monkeypatch, "render", doc, "--schema", schema, "--node-labels", "pool=big")
    assert run.code == 1
    assert run.out == ""
    assert run.err_lines[0] == (
        f"{doc}: error: nodesConfig[0].power.cap_watts = 900: must be <= 700 (maximum)"
    )


def test_validate_reports_every_override_problem(files, capsys, monkeypatch) -> None:
    """validate --schema without labels checks each override over the global config."""
    schema, doc = files
    run = cli(capsys, monkeypatch, "validate", doc, "--schema", schema)
    assert run.code == 1
    assert run.err_lines[0].endswith(
        "nodesConfig[0].power.cap_watts = 900: must be <= 700 (maximum)"
    )
    assert "warning: nodesConfig[1].power.cap_wats" in run.err_lines[1]


def test_validate_a_valid_document(files, tmp_path, capsys, monkeypatch) -> None:
    """validate --schema on a valid document: "valid" on stdout, exit 0."""
    schema, _ = files
    doc = tmp_path / "ok.json"
    doc.write_text('{"globalConfig": {"power": {"mode": "max"}}}', encoding="utf-8")
    run = cli(capsys, monkeypatch, "validate", str(doc), "--schema", schema)
    assert (run.code, run.out.strip()) == (0, f"{doc}: valid")


def test_default_and_schema_commands(files, capsys, monkeypatch) -> None:
    """default --schema prints the default document; schema --schema the document's schema."""
    schema, _ = files
    run = cli(capsys, monkeypatch, "default", "--schema", schema)
    assert run.code == 0
    assert run.json() == {"globalConfig": {"power": {"cap_watts": 300, "mode": "eco"}}}
    run = cli(capsys, monkeypatch, "schema", "--schema", schema)
    assert run.code == 0
    assert set(run.json()["properties"]) == {"globalConfig", "nodesConfig"}


@pytest.mark.parametrize(
    "case",
    [
        (None, "cannot read: No such file or directory"),
        ("{not json", "1:2: invalid JSON"),
        ('{"type": "object", "anyOf": []}', "anyOf: keyword 'anyOf' is not supported"),
        ('{"type": "string"}', "type: the config must be an object"),
    ],
    ids=["missing", "not-json", "unsupported-keyword", "not-an-object"],
)
@pytest.mark.parametrize("command", ["validate", "render", "default", "schema"])
def test_unusable_schema_file_is_one_line_exit_2(
    tmp_path, capsys, monkeypatch, command: str, case: tuple[str | None, str]
) -> None:
    """A schema file that cannot be read or used: one line naming it and the problem, exit 2."""
    content, expected = case
    schema = tmp_path / "bad.schema.json"
    if content is not None:
        schema.write_text(content, encoding="utf-8")
    doc = tmp_path / "doc.json"
    doc.write_text("{}", encoding="utf-8")
    argv = [command, str(doc)] if command in ("validate", "render") else [command]
    run = cli(capsys, monkeypatch, *argv, "--schema", str(schema))
    assert run.code == 2
    assert run.out == ""
    assert run.err_lines == [
        f"nodeconf: {schema}: {expected}" + run.err_lines[0].split(expected, 1)[1]
    ]
    assert expected in run.err_lines[0]


def test_without_schema_the_colocation_format_is_served(tmp_path, capsys, monkeypatch) -> None:
    """No --schema: the commands behave as before (Volcano's colocation format)."""
    run = cli(capsys, monkeypatch, "default")
    assert "evictingConfig" in run.json()["globalConfig"]
