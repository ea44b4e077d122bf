"""The document decoder: the same value, and the same error at the same place, as the standard
library's ``json`` decoder with the same settings, for any text."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from nodeconf.model.jsontext import _DECODER, _decode

#: Pieces of (possibly broken) JSON text, blanks of every kind around them.
PIECES = st.sampled_from(
    ["{", "}", "[", "]", '"a"', ":", ",", "1", "null", "true", " ", "\n", "\t", "\r", "x", ""]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(PIECES, max_size=12).map("".join))
@example('{"a": 1}\n')
@example('  {"a": 1}  ')
@example('{"a": 1} x')
@example("")
@example("   ")
@example("[1] ")
def test_the_decoder_answers_as_the_standard_decoder(text: str) -> None:
    """Value, or error message and position: exactly ``json.JSONDecoder.decode``'s."""
    try:
        expected: object = ("value", json.dumps(_DECODER.decode(text)))
    except json.JSONDecodeError as exc:
        expected = ("error", exc.msg, exc.pos)
    try:
        got: object = ("value", json.dumps(_decode(text)))
    except json.JSONDecodeError as exc:
        got = ("error", exc.msg, exc.pos)
    assert got == expected
