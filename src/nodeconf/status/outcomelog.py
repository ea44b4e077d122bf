"""Log lines for apply outcomes: an ``OutcomeSink`` that writes to the ``nodeconf.outcomes``
logger.

One line per outcome, whatever the outcome holds, with ``revision``, ``listener`` and
``attempt`` as extra fields (so ``--log-format json`` gives them as JSON fields). Levels:
failures, rejections, invalid documents, slow listeners and source trouble (a deleted
document, a source error, the fall-back to polling) are warnings; everything else is info.
An invalid document's line names its first ``MAX_LOGGED_ISSUES`` issues (field path,
message, value) and how many more ``/status`` lists (also as the ``issues`` JSON field), so
an operator sees which line to fix. Every line is bounded: an issue's text to
``MAX_ISSUE_CHARS``, the line to ``MAX_LINE_CHARS`` characters (a cut says how much was
left out). This logger is the one place that logs outcomes: one failure, one line.

Thread-safety: stateless; ``emit`` is safe from any thread and never raises (``logging``
serialises the handlers).
"""

from __future__ import annotations

import logging

from nodeconf.manager.outcomes import Outcome

__all__ = ["LogSink"]

_log = logging.getLogger("nodeconf.outcomes")

#: Issues named in an invalid document's line; the rest are counted (``/status`` has them).
MAX_LOGGED_ISSUES = 5
MAX_ISSUE_CHARS = 300
MAX_LINE_CHARS = 2000

#: Source events that are routine (info); the others (a deleted document, a source error,
#: the fall-back to polling) are warnings.
_QUIET_SOURCE_EVENTS = frozenset({"document-restored", "watch-restarted"})


class LogSink:
    """An ``OutcomeSink`` that logs each outcome.

    Thread-safety: stateless; safe from any thread.
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or _log

    def emit(self, outcome: Outcome) -> None:
        try:
            self._emit(outcome)
        except Exception:  # the OutcomeSink contract: never raise into the manager
            self._logger.exception("could not log outcome %r", outcome)

    def _emit(self, o: Outcome) -> None:
        extra = {"revision": o.revision, "listener": o.listener, "attempt": o.attempt}
        level, text = _line(o)
        if str(o.kind) == "invalid":
            extra["issues"] = [_clip(str(i), MAX_ISSUE_CHARS) for i in o.issues[:MAX_LOGGED_ISSUES]]
        elif str(o.kind) == "source":
            extra["event"] = o.detail
        self._logger.log(level, "%s", _clip(text, MAX_LINE_CHARS), extra=extra)


def _line(o: Outcome) -> tuple[int, str]:
    """The level and text of the one line that reports ``o``."""
    kind = str(o.kind)
    if kind == "applied":
        return logging.INFO, f"listener {o.listener} applied revision {o.revision}"
    if kind == "failed":
        return logging.WARNING, (
            f"listener {o.listener} failed on revision {o.revision} (attempt {o.attempt}), "
            f"will retry with backoff: {o.error}"
        )
    if kind == "rejected":
        return logging.WARNING, f"listener {o.listener} rejected revision {o.revision}: {o.error}"
    if kind == "invalid":
        text = f"document invalid, keeping the last valid config: {o.error}"
        if o.issues:
            shown = "; ".join(_clip(str(i), MAX_ISSUE_CHARS) for i in o.issues[:MAX_LOGGED_ISSUES])
            more = len(o.issues) - MAX_LOGGED_ISSUES
            text += f" [{shown}" + (f"; {more} more in /status]" if more > 0 else "]")
        return logging.WARNING, text
    if kind == "recovered":
        return logging.INFO, f"recovered: {o.detail or o.listener or 'valid config'}"
    if kind == "synced":
        return logging.INFO, f"revision {o.revision} synced to every listener"
    if kind == "source":
        level = logging.INFO if o.detail in _QUIET_SOURCE_EVENTS else logging.WARNING
        text = f"{o.detail}: {o.error}" if o.detail and o.error else (o.detail or o.error)
        return level, f"source: {text}"
    if kind == "restored":
        return logging.WARNING, (
            f"restored revision {o.revision} {o.detail}: the source gave no first state in time;"
            " the live document will supersede it"
        )
    if kind == "slow":
        return logging.WARNING, (
            f"listener {o.listener} is slow on revision {o.revision}: {o.detail or o.error}"
        )
    return logging.INFO, f"{kind}: {o.detail or o.error}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more chars)"
