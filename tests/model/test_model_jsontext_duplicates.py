"""The cheap duplicate-key check of document text: its "none" is always right."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from nodeconf.model.jsontext import (
    count_keys,
    decode_object,
    find_duplicates,
    may_have_duplicates,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "any-agent"

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


def test_many_ports_are_found_at_once_and_a_duplicate_still_counts() -> None:
    """More other colons than are looked for one by one (ports, times of day) are all found
    by one search: no duplicate is proved as such; one duplicate key still is not."""
    members = [f'"h{i}": "http://h{i}:80/x {i}:30"' for i in range(20)]
    text = "{" + ", ".join(members) + "}"
    assert not may_have_duplicates(text, 20)
    duplicated = "{" + ", ".join([*members, members[0]]) + "}"
    assert may_have_duplicates(duplicated, count_keys(decode_object(duplicated)))


#: Keys that end in characters that can stand before a colon, or hold colons and quotes.
KEY_TEXTS = ["a", "b", "a:", ":", "h:80", 'x\\"', '\\"', "a b", "c ", "//", "\\u003a"]
#: String values a document holds: colons after letters, quotes, blanks; URLs; escapes.
VALUE_TEXTS = [
    "",
    "x",
    ":",
    "::",
    "a:b",
    "12:30",
    "a :b",
    "a\\n:b",
    '\\":',
    '\\" :',
    "https://logs.example.com:4318",
    "http://[::1]:80/p",
    "://",
    " ://x",
    "\\\\",
    "\\u0022:",
]
#: Blanks that may stand around a colon or between members (JSON's four).
LAYOUT = st.sampled_from(["", " ", "  ", "\n", "\n  ", "\t", "\r\n", " \n\t"])


@st.composite
def documents(draw: st.DrawFn, depth: int = 3) -> str:
    """A JSON value's text in any layout: keys repeated or not, strings full of colons."""
    kind = draw(st.sampled_from(["object", "object", "array", "string", "number"]))
    if depth == 0 or kind == "string":
        return '"' + draw(st.sampled_from(VALUE_TEXTS)) + '"'
    if kind == "number":
        return draw(st.sampled_from(["0", "-1", "2.5e3", "true", "null"]))
    if kind == "array":
        items = draw(st.lists(documents(depth - 1), max_size=3))
        return "[" + ",".join(f"{draw(LAYOUT)}{item}{draw(LAYOUT)}" for item in items) + "]"
    members = []
    for _ in range(draw(st.integers(0, 4))):
        key = '"' + draw(st.sampled_from(KEY_TEXTS)) + '"'
        value = draw(documents(depth - 1))
        members.append(f"{draw(LAYOUT)}{key}{draw(LAYOUT)}:{draw(LAYOUT)}{value}{draw(LAYOUT)}")
    return "{" + ",".join(members) + "}"


def _has_duplicate(text: str) -> bool:
    """Whether any object in ``text`` repeats a key, as the standard decoder's pairs show."""
    found = False

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        nonlocal found
        names = [name for name, _ in items]
        found = found or len(set(names)) != len(names)
        return dict(items)

    json.loads(text, object_pairs_hook=pairs)
    return found


@settings(max_examples=1500, deadline=None)
@given(documents().map(lambda body: "{" + f'"doc":{body}' + "}"))
@example('{"a" :1,"a":2}')
@example('{"a":1,\n"a"\n:2}')
@example('{"a":"x:y","a":1}')
@example('{"u":"https://h:1","u":"https://h:2"}')
@example('{"a":"\\":","a":1}')
@example('{"a":{"b":1},"a":{"b":2}}')
def test_every_text_with_a_duplicate_key_is_sent_to_the_exact_search(text: str) -> None:
    """Any layout, any colons and quotes in strings: a duplicate key always answers True."""
    keys = count_keys(decode_object(text))
    if _has_duplicate(text):
        assert may_have_duplicates(text, keys)
    else:
        assert find_duplicates(text) == []


#: String values whose every colon follows neither a quote nor a blank.
OTHER_COLON_VALUES = st.sampled_from(
    ["x", "a:b", "12:30:59", "https://logs.example.com:4318", "http://[::1]:80/p", "c://d"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(OTHER_COLON_VALUES, min_size=1, max_size=6), LAYOUT, LAYOUT)
def test_colons_that_follow_no_quote_nor_blank_do_not_force_the_slow_search(
    values: list[str], before: str, after: str
) -> None:
    """Distinct keys, colons in values only after other characters: proved free of duplicates."""
    members = (f'"k{i}"{before}:{after}"{value}"' for i, value in enumerate(values))
    assert not may_have_duplicates("{" + ",".join(members) + "}", len(values))


def test_the_example_document_is_proved_free_of_duplicates() -> None:
    """The bundled example (a URL with a port) is proved free of duplicates: no slow path."""
    text = (EXAMPLE / "document.json").read_text(encoding="utf-8")
    assert not may_have_duplicates(text, count_keys(decode_object(text)))
