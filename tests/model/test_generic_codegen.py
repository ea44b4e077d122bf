"""The generated merge and scan: each does exactly what its module docstring says
(``nodeconf.model.generic.merge``, ``nodeconf.model.generic.scan``), checked against a plain
reading of that text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from nodeconf.model.findings import Findings
from nodeconf.model.generic.accept import acceptor, acceptor_over
from nodeconf.model.generic.check import defaults_of, validate
from nodeconf.model.generic.fromjsonschema import compile_json_schema
from nodeconf.model.generic.merge import merger
from nodeconf.model.generic.scan import entry_scanners, scanner
from nodeconf.model.generic.spec import UNSET, Spec

KEYS = st.sampled_from(["a", "b", "c", "selector"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["", "s"]))
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=10,
)
LEAF = st.sampled_from(
    [
        {},
        {"type": "integer"},
        {"type": "string"},
        {"type": "array", "items": {"type": "integer"}},
        {"enum": ["a", 1]},
        {"enum": [{"a": 1}]},
        {"const": 1},
    ]
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


def keyless(spec: Spec) -> bool:
    """No valid value of ``spec`` holds an object key."""
    if spec.enum is not None and all(type(v) not in (dict, list) for v in spec.enum):
        return True
    if spec.const is not UNSET and type(spec.const) not in (dict, list):
        return True
    types = spec.types
    if types is None or "object" in types:
        return False
    return spec.items is None or keyless(spec.items)


def every_key(value: Any) -> int:
    if type(value) is dict:
        return len(value) + sum(every_key(v) for v in value.values())
    if type(value) is list:
        return sum(every_key(v) for v in value)
    return 0


def scan(spec: Spec | None, value: Any, path: str, skip: str | None, unknown: list[str]) -> int:
    """The keys the scan counts in ``value``; the paths of the unknown keys go to ``unknown``.
    Keys inside a property that holds no keys (a scalar) are not counted."""
    if spec is None:
        return every_key(value)
    if type(value) is list:
        return sum(
            scan(spec.items, v, f"{path}[{i}]", None, unknown)
            for i, v in enumerate(value)
            if type(v) is dict or type(v) is list
        )
    if type(value) is not dict:
        return 0
    n = len(value)
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key == skip:
            continue
        if key in spec.properties:
            sub = spec.properties[key]
            if not keyless(sub) and (type(item) is dict or type(item) is list):
                n += scan(sub, item, where, None, unknown)
        elif isinstance(spec.additional, Spec):
            if type(item) is dict or type(item) is list:
                n += scan(spec.additional, item, where, None, unknown)
        elif spec.additional or not spec.properties:
            n += every_key(item)
        else:
            unknown.append(where)
            n += every_key(item)  # counted where it is reported
    return n


@settings(max_examples=500, deadline=None)
@given(roots(), st.dictionaries(KEYS, JSON, max_size=4), st.sampled_from([None, "selector"]))
@example(  # an object of scalars: counted by one set comparison
    {"type": "object", "properties": {"a": {"properties": {"b": {"type": "integer"}}}}},
    {"a": {"b": 1}, "c": 2},
    None,
)
@example(  # deeper than the inline depth, with an unknown key at the bottom
    {
        "type": "object",
        "properties": {
            "a": {
                "properties": {
                    "a": {"properties": {"a": {"properties": {"a": {"properties": {"b": {}}}}}}}
                }
            }
        },
    },
    {"a": {"a": {"a": {"a": {"a": {"z": 1}}}}}},
    "selector",
)
def test_the_generated_scan_is_the_documented_scan(
    node: dict[str, Any], value: dict[str, Any], skip: str | None
) -> None:
    """For any schema and layer, the generated scan warns about exactly the unknown keys, at
    their paths, and counts the keys it passes (never more than the layer has)."""
    spec, _ = compile_json_schema(node)
    f = Findings()
    if skip is None:
        scanner(spec)(value, "", (), f)
    else:
        entry_scanners(spec, skip)[0](value, "", (), f)
    unknown: list[str] = []
    expected = scan(spec, value, "", skip, unknown)
    assert f.keys == expected
    assert f.keys <= every_key(value)
    assert sorted(w.path for w in f.warnings.issues()) == sorted(unknown)


#: A wide schema: more properties (and object properties) than any generated function writes
#: one by one, so the table forms are used.
WIDE: dict[str, Any] = {
    "type": "object",
    "properties": {
        **{
            f"o{i}": {"type": "object", "properties": {"a": {"type": "integer"}}} for i in range(20)
        },
        **{f"s{i}": {"type": "integer", "minimum": 0, "default": i} for i in range(20)},
        "m": {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(40)}},
    },
}
WIDE_KEYS = st.sampled_from(["o1", "o17", "s0", "s19", "m", "zz", "selector", "a", "p3", "p39"])
WIDE_JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=2), st.dictionaries(WIDE_KEYS, inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(WIDE_KEYS, WIDE_JSON, max_size=4),
    st.dictionaries(WIDE_KEYS, WIDE_JSON, max_size=4),
    st.sampled_from([None, "selector"]),
)
def test_wide_schemas_merge_and_scan_as_documented(
    base: dict[str, Any], layer: dict[str, Any], skip: str | None
) -> None:
    """Objects with many properties (read through tables, not one statement per property)
    merge and scan exactly as the documented readings say."""
    spec, _ = compile_json_schema(WIDE)
    got = merger(spec)(base, layer, skip)
    assert json.dumps(got, sort_keys=True) == json.dumps(
        merge(spec, base, layer, skip), sort_keys=True
    )
    f = Findings()
    (scanner(spec) if skip is None else entry_scanners(spec, skip)[0])(layer, "", (), f)
    unknown: list[str] = []
    assert f.keys == scan(spec, layer, "", skip, unknown)
    assert sorted(w.path for w in f.warnings.issues()) == sorted(unknown)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(WIDE_KEYS, WIDE_JSON, max_size=4))
@example({"s0": False})  # equal to the default 0, of another JSON type
def test_wide_schemas_are_accepted_only_when_valid(layer: dict[str, Any]) -> None:
    """The quick predicate of a wide schema, over its defaults, answers as the one without
    them and never says yes to a value with problems."""
    spec, _ = compile_json_schema(WIDE)
    found = defaults_of(spec)
    assert type(found) is dict
    value = merger(spec)(found, layer, None)
    quick = acceptor_over(spec, found)(value)
    assert quick == acceptor(spec)(value)
    if quick:
        assert validate(spec, value) == []
