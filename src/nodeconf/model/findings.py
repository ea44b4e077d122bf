"""What one parse finds: errors, warnings, a key count, and per-parse memo tables.

A ``Findings`` is created by ``parse`` for one document and dropped when it returns; nothing
outlives the call, so the model keeps no global mutable state.

Thread-safety: not thread-safe; owned by the single call that created it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from nodeconf.errors import Issue
from nodeconf.model.jsontext import count_keys, join_path, json_type_name

__all__ = ["Findings"]


class Findings:
    """Accumulates issues while a document is read.

    ``keys`` counts every object key visited (for the cheap duplicate check);
    ``key_reasons``/``value_reasons`` memoise label syntax checks within one document.

    Thread-safety: owned by one parse call; never shared.
    """

    __slots__ = ("errors", "key_reasons", "keys", "value_reasons", "warnings")

    def __init__(self) -> None:
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.keys = 0
        self.key_reasons: dict[str, str | None] = {}
        self.value_reasons: dict[str, str | None] = {}

    def error(self, path: str, value: object, message: str) -> None:
        self.errors.append(Issue(path, value, message, "error"))

    def warn(self, path: str, value: object, message: str) -> None:
        self.warnings.append(Issue(path, value, message, "warning"))

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
        )

    def unknown(self, parent: str, key: str, value: object, known: Iterable[str]) -> None:
        """Report an unknown key (with a "did you mean" hint) and count the keys inside it."""
        self.keys += count_keys(value)
        message = "unknown field, ignored"
        hint = _suggest(key, known)
        if hint:
            message += f" (did you mean {hint!r}?)"
        self.warn(join_path(parent, key), value, message)


def _suggest(key: str, known: Iterable[str]) -> str | None:
    names = list(known)
    folded = {n.casefold(): n for n in names}
    if key.casefold() in folded:
        return folded[key.casefold()]
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.75)
    return close[0] if close else None
