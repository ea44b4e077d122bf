"""The quick acceptance predicate of a generic schema: its yes is always the validator's."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nodeconf.errors import SchemaError
from nodeconf.model.generic import JsonSchemaConfig
from nodeconf.model.generic.accept import acceptor, acceptor_over
from nodeconf.model.generic.check import defaults_of, validate
from nodeconf.model.generic.fromjsonschema import compile_json_schema
from nodeconf.model.generic.merge import plain_merge

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "any-agent"

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([0.0, 1.0, 2.5, -1.5, 1e300]),
    st.sampled_from(["", "a", "ab", "/x", "abc", "http://h"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    ),
    max_leaves=8,
)
TYPES = st.sampled_from(["null", "boolean", "object", "array", "number", "string", "integer"])


def keyword_schemas() -> st.SearchStrategy[dict[str, Any]]:
    """One schema node: any type set and any mix of the supported keywords (no defaults)."""
    leaf = st.fixed_dictionaries(
        {},
        optional={
            "type": st.one_of(TYPES, st.lists(TYPES, min_size=1, max_size=3, unique=True)),
            "enum": st.lists(SCALARS, min_size=1, max_size=3),
            "const": SCALARS,
            "minimum": st.integers(-3, 3),
            "maximum": st.integers(-3, 3),
            "exclusiveMinimum": st.sampled_from([-1, 0, 0.5]),
            "exclusiveMaximum": st.sampled_from([1, 2.5]),
            "minLength": st.integers(0, 2),
            "maxLength": st.integers(0, 3),
            "pattern": st.sampled_from(["^/", "b", "^https?://"]),
            "minItems": st.integers(0, 2),
            "maxItems": st.integers(0, 3),
        },
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.fixed_dictionaries(
                {"type": st.sampled_from(["array", ["array", "null"]]), "items": inner},
                optional={"minItems": st.integers(0, 2)},
            ),
            st.fixed_dictionaries(
                {
                    "properties": st.dictionaries(
                        st.sampled_from(["a", "b", "c"]), inner, max_size=3
                    ),
                },
                optional={
                    "type": st.sampled_from(["object", ["object", "null"]]),
                    "required": st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True),
                    "additionalProperties": st.one_of(st.booleans(), leaf),
                },
            ),
        ),
        max_leaves=6,
    )


@settings(max_examples=400, deadline=None)
@given(keyword_schemas(), JSON)
@example({"enum": [False], "const": None}, False)
@example({"type": "object", "required": ["a", "b"]}, {"b": 1})
def test_a_quick_yes_is_never_a_value_with_problems(node: dict[str, Any], value: Any) -> None:
    """Whenever the quick predicate accepts a value, the full validator finds no problem."""
    spec, _ = compile_json_schema({"type": "object", "properties": {"x": node}})
    field = spec.properties["x"]
    if acceptor(field)(value):
        assert validate(field, value) == []


QUICK_CASES = [
    ("integer in bounds", {"type": "integer", "minimum": 1, "maximum": 9}, 5),
    ("number, exclusive bound", {"type": "number", "exclusiveMinimum": 0}, 0.5),
    ("string with pattern and length", {"type": "string", "pattern": "^/", "maxLength": 9}, "/x"),
    ("string enum", {"enum": ["a", "b"]}, "b"),
    ("typed enum of integers", {"type": "integer", "enum": [1, 2]}, 2),
    ("const", {"const": True}, True),
    ("nullable string", {"type": ["string", "null"]}, None),
    ("array of strings", {"type": "array", "items": {"type": "string"}, "minItems": 1}, ["a"]),
    ("closed object", {"type": "object", "additionalProperties": False}, {}),
]


@pytest.mark.parametrize(
    ("node", "value"), [c[1:] for c in QUICK_CASES], ids=[c[0] for c in QUICK_CASES]
)
def test_common_schema_nodes_accept_valid_values_quickly(node: dict[str, Any], value: Any) -> None:
    """The kinds of node that configs are made of say yes to a valid value themselves."""
    spec, _ = compile_json_schema({"type": "object", "properties": {"x": node}})
    assert acceptor(spec)({"x": value})


@pytest.mark.parametrize(
    ("node", "value"),
    [
        ({"type": "integer"}, True),
        ({"enum": [1]}, True),
        ({"type": "number", "maximum": 1}, 2),
        ({"type": "string", "pattern": "^/"}, "x"),
        ({"type": "object", "required": ["a"]}, {}),
        ({"type": "object", "required": ["a", "b"]}, {"a": 1}),
        ({"type": "object", "required": ["a", "b", "c", "d"]}, {"a": 1, "b": 2, "c": 3}),
        ({"type": "object", "additionalProperties": False}, {"a": 1}),
        ({"type": "array", "items": {"type": "integer"}}, [1, "2"]),
    ],
)
def test_an_invalid_value_is_never_accepted_quickly(node: dict[str, Any], value: Any) -> None:
    """A value that breaks a rule gets no quick yes (the validator then reports it)."""
    spec, _ = compile_json_schema({"type": "object", "properties": {"x": node}})
    assert not acceptor(spec)({"x": value})


def test_the_example_config_is_accepted_quickly() -> None:
    """The bundled example's effective config passes without the full validator."""
    schema = JsonSchemaConfig.from_text((EXAMPLE / "schema.json").read_bytes())
    document = json.loads((EXAMPLE / "document.json").read_text())
    evaluation = schema.evaluate(schema.parse(json.dumps(document)), {"pool": "gpu"})
    assert evaluation.valid
    spec, _ = compile_json_schema(json.loads((EXAMPLE / "schema.json").read_text()))
    assert acceptor(spec)(evaluation.config.to_json())


