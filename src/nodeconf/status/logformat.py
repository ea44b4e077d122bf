"""Log formatting for the daemon: ``--log-format text|json``.

``configure_logging(fmt)`` installs one handler on the ``nodeconf`` logger (not on the root
logger, so an application that embeds nodeconf as a library keeps its own logging untouched)
and returns it, so the caller can remove it again with ``reset_logging(handler)``.

* ``text``: ``2026-01-31T12:00:00.123Z INFO nodeconf.daemon: message``; one line per record;
  a multi-line message or traceback is kept on continuation lines indented by two spaces so
  that a log shipper can still join it. Messages are written to say everything a person needs;
  ``extra=`` fields are left out here.
* ``json``: one JSON object per line with ``time``, ``level``, ``logger``, ``message``, every
  ``extra=`` field the call passed, and ``exception`` when there is one. Values that JSON cannot
  express are written with ``repr``.

Fields passed with ``extra={"revision": 3}`` are for machines: they appear in the JSON format.

Thread-safety: formatting is stateless; ``logging.Handler`` serialises ``emit`` with its own
lock. ``configure_logging``/``reset_logging`` are meant for the main thread at start-up and exit.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal, TextIO

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "LogFormat",
    "TextFormatter",
    "configure_logging",
    "reset_logging",
]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message`` on one line.

    Thread-safety: stateless; safe from any thread.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line.replace("\n", "\n  ")


class JsonFormatter(logging.Formatter):
    """One JSON object per line.

    Thread-safety: stateless; safe from any thread.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=repr, ensure_ascii=False)


class _NodeconfHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handlers ``configure_logging`` installed. Thread-safety: a StreamHandler."""


def configure_logging(
    fmt: LogFormat = "text",
    *,
    stream: TextIO | None = None,
    level: int = logging.INFO,
) -> logging.Handler:
    """Send ``nodeconf.*`` records at ``level`` and above to ``stream`` (stderr by default).

    Returns the installed handler; pass it to ``reset_logging`` to undo.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {fmt!r}")
    handler = _NodeconfHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger = logging.getLogger("nodeconf")
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


def reset_logging(handler: logging.Handler) -> None:
    """Remove a handler installed by ``configure_logging`` and restore propagation."""
    logger = logging.getLogger("nodeconf")
    logger.removeHandler(handler)
    handler.close()
    if not any(isinstance(h, _NodeconfHandler) for h in logger.handlers):
        logger.propagate = True
        logger.setLevel(logging.NOTSET)
