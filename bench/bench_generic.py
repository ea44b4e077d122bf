"""Generic schema benchmark (issue 11): parse + merge + validate with a JSON Schema config.

Cases, each measured as ``JsonSchemaConfig.parse`` then ``evaluate`` for one node, with the
bundled example's schema (``examples/any-agent/schema.json``):

* ``example document``: ``examples/any-agent/document.json`` for the example's node labels.
  Target <= 50 us.
* ``1000 overrides, node matches the last``: a generated document formatted the way nodeconf
  writes documents (two-space indentation), 1,000 overrides each with a ``matchLabels``
  selector and a few config keys (a rotation over the schema's keys). Target <= 3x a bare
  ``json.loads`` of the same bytes.
* the same document compact, and a node matching the **first** override (every selector is
  tested, from the end), against the same target.
* ``dataclass config``: the example document with the example agent's dataclass schema
  (``examples/any-agent/agent.py``), which also builds the dataclass instance. Reported
  against the 50 us target.

The timing (alternating rounds, median ratio) is ``bench_model``'s.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from bench._report import Result
from bench.bench_model import _alternating
from nodeconf.model.generic import JsonSchemaConfig
from nodeconf.model.seam import ConfigSchema

__all__ = ["generate_document", "run"]

BENCH = "generic"
OVERRIDES = 1000
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "any-agent"
POOL_LABEL = "nodeconf.example.com/pool"

#: What override ``i`` sets, round-robin: every value keeps the effective config valid.
_ROTATION: tuple[Any, ...] = (
    lambda i: {"limits": {"rate": 100 + i, "burst": 200 + i}},
    lambda i: {
        "output": {"compression": ("none", "gzip", "zstd")[i % 3], "flush_seconds": 1 + i % 30}
    },
    lambda i: {"level": ("debug", "info", "warn")[i % 3], "paths": [f"/var/log/pool-{i}"]},
    lambda i: {"limits": {"rate": 50 + i}, "output": {"endpoint": f"https://logs-{i}.example.com"}},
)


def example_schema() -> JsonSchemaConfig:
    """The example's JSON Schema config."""
    return JsonSchemaConfig.from_text((EXAMPLE / "schema.json").read_bytes(), source="schema.json")


def example_labels() -> dict[str, str]:
    """The example's node labels."""
    lines = (EXAMPLE / "node-labels").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.strip())


def generate_document(overrides: int = OVERRIDES, indent: int | None = 2) -> bytes:
    """A valid document with ``overrides`` overrides; override ``i`` selects pool ``p<i>``."""
    entries = [
        {"selector": {"matchLabels": {POOL_LABEL: f"p{i:04d}"}}, **_ROTATION[i % len(_ROTATION)](i)}
        for i in range(overrides)
    ]
    doc = {
        "globalConfig": {
            "limits": {"rate": 2000},
            "output": {"endpoint": "https://logs.example.com"},
        },
        "nodesConfig": entries,
    }
    if indent is None:
        return json.dumps(doc, separators=(",", ":")).encode()
    return json.dumps(doc, indent=indent).encode()


def _case(
    name: str,
    schema: ConfigSchema[Any],
    data: bytes,
    labels: dict[str, str],
    *,
    rounds: int,
    min_seconds: float,
    absolute_target_seconds: float | None = None,
    ratio_target: float | None = None,
) -> Result:
    def subject() -> object:
        result = schema.evaluate(schema.parse(data), labels)
        assert result.valid, result.errors
        return result

    def floor() -> object:
        return json.loads(data)

    subject()  # warm up, and fail loudly if the document were invalid
    seconds, floor_seconds, ratio = _alternating(subject, floor, rounds, min_seconds)
    if absolute_target_seconds is not None:
        target = f"<= {absolute_target_seconds * 1e6:g} us"
        met = seconds <= absolute_target_seconds
    else:
        assert ratio_target is not None
        target = f"<= {ratio_target:g}x json.loads"
        met = ratio <= ratio_target
    return Result(
        bench=BENCH,
        name=name,
        value=seconds * 1e6,
        unit="us",
        baseline=floor_seconds * 1e6,
        baseline_name="json.loads",
        target=target,
        met=met,
        extra={"bytes": len(data), "rounds": rounds},
    )


def _dataclass_schema() -> ConfigSchema[Any]:
    spec = importlib.util.spec_from_file_location("any_agent", EXAMPLE / "agent.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    schema: ConfigSchema[Any] = module.SCHEMA
    return schema


def run(quick: bool) -> list[Result]:
    rounds = 5 if quick else 21
    min_seconds = 0.05 if quick else 0.2
    common: dict[str, Any] = {"rounds": rounds, "min_seconds": min_seconds}
    schema = example_schema()
    example = (EXAMPLE / "document.json").read_bytes()
    labels = example_labels()
    pretty = generate_document(indent=2)
    compact = generate_document(indent=None)
    last = {POOL_LABEL: f"p{OVERRIDES - 1:04d}"}
    first = {POOL_LABEL: "p0000"}
    results = [
        _case(
            "example document: parse+merge+validate",
            schema,
            example,
            labels,
            absolute_target_seconds=50e-6,
            **common,
        ),
        _case("1000 overrides, matches last", schema, pretty, last, ratio_target=3.0, **common),
        _case("same, compact JSON", schema, compact, last, ratio_target=3.0, **common),
        _case(
            "same, compact, node matches the first",
            schema,
            compact,
            first,
            ratio_target=3.0,
            **common,
        ),
    ]
    if (EXAMPLE / "agent.py").exists():
        results.append(
            _case(
                "example document, dataclass config",
                _dataclass_schema(),
                example,
                labels,
                absolute_target_seconds=50e-6,
                **common,
            )
        )
    return results
