"""Property-based tests (hypothesis) of the generic layering over generated schemas."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.generic import JsonSchemaConfig

FAST = settings(max_examples=120, deadline=None)
KEYS = ("a", "b", "c", "d")


def leaf_schemas() -> st.SearchStrategy[dict[str, Any]]:
    integer = st.tuples(st.integers(-50, 0), st.integers(0, 50)).flatmap(
        lambda b: st.integers(*b).map(
            lambda d: {"type": "integer", "minimum": b[0], "maximum": b[1], "default": d}
        )
    )
    string = st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, unique=True).flatmap(
        lambda opts: st.sampled_from(opts).map(lambda d: {"enum": opts, "default": d})
    )
    boolean = st.booleans().map(lambda d: {"type": "boolean", "default": d})
    array = st.integers(0, 3).map(
        lambda n: {
            "type": "array",
            "items": {"type": "integer", "minimum": 0},
            "maxItems": 3,
            "default": list(range(n)),
        }
    )
    return st.one_of(integer, string, boolean, array)


def object_schemas(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    child = leaf_schemas() if depth == 0 else st.one_of(leaf_schemas(), object_schemas(depth - 1))
    return st.dictionaries(st.sampled_from(KEYS), child, min_size=1, max_size=3).map(
        lambda props: {"type": "object", "properties": props}
    )


def values(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid partial values (a layer) for ``schema``."""
    if "properties" in schema:
        return st.fixed_dictionaries(
            {}, optional={k: values(v) for k, v in schema["properties"].items()}
        )
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema["type"] == "integer":
        return st.integers(schema["minimum"], schema["maximum"])
    if schema["type"] == "boolean":
        return st.booleans()
    return st.lists(st.integers(0, 9), max_size=3)


POOLS = st.sampled_from(["p1", "p2", "p3"])


@st.composite
def cases(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    schema = draw(object_schemas(2))
    entries = draw(
        st.lists(
            st.tuples(POOLS, values(schema)).map(
                lambda t: {"selector": {"matchLabels": {"pool": t[0]}}, **t[1]}
            ),
            max_size=4,
        )
    )
    document: dict[str, Any] = {"nodesConfig": entries}
    if draw(st.booleans()):
        document["globalConfig"] = draw(values(schema))
    labels = {"pool": draw(POOLS)}
    return schema, document, labels


def defaults(schema: dict[str, Any]) -> Any:
    if "properties" in schema:
        return {k: defaults(v) for k, v in schema["properties"].items()}
    return schema["default"]


def merge(base: Any, layer: Any) -> Any:
    if isinstance(base, dict) and isinstance(layer, dict):
        out = dict(base)
        for k, v in layer.items():
            out[k] = merge(out[k], v) if k in out else v
        return out
    return layer


@FAST
@given(cases())
def test_effective_config_of_a_valid_document_validates(case: Any) -> None:
    """Defaults plus valid layers always give a config that passes the config's schema."""
    schema, document, labels = case
    s = JsonSchemaConfig.from_dict(schema)
    evaluation = s.evaluate(s.parse(json.dumps(document)), labels)
    assert evaluation.valid, evaluation.errors
    again = JsonSchemaConfig.from_dict(s.config_json_schema())
    assert again.evaluate(
        again.parse(json.dumps({"globalConfig": evaluation.config.to_json()})), {}
    ).valid
    assert s.check_document(s.parse(json.dumps(document))) == ()


@FAST
@given(cases(), st.integers(0, 5))
def test_an_empty_override_changes_nothing(case: Any, at: int) -> None:
    """An override that matches but sets nothing leaves the config as the layers below it
    made it: under last-match, as if no override matched; under every-match, wherever it is."""
    schema, document, labels = case
    empty = {"selector": {"matchLabels": dict(labels)}}
    last = JsonSchemaConfig.from_dict(schema)
    alone = last.evaluate(last.parse(json.dumps({**document, "nodesConfig": []})), labels)
    with_empty = {**document, "nodesConfig": [*document["nodesConfig"], empty]}
    assert last.evaluate(last.parse(json.dumps(with_empty)), labels).config == alone.config
    every = JsonSchemaConfig.from_dict(schema, overrides="every-match")
    entries = list(document["nodesConfig"])
    entries.insert(min(at, len(entries)), empty)
    before = every.evaluate(every.parse(json.dumps(document)), labels).config
    after = every.evaluate(every.parse(json.dumps({**document, "nodesConfig": entries})), labels)
    assert after.config == before


@FAST
@given(cases())
def test_last_match_is_defaults_then_global_then_last_match(case: Any) -> None:
    """The effective config equals defaults <- globalConfig <- the last matching override."""
    schema, document, labels = case
    s = JsonSchemaConfig.from_dict(schema)
    got = s.evaluate(s.parse(json.dumps(document)), labels).config.to_json()
    expected = merge(defaults(schema), document.get("globalConfig", {}))
    matching = [
        e for e in document["nodesConfig"] if e["selector"]["matchLabels"]["pool"] == labels["pool"]
    ]
    if matching:
        expected = merge(expected, {k: v for k, v in matching[-1].items() if k != "selector"})
    assert got == expected


@FAST
@given(cases())
def test_every_match_is_each_match_in_order(case: Any) -> None:
    """With every-match, the config equals defaults <- global <- each match in order."""
    schema, document, labels = case
    s = JsonSchemaConfig.from_dict(schema, overrides="every-match")
    got = s.evaluate(s.parse(json.dumps(document)), labels).config.to_json()
    expected = merge(defaults(schema), document.get("globalConfig", {}))
    for e in document["nodesConfig"]:
        if e["selector"]["matchLabels"]["pool"] == labels["pool"]:
            expected = merge(expected, {k: v for k, v in e.items() if k != "selector"})
    assert got == expected
