"""Node labels: Go ParseBool, the --node-labels parser, label syntax and its verdicts."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.errors import DocumentError
from nodeconf.model import parse_bool, parse_label_pairs
from nodeconf.model.findings import Findings
from nodeconf.model.labels import VALUE_PATTERN, LabelVerdicts, label_value_error
from nodeconf.model.selectorread import compile_override_selector

#: Strings near the edges of a label value: the allowed characters, others, lengths around 63.
VALUE_TEXT = st.one_of(
    st.text(alphabet="aZ09-_./ é\n", max_size=8),
    st.builds(
        lambda c, n, d: c + "x" * n + d,
        st.sampled_from("a-._"),
        st.integers(58, 64),
        st.sampled_from("a-._"),
    ),
)


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_parse_bool_true_spellings(text: str) -> None:
    """Go's ParseBool true spellings are true."""
    assert parse_bool(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "f",
        "F",
        "FALSE",
        "false",
        "False",
        "",
        "yes",
        "on",
        "tRUE",
        " true",
        "true ",
        "2",
        None,
    ],
)
def test_parse_bool_everything_else_is_false(text: str | None) -> None:
    """False spellings, anything unparseable and a missing label are all false."""
    assert parse_bool(text) is False


def test_label_pairs_are_parsed() -> None:
    """k=v pairs separated by commas become a dict; blanks around items are ignored."""
    assert parse_label_pairs("a=1, example.com/b=x_y ,c=") == {
        "a": "1",
        "example.com/b": "x_y",
        "c": "",
    }


def test_empty_label_text_is_no_labels() -> None:
    """An empty or blank string means no labels."""
    assert parse_label_pairs("") == {}
    assert parse_label_pairs("  ") == {}


def test_value_may_contain_equals_sign_only_if_valid() -> None:
    """Only the first '=' separates; the rest belongs to the value and must be valid."""
    with pytest.raises(DocumentError, match="label value"):
        parse_label_pairs("a=b=c")


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("a", 1, "not of the form key=value"),
        ("a=1,b", 5, "not of the form key=value"),
        ("a=1,,b=2", 5, "empty item"),
        ("-a=1", 1, "name must be"),
        ("a=has space", 1, "label value"),
        ("a=1, a=2", 6, "given twice"),
        ("=1", 1, "empty name"),
    ],
)
def test_bad_label_pairs_raise_with_column(text: str, column: int, fragment: str) -> None:
    """Bad label text raises DocumentError naming <labels> and the column of the bad item."""
    with pytest.raises(DocumentError) as exc:
        parse_label_pairs(text)
    assert exc.value.source == "<labels>"
    assert exc.value.column == column
    assert fragment in exc.value.reason


@settings(max_examples=1000, deadline=None)
@given(VALUE_TEXT)
def test_value_pattern_accepts_what_label_value_error_accepts(value: str) -> None:
    """VALUE_PATTERN matches exactly the strings label_value_error finds valid."""
    assert (re.fullmatch(VALUE_PATTERN, value) is not None) is (label_value_error(value) is None)


@pytest.mark.parametrize(
    "selector",
    [
        lambda i: {"matchLabels": {f"k{i}": f"v-{i}", "pool": f"p{i}"}},
        lambda i: {"matchExpressions": [{"key": f"z{i}", "operator": "In", "values": [f"w{i}"]}]},
        lambda i: {"matchExpressions": [{"key": f"y{i}", "operator": "NotIn", "values": ["a"]}]},
    ],
    ids=["matchLabels", "In", "NotIn"],
)
def test_label_verdicts_stay_bounded_whatever_the_selectors(selector: Any) -> None:
    """Remembered keys and values never exceed LabelVerdicts.LIMIT, however many are read."""
    verdicts = LabelVerdicts()
    for i in range(3 * LabelVerdicts.LIMIT):
        compile_override_selector(selector(i), i, Findings(verdicts))
        assert len(verdicts.keys) <= LabelVerdicts.LIMIT
        assert len(verdicts.values) <= LabelVerdicts.LIMIT
    assert verdicts.keys  # the selectors were read: what is valid was remembered
    assert verdicts.values
