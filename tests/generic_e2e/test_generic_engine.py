"""The engine, unchanged, with generic schemas: ConfigManager with StaticSource and FileSource,
a dataclass config (listeners get instances) and a JSON Schema config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from generic_e2e.genkit import SCHEMA, WAIT, GpuConfig, Outcomes, Power, Waiting, gpu_document
from nodeconf import ConfigManager, JsonConfig, JsonSchemaConfig, dataclass_schema
from nodeconf.sources import FileSource, StaticSource


def schemas() -> list[Any]:
    return [dataclass_schema(GpuConfig), JsonSchemaConfig.from_dict(SCHEMA)]


def cap(config: Any) -> int:
    if isinstance(config, GpuConfig):
        return config.power.cap_watts
    assert isinstance(config, JsonConfig)
    return int(config["power"]["cap_watts"])


def test_a_dataclass_listener_receives_instances() -> None:
    """With a dataclass schema, every config a listener receives is an instance of it."""
    source = StaticSource(gpu_document(350), {"pool": "big"})
    listener = Waiting()
    with ConfigManager(source, [listener], schema=dataclass_schema(GpuConfig)) as manager:
        assert listener.wait_applied(lambda c: True)
        assert manager.wait_idle(WAIT)
    assert listener.applied == [GpuConfig(power=Power(500, "max"))]


@pytest.mark.parametrize("schema", schemas(), ids=["dataclass", "jsonschema"])
def test_invalid_edit_keeps_the_last_known_good(schema: Any) -> None:
    """An edit that breaks a rule is reported with its path; listeners keep the last good
    config; a valid edit after it is applied."""
    source = StaticSource(gpu_document(350), {"pool": "small"})
    listener, outcomes = Waiting(), Outcomes()
    with ConfigManager(source, [listener], schema=schema, sink=outcomes) as manager:
        assert listener.wait_applied(lambda c: cap(c) == 350)
        source.set_document(gpu_document(20))
        invalid = outcomes.wait_for("invalid")
        assert [str(i) for i in invalid[0].issues] == [
            "globalConfig.power.cap_watts: must be >= 50 (minimum) (value: 20)"
        ]
        assert manager.wait_idle(WAIT)
        status = manager.status()
        assert status.revision is None
        assert status.last_known_good_revision == 1
        assert [cap(c) for c in listener.applied] == [350]
        source.set_document(gpu_document(400))
        assert listener.wait_applied(lambda c: cap(c) == 400)
        assert manager.wait_idle(WAIT)
        assert manager.status().revision == 2


@pytest.mark.parametrize("schema", schemas(), ids=["dataclass", "jsonschema"])
def test_relabel_changes_which_override_applies(schema: Any) -> None:
    """Relabelling the node to a pool a selector names re-evaluates and applies its override;
    a label no selector reads changes nothing."""
    source = StaticSource(gpu_document(350), {"pool": "small"})
    listener = Waiting()
    with ConfigManager(source, [listener], schema=schema) as manager:
        assert listener.wait_applied(lambda c: cap(c) == 350)
        source.set_node_labels({"pool": "big"})
        assert listener.wait_applied(lambda c: cap(c) == 500)
        source.set_node_labels({"pool": "big", "unrelated": "x"})
        assert manager.wait_idle(WAIT)
        assert [cap(c) for c in listener.applied] == [350, 500]
        assert manager.status().revision == 2


def test_sections_are_the_top_level_keys() -> None:
    """A listener subscribed to one top-level key is called only when that key changes."""
    source = StaticSource(gpu_document(350), {})
    power, devices = Waiting(), Waiting()
    with ConfigManager(source, schema=dataclass_schema(GpuConfig)) as manager:
        manager.add_listener(power, sections=["power"])
        manager.add_listener(devices, sections=["devices"])
        assert manager.wait_idle(WAIT)
        source.set_document(gpu_document(360))
        assert power.wait_applied(lambda c: c.power.cap_watts == 360)
        assert manager.wait_idle(WAIT)
        assert devices.call_count == 1
        with pytest.raises(ValueError, match="unknown section"):
            manager.add_listener(Waiting(), sections=["powr"])


def test_file_source_with_a_json_schema(tmp_path: Path) -> None:
    """FileSource + JSON Schema config: edits and relabels (in the labels file) are applied,
    an invalid edit keeps the last known good."""
    doc = tmp_path / "gpu.json"
    doc.write_text(gpu_document(350), encoding="utf-8")
    labels = tmp_path / "labels"
    labels.write_text("pool=small\n", encoding="utf-8")
    listener, outcomes = Waiting(), Outcomes()
    source = FileSource(doc, labels_file=labels)
    schema = JsonSchemaConfig.from_dict(SCHEMA)
    with ConfigManager(source, [listener], schema=schema, sink=outcomes) as manager:
        assert listener.wait_applied(lambda c: cap(c) == 350)
        doc.write_text(gpu_document(360), encoding="utf-8")
        assert listener.wait_applied(lambda c: cap(c) == 360)
        doc.write_text(json.dumps({"globalConfig": {"power": {"mode": "turbo"}}}), "utf-8")
        invalid = outcomes.wait_for("invalid")
        assert invalid[0].issues[0].path == "globalConfig.power.mode"
        labels.write_text("pool=big\n", encoding="utf-8")
        doc.write_text(gpu_document(370, pool_cap=600), encoding="utf-8")
        assert listener.wait_applied(lambda c: cap(c) == 600)
        assert manager.wait_idle(WAIT)
        assert [cap(c) for c in listener.applied] == [350, 360, 600]
