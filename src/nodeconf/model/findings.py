"""What one parse finds: errors, warnings, a key count, and the label verdicts it uses.

A ``Findings`` is created by ``parse`` for one document and dropped when it returns. Its
``labels`` (the label syntax verdicts, ``nodeconf.model.labels.LabelVerdicts``) are the
format's, when the format keeps them across parses, or its own (never a global table).

**Bounded, whatever the document.** A document under 1 MiB can hold 100,000 overrides, each
with a problem; keeping (and then showing in ``/status`` and the log) an issue for each would
cost hundreds of MiB on every node at once. So issues go through an ``IssueCap``: of each
*kind* (the rule broken: "unknown field", "no selector", "must be a boolean, got integer", ...)
the first ``MAX_ISSUES_PER_KIND`` are kept, at most ``MAX_ISSUES`` in all per severity, and
the rest are only counted: one closing issue per kind says how many more there were and where
the first of them is. An issue's ``value`` is kept as it is when it is small; a long string is
cut to ``MAX_VALUE_CHARS`` characters (with ``…``), and a large or deep object or array is
replaced by a short description (``"<object of 80000 keys>"``). The cap only drops *reports*:
the document is parsed, checked and evaluated in full, so the effective config and the
valid/invalid verdict never depend on it.

Thread-safety: not thread-safe; owned by the single call that created it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Final, Literal

from nodeconf.errors import Issue
from nodeconf.model.jsontext import count_keys, join_path, json_type_name
from nodeconf.model.labels import LabelVerdicts

__all__ = [
    "MAX_ISSUES",
    "MAX_ISSUES_PER_KIND",
    "MAX_VALUE_CHARS",
    "Findings",
    "IssueCap",
    "preview",
]

#: Issues of one kind kept per document and severity; the rest are counted.
MAX_ISSUES_PER_KIND: Final = 10
#: Issues kept per document and severity, whatever their kinds.
MAX_ISSUES: Final = 100
#: Kinds counted apart; issues of further kinds are counted together.
_MAX_KINDS: Final = 32
_OTHER_KINDS: Final = "other problems"
#: Characters of a string value kept in an issue.
MAX_VALUE_CHARS: Final = 200
#: Nodes (keys, items, scalars) and depth of an object or array value kept in an issue.
_MAX_VALUE_NODES: Final = 32
_MAX_VALUE_DEPTH: Final = 4


def preview(value: object) -> object:
    """``value`` when it is small; otherwise a bounded stand-in (see the module docstring)."""
    if type(value) is str:
        return value if len(value) <= MAX_VALUE_CHARS else value[:MAX_VALUE_CHARS] + "…"
    if type(value) is not dict and type(value) is not list:
        return value
    nodes = 0
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        nodes += 1
        big = nodes > _MAX_VALUE_NODES or depth > _MAX_VALUE_DEPTH
        if big or (type(v) is str and len(v) > MAX_VALUE_CHARS):
            return _describe(value)
        if type(v) is dict:
            stack.extend((x, depth + 1) for x in v.values())
        elif type(v) is list:
            stack.extend((x, depth + 1) for x in v)
    return value


def _describe(value: object) -> str:
    if type(value) is dict:
        return f"<object of {len(value)} keys, not shown>"
    return f"<array of {len(value)} items, not shown>"  # type: ignore[arg-type]


class IssueCap:
    """Keeps the first issues of each kind and counts the rest (see the module docstring).

    ``wants(kind)`` says whether the next issue of ``kind`` would be kept, so a caller can
    skip building an expensive message; ``add`` keeps or counts one; ``issues()`` returns the
    kept ones followed by one closing issue per kind that overflowed.

    Thread-safety: not thread-safe; owned by one call.
    """

    __slots__ = ("_counts", "_kept", "_omitted", "_severity")

    def __init__(self, severity: Literal["error", "warning"]) -> None:
        self._severity: Literal["error", "warning"] = severity
        self._kept: list[Issue] = []
        self._counts: dict[str, int] = {}  # kind -> issues seen (at most _MAX_KINDS + 1 kinds)
        self._omitted: dict[str, tuple[int, str]] = {}  # kind -> (count, first path)

    def _kind(self, kind: str) -> str:
        counts = self._counts
        return kind if kind in counts or len(counts) < _MAX_KINDS else _OTHER_KINDS

    def wants(self, kind: str) -> bool:
        """True when the next issue of ``kind`` would be kept."""
        return (
            len(self._kept) < MAX_ISSUES
            and self._counts.get(self._kind(kind), 0) < MAX_ISSUES_PER_KIND
        )

    def add(self, path: str, value: object, message: str, kind: str | None = None) -> None:
        """Keep (or count) one issue; ``kind`` defaults to ``message``."""
        kind = self._kind(message if kind is None else kind)
        seen = self._counts.get(kind, 0)
        self._counts[kind] = seen + 1
        if seen < MAX_ISSUES_PER_KIND and len(self._kept) < MAX_ISSUES:
            self._kept.append(Issue(path, preview(value), message, self._severity))
        else:
            count, first = self._omitted.get(kind, (0, path))
            self._omitted[kind] = (count + 1, first)

    def extend(self, issues: Iterable[Issue]) -> None:
        """Keep (or count) issues made elsewhere, each of the kind of its message."""
        for issue in issues:
            self.add(issue.path, issue.value, issue.message)

    def __len__(self) -> int:
        """Issues seen, kept or not."""
        return sum(self._counts.values())

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.issues())

    def issues(self) -> tuple[Issue, ...]:
        """The kept issues, then one per kind that overflowed, saying how many were left out."""
        if not self._omitted:
            return tuple(self._kept)
        closing = tuple(
            Issue(
                first,
                count,
                f"{count} more {_plural(self._severity, count)} of this kind not listed "
                f"(the first at this path): {kind}",
                self._severity,
            )
            for kind, (count, first) in self._omitted.items()
        )
        return (*self._kept, *closing)


def _plural(severity: str, count: int) -> str:
    return severity if count == 1 else f"{severity}s"


class Findings:
    """Accumulates issues while a document is read.

    ``keys`` counts every object key visited (for the cheap duplicate check); ``labels``
    are the label syntax verdicts the parse reads and adds to (a fresh set when not given).

    Thread-safety: owned by one parse call; never shared (its ``labels`` may be: they are
    safe to share).
    """

    __slots__ = ("_errors", "_warnings", "keys", "labels")

    def __init__(self, labels: LabelVerdicts | None = None) -> None:
        self._errors: IssueCap | None = None  # made at the first error: most parses have none
        self._warnings: IssueCap | None = None
        self.keys = 0
        self.labels = LabelVerdicts() if labels is None else labels

    @property
    def errors(self) -> IssueCap:
        """The errors found so far."""
        if self._errors is None:
            self._errors = IssueCap("error")
        return self._errors

    @property
    def warnings(self) -> IssueCap:
        """The warnings found so far."""
        if self._warnings is None:
            self._warnings = IssueCap("warning")
        return self._warnings

    def reported(self) -> tuple[tuple[Issue, ...], tuple[Issue, ...]]:
        """The warnings and the errors, as ``IssueCap.issues()`` gives them."""
        warnings, errors = self._warnings, self._errors
        return (
            () if warnings is None else warnings.issues(),
            () if errors is None else errors.issues(),
        )

    def error(self, path: str, value: object, message: str) -> None:
        self.errors.add(path, value, message)

    def warn(self, path: str, value: object, message: str, kind: str | None = None) -> None:
        """A warning; ``kind`` (default: the message) groups it for the cap."""
        self.warnings.add(path, value, message, kind)

    def wrong_type(self, path: str, value: object, expected: str) -> None:
        """Report a value of the wrong JSON type (an integer out of 64-bit range included).

        Counts the keys inside the value, which no other walk visits.
        """
        self.keys += count_keys(value)
        got = json_type_name(value)
        if got == "integer" and expected.startswith("an integer"):
            self.error(path, value, "integer out of range (must fit in signed 64 bits)")
        else:
            self.error(path, value, f"must be {expected}, got {got}")

    def folded(self, parent: str, key: str, value: object, name: str) -> None:
        """Report a key that matched the field ``name`` only case-insensitively.

        Its value is used, as Volcano's decoder uses it (``nodeconf.model.keymatch``).
        """
        self.warn(
            join_path(parent, key),
            value,
            f"read as {name!r}: Volcano's decoder ignores the case of keys, so the value is "
            f"used; spell it {name!r}",
            "read as another spelling",
        )

    def unknown(self, parent: str, key: str, value: object, known: Iterable[str]) -> None:
        """Report an unknown key (with a "did you mean" hint) and count the keys inside it."""
        self.keys += count_keys(value)
        message = _UNKNOWN
        if self.warnings.wants(_UNKNOWN):  # the hint costs a fuzzy match: only when shown
            hint = _suggest(key, known)
            if hint:
                message += f" (did you mean {hint!r}?)"
        self.warn(join_path(parent, key), value, message, _UNKNOWN)


_UNKNOWN: Final = "unknown field, ignored"


def _suggest(key: str, known: Iterable[str]) -> str | None:
    names = list(known)
    folded = {n.casefold(): n for n in names}
    if key.casefold() in folded:
        return folded[key.casefold()]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    return close[0] if close else None
