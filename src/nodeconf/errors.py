"""Every exception nodeconf raises, in one place.

The hierarchy::

    NodeconfError                      base of everything nodeconf raises on purpose
    ├── DocumentError                  the document cannot be read as a document at all
    │                                  (bad JSON/YAML, not an object, too large, bad UTF-8);
    │                                  carries ``source``, ``line``, ``column``, ``reason``
    ├── ConfigInvalid                  the document parsed, but the effective config breaks
    │                                  a validation rule; carries every ``Issue`` at once
    ├── SchemaError                    a JSON Schema given as a config schema cannot be
    │                                  used; carries ``source``, ``path``, ``reason``
    ├── LifecycleError                 a manager or source used in the wrong state
    │                                  (start twice, start after stop, ...)
    └── SourceError                    a source could not deliver state (I/O, API errors);
                                       ``temporary`` tells retry intent

    ListenerIntent                     raised *by listeners* to state what should happen
    ├── RetryLater(delay_seconds)      "not now": retry this listener after the delay
    └── Reject(reason)                 "never for this revision": do not retry it

``Issue`` is not an exception: it is one problem (error or warning) with its coordinates:
the field path of the value that caused it, the value itself, and the rule's message.

Thread-safety: all types here are immutable after construction and safe to share.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ConfigInvalid",
    "DocumentError",
    "Issue",
    "LifecycleError",
    "ListenerIntent",
    "NodeconfError",
    "Reject",
    "RetryLater",
    "SchemaError",
    "SourceError",
]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a document or an effective config.

    ``path`` is where the offending value came from, e.g.
    ``globalConfig.evictingConfig.evictingCPULowWatermark`` or
    ``nodesConfig[3].selector.matchExpressions[0].operator``; ``value`` is that value
    (``None`` when the problem is a missing value); ``message`` is the rule, worded exactly as
    Volcano words it where Volcano has the rule.

    Thread-safety: immutable.
    """

    path: str
    value: object
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.path}: {self.message} (value: {_show(self.value)})"


def _show(value: object) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


class NodeconfError(Exception):
    """Base class of every error nodeconf raises on purpose.

    Thread-safety: immutable after construction.
    """


class DocumentError(NodeconfError):
    """The input cannot be read as a document.

    Attributes: ``reason`` (one line, no trailing period), ``source`` (file name or
    ``"<document>"``), ``line`` and ``column`` (1-based, or ``None`` when not applicable).
    ``str()`` gives ``source:line:column: reason``.

    Thread-safety: immutable after construction.
    """

    def __init__(
        self,
        reason: str,
        *,
        source: str = "<document>",
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.reason = reason
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self._format())

    def _format(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.reason}"

    def with_source(self, source: str) -> DocumentError:
        """Return a copy that names ``source`` (a file name) instead of the current one."""
        err = DocumentError(self.reason, source=source, line=self.line, column=self.column)
        err.__cause__ = self.__cause__
        return err


class ConfigInvalid(NodeconfError):  # noqa: N818 - names the state, like httpx.InvalidURL
    """The effective config breaks one or more validation rules.

    ``issues`` holds every error at once, in Volcano's section order. ``str()`` joins them
    the way Volcano aggregates errors: ``[msg1, msg2]``.

    Thread-safety: immutable after construction.
    """

    def __init__(self, issues: tuple[Issue, ...]) -> None:
        self.issues = issues
        super().__init__(volcano_aggregate(issues))


def volcano_aggregate(issues: tuple[Issue, ...]) -> str:
    """Join issue messages the way Kubernetes' ``utilerrors.NewAggregate`` prints them.

    Like the aggregate, a message repeated word for word is printed once.
    """
    msgs = list(dict.fromkeys(i.message for i in issues))
    if len(msgs) == 1:
        return msgs[0]
    return "[" + ", ".join(msgs) + "]"


class SchemaError(NodeconfError):
    """A JSON Schema given as a config schema cannot be used.

    Attributes: ``reason`` (one line), ``source`` (file name or ``"<schema>"``) and ``path``
    (where in the schema, e.g. ``properties.limits.oneOf``; ``""`` for the whole schema).
    ``str()`` gives ``source: path: reason``.

    Thread-safety: immutable after construction.
    """

    def __init__(self, reason: str, *, path: str = "", source: str = "<schema>") -> None:
        self.reason = reason
        self.path = path
        self.source = source
        super().__init__(f"{source}: {path}: {reason}" if path else f"{source}: {reason}")

    def with_source(self, source: str) -> SchemaError:
        """Return a copy that names ``source`` (a file name) instead of the current one."""
        err = SchemaError(self.reason, path=self.path, source=source)
        err.__cause__ = self.__cause__
        return err


class LifecycleError(NodeconfError):
    """A manager or source was used in a state that does not allow the call.

    Thread-safety: immutable after construction.
    """


class SourceError(NodeconfError):
    """A source could not deliver state. ``temporary`` says whether retrying may help.

    Thread-safety: immutable after construction.
    """

    def __init__(self, message: str, *, temporary: bool = True) -> None:
        self.temporary = temporary
        super().__init__(message)


class ListenerIntent(Exception):  # noqa: N818 - an intent, not an error condition
    """Base of the exceptions a listener raises to say what nodeconf should do next.

    Thread-safety: immutable after construction.
    """


class RetryLater(ListenerIntent):
    """Raised by a listener: retry this listener (only) after ``delay_seconds``.

    Thread-safety: immutable after construction.
    """

    def __init__(self, delay_seconds: float, reason: str = "") -> None:
        if not delay_seconds >= 0:
            raise ValueError(f"delay_seconds must be >= 0, got {delay_seconds!r}")
        self.delay_seconds = float(delay_seconds)
        self.reason = reason
        super().__init__(reason or f"retry in {delay_seconds:g}s")


class Reject(ListenerIntent):
    """Raised by a listener: this revision can never be applied here; do not retry it.

    The listener is called again only when a newer revision arrives.

    Thread-safety: immutable after construction.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
