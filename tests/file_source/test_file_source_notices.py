"""Which inotify notices matter (``nodeconf.sources.file.notices``), as tables.

The decision is pure: the followed files, their locations and the stat results are built
here as values; nothing touches the file system. The world of the tables: a ConfigMap
directory ``/etc/cm`` (kubelet's layout, the document in the timestamped directory
``..2026_01_01``) and a labels file ``/etc/node-labels``.
"""

from __future__ import annotations

import os
import stat
from types import MappingProxyType

import pytest

from nodeconf.sources.file.inotify import (
    IN_ATTRIB,
    IN_CLOSE_WRITE,
    IN_CREATE,
    IN_DELETE,
    IN_DELETE_SELF,
    IN_ISDIR,
    IN_MOVE_SELF,
    IN_MOVED_FROM,
    IN_MOVED_TO,
    Notice,
)
from nodeconf.sources.file.layout import FollowedFile, Location
from nodeconf.sources.file.notices import Relevance, creates_file, relevance, unclosed_file

ROOT = "/etc/cm"
KEY = "colocation-config"
STAMP = f"{ROOT}/..2026_01_01"
DOCUMENT = FollowedFile(ROOT, KEY)
DOCUMENT_AT = Location(
    file=f"{STAMP}/{KEY}",
    dirs=MappingProxyType({ROOT: (1, 10), STAMP: (1, 11)}),
    names=frozenset({f"{ROOT}/{KEY}", f"{ROOT}/..data", f"{STAMP}/{KEY}"}),
    content_dir=STAMP,
)
LABELS = FollowedFile("/etc/node-labels")
LABELS_AT = Location(
    file="/etc/node-labels",
    dirs=MappingProxyType({"/etc": (1, 2)}),
    names=frozenset({"/etc/node-labels"}),
)

DOC = Relevance(document=True, labels=False, moved=False)
DOC_MOVED = Relevance(document=True, labels=False, moved=True)
LABELS_MOVED = Relevance(document=False, labels=True, moved=True)
BOTH_MOVED = Relevance(document=True, labels=True, moved=True)
NOTHING = Relevance(document=False, labels=False, moved=False)


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        pytest.param(Notice((f"{ROOT}/{KEY}",), IN_CLOSE_WRITE), DOC, id="rewrite-in-place"),
        pytest.param(Notice((f"{ROOT}/{KEY}",), IN_ATTRIB), DOC, id="attrib-of-the-file"),
        pytest.param(Notice((f"{ROOT}/{KEY}",), IN_MOVED_TO), DOC_MOVED, id="rename-over"),
        pytest.param(Notice((f"{ROOT}/{KEY}",), IN_CREATE), DOC_MOVED, id="file-created"),
        pytest.param(Notice((f"{ROOT}/{KEY}",), IN_DELETE), DOC_MOVED, id="file-deleted"),
        pytest.param(Notice((f"{ROOT}/..data",), IN_MOVED_TO), DOC_MOVED, id="kubelet-swap"),
        pytest.param(Notice((f"{STAMP}/{KEY}",), IN_CLOSE_WRITE), DOC, id="edit-behind-the-links"),
        pytest.param(
            Notice((f"{STAMP}/{KEY}",), IN_MOVED_TO), DOC_MOVED, id="sed-i-behind-the-links"
        ),
        pytest.param(
            Notice((f"{ROOT}/..2026_02_02",), IN_CREATE | IN_ISDIR),
            NOTHING,
            id="kubelet-new-timestamped-dir",
        ),
        pytest.param(Notice((f"{ROOT}/..data_tmp",), IN_CREATE), NOTHING, id="kubelet-tmp-link"),
        pytest.param(
            Notice((f"{ROOT}/..data_tmp",), IN_MOVED_FROM), NOTHING, id="kubelet-tmp-renamed"
        ),
        pytest.param(Notice((STAMP,), IN_DELETE | IN_ISDIR), NOTHING, id="old-stamp-deleted"),
        pytest.param(Notice((f"{ROOT}/other-key",), IN_CLOSE_WRITE), NOTHING, id="other-key"),
        pytest.param(Notice(("/etc/hosts",), IN_CLOSE_WRITE), NOTHING, id="other-file-in-/etc"),
        pytest.param(Notice((ROOT,), IN_DELETE_SELF), DOC_MOVED, id="root-deleted"),
        pytest.param(Notice((ROOT,), IN_ATTRIB), DOC_MOVED, id="attrib-of-the-root-dir"),
        pytest.param(Notice(("/etc",), IN_MOVE_SELF), BOTH_MOVED, id="guard-above-both"),
        pytest.param(Notice(("/etc/..data",), IN_MOVED_TO), BOTH_MOVED, id="parent-data-link"),
        pytest.param(Notice((ROOT,), lost=True), BOTH_MOVED, id="watch-lost"),
        pytest.param(Notice((), lost=True), BOTH_MOVED, id="queue-overflow"),
        pytest.param(
            # a plain path is its own root: any event on it may change what it is
            Notice(("/etc/node-labels",), IN_CLOSE_WRITE),
            LABELS_MOVED,
            id="labels-rewritten",
        ),
        pytest.param(
            Notice(("/etc/node-labels",), IN_MOVED_TO), LABELS_MOVED, id="labels-renamed-over"
        ),
        pytest.param(
            Notice((f"/srv/alias/{KEY}", f"{ROOT}/{KEY}"), IN_CLOSE_WRITE),
            DOC,
            id="directory-watched-under-two-names",
        ),
    ],
)
def test_relevance_of_each_kind_of_notice(notice: Notice, expected: Relevance) -> None:
    """Each kind of notice concerns the document, the labels file or neither, and says
    whether the files must be located again (anything but a content change on their names)."""
    assert relevance(notice, DOCUMENT, DOCUMENT_AT, LABELS, LABELS_AT) == expected


