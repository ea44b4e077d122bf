"""Property-based tests (hypothesis) of the parser and the merge."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.errors import DocumentError
from nodeconf.model import (
    COLOCATION,
    FIELDS,
    SECTIONS,
    ColocationConfig,
    Evaluation,
    config_from_json,
)

FAST = settings(max_examples=150, deadline=None)

_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_SMALL = st.integers(min_value=-5, max_value=1100)


def _field_value(type_: type) -> st.SearchStrategy[Any]:
    if type_ is bool:
        return st.booleans() | st.none()
    if type_ is int:
        return _SMALL | _INT64 | st.none()
    return st.sampled_from(["", "cpu", "memory", "cpu,memory", "gpu", "cpu,,memory"]) | st.none()


def _section(section: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {}, optional={f.name: _field_value(f.type) for f in section.fields}
    )


#: A well-typed ColocationConfig object (any subset of sections and fields, nulls included).
config_objects = st.fixed_dictionaries({}, optional={s.key: _section(s) for s in SECTIONS})

_KEYS = st.sampled_from(
    [
        "pool",
        "zone",
        "example.com/tier",
        "volcano.sh/colocation",
        "volcano.sh/oversubscription",
        "bad key",
    ]
)
_VALUES = st.sampled_from(["a", "b", "true", "1", "false", "", "no!"])
labels_st = st.dictionaries(_KEYS, _VALUES, max_size=4)

_expression = st.fixed_dictionaries(
    {"key": _KEYS, "operator": st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "in"])},
    optional={"values": st.lists(_VALUES, max_size=3)},
)
selectors = st.none() | st.fixed_dictionaries(
    {},
    optional={
        "matchLabels": st.dictionaries(_KEYS, _VALUES, max_size=2),
        "matchExpressions": st.lists(_expression, max_size=2),
    },
)


@st.composite
def overrides(draw: st.DrawFn, selector: st.SearchStrategy[Any] = selectors) -> dict[str, Any]:
    entry = dict(draw(config_objects))
    chosen = draw(selector)
    if chosen is not None:
        entry["selector"] = chosen
    return entry


documents = st.fixed_dictionaries(
    {}, optional={"globalConfig": config_objects, "nodesConfig": st.lists(overrides(), max_size=4)}
)

_json_leaf = (
    st.none()
    | st.booleans()
    | _SMALL
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
)
_json_keys = st.sampled_from(
    [
        "globalConfig",
        "nodesConfig",
        "selector",
        "matchLabels",
        "matchExpressions",
        "key",
        "operator",
        "values",
    ]
    + [s.key for s in SECTIONS]
    + [f.name for f in FIELDS]
) | st.text(max_size=4)
any_json = st.recursive(
    _json_leaf,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_json_keys, children, max_size=5)
    ),
    max_leaves=30,
)


def evaluate(doc: dict[str, Any], labels: dict[str, str]) -> Evaluation:
    return COLOCATION.evaluate(COLOCATION.parse(json.dumps(doc)), labels)


@FAST
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_raise_document_error(data: bytes) -> None:
    """Whatever the bytes, parse returns a document or raises DocumentError, nothing else."""
    with contextlib.suppress(DocumentError):
        COLOCATION.parse(data)


@FAST
@given(st.text(alphabet='{}[]":,0123456789.eE-+tfrulnas \\\n', max_size=80))
def test_json_like_text_parses_or_raises_document_error(text: str) -> None:
    """Text made of JSON punctuation parses or raises DocumentError, nothing else."""
    with contextlib.suppress(DocumentError):
        COLOCATION.parse(text)


@FAST
@given(any_json, labels_st)
def test_any_json_value_never_breaks_parse_evaluate_or_check(
    value: Any, labels: dict[str, str]
) -> None:
    """Any JSON with our key names: parse raises only DocumentError; the rest never raises."""
    try:
        doc = COLOCATION.parse(json.dumps(value))
    except DocumentError:
        return
    result = COLOCATION.evaluate(doc, labels)
    assert isinstance(result.config, ColocationConfig)
    COLOCATION.check_document(doc)
    COLOCATION.label_keys(doc)


@FAST
@given(documents, labels_st)
def test_merge_is_deterministic(doc: dict[str, Any], labels: dict[str, str]) -> None:
    """The same document and labels always give the same config and errors."""
    first = evaluate(doc, labels)
    again = evaluate(json.loads(json.dumps(doc)), dict(reversed(list(labels.items()))))
    assert first == again
    assert hash(first.config) == hash(again.config)


@FAST
@given(config_objects, labels_st)
def test_an_empty_override_changes_nothing(
    global_config: dict[str, Any], labels: dict[str, str]
) -> None:
    """An override that sets nothing gives the same result as no override at all."""
    with_empty = evaluate(
        {"globalConfig": global_config, "nodesConfig": [{"selector": {}}]}, labels
    )
    without = evaluate({"globalConfig": global_config}, labels)
    assert with_empty.config == without.config
    assert [i.message for i in with_empty.errors] == [i.message for i in without.errors]


@FAST
@given(config_objects, st.lists(overrides(), max_size=4), config_objects, labels_st)
def test_last_matching_override_wins_whatever_earlier_ones_say(
    global_config: dict[str, Any],
    earlier: list[dict[str, Any]],
    last: dict[str, Any],
    labels: dict[str, str],
) -> None:
    """A final match-all override alone decides: earlier overrides make no difference."""
    final = {**last, "selector": {}}
    crowded = evaluate({"globalConfig": global_config, "nodesConfig": [*earlier, final]}, labels)
    alone = evaluate({"globalConfig": global_config, "nodesConfig": [final]}, labels)
    assert crowded.config == alone.config


@FAST
@given(documents, labels_st)
def test_render_parse_render_is_a_fixed_point(doc: dict[str, Any], labels: dict[str, str]) -> None:
    """Rendering a config, reading it back and rendering again gives the same JSON.

    Read back both as a config and as the globalConfig of a document evaluated for the same
    labels (that form needs a globalConfig in the original: without one, Volcano's quirk
    skips the node labels).
    """
    config = evaluate(doc, labels).config
    rendered = config.to_json()
    assert config_from_json(json.dumps(rendered)).to_json() == rendered
    if doc.get("globalConfig") is not None:
        as_document = evaluate({"globalConfig": rendered}, labels)
        assert as_document.config.to_json() == rendered


@FAST
@given(documents)
def test_changed_sections_is_empty_exactly_for_equal_configs(doc: dict[str, Any]) -> None:
    """changed_sections(a, b) is empty iff a == b."""
    a = evaluate(doc, {}).config
    b = evaluate({}, {}).config
    assert (COLOCATION.changed_sections(a, b) == frozenset()) == (a == b)
