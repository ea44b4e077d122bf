"""One generic schema shared by threads: its lazily compiled checks and caches give every
thread the same answers (run on 4 threads at once by ``make test-ft``)."""

from __future__ import annotations

import json

import pytest

from nodeconf.model.generic import JsonSchemaConfig

pytestmark = pytest.mark.concurrency

#: Shared by every thread that runs these tests at once; nothing is compiled until first use.
SHARED = JsonSchemaConfig.from_dict(
    {
        "type": "object",
        "properties": {
            "limits": {
                "type": "object",
                "properties": {"rate": {"type": "integer", "minimum": 1, "default": 10}},
            },
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
        },
    }
)
TEXT = json.dumps(
    {
        "globalConfig": {"limits": {"rate": 5}, "typo": 1},
        "nodesConfig": [
            {"selector": {"matchLabels": {"pool": f"p{i}"}}, "limits": {"rate": i}}
            for i in range(50)
        ],
    }
)


def test_shared_schema_gives_every_thread_the_same_answers() -> None:
    """Parsing and evaluating with one shared schema from many threads at once is exact."""
    document = SHARED.parse(TEXT)
    assert [w.path for w in document.warnings] == ["globalConfig.typo"]
    for i in range(50):
        evaluation = SHARED.evaluate(document, {"pool": f"p{i}"})
        if i == 0:
            assert [e.path for e in evaluation.errors] == ["nodesConfig[0].limits.rate"]
        else:
            assert evaluation.valid
            assert evaluation.config.to_json() == {"limits": {"rate": i}, "tags": []}
    assert SHARED.label_keys(document) == frozenset({"pool"})
