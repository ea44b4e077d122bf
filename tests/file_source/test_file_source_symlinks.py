"""Edits *behind* symlinks are seen: the directory holding the real file is watched too, and
that watch follows the symlinks when they are re-pointed (no watch is left behind)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from file_source.fsworld import (
    WAIT_SECONDS,
    RecordingContext,
    StartSource,
    inode,
    inotify_watched_inodes,
    json_doc,
    kubelet_write,
    rename_over,
    write_in_place,
)

KEY = "colocation-config"
MATTERS = frozenset({"zone"})


class _Barrier:
    """Waits until the watches reflect every change the test made before ``wait()``.

    The barrier is a labels file in a directory of its own (``barrier`` fixture), replaced
    whole (``rename_over``: a read sees the old or the new value, never half of it); a
    changed value notifies ``node``. Not beside the document: a ``..data`` event in the
    labels file's directory concerns it (it could redirect a ``dir/key`` labels file), and
    that event's handling reads it *before* its re-arm (read, notify, then move the
    watches), so a change to it could be notified while the watches are still moving.

    In its own directory the labels file is read only on its own events and by the second
    read of a re-arm that added a watch (that read comes after the re-arm's watch change).
    One round still proves nothing about the watches: the re-arm whose second read
    answers may have located the files *before* the test's last change (a re-point made
    during that re-arm, whose new text this same second read notified). Two rounds do: the
    read that answers the second round comes after the one that answered the first, which
    came after the test's last change. If that later read is a re-arm's, the re-arm
    located the files after the last change; if it is one of the labels file's own
    events, every earlier event (the last re-point's included) was handled in full.
    Either way the watched set is final: what is still queued only locates the same
    layout again.
    """

    def __init__(self, directory: Path) -> None:
        self.labels = directory / "barrier-labels"
        self.labels.write_text("zone=0\n")
        self.count = 0

    def wait(self, context: RecordingContext) -> None:
        for _ in range(2):
            self.count += 1
            rename_over(self.labels, f"zone={self.count}\n")
            assert context.wait_notified("node", self.count)


@pytest.fixture
def barrier(tmp_path_factory: pytest.TempPathFactory) -> _Barrier:
    """A ``_Barrier`` whose labels file is outside the test's ``tmp_path`` (so its watch is
    not counted by ``inotify_watched_inodes(within=tmp_path)``)."""
    return _Barrier(tmp_path_factory.mktemp("barrier"))


class _HeldNotify(RecordingContext):
    """A ``RecordingContext`` whose ``notify("configmap")`` number ``hold_at`` keeps the
    reader thread inside that notify (in the source's handling of the event, before it moves
    the watches) until ``release()``: a reader descheduled right after a notify, on demand.

    Thread-safety: as ``RecordingContext``; ``held`` and ``_released`` are events.
    """

    def __init__(self, hold_at: int) -> None:
        super().__init__()
        self.hold_at = hold_at
        self.held = threading.Event()
        self._released = threading.Event()

    def notify(self, key: str) -> None:
        super().notify(key)
        if key == "configmap" and len(self.notified("configmap")) == self.hold_at:
            self.held.set()
            self._released.wait(WAIT_SECONDS)  # the timeout only bounds a failed test

    def release(self) -> None:
        self._released.set()


def _repoint_data_link(directory: Path, text: str) -> Path:
    """Publish ``text`` in a new timestamped directory and swap ``..data`` to it, keeping the
    old directory (unlike kubelet), so that only our own book-keeping can drop its watch."""
    stamp = directory / f"..v{len(list(directory.glob('..v*')))}"
    stamp.mkdir()
    (stamp / KEY).write_text(text)
    (directory / "..data_tmp").symlink_to(stamp.name)
    os.replace(directory / "..data_tmp", directory / "..data")
    if not (directory / KEY).is_symlink():
        (directory / KEY).symlink_to(f"..data/{KEY}")
    return stamp


def test_in_place_edit_behind_the_data_link_is_seen(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Rewriting ``dir/..data/key`` in place (no swap) notifies with the new text."""
    kubelet_write(tmp_path, {KEY: json_doc(90)})
    source, context = start_source(tmp_path)
    write_in_place(tmp_path / "..data" / KEY, json_doc(91))
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(91)
    assert source.snapshot().origin == str(tmp_path / KEY)


def test_sed_in_place_behind_the_data_link_is_seen(
    tmp_path: Path, start_source: StartSource
) -> None:
    """``sed -i`` on ``dir/..data/key`` (a temporary file renamed over the real file inside
    the timestamped directory) notifies with the edited text."""
    sed = shutil.which("sed")
    if sed is None:
        pytest.skip("sed is not installed; this test runs the real tool")
    kubelet_write(tmp_path, {KEY: json_doc(90)})
    source, context = start_source(tmp_path)
    subprocess.run([sed, "-i", "s/90/91/", str(tmp_path / "..data" / KEY)], check=True)
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(91)


