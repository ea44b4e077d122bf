"""Kubernetes label selectors: exact semantics, validity, inert overrides (spec section 4.3)."""

from __future__ import annotations

import json

import pytest

from nodeconf.model import COLOCATION, compile_selector
from nodeconf.model.findings import Findings


def match(selector: object, labels: dict[str, str]) -> bool:
    return compile_selector(selector, "selector").matches(labels)


def warnings_of(selector: object) -> list[tuple[str, str]]:
    f = Findings()
    compile_selector(selector, "s", f)
    return [(w.path, w.message) for w in f.warnings]


def errors_of(selector: object) -> list[str]:
    f = Findings()
    compile_selector(selector, "s", f)
    return [e.path for e in f.errors]


NODE = {"pool": "a", "zone": "z1", "kubernetes.io/os": "linux"}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ({}, True),
        ({"matchLabels": {}}, True),
        ({"matchLabels": None, "matchExpressions": None}, True),
        ({"matchLabels": {}, "matchExpressions": []}, True),
        ({"matchLabels": {"pool": "a"}}, True),
        ({"matchLabels": {"pool": "b"}}, False),
        ({"matchLabels": {"missing": ""}}, False),
        ({"matchLabels": {"pool": "a", "zone": "z2"}}, False),
        ({"matchExpressions": [{"key": "pool", "operator": "In", "values": ["b", "a"]}]}, True),
        ({"matchExpressions": [{"key": "pool", "operator": "In", "values": ["b"]}]}, False),
        ({"matchExpressions": [{"key": "gone", "operator": "In", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "pool", "operator": "NotIn", "values": ["b"]}]}, True),
        ({"matchExpressions": [{"key": "gone", "operator": "NotIn", "values": ["a"]}]}, True),
        ({"matchExpressions": [{"key": "pool", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "gone", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "pool", "operator": "DoesNotExist"}]}, False),
        ({"matchExpressions": [{"key": "gone", "operator": "DoesNotExist", "values": []}]}, True),
        (
            {
                "matchLabels": {"pool": "a"},
                "matchExpressions": [
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}
                ],
            },
            True,
        ),
        (
            {
                "matchLabels": {"pool": "a"},
                "matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["z1"]}],
            },
            False,
        ),
    ],
)
def test_selector_semantics(selector: object, expected: bool) -> None:
    """matchLabels and the four operators follow Kubernetes exactly; requirements are ANDed."""
    assert match(selector, NODE) is expected


def test_missing_selector_matches_no_node() -> None:
    """No selector (or null) selects nothing, not even a node without labels."""
    assert not match(None, {})
    assert not match(None, NODE)


def test_empty_selector_matches_a_node_without_labels() -> None:
    """{} selects every node, including one with no labels at all."""
    assert match({}, {})


def test_not_in_and_does_not_exist_match_a_node_without_the_key() -> None:
    """NotIn and DoesNotExist select a node that lacks the key entirely."""
    assert match({"matchExpressions": [{"key": "k", "operator": "NotIn", "values": ["v"]}]}, {})
    assert match({"matchExpressions": [{"key": "k", "operator": "DoesNotExist"}]}, {})


def test_empty_label_value_matches_only_an_empty_label() -> None:
    """matchLabels {k: ""} needs the label present with the empty value."""
    assert match({"matchLabels": {"k": ""}}, {"k": ""})
    assert not match({"matchLabels": {"k": ""}}, {})


@pytest.mark.parametrize(
    ("selector", "path", "fragment"),
    [
        (
            {"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
            "s.matchExpressions[0].values",
            "must have no values",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "DoesNotExist", "values": ["x"]}]},
            "s.matchExpressions[0].values",
            "must have no values",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
            "s.matchExpressions[0].values",
            "needs at least one value",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "NotIn"}]},
            "s.matchExpressions[0].values",
            "needs at least one value",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "in", "values": ["x"]}]},
            "s.matchExpressions[0].operator",
            "not a valid label selector operator",
        ),
        (
            {"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
            "s.matchExpressions[0].operator",
            "not a valid label selector operator",
        ),
        (
            {"matchExpressions": [{"key": "a", "values": ["x"]}]},
            "s.matchExpressions[0].operator",
            "not a valid label selector operator",
        ),
        (
            {"matchExpressions": [{"operator": "Exists"}]},
            "s.matchExpressions[0].key",
            "empty name",
        ),
        ({"matchLabels": {"-bad": "x"}}, 's.matchLabels["-bad"]', "name must be"),
        ({"matchLabels": {"a/b/c": "x"}}, 's.matchLabels["a/b/c"]', "more than one '/'"),
        ({"matchLabels": {"/name": "x"}}, 's.matchLabels["/name"]', "empty prefix"),
        (
            {"matchLabels": {"Example.com/name": "x"}},
            's.matchLabels["Example.com/name"]',
            "DNS-1123",
        ),
        ({"matchLabels": {"example.com/": "x"}}, 's.matchLabels["example.com/"]', "empty name"),
        ({"matchLabels": {"k" * 64: "x"}}, "s.matchLabels." + "k" * 64, "63 characters"),
        ({"matchLabels": {"k": "v" * 64}}, "s.matchLabels.k", "63 characters"),
        ({"matchLabels": {"k": "has space"}}, "s.matchLabels.k", "label value"),
        ({"matchLabels": {"k": "bad-"}}, "s.matchLabels.k", "label value"),
        (
            {"matchExpressions": [{"key": "k", "operator": "In", "values": ["ok", "no!"]}]},
            "s.matchExpressions[0].values[1]",
            "label value",
        ),
    ],
)
def test_invalid_selector_is_a_warning_with_path(
    selector: object, path: str, fragment: str
) -> None:
    """An invalid selector is reported as a warning at the offending part and matches nothing."""
    found = warnings_of(selector)
    assert len(found) == 1
    assert found[0][0] == path
    assert fragment in found[0][1]
    assert found[0][1].startswith("invalid selector, override ignored")
    assert not match(selector, {"a": "x", "k": "ok", "-bad": "x"})


