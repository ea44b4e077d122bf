"""The cheap duplicate-key check of document text: its "none" is always right."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from nodeconf.model.jsontext import (
    _OTHER_COLON,
    count_keys,
    decode_object,
    find_duplicates,
    may_have_duplicates,
)

#: Pieces of JSON text that put colons, quotes and blanks where keys are easily confused.
STRINGS = st.sampled_from(
    ['"a"', '"b"', '"a:b"', '"x\\":"', '"http://h:80/p"', '" : "', '"\\u003a"']
)
BLANKS = st.sampled_from(["", " ", "\n", "\t ", "\r\n"])


@st.composite
def objects(draw: st.DrawFn, depth: int = 2) -> str:
    """JSON object text, keys possibly repeated, with blanks and colons in odd places."""
    members = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(['"a"', '"b"', '"c:d"', '"e f"']))
        value = draw(
            st.one_of(STRINGS, st.just("1"))
            if depth == 0
            else st.one_of(STRINGS, objects(depth - 1))
        )
        members.append(f"{key}{draw(BLANKS)}:{draw(BLANKS)}{value}")
    return "{" + ",".join(members) + "}"


@settings(max_examples=400, deadline=None)
@given(objects())
def test_no_duplicates_is_said_only_of_text_without_duplicates(text: str) -> None:
    """When the cheap check says there is no duplicate key, the exact search finds none."""
    keys = count_keys(decode_object(text))
    if not may_have_duplicates(text, keys):
        assert find_duplicates(text) == []


def test_a_port_in_a_url_does_not_force_the_slow_search() -> None:
    """A colon after a host name is not taken for a key's colon: the check proves no duplicate."""
    text = '{"output": {"endpoint": "https://logs.example.com:4318"}, "level" : "info"}'
    assert not may_have_duplicates(text, 3)


@settings(max_examples=400, deadline=None)
@given(objects())
def test_colons_after_a_quote_or_blank_are_counted_by_what_precedes_each(text: str) -> None:
    """The colons the one regex leaves are those after a quote or a blank, counted one by one."""

    after = sum(text.count(pair) for pair in ('":', " :", "\n:", "\t:", "\r:"))
    assert text.count(":") - len(_OTHER_COLON(text)) == after
