"""The generated layer merge: it lays one layer over a config exactly as the module docstring
of ``nodeconf.model.generic.merge`` says, checked against a plain reading of that text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.generic.fromjsonschema import compile_json_schema
from nodeconf.model.generic.merge import merger
from nodeconf.model.generic.spec import Spec

KEYS = st.sampled_from(["a", "b", "c", "selector"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "s"]))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=10,
)
LEAF = st.sampled_from(
    [{}, {"type": "integer"}, {"type": "string"}, {"type": "array", "items": {"type": "integer"}}]
)


def nodes() -> st.SearchStrategy[dict[str, Any]]:
    """Schema nodes: leaves, arrays, and objects with any ``additionalProperties``."""
    return st.recursive(
        LEAF,
        lambda inner: st.one_of(
            inner.map(lambda i: {"type": "array", "items": i}),
            st.fixed_dictionaries(
                {"type": st.just("object"), "properties": st.dictionaries(KEYS, inner, max_size=3)},
                optional={"additionalProperties": st.one_of(st.booleans(), inner)},
            ),
        ),
        max_leaves=8,
    )


def roots() -> st.SearchStrategy[dict[str, Any]]:
    """A config schema (an object without a ``selector`` property)."""
    return st.fixed_dictionaries(
        {
            "type": st.just("object"),
            "properties": st.dictionaries(st.sampled_from(["a", "b", "c"]), nodes(), max_size=3),
        },
        optional={"additionalProperties": st.one_of(st.booleans(), nodes())},
    )


def clean(spec: Any, value: Any) -> Any:
    """``value`` without the keys ``spec`` does not know, at any depth."""
    if not isinstance(spec, Spec):
        return value  # additionalProperties true/false: every key kept
    if type(value) is dict:
        if spec.additional is None:
            return {
                k: clean(spec.properties[k], v) for k, v in value.items() if k in spec.properties
            }
        return {k: clean(spec.properties.get(k, spec.additional), v) for k, v in value.items()}
    if type(value) is list and spec.items is not None:
        return [clean(spec.items, v) for v in value]
    return value


def merge(spec: Any, base: dict[str, Any], layer: dict[str, Any], skip: str | None) -> Any:
    """``layer`` over ``base``: objects key by key, anything else replaced (cleaned)."""
    properties = spec.properties if isinstance(spec, Spec) else {}
    additional = spec.additional if isinstance(spec, Spec) else True
    out = dict(base)
    for key, value in layer.items():
        if key in properties:
            sub = properties[key]
        elif key == skip or additional is None:
            continue
        else:
            sub = additional
        old = out.get(key)
        if type(old) is dict and type(value) is dict:
            out[key] = merge(sub, old, value, None)
        elif type(value) is dict or type(value) is list:
            out[key] = clean(sub, value)
        else:
            out[key] = value
    return out


@settings(max_examples=500, deadline=None)
@given(
    roots(),
    st.dictionaries(KEYS, JSON, max_size=4),
    st.dictionaries(KEYS, JSON, max_size=4),
    st.sampled_from([None, "selector"]),
)
def test_the_generated_merge_is_the_documented_merge(
    node: dict[str, Any], base: dict[str, Any], layer: dict[str, Any], skip: str | None
) -> None:
    """For any schema, config and layer (unknown keys, wrong types, the selector included), the
    generated merge gives the documented result, JSON types and all."""
    spec, _ = compile_json_schema(node)
    got = merger(spec)(base, layer, skip)
    assert json.dumps(got, sort_keys=True) == json.dumps(
        merge(spec, base, layer, skip), sort_keys=True
    )


def test_a_schema_deeper_than_the_inline_depth_merges_whole() -> None:
    """Objects below the depth written inline are merged by a call, to any depth."""
    node: dict[str, Any] = {"type": "integer"}
    base: Any = 1
    layer: Any = 2
    for _ in range(12):
        node = {"type": "object", "properties": {"a": node, "b": {"type": "integer"}}}
        base, layer = {"a": base, "b": 0}, {"a": layer}
    spec, _ = compile_json_schema(node)
    merged = merger(spec)(base, layer, None)
    for _ in range(12):
        assert merged["b"] == 0
        merged = merged["a"]
    assert merged == 2
