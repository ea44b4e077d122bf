"""Log lines for apply outcomes: an ``OutcomeSink`` that writes to the ``nodeconf.outcomes``
logger.

One record per outcome, with ``revision``, ``listener`` and ``attempt`` as extra fields (so
``--log-format json`` gives them as JSON fields). Levels: failures, rejections, invalid
documents, slow listeners and source trouble (a deleted document, a source error, the
fall-back to polling) are warnings; everything else is info. An invalid document logs
one more line per issue, each with its field path, value and message, so an operator sees
exactly which line to fix.

Thread-safety: stateless; ``emit`` is safe from any thread and never raises (``logging``
serialises the handlers).
"""

from __future__ import annotations

import logging

from nodeconf.manager.outcomes import Outcome

__all__ = ["LogSink"]

_log = logging.getLogger("nodeconf.outcomes")

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
        log = self._logger
        kind = str(o.kind)
        if kind == "applied":
            log.info("listener %s applied revision %d", o.listener, o.revision, extra=extra)
        elif kind == "failed":
            log.warning(
                "listener %s failed on revision %d (attempt %d), will retry with backoff: %s",
                o.listener,
                o.revision,
                o.attempt,
                o.error,
                extra=extra,
            )
        elif kind == "rejected":
            log.warning(
                "listener %s rejected revision %d: %s", o.listener, o.revision, o.error, extra=extra
            )
        elif kind == "invalid":
            log.warning("document invalid, keeping the last valid config: %s", o.error, extra=extra)
            for issue in o.issues:
                log.warning("  %s", issue, extra={"path": issue.path, "severity": issue.severity})
        elif kind == "recovered":
            log.info("recovered: %s", o.detail or o.listener or "valid config", extra=extra)
        elif kind == "synced":
            log.info("revision %d synced to every listener", o.revision, extra=extra)
        elif kind == "source":
            level = logging.INFO if o.detail in _QUIET_SOURCE_EVENTS else logging.WARNING
            text = f"{o.detail}: {o.error}" if o.detail and o.error else (o.detail or o.error)
            log.log(level, "source: %s", text, extra={**extra, "event": o.detail})
        elif kind == "slow":
            log.warning(
                "listener %s is slow on revision %d: %s",
                o.listener,
                o.revision,
                o.detail or o.error,
                extra=extra,
            )
        else:
            log.info("%s: %s", kind, o.detail or o.error, extra=extra)