def defaulted(node: dict[str, Any], default: Any) -> dict[str, Any]:
    """``node`` with ``default`` when the schema allows it as its default, else as it is."""
    try:
        spec, _ = compile_json_schema({"type": "object", "properties": {"z": node}})
    except SchemaError:
        return node
    return {**node, "default": default} if validate(spec.properties["z"], default) == [] else node


def with_defaults(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``node`` with a valid ``default`` on some of its properties."""
    properties = node.get("properties")
    if not properties:
        return st.just(node)
    drawn = {
        key: st.one_of(st.just(sub), JSON.map(lambda d, sub=sub: defaulted(sub, d)))
        for key, sub in properties.items()
    }
    return st.fixed_dictionaries(drawn).map(lambda p: {**node, "properties": p})


def rooted(node: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A config schema with ``node`` (defaults drawn inside it too) as its properties."""
    return with_defaults(node).flatmap(
        lambda inner: with_defaults({"type": "object", "properties": {"x": inner, "y": inner}})
    )


@settings(max_examples=400, deadline=None)
@given(
    keyword_schemas().flatmap(rooted),
    st.dictionaries(st.sampled_from(["x", "y", "a"]), JSON, max_size=3),
    st.data(),
)
def test_passing_defaults_by_changes_no_answer(
    node: dict[str, Any], layer: Any, data: st.DataObject
) -> None:
    """The predicate that passes the valid defaults by says yes wherever the one that checks
    them does, and only for a value without problems, for a value merged over the defaults
    (sharing their objects) or any other value."""
    spec, _ = compile_json_schema(node)
    found = defaults_of(spec)
    defaults = found if type(found) is dict else {}
    merged = plain_merge(defaults, layer, None)
    value = data.draw(st.sampled_from([merged, layer, defaults]))
    quick = acceptor_over(spec, defaults)(value)
    assert quick or not acceptor(spec)(value)
    assert not quick or validate(spec, value) == []


def test_a_default_the_quick_check_would_send_to_the_validator_is_passed_by() -> None:
    """A default valid by the schema's number equality (``0.0`` in ``enum: [0]``), which the
    quick check alone leaves to the validator, is passed by once known valid: still valid."""
    spec, _ = compile_json_schema(
        {"type": "object", "properties": {"y": {"enum": [0], "default": 0.0}}}
    )
    defaults = defaults_of(spec)
    assert isinstance(defaults, dict)
    assert not acceptor(spec)(defaults)
    assert acceptor_over(spec, defaults)(defaults)
    assert validate(spec, defaults) == []


def test_schema_text_never_becomes_code() -> None:
    """Keys, patterns and enum values that look like Python are constants of the generated
    function, never part of its text."""
    hostile = "x'): return True\nimport os #"
    spec, _ = compile_json_schema(
        {
            "type": "object",
            "properties": {
                hostile: {"enum": [hostile]},
                "p": {"type": "string", "pattern": re.escape(hostile)},
            },
            "required": [hostile],
        }
    )
    accept = acceptor(spec)
    assert hostile not in accept.source  # type: ignore[attr-defined]
    assert "import" not in accept.source  # type: ignore[attr-defined]
    assert accept({hostile: hostile})
    assert not accept({hostile: "y"})
    assert accept({hostile: hostile, "p": hostile})
    assert not accept({hostile: hostile, "p": "y"})


def test_a_schema_deeper_than_the_inline_depth_is_checked_whole() -> None:
    """Below the depth written inline, nodes are checked by a call: a bad leaf 20 objects
    down is still refused, a good one accepted."""
    node: dict[str, Any] = {"type": "integer", "maximum": 1}
    for _ in range(20):
        node = {"type": "object", "properties": {"a": node}}
    spec, _ = compile_json_schema(node)
    value: Any = 1
    bad: Any = 2
    for _ in range(20):
        value, bad = {"a": value}, {"a": bad}
    assert acceptor(spec)(value)
    assert not acceptor(spec)(bad)
    assert validate(spec, bad) != []


@pytest.mark.parametrize(
    ("node", "value", "expected"),
    [
        ({"type": "integer", "default": 1}, True, False),
        ({"enum": [1, "a"], "default": 1}, True, False),
        ({"type": "integer", "default": 0}, 0.0, False),
        ({"type": "boolean", "default": False}, 0, False),
        ({"type": "number", "default": 1}, 1.0, True),
    ],
)
def test_a_value_equal_to_the_default_is_still_checked(
    node: dict[str, Any], value: Any, expected: bool
) -> None:
    """Only the default object itself is passed by: an equal value of another JSON type
    (``true`` for the default ``1``) is checked, and refused where its type is wrong."""
    spec, _ = compile_json_schema({"type": "object", "properties": {"x": node}})
    found = defaults_of(spec)
    assert type(found) is dict
    assert acceptor_over(spec, found)({"x": value}) is expected
    assert acceptor_over(spec, found)(found)