def test_other_files_behind_the_data_link_are_ignored(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Writing another key's file in the timestamped directory notifies nothing."""
    kubelet_write(tmp_path, {KEY: json_doc(90), "other": "a"})
    _, context = start_source(tmp_path)
    write_in_place(tmp_path / "..data" / "other", "b")
    rename_over(tmp_path / "..data" / "other", "c")
    assert context.observe_quiet() == 0


def test_edits_of_a_symlinked_plain_files_target_are_seen(
    tmp_path: Path, start_source: StartSource
) -> None:
    """``path`` is a symlink to a file in another directory: rewriting the target in place
    and renaming a new file over it both notify."""
    (tmp_path / "srv").mkdir()
    (tmp_path / "etc").mkdir()
    target = tmp_path / "srv" / "doc.json"
    target.write_text(json_doc(70))
    link = tmp_path / "etc" / "doc.json"
    link.symlink_to("../srv/doc.json")
    source, context = start_source(link)
    write_in_place(target, json_doc(71))
    assert context.wait_notified("configmap")
    rename_over(target, json_doc(72))
    assert context.wait_notified("configmap", 2)
    assert [n.state.document for n in context.notified("configmap") if n.state] == [
        json_doc(71),
        json_doc(72),
    ]
    assert source.snapshot().origin == str(link)


def test_a_symlink_re_pointed_to_another_directory_moves_the_watch(
    tmp_path: Path, start_source: StartSource, barrier: _Barrier
) -> None:
    """A plain-file symlink re-pointed to a file elsewhere: the new target is read, and later
    edits of the new target (not the old one) are seen."""
    for name, value in (("a", 70), ("b", 71)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "doc.json").write_text(json_doc(value))
    link = tmp_path / "doc.json"
    link.symlink_to("a/doc.json")
    _source, context = start_source(link, labels_file=barrier.labels, keys=MATTERS)
    (tmp_path / "doc.tmp").symlink_to("b/doc.json")
    os.replace(tmp_path / "doc.tmp", link)
    assert context.wait_notified("configmap")
    barrier.wait(context)
    assert inotify_watched_inodes(within=tmp_path) == sorted(
        [inode(tmp_path), inode(tmp_path / "b")]
    )
    write_in_place(tmp_path / "a" / "doc.json", json_doc(99))
    write_in_place(tmp_path / "b" / "doc.json", json_doc(72))
    assert context.wait_notified("configmap", 2)
    assert [n.state.document for n in context.notified("configmap") if n.state] == [
        json_doc(71),
        json_doc(72),
    ]


def test_after_a_kubelet_swap_the_new_file_is_watched_and_the_old_watch_is_gone(
    tmp_path: Path, start_source: StartSource, barrier: _Barrier
) -> None:
    """After a swap, an in-place edit of the NEW timestamped file notifies, and the kernel
    holds exactly two watches: the ConfigMap directory and the new timestamped directory."""
    first = kubelet_write(tmp_path, {KEY: json_doc(80)})
    source, context = start_source(tmp_path, labels_file=barrier.labels, keys=MATTERS)
    assert inotify_watched_inodes(within=tmp_path) == sorted(
        [inode(tmp_path), inode(tmp_path / first)]
    )
    second = kubelet_write(tmp_path, {KEY: json_doc(81)})
    assert context.wait_notified("configmap")
    barrier.wait(context)
    assert inotify_watched_inodes(within=tmp_path) == sorted(
        [inode(tmp_path), inode(tmp_path / second)]
    )
    write_in_place(tmp_path / second / KEY, json_doc(82))
    assert context.wait_notified("configmap", 2)
    assert source.snapshot().document == json_doc(82)
    assert context.observe_quiet() == 0


def test_re_pointing_the_data_link_many_times_leaks_no_watch(
    tmp_path: Path, start_source: StartSource, barrier: _Barrier
) -> None:
    """``..data`` re-pointed five times while the old directories stay: each old directory's
    watch is removed, so two watches remain and edits of old directories notify nothing."""
    _repoint_data_link(tmp_path, json_doc(60))
    source, context = start_source(tmp_path, labels_file=barrier.labels, keys=MATTERS)
    for i in range(1, 6):
        current = _repoint_data_link(tmp_path, json_doc(60 + i))
        assert context.wait_notified("configmap", i)
    barrier.wait(context)
    assert inotify_watched_inodes(within=tmp_path) == sorted([inode(tmp_path), inode(current)])
    write_in_place(tmp_path / "..v0" / KEY, json_doc(99))
    write_in_place(current / KEY, json_doc(70))
    assert context.wait_notified("configmap", 6)
    assert source.snapshot().document == json_doc(70)
    assert context.observe_quiet() == 0


def test_an_edit_behind_the_new_data_link_before_its_watch_exists_is_seen(
    tmp_path: Path, start_source: StartSource
) -> None:
    """An in-place edit of the new timestamped file made after a re-point's notify, while
    that directory is not watched yet, is read once the watches have moved (not lost)."""
    _repoint_data_link(tmp_path, json_doc(60))
    context = _HeldNotify(hold_at=1)
    source, _ = start_source(tmp_path, context=context)
    try:
        current = _repoint_data_link(tmp_path, json_doc(61))
        assert context.held.wait(WAIT_SECONDS)
        assert inotify_watched_inodes(within=tmp_path) == sorted(
            [inode(tmp_path), inode(tmp_path / "..v0")]
        )
        write_in_place(current / KEY, json_doc(62))  # no event: not watched yet
    finally:
        context.release()
    assert context.wait_notified("configmap", 2)
    assert source.snapshot().document == json_doc(62)


def test_edit_of_a_symlinked_labels_files_target_is_seen(
    tmp_path: Path, start_source: StartSource
) -> None:
    """``labels_file`` is a symlink to a file elsewhere: rewriting the target notifies ``node``."""
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "labels").write_text("zone=a\n")
    (tmp_path / "labels").symlink_to("srv/labels")
    source, context = start_source(tmp_path / "cm", labels_file=tmp_path / "labels", keys=MATTERS)
    write_in_place(tmp_path / "srv" / "labels", "zone=b\n")
    assert context.wait_notified("node")
    assert source.snapshot().node_labels["zone"] == "b"
