"""``--log-format text|json``: what one log record looks like in each format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from nodeconf.status.logformat import configure_logging, reset_logging


@pytest.fixture
def capture() -> Iterator[tuple[io.StringIO, list[logging.Handler]]]:
    stream = io.StringIO()
    installed: list[logging.Handler] = []
    yield stream, installed
    for handler in installed:
        reset_logging(handler)


def _log(fmt: str, capture: tuple[io.StringIO, list[logging.Handler]]) -> logging.Logger:
    stream, installed = capture
    installed.append(configure_logging(fmt, stream=stream))  # type: ignore[arg-type]
    return logging.getLogger("nodeconf.test")


def test_json_format_writes_one_object_per_line_with_extras(capture) -> None:
    """A JSON record carries time, level, logger, message and every extra field."""
    _log("json", capture).info("config applied %s", "now", extra={"revision": 3})
    (line,) = capture[0].getvalue().splitlines()
    entry = json.loads(line)
    assert entry["level"] == "INFO"
    assert entry["logger"] == "nodeconf.test"
    assert entry["message"] == "config applied now"
    assert entry["revision"] == 3
    assert entry["time"].endswith("Z")


def test_json_format_keeps_a_traceback_inside_the_object(capture) -> None:
    """An exception is logged as a field of the same JSON line, not as extra lines."""
    log = _log("json", capture)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    (line,) = capture[0].getvalue().splitlines()
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_text_format_is_one_line_without_extras(capture) -> None:
    """A text record is ``time LEVEL logger: message``; extra fields are for the JSON format."""
    _log("text", capture).warning("retrying", extra={"listener": "exec:hook", "delay": 0.5})
    (line,) = capture[0].getvalue().splitlines()
    assert line.endswith(" WARNING nodeconf.test: retrying")
    assert line[:24].endswith("Z")


def test_text_format_indents_continuation_lines(capture) -> None:
    """A multi-line message keeps its continuation lines indented, so they stay attached."""
    _log("text", capture).info("first\nsecond")
    lines = capture[0].getvalue().splitlines()
    assert lines[1] == "  second"


def test_unknown_format_is_refused() -> None:
    """Only text and json exist."""
    with pytest.raises(ValueError, match="text, json"):
        configure_logging("xml")  # type: ignore[arg-type]


def test_reset_logging_restores_propagation(capture) -> None:
    """After reset, nodeconf records go to the root logger again (library use is untouched)."""
    stream, _ = capture
    handler = configure_logging("text", stream=stream)
    reset_logging(handler)
    assert logging.getLogger("nodeconf").propagate is True
    assert handler not in logging.getLogger("nodeconf").handlers
