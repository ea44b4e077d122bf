"""Node labels from code and from a labels file, followed live."""

from __future__ import annotations

from pathlib import Path

import pytest

from file_source.fsworld import StartSource, kubelet_write, rename_over, write_in_place
from nodeconf.errors import DocumentError
from nodeconf.sources.file import parse_labels_text

MATTERS = frozenset({"volcano.sh/oversubscription", "zone"})


def test_labels_file_is_read_at_start_and_fixed_labels_win(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Labels come from the file and from code; a key in both takes the code's value."""
    labels = tmp_path / "labels"
    labels.write_text("zone=file\nrack=r1\n")
    source, _ = start_source(tmp_path / "cm", labels_file=labels, node_labels={"zone": "code"})
    assert source.wait_synced(0)
    assert dict(source.snapshot().node_labels) == {"zone": "code", "rack": "r1"}


def test_labels_change_on_a_key_that_matters_notifies_node(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Changing a label named by ``label_keys()`` notifies ``node`` with the new labels."""
    labels = tmp_path / "labels"
    labels.write_text("volcano.sh/oversubscription=false\n")
    _source, context = start_source(tmp_path / "cm", labels_file=labels, keys=MATTERS)
    write_in_place(labels, "volcano.sh/oversubscription=true\n")
    assert context.wait_notified("node")
    [note] = context.notified("node")
    assert note.state is not None
    assert note.state.node_labels["volcano.sh/oversubscription"] == "true"
    assert context.notified("configmap") == []


def test_labels_change_on_other_keys_updates_the_snapshot_silently(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A label nobody selects on changes the snapshot but does not notify."""
    labels = tmp_path / "labels"
    labels.write_text("zone=a\nrack=r1\n")
    doc = tmp_path / "doc.json"
    source, context = start_source(doc, labels_file=labels, keys=MATTERS)
    rename_over(labels, "zone=a\nrack=r2\n")
    # A barrier: both files are in one watched directory, whose events are handled in order,
    # so when the document's notify arrives the labels event has been handled.
    rename_over(doc, "{}")
    assert context.wait_notified("configmap")
    assert [n.key for n in context.notified()] == ["configmap"]
    assert source.snapshot().node_labels["rack"] == "r2"


def test_labels_file_in_a_kubelet_volume_follows_the_swap(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A downward-API style labels file (quoted values, ``..data`` swap) is followed."""
    volume = tmp_path / "podinfo"
    kubelet_write(volume, {"labels": 'zone="a"\n'})
    source, context = start_source(tmp_path / "cm", labels_file=volume / "labels", keys=MATTERS)
    assert source.snapshot().node_labels["zone"] == "a"
    kubelet_write(volume, {"labels": 'zone="b"\n'})
    assert context.wait_notified("node")
    assert source.snapshot().node_labels["zone"] == "b"


def test_invalid_labels_file_is_reported_with_its_line_and_old_labels_stay(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A bad line is reported as ``file:line: reason``; the last good labels stay."""
    labels = tmp_path / "labels"
    labels.write_text("zone=a\n")
    source, context = start_source(tmp_path / "cm", labels_file=labels, keys=MATTERS)
    rename_over(labels, "# comment\nzone=b\nnot a label\n")
    assert context.wait_event("source-error")
    [error] = context.events("source-error")
    assert error.detail.startswith(f"{labels}:3: expected key=value")
    assert source.snapshot().node_labels["zone"] == "a"
    rename_over(labels, "zone=c\n")
    assert context.wait_notified("node")
    assert source.snapshot().node_labels["zone"] == "c"


def test_missing_labels_file_is_synced_empty_and_waited_for(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A labels file missing at start means no file labels yet; it is read when it appears."""
    labels = tmp_path / "later" / "labels"
    source, context = start_source(tmp_path / "cm", labels_file=labels, keys=MATTERS)
    assert source.wait_synced(0)
    labels.parent.mkdir()
    rename_over(labels, "zone=z\n")
    assert context.wait_notified("node")
    assert dict(source.snapshot().node_labels) == {"zone": "z"}


def test_invalid_labels_file_at_start_keeps_the_source_unsynced(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Unknown labels are not guessed: unsynced (and reported) until the file is valid."""
    labels = tmp_path / "labels"
    labels.write_text("zone=a b\n")
    source, context = start_source(tmp_path / "cm", labels_file=labels)
    assert not source.wait_synced(0)
    assert context.events("source-error")
    rename_over(labels, "zone=ab\n")
    assert source.wait_synced(10)


def test_parse_labels_text_skips_comments_blanks_and_unquotes() -> None:
    """Comments and blank lines are skipped; spaces trimmed; ``"quoted"`` values unquoted."""
    text = '# node labels\n\n  zone = a \nrack="r1"\nempty=\n'
    assert parse_labels_text(text) == {"zone": "a", "rack": "r1", "empty": ""}


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("zone=a\nnoequals\n", 2, "expected key=value"),
        ("a/b/c=x\n", 1, "more than one '/'"),
        ("zone=a b\n", 1, "label value 'a b'"),
        ("zone=a\n# c\nzone=b\n", 3, "given twice (first on line 1)"),
    ],
)
def test_parse_labels_text_errors_name_file_and_line(text: str, line: int, reason: str) -> None:
    """Every error is a DocumentError naming the file and the 1-based line."""
    with pytest.raises(DocumentError) as info:
        parse_labels_text(text, source="labels.txt")
    assert info.value.line == line
    assert str(info.value).startswith(f"labels.txt:{line}: ")
    assert reason in info.value.reason
