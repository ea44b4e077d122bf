"""The labels file: one ``key=value`` node label per line.

Format (a superset of what Kubernetes' downward API writes for ``metadata.labels``):

* one ``key=value`` per line; spaces around the key and the value are ignored;
* blank lines and lines whose first non-blank character is ``#`` are ignored;
* a value may be wrapped in double quotes (``key="value"``), as the downward API writes it;
* keys and values follow Kubernetes label syntax; a key given twice is an error.

Every problem raises ``DocumentError`` whose ``str()`` is ``file:line: reason``, so an operator
knows which line to fix. ``check_labels`` checks fixed labels given in code by the same rules.

Thread-safety: pure functions (``read_labels_file`` reads one file); safe from any thread.
"""

from __future__ import annotations

from collections.abc import Mapping

from nodeconf.errors import DocumentError
from nodeconf.model.labels import label_key_error, label_value_error

__all__ = ["MAX_LABELS_FILE_BYTES", "check_labels", "parse_labels_text"]

#: Labels files larger than this are refused (a Node carries far fewer labels).
MAX_LABELS_FILE_BYTES = 1024 * 1024


def parse_labels_text(text: str, *, source: str = "<labels>") -> dict[str, str]:
    """Parse the lines of a labels file; ``source`` names the file in errors.

    Raises ``DocumentError`` (``source``, 1-based ``line``) for a line without ``=``, an
    invalid key or value, or a key given twice.
    """
    labels: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        key, eq, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not eq:
            raise DocumentError(f"expected key=value, got {item!r}", source=source, line=number)
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        reason = label_key_error(key) or label_value_error(value)
        if reason:
            raise DocumentError(reason, source=source, line=number)
        if key in labels:
            raise DocumentError(
                f"label key {key!r} given twice (first on line {first_line[key]})",
                source=source,
                line=number,
            )
        labels[key] = value
        first_line[key] = number
    return labels


def check_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Fixed node labels (``FileSource(node_labels=...)``), checked by the same rules as a
    labels file's; raises ``ValueError`` (``node_labels: reason``) for an invalid one."""
    out: dict[str, str] = {}
    for key, value in labels.items():
        reason = label_key_error(key) or label_value_error(value)
        if reason:
            raise ValueError(f"node_labels: {reason}")
        out[key] = value
    return out
