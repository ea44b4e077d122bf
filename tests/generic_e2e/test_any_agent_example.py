"""examples/any-agent: the agent runs with one command, and its dataclass and its JSON Schema
describe the same config."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from nodeconf import JsonSchemaConfig, load_json_schema

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "any-agent"


def agent_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("any_agent_example", EXAMPLE / "agent.py")
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules.get(spec.name)
    if module is None:
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while being built
        spec.loader.exec_module(module)
    return module


def test_the_agent_prints_its_first_config() -> None:
    """``agent.py --once`` applies the example's config for its node labels and exits 0."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "agent.py"), "--once"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "logship: level=info paths=/var/log/containers rate=2000/s burst=2000 "
        "-> https://logs.example.com:4318 (zstd, flush every 30s)"
    ]


@pytest.mark.parametrize(
    "labels",
    [{}, {"pool": "gpu"}, {"pool": "debug"}, {"topology.kubernetes.io/zone": "edge-2"}],
)
def test_dataclass_and_schema_json_agree(labels: dict[str, str]) -> None:
    """The agent's dataclass and schema.json give equal effective configs for the example."""
    typed = agent_module().SCHEMA
    plain: JsonSchemaConfig = load_json_schema(EXAMPLE / "schema.json")
    text = (EXAMPLE / "document.json").read_text(encoding="utf-8")
    a, b = typed.evaluate(typed.parse(text), labels), plain.evaluate(plain.parse(text), labels)
    assert a.valid
    assert b.valid
    assert typed.to_json(a.config) == b.config.to_json()  # 5.0 (a float field) == 5
