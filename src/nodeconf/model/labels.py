"""Node labels: the label keys nodeconf reads, Kubernetes label syntax, Go's ``ParseBool``.

* ``label_key_error`` / ``label_value_error`` check Kubernetes syntax and return a readable
  reason (or ``None`` when valid); ``all_label_values`` checks many values at once. A key is
  an optional DNS-1123 subdomain prefix (at most 253 characters) and ``/``, then a name of at
  most 63 characters matching ``([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]``; a value is empty
  or a name-like string of at most 63 characters.
* ``LabelVerdicts`` remembers the valid keys and values a format has seen, so an edit that
  re-reads mostly the same selectors checks each label once (bounded: see the class).
* ``parse_bool`` is Go's ``strconv.ParseBool`` reduced to what Volcano does with it: ``1 t T
  TRUE true True`` are true; anything else (the false spellings, garbage, no label) is false.
* ``parse_label_pairs`` reads ``k=v,k2=v2`` (the CLI's ``--node-labels``) and raises
  ``DocumentError`` (source ``<labels>``, column of the bad item) on bad syntax.

Thread-safety: pure functions and constants, safe from any thread; a ``LabelVerdicts`` may
be shared by threads (see the class).
"""

from __future__ import annotations

import re
from typing import Final

from nodeconf.errors import DocumentError

__all__ = [
    "COLOCATION_LABEL",
    "COLOCATION_POLICY_LABEL",
    "DNS1123_SUBDOMAIN_PATTERN",
    "NAME_MAX",
    "NAME_PATTERN",
    "OVERSUBSCRIPTION_LABEL",
    "PREFIX_MAX",
    "VALUE_PATTERN",
    "LabelVerdicts",
    "all_label_values",
    "label_key_error",
    "label_value_error",
    "parse_bool",
    "parse_label_pairs",
]

#: Node label that enables colocation ("parses as true", see ``parse_bool``).
COLOCATION_LABEL: Final = "volcano.sh/colocation"
#: Node label that enables oversubscription (and so colocation too).
OVERSUBSCRIPTION_LABEL: Final = "volcano.sh/oversubscription"
#: Node label whose change Volcano also treats as a reason to re-sync.
COLOCATION_POLICY_LABEL: Final = "colocation-policy"

_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})

