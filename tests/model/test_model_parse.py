"""Parsing: strict types, null as unset, unknown and duplicate keys, bad input (issue 2.5)."""

from __future__ import annotations

import json

import pytest

from nodeconf.errors import DocumentError
from nodeconf.model import COLOCATION, MAX_DOCUMENT_BYTES, ColocationDocument
from nodeconf.model.fields import field_index


def parse(obj: object) -> ColocationDocument:
    return COLOCATION.parse(json.dumps(obj))


def global_value(doc: ColocationDocument, section: str, name: str) -> object:
    assert doc.global_values is not None
    return doc.global_values.get(field_index(section, name))


# --- unreadable input: DocumentError, never anything else ---------------------------------


def test_bad_json_reports_line_and_column() -> None:
    """Malformed JSON raises DocumentError carrying the 1-based line and column."""
    with pytest.raises(DocumentError) as exc:
        COLOCATION.parse('{\n  "globalConfig": {,}\n}')
    assert (exc.value.line, exc.value.column) == (2, 20)
    assert exc.value.reason.startswith("invalid JSON")


@pytest.mark.parametrize("text", ["[]", "1", '"x"', "true"])
def test_non_object_top_level_is_rejected(text: str) -> None:
    """A document whose top level is not an object is a DocumentError."""
    with pytest.raises(DocumentError, match="must be a JSON object"):
        COLOCATION.parse(text)


def test_empty_text_is_rejected() -> None:
    """An empty document is not JSON."""
    with pytest.raises(DocumentError, match="invalid JSON"):
        COLOCATION.parse("")


def test_non_utf8_bytes_are_rejected_with_position() -> None:
    """Bytes that are not UTF-8 raise DocumentError pointing at the bad byte."""
    with pytest.raises(DocumentError, match="not valid UTF-8") as exc:
        COLOCATION.parse(b'{"globalConfig":\n {"x": "\xff"}}')
    assert (exc.value.line, exc.value.column) == (2, 9)


def test_document_over_one_mebibyte_is_rejected_with_the_limit() -> None:
    """More than 1,048,576 bytes is refused, saying it is over the ConfigMap limit."""
    body = b'{"globalConfig": {}, "pad": "' + b"x" * MAX_DOCUMENT_BYTES + b'"}'
    with pytest.raises(DocumentError, match="over the ConfigMap limit of 1048576 bytes"):
        COLOCATION.parse(body)


def test_document_of_exactly_one_mebibyte_is_accepted() -> None:
    """The limit is inclusive: exactly 1 MiB still parses."""
    head = b'{"globalConfig": {}, "pad": "'
    body = head + b"x" * (MAX_DOCUMENT_BYTES - len(head) - 2) + b'"}'
    assert len(body) == MAX_DOCUMENT_BYTES
    assert COLOCATION.parse(body).has_global_config


