"""The file source sees every way a document file changes, and reads only complete files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from file_source.fsworld import (
    StartSource,
    inode,
    inotify_watched_inodes,
    json_doc,
    kubelet_write,
    rename_over,
    write_in_place,
)
from nodeconf.errors import DocumentError
from nodeconf.model import COLOCATION
from nodeconf.sources.file import MAX_DOCUMENT_BYTES

KEY = "colocation-config"


def _texts(context: object) -> list[object]:
    return [n.state.document for n in context.notified("configmap")]  # type: ignore[attr-defined]


def test_reads_a_kubelet_directory_at_start_without_notifying(
    tmp_path: Path, start_source: StartSource
) -> None:
    """start() reads the document through ``key -> ..data/key``; the first read is no change."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    source, context = start_source(tmp_path)
    assert source.wait_synced(0)
    state = source.snapshot()
    assert state.document == json_doc(81)
    assert state.document_version
    assert state.origin == str(tmp_path / KEY)
    assert context.notified() == []


def test_kubelet_swap_notifies_once_with_the_new_text(
    tmp_path: Path, start_source: StartSource
) -> None:
    """An atomic ``..data`` swap is one change: one notify, the new text in the snapshot."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    _source, context = start_source(tmp_path)
    kubelet_write(tmp_path, {KEY: json_doc(82)})
    assert context.wait_notified("configmap")
    assert _texts(context) == [json_doc(82)]
    assert context.observe_quiet() == 0


def test_kubelet_swap_with_identical_bytes_is_no_change(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A swap that republishes the same bytes does not notify (the version is a content hash)."""
    kubelet_write(tmp_path, {KEY: json_doc(81), "other": "a"})
    _, context = start_source(tmp_path)
    kubelet_write(tmp_path, {KEY: json_doc(81), "other": "b"})
    assert context.observe_quiet() == 0


