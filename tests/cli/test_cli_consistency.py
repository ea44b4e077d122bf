"""Every command reports errors the same way, names the flag of a bad path, documents every flag."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from cli.clihelp import cli
from nodeconf.cli.main import build_parser

MISSING = "/nonexistent/nodeconf-test"

BAD_CALLS = [
    pytest.param(["frobnicate"], id="unknown-command"),
    pytest.param(["validate"], id="validate-without-file"),
    pytest.param(["validate", "-", "--bogus"], id="validate-unknown-flag"),
    pytest.param(["validate", MISSING], id="validate-missing-file"),
    pytest.param(["render", "-", "--labels-file", MISSING], id="render-missing-labels-file"),
    pytest.param(["render", "-", "--node-labels", "novalue"], id="render-bad-label"),
    pytest.param(["schema", "--bogus"], id="schema-unknown-flag"),
    pytest.param(["run", "--path", MISSING], id="run-missing-path"),
    pytest.param(["run", "--path", ".", "--labels-file", MISSING], id="run-missing-labels"),
    pytest.param(["run", "--path", ".", "--status-addr", "x"], id="run-bad-status-addr"),
    pytest.param(["run", "--source", "file"], id="run-file-without-path"),
    pytest.param(["run", "--bogus"], id="run-unknown-flag"),
]


@pytest.mark.parametrize("argv", BAD_CALLS)
def test_every_usage_error_is_one_line_starting_with_nodeconf(capsys, monkeypatch, argv) -> None:
    """A usage error of any command is one stderr line starting ``nodeconf: ``, exit 2."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    run = cli(capsys, monkeypatch, *argv, stdin=b"{}")
    assert run.code == 2
    (line,) = run.err_lines
    assert line.startswith("nodeconf: ")
    assert not line.startswith(("nodeconf: nodeconf", "nodeconf: run:"))


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(
            ["validate", "-", "--labels-file", MISSING],
            f"nodeconf: --labels-file {MISSING}: cannot read: No such file or directory",
            id="validate-labels-file",
        ),
        pytest.param(
            ["render", "-", "--labels-file", MISSING],
            f"nodeconf: --labels-file {MISSING}: cannot read: No such file or directory",
            id="render-labels-file",
        ),
        pytest.param(
            ["run", "--path", ".", "--labels-file", MISSING],
            f"nodeconf: --labels-file {MISSING}: cannot read: No such file or directory",
            id="run-labels-file",
        ),
        pytest.param(
            ["run", "--path", MISSING],
            f"nodeconf: --path {MISSING}: no such file or directory",
            id="run-path",
        ),
        pytest.param(
            ["run", "--source", "kubernetes", "--kubeconfig", MISSING],
            f"nodeconf: --kubeconfig {MISSING}: no such file",
            id="run-kubeconfig",
        ),
        pytest.param(
            ["run", "--path", ".", "--write-effective", f"{MISSING}/out.json"],
            f"nodeconf: --write-effective {MISSING}/out.json: directory {MISSING} does not exist",
            id="run-write-effective",
        ),
    ],
)
def test_a_bad_path_error_names_its_flag(capsys, monkeypatch, argv, expected) -> None:
    """An unusable path given with a flag is reported as ``nodeconf: --FLAG PATH: reason``."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    run = cli(capsys, monkeypatch, *argv, stdin=b"{}")
    assert (run.code, run.err_lines) == (2, [expected])


def test_a_labels_file_with_a_bad_line_names_flag_file_and_line(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    """A malformed line of a labels file is reported with the flag, the file and the line."""
    labels = tmp_path / "labels"
    labels.write_text("a=b\nnovalue\n", encoding="utf-8")
    run = cli(capsys, monkeypatch, "render", "-", "--labels-file", str(labels), stdin=b"{}")
    assert run.code == 2
    assert run.err_lines == [
        f"nodeconf: --labels-file {labels}:2: expected key=value, got 'novalue'"
    ]


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    found: list[tuple[str, argparse.Action]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += [(f"{name} {flag}", act) for flag, act in _options(sub)]
        elif not isinstance(action, argparse._HelpAction | argparse._VersionAction):
            found.append(("/".join(action.option_strings) or action.dest, action))
    return found


def test_every_flag_and_argument_has_help_text() -> None:
    """``--help`` explains every flag and argument of every command (``--log-format`` too)."""
    missing = [name for name, action in _options(build_parser()) if not action.help]
    assert missing == []
    assert ("run --log-format", True) in [(n, bool(a.help)) for n, a in _options(build_parser())]
