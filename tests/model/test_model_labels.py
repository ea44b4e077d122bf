"""Node labels: Go ParseBool, and the --node-labels parser."""

from __future__ import annotations

import pytest

from nodeconf.errors import DocumentError
from nodeconf.model import parse_bool, parse_label_pairs


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
