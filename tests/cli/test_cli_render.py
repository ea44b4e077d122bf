"""``nodeconf render FILE``: one node's effective config as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from cli.clihelp import cli, document
from nodeconf.model import COLOCATION

OVERRIDES = {
    "globalConfig": {"cpuQosConfig": {"enable": True}},
    "nodesConfig": [
        {
            "selector": {"matchLabels": {"pool": "gpu"}},
            "evictingConfig": {"evictingCPUHighWatermark": 70},
        }
    ],
}


def write(tmp_path: Path, content: object, name: str = "doc.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(content), encoding="utf-8")
    return str(path)


def test_prints_every_section_with_the_configmap_key_names(tmp_path, capsys, monkeypatch) -> None:
    """The output is a JSON object with all nine sections under their ConfigMap names."""
    run = cli(capsys, monkeypatch, "render", write(tmp_path, document()), "--node-labels", "a=b")
    assert run.code == 0
    assert list(run.json()) == list(COLOCATION.section_names())


def test_the_matching_override_and_node_labels_apply(tmp_path, capsys, monkeypatch) -> None:
    """The node gets global, then its override, then what its labels say."""
    run = cli(
        capsys,
        monkeypatch,
        "render",
        write(tmp_path, OVERRIDES),
        "--node-labels",
        "pool=gpu,volcano.sh/oversubscription=true",
    )
    config = run.json()
    assert config["cpuQosConfig"]["enable"] is True
    assert config["evictingConfig"]["evictingCPUHighWatermark"] == 70
    assert config["nodeLabelConfig"] == {
        "nodeColocationEnable": True,
        "nodeOverSubscriptionEnable": True,
    }


def test_labels_file_and_node_labels_combine(tmp_path, capsys, monkeypatch) -> None:
    """--labels-file gives labels; --node-labels overrides them key by key."""
    labels = tmp_path / "labels"
    labels.write_text("# node labels\npool=gpu\nvolcano.sh/colocation=true\n", encoding="utf-8")
    doc = write(tmp_path, OVERRIDES)
    run = cli(
        capsys,
        monkeypatch,
        "render",
        doc,
        "--labels-file",
        str(labels),
        "--node-labels",
        "pool=cpu",
    )
    config = run.json()
    assert config["evictingConfig"]["evictingCPUHighWatermark"] == 80  # pool=cpu: no override
    assert config["nodeLabelConfig"]["nodeColocationEnable"] is True  # from the file


def test_features_wraps_config_and_the_nine_gates(tmp_path, capsys, monkeypatch) -> None:
    """--features prints {"config": ..., "features": {...}} with every gate as a boolean."""
    run = cli(
        capsys,
        monkeypatch,
        "render",
        write(tmp_path, OVERRIDES),
        "--node-labels",
        "volcano.sh/colocation=true",
        "--features",
    )
    out = run.json()
    assert set(out) == {"config", "features"}
    assert out["features"] == {
        "CPUQoS": True,
        "CPUBurst": False,
        "MemoryQoS": False,
        "MemoryQoSV2": False,
        "NetworkQoS": False,
        "OverSubscription": False,
        "CPUThrottle": False,
        "Eviction": True,
        "Resources": True,
    }


def test_invalid_config_prints_nothing_on_stdout_and_exits_1(tmp_path, capsys, monkeypatch) -> None:
    """An invalid merged config is not printed: one line per problem on stderr, exit 1."""
    doc = document(evictingConfig={"evictingCPULowWatermark": 90})
    run = cli(capsys, monkeypatch, "render", write(tmp_path, doc))
    assert run.code == 1
    assert run.out == ""
    assert run.err_lines == [
        f"{tmp_path / 'doc.json'}: error: globalConfig.evictingConfig.evictingCPULowWatermark"
        " = 90: cpu evicting low watermark is higher than high watermark"
    ]


def test_wrong_types_are_not_rendered_as_their_defaults(tmp_path, capsys, monkeypatch) -> None:
    """A value of the wrong type makes render print nothing on stdout (not the default)."""
    doc = document(cpuQosConfig={"enable": "yes"}, evictingConfig={"evictingCPUHighWatermark": -1})
    run = cli(capsys, monkeypatch, "render", write(tmp_path, doc), "--features")
    assert (run.code, run.out) == (1, "")
    assert any('cpuQosConfig.enable = "yes": must be a boolean' in line for line in run.err_lines)
    assert any("evictingCPUHighWatermark = -1" in line for line in run.err_lines)


def test_show_invalid_prints_the_merge_marked_invalid(tmp_path, capsys, monkeypatch) -> None:
    """--show-invalid prints {"invalid": true, "config": ...} and still exits 1."""
    doc = document(evictingConfig={"evictingCPULowWatermark": 90})
    run = cli(capsys, monkeypatch, "render", write(tmp_path, doc), "--show-invalid")
    assert run.code == 1
    out = run.json()
    assert out["invalid"] is True
    assert out["config"]["evictingConfig"]["evictingCPULowWatermark"] == 90
    assert "evictingCPULowWatermark = 90" in run.err


def test_show_invalid_changes_nothing_for_a_valid_config(tmp_path, capsys, monkeypatch) -> None:
    """--show-invalid on a valid config prints the plain config and exits 0."""
    run = cli(capsys, monkeypatch, "render", write(tmp_path, OVERRIDES), "--show-invalid")
    assert run.code == 0
    assert list(run.json()) == list(COLOCATION.section_names())


def test_no_global_config_renders_the_defaults(tmp_path, capsys, monkeypatch) -> None:
    """Without globalConfig the node gets the defaults, and that is not an error."""
    run = cli(capsys, monkeypatch, "render", write(tmp_path, {"nodesConfig": []}))
    assert run.code == 0
    assert run.json()["overSubscriptionConfig"] == {
        "enable": True,
        "overSubscriptionTypes": "cpu,memory",
    }
