"""Apply outcomes as log lines."""

from __future__ import annotations

import logging

import pytest

from nodeconf.errors import Issue
from nodeconf.manager.outcomes import Outcome
from nodeconf.status.outcomelog import MAX_LINE_CHARS, LogSink


def test_invalid_outcome_is_one_line_naming_its_issues(caplog: pytest.LogCaptureFixture) -> None:
    """An invalid document is one warning naming each issue (path, message, value)."""
    issue = Issue("globalConfig.evictingConfig.evictingCPULowWatermark", 99, "too high")
    with caplog.at_level(logging.INFO, logger="nodeconf.outcomes"):
        LogSink().emit(Outcome("invalid", error="too high", issues=(issue,)))
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "document invalid, keeping the last valid config: too high "
        "[globalConfig.evictingConfig.evictingCPULowWatermark: too high (value: 99)]"
    )
    assert record.issues == [str(issue)]  # type: ignore[attr-defined]


def test_many_issues_and_long_errors_still_make_one_bounded_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """200 issues with huge values: one line, at most MAX_LINE_CHARS and a cut note."""
    issues = tuple(Issue(f"nodesConfig[{i}].x", "v" * 10_000, "bad") for i in range(200))
    with caplog.at_level(logging.INFO, logger="nodeconf.outcomes"):
        LogSink().emit(Outcome("invalid", error="bad", issues=issues))
        LogSink().emit(Outcome("failed", listener="exec", error="e" * 100_000))
    invalid, failed = caplog.records
    assert "; 195 more in /status]" in invalid.getMessage()
    assert len(invalid.getMessage()) <= MAX_LINE_CHARS + 40
    assert len(failed.getMessage()) <= MAX_LINE_CHARS + 40
    assert failed.getMessage().endswith("more chars)")


def test_failed_outcome_says_it_will_be_retried(caplog: pytest.LogCaptureFixture) -> None:
    """A listener failure is a warning naming the listener, revision, attempt and error."""
    with caplog.at_level(logging.INFO, logger="nodeconf.outcomes"):
        LogSink().emit(Outcome("failed", revision=3, listener="exec", error="exit 1", attempt=2))
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == (
        "listener exec failed on revision 3 (attempt 2), will retry with backoff: exit 1"
    )
    assert record.listener == "exec"  # type: ignore[attr-defined]


def test_source_events_name_their_kind_and_detail(caplog: pytest.LogCaptureFixture) -> None:
    """A deleted document is a warning with the event's kind and sentence."""
    with caplog.at_level(logging.INFO, logger="nodeconf.outcomes"):
        LogSink().emit(Outcome("source", detail="document-deleted", error="cm is gone"))
        LogSink().emit(Outcome("source", detail="document-restored"))
    deleted, restored = caplog.records
    assert (deleted.levelno, deleted.getMessage()) == (
        logging.WARNING,
        "source: document-deleted: cm is gone",
    )
    assert (restored.levelno, restored.getMessage()) == (logging.INFO, "source: document-restored")
