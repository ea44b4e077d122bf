"""Node labels given on the command line: ``--node-labels k=v,...`` and ``--labels-file F``.

A labels file has one ``key=value`` per line; blank lines and lines starting with ``#`` are
ignored; spaces around key and value are stripped. Keys and values must follow Kubernetes label
syntax (checked by ``nodeconf.model.labels``). ``--node-labels`` entries override the file's.

Every problem is a ``LabelsError`` with a one-line message naming where it is.

Thread-safety: pure functions (``read_labels_file`` reads one file).
"""

from __future__ import annotations

from nodeconf.errors import DocumentError
from nodeconf.model.labels import label_key_error, label_value_error, parse_label_pairs

__all__ = [
    "LabelsError",
    "node_labels",
    "parse_label_list",
    "parse_labels_text",
    "read_labels_file",
]

#: Labels files larger than this are refused (a Node carries far fewer labels).
MAX_LABELS_FILE_BYTES = 1024 * 1024


class LabelsError(ValueError):
    """A label list or labels file that cannot be read; the message is one line.

    Thread-safety: immutable after construction.
    """


def parse_label_list(text: str) -> dict[str, str]:
    """``"k=v,k2=v2"`` -> ``{"k": "v", "k2": "v2"}``; an empty string gives no labels."""
    try:
        return parse_label_pairs(text)
    except DocumentError as exc:
        raise LabelsError(f"--node-labels: column {exc.column}: {exc.reason}") from exc


def parse_labels_text(text: str, *, source: str) -> dict[str, str]:
    """Parse the lines of a labels file (``source`` names it in errors)."""
    labels: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        item = line.strip()
        if not item or item.startswith("#"):
            continue
        key, eq, value = item.partition("=")
        key, value = key.strip(), value.strip()
        reason = (
            f"expected key=value, got {item!r}"
            if not eq
            else (label_key_error(key) or label_value_error(value))
        )
        if reason:
            raise LabelsError(f"{source}:{number}: {reason}")
        labels[key] = value
    return labels


def read_labels_file(path: str) -> dict[str, str]:
    """Read the file given with ``--labels-file``; raises ``LabelsError`` (one line, naming
    the flag, e.g. ``--labels-file /nope: cannot read: ...``) when it cannot be read."""
    where = f"--labels-file {path}"
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_LABELS_FILE_BYTES + 1)
    except OSError as exc:
        raise LabelsError(f"{where}: cannot read: {exc.strerror or exc}") from exc
    if len(raw) > MAX_LABELS_FILE_BYTES:
        raise LabelsError(f"{where}: larger than {MAX_LABELS_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LabelsError(f"{where}: not valid UTF-8") from exc
    return parse_labels_text(text, source=where)


def node_labels(label_list: str | None, labels_file: str | None) -> dict[str, str]:
    """The labels of ``--labels-file`` overlaid with those of ``--node-labels``."""
    labels = read_labels_file(labels_file) if labels_file else {}
    if label_list:
        labels.update(parse_label_list(label_list))
    return labels
