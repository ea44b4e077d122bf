"""The selector compiler's fast paths give what its general reading gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.findings import Findings
from nodeconf.model.generic.document import Entry, LayeredDocument
from nodeconf.model.labels import LabelVerdicts
from nodeconf.model.selectorread import _compile_general, compile_override_selector
from nodeconf.model.selectors import as_selector, selector_matches

KEYS = st.sampled_from(
    ["pool", "topology.kubernetes.io/zone", "bad key", "a/b/c", "", None, 3, ["pool"]]
)
VALUES = st.one_of(
    st.sampled_from(["gpu", "edge-1", "a.b_c", "", "-bad", "x" * 64, "é"]),
    st.sampled_from([None, 5, ["gpu"]]),
)
OPERATORS = st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "in", "Equals", None, 1])
ITEM = st.one_of(
    st.fixed_dictionaries(
        {"key": KEYS, "operator": OPERATORS},
        optional={
            "values": st.one_of(st.lists(VALUES, max_size=3), st.sampled_from([None, "x"])),
            "Values": st.just(["a"]),
            "extra": st.just(1),
        },
    ),
    st.sampled_from([None, [], "x"]),
)
EXPRESSIONS = st.one_of(st.lists(ITEM, max_size=3), st.sampled_from([None, {}, "x"]))
#: ``{"matchExpressions": [one In item]}``: the shape kept as an ``InPair``, and its near misses.
SINGLE_IN = st.fixed_dictionaries(
    {"key": KEYS, "operator": st.just("In"), "values": st.lists(VALUES, min_size=1, max_size=3)},
    optional={"extra": st.just(1), "Values": st.just(["a"])},
).map(lambda item: {"matchExpressions": [item]})
SELECTOR = st.one_of(
    SINGLE_IN,
    EXPRESSIONS.map(lambda e: {"matchExpressions": e}),
    EXPRESSIONS.map(lambda e: {"matchExpressions": e, "matchLabels": {"pool": "gpu"}}),
)


LABEL_KEYS = st.sampled_from(["pool", "topology.kubernetes.io/zone", "bad key", "a/b/c", "-x"])
LABEL_VALUES = st.one_of(
    st.sampled_from(["gpu", "edge-1", "a.b_c", "", "-bad", "x" * 63, "x" * 64, "a\nb", "é"]),
    st.sampled_from([None, 5, True, 1.5, ["a"], {"a": "b"}]),
)
MATCH_LABELS = st.one_of(
    st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=3),
    st.sampled_from([None, [], ["a"], "x", 3]),
).map(lambda m: {"matchLabels": m})
NODE_LABELS = st.dictionaries(
    st.sampled_from(["pool", "zone", "gpu", "spot"]), st.sampled_from(["a", "b", "c", "", "1"])
)


def _read(
    compile_: Any, raw: object, verdicts: LabelVerdicts | None = None
) -> tuple[object, list[object], list[object], int]:
    f = Findings(verdicts)
    selector = as_selector(compile_(raw, 4, f))
    return selector, list(f.warnings), list(f.errors), f.keys


@settings(max_examples=500, deadline=None)
@given(SELECTOR)
def test_match_expressions_fast_path_agrees_with_the_general_reading(raw: Any) -> None:
    """Any matchExpressions selector compiles, warns, errs and counts keys alike either way."""
    assert _read(compile_override_selector, raw) == _read(_compile_general, raw)


@settings(max_examples=500, deadline=None)
@given(MATCH_LABELS)
def test_match_labels_fast_path_agrees_with_the_general_reading(raw: Any) -> None:
    """Any matchLabels selector compiles, warns, errs and counts keys alike either way."""
    assert _read(compile_override_selector, raw) == _read(_compile_general, raw)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(MATCH_LABELS, SELECTOR), min_size=1, max_size=4))
def test_fast_paths_agree_with_the_general_reading_once_labels_are_remembered(
    selectors: list[Any],
) -> None:
    """With label verdicts kept across reads, a selector reads as the general reading says."""
    verdicts = LabelVerdicts()
    for raw in selectors + selectors:  # each read twice: checked first, then remembered
        assert _read(compile_override_selector, raw, verdicts) == _read(_compile_general, raw)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(MATCH_LABELS, SELECTOR), max_size=5), NODE_LABELS)
def test_compiled_selectors_match_as_their_selector_does(
    selectors: list[Any], labels: dict[str, str]
) -> None:
    """Every compiled shape selects what its Selector does; last_match finds the last one."""
    entries: tuple[Entry, ...] = tuple(
        (i, {}, compile_override_selector(s, i, Findings())) for i, s in enumerate(selectors)
    )
    matched = [e for e in entries if as_selector(e[2]).matches(labels)]
    assert [e for e in entries if selector_matches(e[2], labels)] == matched
    document = LayeredDocument(None, entries)
    assert document.last_match(labels) == (matched[-1] if matched else None)
    assert list(document.matching(labels, True)) == matched


def test_one_in_requirement_matches_only_its_values() -> None:
    """A single In requirement selects a node whose label is one of its values, nothing else."""
    raw = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
    compiled = compile_override_selector(raw, 0, Findings())
    document = LayeredDocument(None, ((0, {}, compiled),))
    for labels, selected in [
        ({"zone": "a"}, True),
        ({"zone": "b", "pool": "x"}, True),
        ({"zone": "c"}, False),
        ({"zone": ""}, False),
        ({"pool": "a"}, False),
        ({}, False),
    ]:
        assert selector_matches(compiled, labels) is selected
        assert (document.last_match(labels) is not None) is selected


def test_a_plain_match_expressions_selector_matches_as_written() -> None:
    """In, NotIn, Exists and DoesNotExist read by the fast path select as Kubernetes does."""
    raw = {
        "matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a", "b"]},
            {"key": "pool", "operator": "NotIn", "values": ["cpu"]},
            {"key": "gpu", "operator": "Exists"},
            {"key": "spot", "operator": "DoesNotExist"},
        ]
    }
    selector = as_selector(compile_override_selector(raw, 0, Findings()))
    assert selector.matches({"zone": "a", "gpu": "1"})
    assert not selector.matches({"zone": "c", "gpu": "1"})
    assert not selector.matches({"zone": "a", "gpu": "1", "pool": "cpu"})
    assert not selector.matches({"zone": "a"})
    assert not selector.matches({"zone": "b", "gpu": "1", "spot": ""})