#: Longest label name (the part after ``/``) and label value.
NAME_MAX: Final = 63
#: Longest label key prefix (a DNS-1123 subdomain).
PREFIX_MAX: Final = 253
#: A label name, or a non-empty label value.
NAME_PATTERN: Final = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#: A valid label value, its length included: empty, or a name of at most ``NAME_MAX``
#: characters (what ``label_value_error`` accepts, in one regex).
VALUE_PATTERN: Final = f"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{{0,{NAME_MAX - 2}}}[A-Za-z0-9])?)?"
#: A DNS-1123 subdomain (a label key prefix).
DNS1123_SUBDOMAIN_PATTERN: Final = (
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
_NAME_MAX = NAME_MAX
_PREFIX_MAX = PREFIX_MAX
_NAME = re.compile(NAME_PATTERN)
_DNS1123_SUBDOMAIN = re.compile(DNS1123_SUBDOMAIN_PATTERN)
#: A valid key, lengths aside: an optional prefix and ``/``, then a name.
_SHORT_KEY = re.compile(f"(?:{DNS1123_SUBDOMAIN_PATTERN}/)?{NAME_PATTERN}")

_NAME_RULE = (
    "must be 63 characters or less, consist of alphanumeric characters, '-', '_' or '.', "
    "and start and end with an alphanumeric character"
)


def parse_bool(value: str | None) -> bool:
    """True exactly for Go ``strconv.ParseBool``'s true spellings; False for anything else."""
    return value in _TRUE


def label_key_error(key: str) -> str | None:
    """Why ``key`` is not a valid Kubernetes label key, or ``None`` if it is."""
    if len(key) <= _NAME_MAX and _SHORT_KEY.fullmatch(key):  # no part can be too long
        return None
    prefix, slash, name = key.rpartition("/")
    if slash:
        if "/" in prefix:
            return f"label key {key!r} has more than one '/'"
        if not prefix:
            return f"label key {key!r} has an empty prefix before '/'"
        if len(prefix) > _PREFIX_MAX or not _DNS1123_SUBDOMAIN.fullmatch(prefix):
            return (
                f"label key {key!r}: prefix must be a DNS-1123 subdomain of at most "
                f"{_PREFIX_MAX} characters (lowercase alphanumerics, '-' and '.')"
            )
    if not name:
        return f"label key {key!r} has an empty name"
    if len(name) > _NAME_MAX or not _NAME.fullmatch(name):
        return f"label key {key!r}: name {_NAME_RULE}"
    return None


def label_value_error(value: str) -> str | None:
    """Why ``value`` is not a valid Kubernetes label value, or ``None`` if it is."""
    if value == "":
        return None
    if len(value) > _NAME_MAX or not _NAME.fullmatch(value):
        return f"label value {value!r} {_NAME_RULE}"
    return None


class LabelVerdicts:
    """The label keys and values seen so far that ``label_key_error`` and ``label_value_error``
    found valid.

    ``keys`` and ``values`` hold those strings (as the keys of a dict); a fast path tests a
    string with ``in``, and calls ``key``/``value`` on a miss, which checks and remembers a
    valid string (``selectorread`` remembers a ``matchLabels`` value in place, the same way).
    An invalid one is not remembered: it is checked again each time (only a document with a
    problem pays, and reporting it costs more). A valid key has at most 317 characters (a value
    63), and a table that reaches ``LIMIT`` entries is emptied before the next one is added: at
    most ``LIMIT`` such strings a table, whatever the documents. A verdict is a pure function
    of its string, so what is remembered never changes a result, only its cost.

    Thread-safety: safe to share. Each read and write is one dict operation; two threads
    missing the same string both compute the same verdict and store it twice. The bound is
    checked and the string added in two operations, so threads adding at once may each pass
    the check: a table holds at most ``LIMIT`` plus one string per such thread.
    """

    __slots__ = ("keys", "values")

    #: Entries per table before it is emptied.
    LIMIT: Final = 1024

    def __init__(self) -> None:
        # Dicts (of ``None``) rather than sets: ``{}`` costs no call, and a format without
        # verdicts of its own makes a fresh pair for every parse.
        self.keys: dict[str, None] = {}
        self.values: dict[str, None] = {}

    def key(self, key: str) -> str | None:
        """``label_key_error(key)``, remembered when ``None`` (valid)."""
        if key in self.keys:
            return None
        reason = label_key_error(key)
        if reason is None:
            _remember(self.keys, key)
        return reason

    def value(self, value: str) -> str | None:
        """``label_value_error(value)``, remembered when ``None`` (valid)."""
        if value in self.values:
            return None
        reason = label_value_error(value)
        if reason is None:
            _remember(self.values, value)
        return reason


def _remember(table: dict[str, None], text: str) -> None:
    # ``selectorread`` does the same inline for a matchLabels value.
    if len(table) >= LabelVerdicts.LIMIT:
        table.clear()
    table[text] = None


#: Label values, one a line (an empty line is the empty value).
_NAME_LINES = re.compile(f"(?:{NAME_PATTERN})?(?:\n(?:{NAME_PATTERN})?)*")


def all_label_values(values: list[str], joined: str) -> bool:
    """Whether every string of ``values`` is a valid label value (``label_value_error`` gives
    ``None`` for each), in one pass over their text (``joined``: ``"".join(values)``): the
    check of many selectors at once."""
    if not values:
        return True
    if max(map(len, values)) > _NAME_MAX:
        return False
    if joined.isascii() and joined.isalnum():  # letters and digits only: valid whatever the cut
        return True
    lines = "\n".join(values)
    return lines.count("\n") == len(values) - 1 and _NAME_LINES.fullmatch(lines) is not None


def parse_label_pairs(text: str) -> dict[str, str]:
    """Parse ``k=v,k2=v2`` into a dict, checking Kubernetes label syntax.

    Blanks around items are ignored, an empty text gives ``{}``, a value may be empty
    (``k=``). Raises ``DocumentError`` (source ``<labels>``, column of the offending item) for
    an item without ``=``, an invalid key or value, or a key given twice.
    """
    labels: dict[str, str] = {}
    pos = 0
    for raw in text.split(","):
        column = pos + (len(raw) - len(raw.lstrip())) + 1
        pos += len(raw) + 1
        item = raw.strip()
        if not item:
            if text.strip():
                raise DocumentError(
                    "empty item in label list", source="<labels>", line=1, column=column
                )
            continue
        key, eq, value = item.partition("=")
        if not eq:
            raise DocumentError(
                f"label {item!r} is not of the form key=value",
                source="<labels>",
                line=1,
                column=column,
            )
        reason = label_key_error(key) or label_value_error(value)
        if reason:
            raise DocumentError(reason, source="<labels>", line=1, column=column)
        if key in labels:
            raise DocumentError(
                f"label key {key!r} given twice", source="<labels>", line=1, column=column
            )
        labels[key] = value
    return labels