@pytest.mark.parametrize(
    ("notice", "expected"),
    [
        pytest.param(Notice((ROOT,), lost=True), DOC_MOVED, id="watch-lost"),
        pytest.param(Notice((f"{ROOT}/{KEY}",), IN_CLOSE_WRITE), DOC, id="rewrite-in-place"),
        pytest.param(
            Notice(("/etc/node-labels",), IN_CLOSE_WRITE), NOTHING, id="not-a-followed-file"
        ),
    ],
)
def test_relevance_without_a_labels_file(notice: Notice, expected: Relevance) -> None:
    """Without a labels file no notice ever asks for the labels to be looked at."""
    assert relevance(notice, DOCUMENT, DOCUMENT_AT, None, LABELS_AT) == expected


@pytest.mark.parametrize(
    ("mask", "expected"),
    [
        pytest.param(IN_CREATE, True, id="create"),
        pytest.param(IN_CREATE | IN_ISDIR, False, id="create-dir"),
        pytest.param(IN_CLOSE_WRITE, False, id="close-write"),
        pytest.param(IN_MOVED_TO, False, id="moved-to"),
        pytest.param(IN_ATTRIB, False, id="attrib"),
        pytest.param(IN_DELETE, False, id="delete"),
        pytest.param(0, False, id="no-mask"),
    ],
)
def test_only_a_created_non_directory_may_be_unfinished(mask: int, expected: bool) -> None:
    """Only an IN_CREATE of an entry that is not a directory asks for a stat before reading."""
    assert creates_file(Notice((f"{ROOT}/{KEY}",), mask)) is expected


def _lstat(mode: int, nlink: int = 1) -> os.stat_result:
    # (st_mode, st_ino, st_dev, st_nlink, st_uid, st_gid, st_size, st_atime, st_mtime, st_ctime)
    return os.stat_result((mode, 7, 1, nlink, 0, 0, 0, 0, 0, 0))


@pytest.mark.parametrize(
    ("st", "expected"),
    [
        pytest.param(_lstat(stat.S_IFREG | 0o644), True, id="new-regular-file"),
        pytest.param(_lstat(stat.S_IFREG | 0o644, nlink=2), False, id="hard-link"),
        pytest.param(_lstat(stat.S_IFLNK | 0o777), False, id="symlink"),
        pytest.param(_lstat(stat.S_IFDIR | 0o755, nlink=2), False, id="directory"),
        pytest.param(_lstat(stat.S_IFIFO | 0o644), False, id="fifo"),
    ],
)
def test_a_new_regular_file_with_one_link_waits_for_its_close(
    st: os.stat_result, expected: bool
) -> None:
    """A just-created regular file with one link is not read before its IN_CLOSE_WRITE; a
    symlink, a hard link or anything else is complete at creation."""
    assert unclosed_file(st) is expected