@pytest.mark.parametrize(
    "key",
    [
        "a",
        "A-b_c.d",
        "9",
        "example.com/name",
        "a.b-c.d/Name_1",
        "k" * 63,
        ("a" * 63 + ".") * 3 + "a" * 61 + "/n",
    ],
)
def test_valid_label_keys_are_accepted(key: str) -> None:
    """Keys with an optional DNS-1123 prefix (<= 253) and a name (<= 63) are valid."""
    assert warnings_of({"matchLabels": {key: "v"}}) == []


def test_prefix_longer_than_253_is_invalid() -> None:
    """A 254-character prefix is not a valid DNS-1123 subdomain."""
    prefix = ("a" * 63 + ".") * 3 + "a" * 62
    assert len(prefix) == 254
    assert len(warnings_of({"matchLabels": {prefix + "/n": "v"}})) == 1


def test_every_invalid_part_of_a_selector_is_reported() -> None:
    """All invalid parts are reported, not just the first."""
    found = warnings_of(
        {
            "matchLabels": {"-a": "x"},
            "matchExpressions": [
                {"key": "k", "operator": "Nope"},
                {"key": "k", "operator": "Exists", "values": ["v"]},
            ],
        }
    )
    assert [p for p, _ in found] == [
        's.matchLabels["-a"]',
        "s.matchExpressions[0].operator",
        "s.matchExpressions[1].values",
    ]


@pytest.mark.parametrize(
    ("selector", "path"),
    [
        ([], "s"),
        ("pool=a", "s"),
        ({"matchLabels": []}, "s.matchLabels"),
        ({"matchLabels": {"k": 1}}, "s.matchLabels.k"),
        ({"matchExpressions": {}}, "s.matchExpressions"),
        ({"matchExpressions": ["x"]}, "s.matchExpressions[0]"),
        ({"matchExpressions": [{"key": 1, "operator": "Exists"}]}, "s.matchExpressions[0].key"),
        ({"matchExpressions": [{"key": "k", "operator": 1}]}, "s.matchExpressions[0].operator"),
        (
            {"matchExpressions": [{"key": "k", "operator": "In", "values": "a"}]},
            "s.matchExpressions[0].values",
        ),
        (
            {"matchExpressions": [{"key": "k", "operator": "In", "values": [1]}]},
            "s.matchExpressions[0].values[0]",
        ),
    ],
)
def test_wrongly_typed_selector_is_an_error(selector: object, path: str) -> None:
    """JSON type errors in a selector are errors (Go cannot decode them); it matches nothing."""
    assert errors_of(selector) == [path]
    assert not match(selector, {"k": "a"})


def test_invalid_selector_makes_its_override_inert_without_exception() -> None:
    """Through the schema, an override with an invalid selector is skipped and warned about."""
    doc = COLOCATION.parse(
        json.dumps(
            {
                "globalConfig": {},
                "nodesConfig": [
                    {"selector": {}, "evictingConfig": {"evictingCPUHighWatermark": 70}},
                    {
                        "selector": {"matchExpressions": [{"key": "a", "operator": "Foo"}]},
                        "evictingConfig": {"evictingCPUHighWatermark": 50},
                    },
                ],
            }
        )
    )
    assert [w.path for w in doc.warnings] == [
        "nodesConfig[1].selector.matchExpressions[0].operator"
    ]
    config = COLOCATION.evaluate(doc, {"a": "x"}).config
    assert config.value("evictingConfig", "evictingCPUHighWatermark") == 70


def test_missing_selector_of_an_override_is_warned() -> None:
    """An override without a selector applies to no node, which is worth a warning."""
    doc = COLOCATION.parse('{"globalConfig": {}, "nodesConfig": [{"cpuQosConfig": {}}]}')
    assert [(w.path, w.message) for w in doc.warnings] == [
        ("nodesConfig[0].selector", "no selector: this override applies to no node")
    ]


def test_selector_keys_are_the_keys_it_reads() -> None:
    """A compiled selector lists the label keys it reads."""
    selector = compile_selector(
        {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, "s"
    )
    assert selector.keys == frozenset({"a", "b"})
