"""Bad input never ends in a traceback: one line on stderr and a meaningful exit code.

Unreadable or malformed input exits 2 with file, line and column where they exist; a document
that parses but holds wrong values exits 1 with one line per problem.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.clihelp import cli

UNREADABLE = [
    pytest.param(
        b'{"globalConfig": {\n  "cpuQosConfig": }\n}', "<stdin>:2:19: invalid JSON", id="bad-json"
    ),
    pytest.param(b"apiVersion: v1\nkind: [ConfigMap\n", "<stdin>:3:1: invalid YAML", id="bad-yaml"),
    pytest.param(b"[1, 2]", "<stdin>", id="array-top-level"),
    pytest.param(b'"just a string"', "<stdin>", id="string-top-level"),
    pytest.param(b"[" * 10_000 + b"]" * 10_000, "<stdin>", id="deep-json-array"),
    pytest.param(b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "<stdin>", id="deep-json-object"),
    pytest.param(b"a:\n" + b"  " * 0 + b"- " * 5_000 + b"x\n", "<stdin>", id="deep-yaml"),
    pytest.param(
        b'{"globalConfig": "\xff\xfe"}', "<stdin>:1:19: document is not valid UTF-8", id="non-utf8"
    ),
    pytest.param(b"kind: \xc3\x28\n", "<stdin>:1:7: not valid UTF-8", id="non-utf8-yaml"),
    pytest.param(
        b'{"globalConfig": {}, "pad": "' + b"x" * (1024 * 1024) + b'"}',
        "1 MiB",
        id="over-1MiB",
    ),
    pytest.param(
        b"apiVersion: v1\nkind: Secret\ndata: {}\n", "kind 'Secret'", id="not-a-configmap"
    ),
    pytest.param(
        b"apiVersion: v1\nkind: ConfigMap\ndata:\n  other: x\n",
        "no data key 'colocation-config'",
        id="configmap-without-key",
    ),
    pytest.param(
        b"apiVersion: v1\nkind: ConfigMap\ndata:\n  colocation-config:\n    a: 1\n",
        "must be a string",
        id="configmap-key-not-a-string",
    ),
    pytest.param(
        b"apiVersion: v1\nkind: ConfigMap\ndata:\n  colocation-config: '{\"a\": }'\n",
        "<stdin>[data.colocation-config]:1:7: invalid JSON",
        id="configmap-with-bad-json",
    ),
]


@pytest.mark.parametrize(("stdin", "expected"), UNREADABLE)
def test_unreadable_input_exits_2_with_one_line(capsys, monkeypatch, stdin, expected) -> None:
    """Input that is not a readable document exits 2 with a one-line reason."""
    run = cli(capsys, monkeypatch, "validate", "-", stdin=stdin)
    assert run.code == 2
    (line,) = run.err_lines
    assert expected in line
    assert run.out == ""


INVALID = [
    pytest.param({"cpuQosConfig": {"enable": "true"}}, "cpuQosConfig.enable", id="string-for-bool"),
    pytest.param(
        {"evictingConfig": {"evictingCPUHighWatermark": 80.5}},
        "evictingConfig.evictingCPUHighWatermark",
        id="float-for-int",
    ),
    pytest.param(
        {"evictingConfig": {"evictingCPUHighWatermark": 2**64}},
        "evictingConfig.evictingCPUHighWatermark",
        id="beyond-64-bits",
    ),
    pytest.param({"cpuQosConfig": [1]}, "cpuQosConfig", id="array-for-section"),
]


@pytest.mark.parametrize(("section", "path"), INVALID)
def test_wrong_types_exit_1_naming_the_field(capsys, monkeypatch, section, path) -> None:
    """A value of the wrong JSON type is a validation error with its path, not a crash."""
    stdin = json.dumps({"globalConfig": section}).encode()
    run = cli(capsys, monkeypatch, "validate", "-", stdin=stdin)
    assert run.code == 1
    assert f"error: globalConfig.{path}" in run.err


def test_duplicate_keys_are_a_warning_and_the_last_wins(capsys, monkeypatch) -> None:
    """Duplicate keys are accepted (last one wins, as in Go) and reported as a warning."""
    stdin = b'{"globalConfig": {"cpuQosConfig": {"enable": false, "enable": true}}}'
    run = cli(capsys, monkeypatch, "render", "-", stdin=stdin)
    assert run.code == 0
    assert run.json()["cpuQosConfig"]["enable"] is True
    assert "warning: globalConfig.cpuQosConfig.enable" in run.err


def test_missing_file_exits_2(tmp_path: Path, capsys, monkeypatch) -> None:
    """A file that does not exist is named in a one-line error."""
    missing = tmp_path / "nope.json"
    run = cli(capsys, monkeypatch, "validate", str(missing))
    assert run.code == 2
    assert run.err_lines == [f"nodeconf: {missing}: cannot read: No such file or directory"]


def test_directory_without_the_key_exits_2(tmp_path: Path, capsys, monkeypatch) -> None:
    """A mounted-ConfigMap directory without the key file is unreadable input."""
    run = cli(capsys, monkeypatch, "validate", str(tmp_path))
    assert run.code == 2
    assert "colocation-config: cannot read" in run.err


def test_huge_stdin_is_not_read_whole(capsys, monkeypatch) -> None:
    """Input far beyond the ConfigMap limit is refused after a bounded read."""
    run = cli(capsys, monkeypatch, "validate", "-", stdin=b" " * (8 * 1024 * 1024))
    assert run.code == 2
    assert "larger than" in run.err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        pytest.param(["frobnicate"], "invalid choice", id="unknown-command"),
        pytest.param(["validate"], "required: FILE", id="missing-file"),
        pytest.param(["render", "-", "--node-labels", "novalue"], "key=value", id="bad-label"),
        pytest.param(["render", "-", "--node-labels", "a=b c"], "label value", id="bad-value"),
        pytest.param(["validate", "-", "--bogus"], "unrecognized arguments", id="unknown-flag"),
    ],
)
def test_bad_flags_exit_2_with_one_line(capsys, monkeypatch, argv, expected) -> None:
    """Bad flags give one line on stderr (no usage dump) and exit 2."""
    run = cli(capsys, monkeypatch, *argv, stdin=b"{}")
    assert run.code == 2
    (line,) = run.err_lines
    assert expected in line


def test_unreadable_labels_file_exits_2(tmp_path: Path, capsys, monkeypatch) -> None:
    """A labels file that cannot be read is a one-line error naming --labels-file."""
    run = cli(capsys, monkeypatch, "render", "-", "--labels-file", str(tmp_path / "x"), stdin=b"{}")
    assert run.code == 2
    assert run.err_lines == [
        f"nodeconf: --labels-file {tmp_path / 'x'}: cannot read: No such file or directory"
    ]
