"""``nodeconf validate FILE``: exit 0 when valid, 1 with one line per problem when not."""

from __future__ import annotations

import json
from pathlib import Path

from cli.clihelp import cli, document, manifest_yaml

LOW_ABOVE_HIGH = document(evictingConfig={"evictingCPULowWatermark": 90})
TYPO = document(evictingConfig={"evictingCpuHighWatermark": 70})


def write(tmp_path: Path, name: str, content: object) -> str:
    path = tmp_path / name
    text = content if isinstance(content, str) else json.dumps(content)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_valid_document_exits_0(tmp_path, capsys, monkeypatch) -> None:
    """A valid document exits 0, says so on stdout and prints nothing on stderr."""
    path = write(tmp_path, "doc.json", document(cpuQosConfig={"enable": True}))
    run = cli(capsys, monkeypatch, "validate", path)
    assert (run.code, run.err) == (0, "")
    assert run.out == f"{path}: valid\n"


def test_invalid_document_prints_path_value_and_message(tmp_path, capsys, monkeypatch) -> None:
    """Each error is one stderr line with the field path, the offending value and Volcano's
    message; the exit code is 1."""
    path = write(tmp_path, "doc.json", LOW_ABOVE_HIGH)
    run = cli(capsys, monkeypatch, "validate", path)
    assert run.code == 1
    assert run.err_lines == [
        f"{path}: error: globalConfig.evictingConfig.evictingCPULowWatermark = 90: "
        "cpu evicting low watermark is higher than high watermark"
    ]


def test_every_error_is_reported_at_once(tmp_path, capsys, monkeypatch) -> None:
    """Several broken rules give several lines, not just the first."""
    doc = document(
        networkQosConfig={"qosCheckInterval": 0},
        cpuThrottlingConfig={"cpuThrottlingThreshold": 101},
    )
    run = cli(capsys, monkeypatch, "validate", write(tmp_path, "doc.json", doc))
    assert run.code == 1
    assert len(run.err_lines) == 2
    assert "qosCheckInterval must be a positive number" in run.err_lines[0]
    assert "cpuThrottlingThreshold must be a positive number between 1 and 100" in run.err


def test_warnings_do_not_fail(tmp_path, capsys, monkeypatch) -> None:
    """An unknown key is reported as a warning with its path; the document stays valid."""
    run = cli(capsys, monkeypatch, "validate", write(tmp_path, "doc.json", TYPO))
    assert run.code == 0
    (line,) = run.err_lines
    assert ": warning: globalConfig.evictingConfig.evictingCpuHighWatermark = 70: " in line
    assert run.out.endswith("valid (1 warning)\n")


def test_strict_makes_warnings_fail(tmp_path, capsys, monkeypatch) -> None:
    """With --strict a warning is enough to exit 1."""
    run = cli(capsys, monkeypatch, "validate", "--strict", write(tmp_path, "doc.json", TYPO))
    assert run.code == 1
    assert "warning" in run.err


def test_without_labels_each_override_is_checked_over_the_global(
    tmp_path, capsys, monkeypatch
) -> None:
    """An override that breaks a rule is reported with its nodesConfig path, for any node."""
    doc = {
        "globalConfig": {},
        "nodesConfig": [
            {
                "selector": {"matchLabels": {"pool": "a"}},
                "evictingConfig": {"evictingCPULowWatermark": 95},
            }
        ],
    }
    run = cli(capsys, monkeypatch, "validate", write(tmp_path, "doc.json", doc))
    assert run.code == 1
    assert "nodesConfig[0].evictingConfig.evictingCPULowWatermark = 95" in run.err


def test_with_labels_only_the_node_s_config_is_checked(tmp_path, capsys, monkeypatch) -> None:
    """--node-labels validates what that node gets: a broken override it does not match is
    not its problem."""
    doc = {
        "globalConfig": {},
        "nodesConfig": [
            {
                "selector": {"matchLabels": {"pool": "a"}},
                "evictingConfig": {"evictingCPULowWatermark": 95},
            }
        ],
    }
    path = write(tmp_path, "doc.json", doc)
    assert cli(capsys, monkeypatch, "validate", path, "--node-labels", "pool=b").code == 0
    assert cli(capsys, monkeypatch, "validate", path, "--node-labels", "pool=a").code == 1


def test_configmap_manifest_in_yaml(tmp_path, capsys, monkeypatch) -> None:
    """A YAML ConfigMap manifest is read through data.colocation-config; problems name it."""
    path = write(tmp_path, "cm.yaml", manifest_yaml(json.dumps(LOW_ABOVE_HIGH, indent=2)))
    run = cli(capsys, monkeypatch, "validate", path)
    assert run.code == 1
    assert run.err.startswith(f"{path}[data.colocation-config]: error: ")


def test_configmap_manifest_in_json(tmp_path, capsys, monkeypatch) -> None:
    """A JSON ConfigMap manifest (kubectl get -o json) works the same way."""
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "volcano-agent-configuration"},
        "data": {"colocation-config": json.dumps(document())},
    }
    run = cli(capsys, monkeypatch, "validate", write(tmp_path, "cm.json", manifest))
    assert run.code == 0


def test_stdin_dash(capsys, monkeypatch) -> None:
    """``-`` reads the document from standard input."""
    run = cli(capsys, monkeypatch, "validate", "-", stdin=json.dumps(LOW_ABOVE_HIGH).encode())
    assert run.code == 1
    assert run.err.startswith("<stdin>: error: ")


def test_mounted_configmap_directory(tmp_path, capsys, monkeypatch) -> None:
    """A directory laid out by kubelet (..data symlink) is read through its key file."""
    stamp = tmp_path / "..2026_01_01_00_00_00.000000001"
    stamp.mkdir()
    (stamp / "colocation-config").write_text(json.dumps(document()), encoding="utf-8")
    (tmp_path / "..data").symlink_to(stamp.name)
    (tmp_path / "colocation-config").symlink_to("..data/colocation-config")
    assert cli(capsys, monkeypatch, "validate", str(tmp_path)).code == 0