def test_size_limit_counts_utf8_bytes_of_text_input() -> None:
    """A str input is measured in UTF-8 bytes, not characters."""
    text = '{"pad": "' + "é" * (MAX_DOCUMENT_BYTES // 2) + '"}'
    assert len(text) < MAX_DOCUMENT_BYTES
    with pytest.raises(DocumentError, match="over the ConfigMap limit"):
        COLOCATION.parse(text)


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_ten_thousand_deep_nesting_is_a_document_error(opener: str) -> None:
    """10,000-deep nesting raises DocumentError, not RecursionError."""
    closer = "]" if opener == "[" else "}"
    text = '{"x": ' + opener * 10_000 + "1" + closer * 10_000 + "}"
    with pytest.raises(DocumentError, match="nested too deeply"):
        COLOCATION.parse(text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_json_constants_are_rejected_with_position(constant: str) -> None:
    """NaN and Infinity are not JSON (Go refuses them); the error points at them."""
    with pytest.raises(DocumentError, match="is not a JSON value") as exc:
        COLOCATION.parse('{"a": "NaN",\n "b": ' + constant + "}")
    assert (exc.value.line, exc.value.column) == (2, 7)


def test_integer_literal_too_long_to_convert_is_a_document_error() -> None:
    """An integer with more digits than Python converts is a DocumentError, not ValueError."""
    with pytest.raises(DocumentError):
        COLOCATION.parse('{"a": ' + "9" * 5000 + "}")


def test_lone_surrogate_in_text_over_the_fast_size_check_is_a_document_error() -> None:
    """A str that cannot be encoded to UTF-8 is reported, not raised as UnicodeError."""
    text = '{"a": "\ud800' + "x" * (MAX_DOCUMENT_BYTES // 3) + '"}'
    with pytest.raises(DocumentError, match="not valid UTF-8"):
        COLOCATION.parse(text)


def test_non_text_input_is_a_document_error() -> None:
    """Something that is neither str nor bytes is refused with DocumentError."""
    with pytest.raises(DocumentError, match="text or bytes"):
        COLOCATION.parse(12)  # type: ignore[arg-type]


# --- strict types ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "name", "bad", "message"),
    [
        ("cpuQosConfig", "enable", "true", "must be a boolean, got string"),
        ("cpuQosConfig", "enable", 1, "must be a boolean, got integer"),
        ("evictingConfig", "evictingCPUHighWatermark", 80.5, "must be an integer, got number"),
        ("evictingConfig", "evictingCPUHighWatermark", 80.0, "must be an integer, got number"),
        ("evictingConfig", "evictingCPUHighWatermark", True, "must be an integer, got boolean"),
        ("evictingConfig", "evictingCPUHighWatermark", "80", "must be an integer, got string"),
        ("evictingConfig", "evictingCPUHighWatermark", [80], "must be an integer, got array"),
        ("overSubscriptionConfig", "overSubscriptionTypes", 1, "must be a string, got integer"),
        ("overSubscriptionConfig", "overSubscriptionTypes", {}, "must be a string, got object"),
        ("networkQosConfig", "qosCheckInterval", 2**63, "integer out of range"),
        ("networkQosConfig", "qosCheckInterval", -(2**63) - 1, "integer out of range"),
    ],
)
def test_wrong_type_is_an_error_with_its_path(
    section: str, name: str, bad: object, message: str
) -> None:
    """A wrongly typed value is an error Issue at its path, and the field stays unset."""
    doc = parse({"globalConfig": {section: {name: bad}}})
    (issue,) = doc.errors
    assert issue.path == f"globalConfig.{section}.{name}"
    assert issue.value == bad
    assert issue.message.startswith(message)
    assert issue.severity == "error"
    assert global_value(doc, section, name) is None


@pytest.mark.parametrize("value", [2**63 - 1, -(2**63)])
def test_64_bit_integer_bounds_are_accepted(value: int) -> None:
    """The extreme signed 64-bit integers are valid integers."""
    doc = parse({"globalConfig": {"networkQosConfig": {"qosCheckInterval": value}}})
    assert doc.errors == ()
    assert global_value(doc, "networkQosConfig", "qosCheckInterval") == value


def test_exponent_notation_is_not_an_integer() -> None:
    """1e2 decodes to a number, not an integer, as in Go."""
    doc = COLOCATION.parse('{"globalConfig": {"evictingConfig": {"evictingCPULowWatermark": 1e2}}}')
    assert doc.errors[0].message == "must be an integer, got number"


def test_section_of_wrong_type_is_an_error() -> None:
    """A section that is not an object is an error at the section's path."""
    doc = parse({"globalConfig": {"cpuQosConfig": True}})
    assert [(i.path, i.message) for i in doc.errors] == [
        ("globalConfig.cpuQosConfig", "must be an object, got boolean")
    ]


def test_global_config_of_wrong_type_is_an_error_and_counts_as_absent() -> None:
    """globalConfig that is not an object is an error; the document then has no global config."""
    doc = parse({"globalConfig": []})
    assert doc.errors[0].path == "globalConfig"
    assert not doc.has_global_config


def test_nodes_config_of_wrong_type_is_an_error() -> None:
    """nodesConfig must be an array."""
    doc = parse({"globalConfig": {}, "nodesConfig": {"selector": {}}})
    assert [i.path for i in doc.errors] == ["nodesConfig"]
    assert doc.overrides == ()


def test_override_that_is_not_an_object_is_an_error_and_skipped() -> None:
    """A nodesConfig entry that is not an object is an error; the others keep their index."""
    doc = parse({"globalConfig": {}, "nodesConfig": [3, {"selector": {}}]})
    assert [i.path for i in doc.errors] == ["nodesConfig[0]"]
    assert [o.position for o in doc.overrides] == [1]


def test_wrong_type_inside_an_override_has_the_override_path() -> None:
    """Type errors in overrides carry nodesConfig[i] in their path."""
    doc = parse(
        {"globalConfig": {}, "nodesConfig": [{}, {"selector": {}, "cpuBurstConfig": {"enable": 0}}]}
    )
    assert doc.errors[0].path == "nodesConfig[1].cpuBurstConfig.enable"


def test_every_type_error_is_collected_at_once() -> None:
    """All type errors are reported together, in document order."""
    doc = parse(
        {
            "globalConfig": {"cpuQosConfig": {"enable": "x"}, "cpuBurstConfig": {"enable": "y"}},
            "nodesConfig": [{"selector": {}, "memoryQosConfig": {"enable": "z"}}],
        }
    )
    assert [i.value for i in doc.errors] == ["x", "y", "z"]


# --- null means unset ---------------------------------------------------------------------


def test_null_field_is_unset() -> None:
    """A null field is not set and is not an error."""
    doc = parse({"globalConfig": {"cpuQosConfig": {"enable": None}}})
    assert doc.errors == ()
    assert global_value(doc, "cpuQosConfig", "enable") is None


def test_null_section_is_unset() -> None:
    """A null section is not set and is not an error."""
    doc = parse({"globalConfig": {"evictingConfig": None}, "nodesConfig": None})
    assert (doc.errors, doc.overrides) == ((), ())
    assert doc.has_global_config


def test_null_global_config_means_no_global_config() -> None:
    """globalConfig: null is the same as no globalConfig."""
    assert not parse({"globalConfig": None}).has_global_config


# --- unknown and duplicate keys: warnings ------------------------------------------------


def test_unknown_field_is_a_warning_with_path_and_hint() -> None:
    """A typo'd field is ignored and reported with its path and the likely intended name."""
    doc = parse({"globalConfig": {"evictingConfig": {"evictingCPUHighWatermak": 90}}})
    (warning,) = doc.warnings
    assert warning.path == "globalConfig.evictingConfig.evictingCPUHighWatermak"
    assert warning.severity == "warning"
    assert "did you mean 'evictingCPUHighWatermark'" in warning.message
    assert doc.errors == ()
    assert doc.global_values == {}


@pytest.mark.parametrize(
    ("obj", "path"),
    [
        ({"globalConfig": {}, "extra": 1}, "extra"),
        ({"globalConfig": {"cpuQosConfg": {}}}, "globalConfig.cpuQosConfg"),
        ({"globalConfig": {"selector": {}}}, "globalConfig.selector"),
        ({"nodesConfig": [{"selector": {}, "bogus": []}]}, "nodesConfig[0].bogus"),
        ({"nodesConfig": [{"selector": {"matchLabel": {}}}]}, "nodesConfig[0].selector.matchLabel"),
        (
            {
                "nodesConfig": [
                    {
                        "selector": {
                            "matchExpressions": [{"key": "a", "operator": "Exists", "value": []}]
                        }
                    }
                ]
            },
            "nodesConfig[0].selector.matchExpressions[0].value",
        ),
        ({"globalConfig": {"a b": 1}}, 'globalConfig["a b"]'),
    ],
)
def test_unknown_keys_anywhere_are_warnings(obj: object, path: str) -> None:
    """Unknown keys at every level are reported as warnings with their path."""
    doc = parse(obj)
    assert path in [w.path for w in doc.warnings if w.message.startswith("unknown field")]
    assert doc.errors == ()


def test_duplicate_key_last_wins_and_is_warned() -> None:
    """With a duplicate key the last value wins (as in Go) and a warning names its path."""
    doc = COLOCATION.parse(
        '{"globalConfig": {"evictingConfig": '
        '{"evictingCPUHighWatermark": 70, "evictingCPUHighWatermark": 90}}}'
    )
    assert global_value(doc, "evictingConfig", "evictingCPUHighWatermark") == 90
    (warning,) = doc.warnings
    assert warning.path == "globalConfig.evictingConfig.evictingCPUHighWatermark"
    assert "duplicate key" in warning.message
    assert warning.value == 90


def test_duplicate_keys_are_found_even_with_colons_inside_strings() -> None:
    """Colons in strings do not hide duplicate keys (the slow path then names them)."""
    doc = COLOCATION.parse(
        '{"x": "a:b", "globalConfig": {"cpuQosConfig": {"enable": true}}, '
        '"nodesConfig": [{"selector": {}}, '
        '{"selector": {}, "cpuQosConfig": {}, "cpuQosConfig": {}}]}'
    )
    assert [w.path for w in doc.warnings if "duplicate" in w.message] == [
        "nodesConfig[1].cpuQosConfig"
    ]


def test_colons_inside_strings_alone_raise_no_duplicate_warning() -> None:
    """A colon inside a string is not mistaken for a duplicate key."""
    doc = COLOCATION.parse('{"globalConfig": {}, "note": "a: b: c"}')
    assert [w.path for w in doc.warnings] == ["note"]


def test_duplicate_top_level_key_is_warned() -> None:
    """Duplicates at the top level are found too."""
    doc = COLOCATION.parse(
        '{"globalConfig": {}, "globalConfig": {"cpuQosConfig": {"enable": true}}}'
    )
    assert [w.path for w in doc.warnings] == ["globalConfig"]
    assert global_value(doc, "cpuQosConfig", "enable") is True


def test_node_label_config_in_the_document_is_read_and_type_checked() -> None:
    """nodeLabelConfig is part of the table: its values are type-checked like any section."""
    doc = parse({"globalConfig": {"nodeLabelConfig": {"nodeColocationEnable": "yes"}}})
    assert doc.errors[0].path == "globalConfig.nodeLabelConfig.nodeColocationEnable"


def test_byte_and_text_input_parse_alike() -> None:
    """bytes and str of the same document give the same result."""
    text = '{"globalConfig": {"cpuQosConfig": {"enable": true}}}'
    a, b = COLOCATION.parse(text), COLOCATION.parse(text.encode())
    assert a.global_values == b.global_values


def test_a_number_with_thousands_of_digits_is_refused_in_our_words() -> None:
    """A 5,000-digit number is an error at its position, with no Python-specific hint."""
    with pytest.raises(DocumentError) as caught:
        COLOCATION.parse('{"globalConfig":\n {"x": ' + "1" * 5000 + "}}")
    assert caught.value.line == 2
    assert caught.value.column == 8
    assert "5000 digits" in caught.value.reason
    assert "sys." not in str(caught.value)
