"""Generic schemas: layering (defaults <- globalConfig <- matching override) and selection."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nodeconf.model.generic import JsonSchemaConfig

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "level": {"enum": ["debug", "info", "warn"], "default": "info"},
        "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "limits": {
            "type": "object",
            "properties": {
                "rate": {"type": "integer", "default": 100},
                "burst": {"type": "integer", "default": 200},
                "window": {
                    "type": "object",
                    "properties": {
                        "seconds": {"type": "number", "default": 1},
                        "slots": {"type": "integer", "default": 10},
                    },
                },
            },
        },
        "note": {"type": ["string", "null"]},
    },
}
DEFAULTS: dict[str, Any] = {
    "level": "info",
    "tags": ["a", "b"],
    "limits": {"rate": 100, "burst": 200, "window": {"seconds": 1, "slots": 10}},
}


def schema(overrides: str = "last-match") -> JsonSchemaConfig:
    return JsonSchemaConfig.from_dict(SCHEMA, overrides=overrides)


def effective(document: Any, labels: dict[str, str], overrides: str = "last-match") -> Any:
    s = schema(overrides)
    doc = None if document is None else s.parse(json.dumps(document))
    evaluation = s.evaluate(doc, labels)
    assert evaluation.valid, evaluation.errors
    return evaluation.config.to_json()


def pool(name: str) -> dict[str, Any]:
    return {"matchLabels": {"pool": name}}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(base))
    for dotted, value in changes.items():
        node = out
        *path, last = dotted.split("__")
        for key in path:
            node = node[key]
        node[last] = value
    return out


MERGE_CASES = [
    ("no document", None, {}, DEFAULTS),
    ("empty document", {}, {}, DEFAULTS),
    ("empty globalConfig", {"globalConfig": {}}, {}, DEFAULTS),
    ("null globalConfig", {"globalConfig": None}, {}, DEFAULTS),
    (
        "top-level scalar replaced",
        {"globalConfig": {"level": "warn"}},
        {},
        with_(DEFAULTS, level="warn"),
    ),
    (
        "nested key merged, siblings keep defaults",
        {"globalConfig": {"limits": {"rate": 5}}},
        {},
        with_(DEFAULTS, limits__rate=5),
    ),
    (
        "default at depth three kept beside a set sibling",
        {"globalConfig": {"limits": {"window": {"slots": 3}}}},
        {},
        with_(DEFAULTS, limits__window__slots=3),
    ),
    (
        "array replaced whole, not merged",
        {"globalConfig": {"tags": ["z"]}},
        {},
        with_(DEFAULTS, tags=["z"]),
    ),
    (
        "empty array replaces a default array",
        {"globalConfig": {"tags": []}},
        {},
        with_(DEFAULTS, tags=[]),
    ),
    (
        "null is a value and replaces",
        {"globalConfig": {"note": None}},
        {},
        {**DEFAULTS, "note": None},
    ),
    (
        "override merges over global, key by key",
        {
            "globalConfig": {"limits": {"rate": 5, "burst": 6}},
            "nodesConfig": [{"selector": pool("a"), "limits": {"burst": 7}}],
        },
        {"pool": "a"},
        with_(DEFAULTS, limits__rate=5, limits__burst=7),
    ),
    (
        "override without globalConfig still applies",
        {"nodesConfig": [{"selector": pool("a"), "level": "debug"}]},
        {"pool": "a"},
        with_(DEFAULTS, level="debug"),
    ),
    (
        "no override matches: global only",
        {
            "globalConfig": {"level": "warn"},
            "nodesConfig": [{"selector": pool("a"), "level": "debug"}],
        },
        {"pool": "b"},
        with_(DEFAULTS, level="warn"),
    ),
    (
        "override without selector applies to no node",
        {"nodesConfig": [{"level": "debug"}]},
        {"pool": "a"},
        DEFAULTS,
    ),
    (
        "empty selector matches every node",
        {"nodesConfig": [{"selector": {}, "level": "debug"}]},
        {},
        with_(DEFAULTS, level="debug"),
    ),
    (
        "invalid selector makes the override inert",
        {"nodesConfig": [{"selector": {"matchLabels": {"bad key!": "x"}}, "level": "debug"}]},
        {"bad key!": "x"},
        DEFAULTS,
    ),
    (
        "unknown keys are left out of the config",
        {"globalConfig": {"levle": "debug", "limits": {"rat": 1}}},
        {},
        DEFAULTS,
    ),
]


@pytest.mark.parametrize(
    ("document", "labels", "expected"),
    [case[1:] for case in MERGE_CASES],
    ids=[case[0] for case in MERGE_CASES],
)
def test_merge_table(document: Any, labels: dict[str, str], expected: Any) -> None:
    """The effective config is defaults <- globalConfig <- the matching override, deep-merged."""
    assert effective(document, labels) == expected


TWO_MATCHES = {
    "globalConfig": {"limits": {"rate": 1}},
    "nodesConfig": [
        {"selector": pool("a"), "limits": {"burst": 2}, "level": "warn"},
        {"selector": {"matchLabels": {"zone": "z"}}, "limits": {"rate": 3}},
    ],
}


def test_last_match_applies_only_the_last_matching_override() -> None:
    """With last-match, an earlier matching override contributes nothing."""
    got = effective(TWO_MATCHES, {"pool": "a", "zone": "z"})
    assert got == with_(DEFAULTS, limits__rate=3)


def test_every_match_applies_each_matching_override_in_order() -> None:
    """With every-match, matching overrides apply in document order, later over earlier."""
    got = effective(TWO_MATCHES, {"pool": "a", "zone": "z"}, overrides="every-match")
    assert got == with_(DEFAULTS, level="warn", limits__rate=3, limits__burst=2)


def test_every_match_opt_in_from_the_schema_file() -> None:
    """``x-nodeconf: {overrides: every-match}`` in the schema selects every-match."""
    s = JsonSchemaConfig.from_dict({**SCHEMA, "x-nodeconf": {"overrides": "every-match"}})
    assert s.overrides == "every-match"
    got = s.evaluate(s.parse(json.dumps(TWO_MATCHES)), {"pool": "a", "zone": "z"})
    assert got.config.to_json()["level"] == "warn"


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    requirement: dict[str, Any] = {"key": key, "operator": op}
    if values:
        requirement["values"] = list(values)
    return {"matchExpressions": [requirement]}


SELECTOR_CASES = [
    ("matchLabels equal", pool("a"), {"pool": "a"}, True),
    ("matchLabels other value", pool("a"), {"pool": "b"}, False),
    ("matchLabels missing label", pool("a"), {}, False),
    ("In: value listed", expr("zone", "In", "z1", "z2"), {"zone": "z2"}, True),
    ("In: value not listed", expr("zone", "In", "z1"), {"zone": "z3"}, False),
    ("In: label absent", expr("zone", "In", "z1"), {}, False),
    ("NotIn: value not listed", expr("zone", "NotIn", "z1"), {"zone": "z2"}, True),
    ("NotIn: label absent", expr("zone", "NotIn", "z1"), {}, True),
    ("NotIn: value listed", expr("zone", "NotIn", "z1"), {"zone": "z1"}, False),
    ("Exists: present", expr("gpu", "Exists"), {"gpu": ""}, True),
    ("Exists: absent", expr("gpu", "Exists"), {}, False),
    ("DoesNotExist: absent", expr("gpu", "DoesNotExist"), {}, True),
    ("DoesNotExist: present", expr("gpu", "DoesNotExist"), {"gpu": "x"}, False),
    (
        "matchLabels and matchExpressions both needed",
        {**pool("a"), **expr("gpu", "Exists")},
        {"pool": "a"},
        False,
    ),
]


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [case[1:] for case in SELECTOR_CASES],
    ids=[case[0] for case in SELECTOR_CASES],
)
def test_selector_operators(selector: Any, labels: dict[str, str], matches: bool) -> None:
    """Each selector operator decides whether its override applies, as in Kubernetes."""
    document = {"nodesConfig": [{"selector": selector, "level": "debug"}]}
    got = effective(document, labels)
    assert (got["level"] == "debug") is matches


def test_label_keys_are_those_the_selectors_read() -> None:
    """``label_keys`` names exactly the keys of the valid selectors, none of a broken one."""
    s = schema()
    doc = s.parse(
        json.dumps(
            {
                "nodesConfig": [
                    {"selector": pool("a")},
                    {"selector": expr("zone", "In", "z1")},
                    {"selector": expr("bad", "Near", "x")},
                ]
            }
        )
    )
    assert s.label_keys(doc) == frozenset({"pool", "zone"})
    assert s.label_keys(None) == frozenset()


def test_relabel_changes_which_override_applies() -> None:
    """The same document gives another config when the node's labels change."""
    document = {
        "nodesConfig": [
            {"selector": pool("a"), "level": "debug"},
            {"selector": pool("b"), "level": "warn"},
        ]
    }
    assert effective(document, {"pool": "a"})["level"] == "debug"
    assert effective(document, {"pool": "b"})["level"] == "warn"