def test_successive_kubelet_swaps_end_with_the_last_text(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Many swaps in a row: every notify carries a published text and the last one wins."""
    kubelet_write(tmp_path, {KEY: json_doc(60)})
    source, context = start_source(tmp_path)
    published = [json_doc(61 + i) for i in range(20)]
    for text in published:
        kubelet_write(tmp_path, {KEY: text})
    assert context.wait_for(lambda: source.snapshot().document == published[-1])
    assert set(_texts(context)) <= set(published)


def test_plain_rewrite_in_place_is_read_once_the_writer_closed_it(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Truncate + several writes + close: one notify, never a truncated or partial text."""
    doc = tmp_path / KEY
    doc.write_text(json_doc(70))
    _, context = start_source(tmp_path)
    write_in_place(doc, json_doc(71), pieces=4)
    assert context.wait_notified("configmap")
    assert _texts(context) == [json_doc(71)]
    assert context.observe_quiet() == 0


def test_a_new_file_is_not_read_before_its_writer_closes_it(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A file created and still being written is read at close, not at creation."""
    _, context = start_source(tmp_path)
    with open(tmp_path / KEY, "w", encoding="utf-8") as f:
        f.write(json_doc(72)[:10])
        f.flush()
        assert context.observe_quiet() == 0
        f.write(json_doc(72)[10:])
    assert context.wait_notified("configmap")
    assert _texts(context) == [json_doc(72)]


def test_rename_over_is_picked_up(tmp_path: Path, start_source: StartSource) -> None:
    """An editor's write-to-temp-then-rename replaces the document: one notify."""
    doc = tmp_path / KEY
    doc.write_text(json_doc(70))
    _, context = start_source(tmp_path)
    rename_over(doc, json_doc(73))
    assert context.wait_notified("configmap")
    assert _texts(context) == [json_doc(73)]


def test_a_plain_file_path_is_followed(tmp_path: Path, start_source: StartSource) -> None:
    """``path`` may be the document file itself; rewrites and rename-overs are seen."""
    doc = tmp_path / "my.json"
    doc.write_text(json_doc(70))
    source, context = start_source(doc)
    assert source.snapshot().document == json_doc(70)
    write_in_place(doc, json_doc(74))
    assert context.wait_notified("configmap")
    rename_over(doc, json_doc(75))
    assert context.wait_for(lambda: source.snapshot().document == json_doc(75))
    assert _texts(context) == [json_doc(74), json_doc(75)]


def test_the_key_file_inside_a_kubelet_directory_is_followed_through_swaps(
    tmp_path: Path, start_source: StartSource
) -> None:
    """``path`` = ``dir/key`` (a symlink into ``..data``) still sees kubelet's swap."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    source, context = start_source(tmp_path / KEY)
    kubelet_write(tmp_path, {KEY: json_doc(83)})
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(83)


def test_other_files_in_the_directory_are_ignored(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Writing, creating and deleting unrelated files beside the document notifies nothing."""
    (tmp_path / KEY).write_text(json_doc(70))
    _, context = start_source(tmp_path)
    (tmp_path / "notes.txt").write_text("x")
    rename_over(tmp_path / "other.json", "{}")
    (tmp_path / "notes.txt").unlink()
    assert context.observe_quiet() == 0


def test_deleted_document_keeps_its_last_text_and_is_reported(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Deleting the file reports ``document-deleted``; the snapshot keeps the last text."""
    doc = tmp_path / KEY
    doc.write_text(json_doc(70))
    source, context = start_source(tmp_path)
    before = source.snapshot()
    doc.unlink()
    assert context.wait_event("document-deleted")
    assert source.snapshot() == before
    assert context.notified() == []


def test_recreated_document_is_reported_restored_and_read(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Deleted then re-created with new text: ``document-restored`` and one notify."""
    doc = tmp_path / KEY
    doc.write_text(json_doc(70))
    source, context = start_source(tmp_path)
    doc.unlink()
    assert context.wait_event("document-deleted")
    rename_over(doc, json_doc(76))
    assert context.wait_event("document-restored")
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(76)


def test_whole_directory_removed_and_recreated_kubelet_style(
    tmp_path: Path, start_source: StartSource
) -> None:
    """The ConfigMap directory removed, then re-created by kubelet: followed, never exited."""
    cm = tmp_path / "cm"
    kubelet_write(cm, {KEY: json_doc(81)})
    source, context = start_source(cm)
    shutil.rmtree(cm)
    assert context.wait_event("document-deleted")
    assert source.snapshot().document == json_doc(81)
    kubelet_write(cm, {KEY: json_doc(84)})
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(84)
    kubelet_write(cm, {KEY: json_doc(85)})
    assert context.wait_notified("configmap", 2)
    assert _texts(context) == [json_doc(84), json_doc(85)]
    assert source.alive()


def test_directory_renamed_away_and_another_put_in_its_place(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A directory renamed away (not deleted) stops counting; its replacement is followed."""
    cm = tmp_path / "cm"
    (cm).mkdir()
    (cm / KEY).write_text(json_doc(70))
    _source, context = start_source(cm)
    os.rename(cm, tmp_path / "cm.old")
    assert context.wait_event("document-deleted")
    (tmp_path / "cm.old" / KEY).write_text(json_doc(99))  # no longer ours
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / KEY).write_text(json_doc(77))
    os.rename(staged, cm)
    assert context.wait_notified("configmap")
    assert _texts(context) == [json_doc(77)]


def test_a_directory_above_renamed_away_and_a_new_tree_put_in_its_place(
    tmp_path: Path, start_source: StartSource
) -> None:
    """``mv etc/agent etc/agent.old`` two levels above the ConfigMap directory, then a new
    ``etc/agent`` tree: the document's directory gets no event (its watch follows its inode
    into the old tree), so only the guard on ``etc/agent`` reveals the move. The new tree is
    followed; edits in the old one are no longer ours; the watches end up on the new tree."""
    agent = tmp_path / "etc" / "agent"
    cm = agent / "conf" / "cm"
    kubelet_write(cm, {KEY: json_doc(70)})
    source, context = start_source(cm)
    os.rename(agent, tmp_path / "etc" / "agent.old")
    assert context.wait_event("document-deleted")
    assert source.snapshot().document == json_doc(70)  # the last document stays in effect
    kubelet_write(tmp_path / "etc" / "agent.old" / "conf" / "cm", {KEY: json_doc(99)})
    kubelet_write(cm, {KEY: json_doc(71)})
    assert context.wait_notified("configmap")
    assert _texts(context) == [json_doc(71)]
    kubelet_write(cm, {KEY: json_doc(72)})
    assert context.wait_notified("configmap", 2)
    assert _texts(context) == [json_doc(71), json_doc(72)]
    guards = inotify_watched_inodes(guards=True)
    assert {inode(agent), inode(agent / "conf")} <= set(guards)
    assert inode(tmp_path / "etc" / "agent.old") not in guards
    assert source.alive()


def test_missing_path_at_start_is_waited_for(tmp_path: Path, start_source: StartSource) -> None:
    """A path (and parents) missing at start: synced as "no document", then followed."""
    cm = tmp_path / "a" / "b" / "cm"
    source, context = start_source(cm)
    assert source.wait_synced(0)
    assert source.snapshot().document is None
    kubelet_write(cm, {KEY: json_doc(86)})
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(86)


def test_a_path_that_becomes_a_file_is_read_as_the_document(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A missing ``path`` later created as a plain file is read as the document itself."""
    path = tmp_path / "doc.json"
    source, context = start_source(path)
    rename_over(path, json_doc(87))
    assert context.wait_notified("configmap")
    assert source.snapshot().origin == str(path)


def test_an_unreadable_document_is_reported_and_keeps_the_source_unsynced(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A FIFO where the document belongs: ``source-error`` once (never a blocked read), and
    unsynced until a readable document replaces it."""
    os.mkfifo(tmp_path / KEY)
    source, context = start_source(tmp_path)
    assert not source.wait_synced(0)
    [error] = context.events("source-error")
    assert "not a regular file" in error.detail
    rename_over(tmp_path / KEY, json_doc(88))
    assert context.wait_notified("configmap")
    assert source.wait_synced(0)
    assert source.snapshot().document == json_doc(88)


def test_invalid_utf8_is_handed_on_as_bytes(tmp_path: Path, start_source: StartSource) -> None:
    """Bytes that are not UTF-8 reach the snapshot as bytes, for the schema to report."""
    (tmp_path / KEY).write_bytes(b'{"a": "\xff"}')
    source, _ = start_source(tmp_path)
    assert source.snapshot().document == b'{"a": "\xff"}'


def test_notifications_come_from_the_named_reader_thread(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Changes are delivered on ``nodeconf-file-inotify`` (the one thread inotify mode adds)."""
    (tmp_path / KEY).write_text(json_doc(70))
    source, context = start_source(tmp_path)
    assert source.mode == "inotify"
    rename_over(tmp_path / KEY, json_doc(71))
    assert context.wait_notified("configmap")
    assert context.caller_threads() == {"nodeconf-file-inotify"}


def test_a_symlinked_directory_is_followed_when_the_link_is_repointed(
    tmp_path: Path, start_source: StartSource
) -> None:
    """``path`` is a symlink to a directory; re-pointing the link (``ln -sfn``) is a change."""
    for name, value in (("v1", 70), ("v2", 71)):
        (tmp_path / name).mkdir()
        (tmp_path / name / KEY).write_text(json_doc(value))
    link = tmp_path / "current"
    link.symlink_to("v1")
    source, context = start_source(link)
    assert source.snapshot().document == json_doc(70)
    (tmp_path / "current.tmp").symlink_to("v2")
    os.replace(tmp_path / "current.tmp", link)
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(71)


def test_an_over_large_file_is_a_document_problem_not_a_source_error(
    tmp_path: Path, start_source: StartSource
) -> None:
    """A 5 MiB file is handed on as its first 1 MiB + 1 byte, which the schema rejects as over
    the ConfigMap limit (as for a Kubernetes document), with no source error."""
    (tmp_path / KEY).write_bytes(b'{"pad": "' + b"x" * (5 * 1024 * 1024) + b'"}')
    source, _ = start_source(tmp_path)
    document = source.snapshot().document
    assert document is not None
    assert len(document) == MAX_DOCUMENT_BYTES + 1
    assert source.status_json()["errors"] == {}
    with pytest.raises(DocumentError, match="over the ConfigMap limit"):
        COLOCATION.parse(document)
