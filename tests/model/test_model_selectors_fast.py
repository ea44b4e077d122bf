"""The selector compiler's fast paths give what its general reading gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.findings import Findings
from nodeconf.model.selectorread import _compile_general, compile_override_selector
from nodeconf.model.selectors import as_selector

KEYS = st.sampled_from(["pool", "topology.kubernetes.io/zone", "bad key", "a/b/c", "", None, 3])
VALUES = st.one_of(
    st.sampled_from(["gpu", "edge-1", "a.b_c", "", "-bad", "x" * 64, "é"]),
    st.sampled_from([None, 5]),
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
SELECTOR = st.one_of(
    EXPRESSIONS.map(lambda e: {"matchExpressions": e}),
    EXPRESSIONS.map(lambda e: {"matchExpressions": e, "matchLabels": {"pool": "gpu"}}),
)


def _read(compile_: Any, raw: object) -> tuple[object, list[object], list[object], int]:
    f = Findings()
    selector = as_selector(compile_(raw, 4, f))
    return selector, list(f.warnings), list(f.errors), f.keys


@settings(max_examples=500, deadline=None)
@given(SELECTOR)
def test_match_expressions_fast_path_agrees_with_the_general_reading(raw: Any) -> None:
    """Any matchExpressions selector compiles, warns, errs and counts keys alike either way."""
    assert _read(compile_override_selector, raw) == _read(_compile_general, raw)


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
