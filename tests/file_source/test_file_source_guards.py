"""``DirectoryWatcher`` guards: watches on the directories above the followed ones that report
their own removal or renaming only, so that a busy ancestor never wakes the reader thread.

"Nothing was reported" is proven by order, not by waiting: one inotify instance delivers its
events in the order they happened, so once a later *sentinel* event has arrived, any notice
for the earlier changes would have arrived before it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from file_source.fsworld import inode, inotify_watched_inodes
from nodeconf.sources.file.inotify import Notice
from nodeconf.sources.file.layout import DirId
from nodeconf.sources.file.watcher import DirectoryWatcher

WAIT_SECONDS = 10.0


class Notices:
    """Records every notice (reader thread); ``wait_for`` blocks until a predicate holds.

    Thread-safety: ``_cond`` guards ``_seen``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seen: list[Notice] = []

    def on_notice(self, notice: Notice) -> None:
        with self._cond:
            self._seen.append(notice)
            self._cond.notify_all()

    def take(self) -> list[Notice]:
        with self._cond:
            seen, self._seen = self._seen, []
            return seen

    def wait_for(self, predicate: Callable[[list[Notice]], bool]) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._seen), WAIT_SECONDS)


@pytest.fixture
def watched() -> Iterator[tuple[DirectoryWatcher, Notices]]:
    notices = Notices()
    watcher = DirectoryWatcher(notices.on_notice)
    watcher.start()
    yield watcher, notices
    watcher.close()
    assert watcher.join(WAIT_SECONDS)


def ident(path: Path) -> DirId:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def about(path: Path) -> Callable[[list[Notice]], bool]:
    return lambda seen: any(str(path) in n.paths for n in seen)


def busy(directory: Path) -> None:
    """Every kind of entry event a guard must not report: create, write, rename, delete, and
    a sub-directory created and removed."""
    (directory / "busy").write_text("x")
    (directory / "busy").rename(directory / "busy2")
    (directory / "busy2").unlink()
    (directory / "sub").mkdir()
    (directory / "sub").rmdir()


def test_a_guard_reports_only_its_own_renaming(
    tmp_path: Path, watched: tuple[DirectoryWatcher, Notices]
) -> None:
    """Entry events in guarded directories are never reported; renaming a guarded directory
    is, as a lost watch naming it, and its guard is dropped."""
    watcher, notices = watched
    top, mid, leaf = tmp_path / "top", tmp_path / "top" / "mid", tmp_path / "top" / "mid" / "leaf"
    leaf.mkdir(parents=True)
    synced = watcher.sync({str(leaf): ident(leaf)}, {str(mid): ident(mid), str(top): ident(top)})
    assert synced.added == {str(leaf)}
    assert not synced.missed
    assert watcher.guarded() == {str(mid), str(top)}
    assert inotify_watched_inodes(guards=True, within=tmp_path) == sorted([inode(top), inode(mid)])
    busy(top)
    busy(mid)
    (leaf / "sentinel").write_text("s")
    assert notices.wait_for(about(leaf / "sentinel"))
    assert {p for n in notices.take() for p in n.paths} == {str(leaf / "sentinel")}

    os.rename(top, tmp_path / "moved")
    assert notices.wait_for(lambda seen: any(n.lost and str(top) in n.paths for n in seen))
    assert str(top) not in watcher.guarded()


def test_a_guarded_directory_wanted_in_full_gets_entry_events_and_back(
    tmp_path: Path, watched: tuple[DirectoryWatcher, Notices]
) -> None:
    """A directory's role can change both ways (a followed directory removed makes its parent
    watched in full; its return makes the parent a guard again): the kernel's mask follows."""
    watcher, notices = watched
    top, leaf = tmp_path / "top", tmp_path / "top" / "leaf"
    leaf.mkdir(parents=True)
    watcher.sync({str(leaf): ident(leaf)}, {str(top): ident(top)})

    watcher.sync({str(top): ident(top)})  # now wanted in full
    assert watcher.watched() == {str(top)}
    assert watcher.guarded() == set()
    assert inotify_watched_inodes(within=tmp_path) == [inode(top)]
    (top / "created").write_text("x")
    assert notices.wait_for(about(top / "created"))

    watcher.sync({str(leaf): ident(leaf)}, {str(top): ident(top)})  # a guard again
    assert inotify_watched_inodes(guards=True, within=tmp_path) == [inode(top)]
    notices.take()
    busy(top)
    (leaf / "sentinel").write_text("s")
    assert notices.wait_for(about(leaf / "sentinel"))
    assert {p for n in notices.take() for p in n.paths} == {str(leaf / "sentinel")}


def test_a_guard_on_a_directory_watched_in_full_under_another_name_adds_nothing(
    tmp_path: Path, watched: tuple[DirectoryWatcher, Notices]
) -> None:
    """The same directory as a guard (its real name) and watched in full (through a symlink):
    one watch, the full one (a guard never narrows it); its renaming is still reported."""
    watcher, notices = watched
    top = tmp_path / "top"
    top.mkdir()
    link = tmp_path / "link"
    link.symlink_to("top")
    synced = watcher.sync({str(link): ident(link)}, {str(top): ident(top)})
    assert not synced.missed
    assert watcher.guarded() == set()
    assert inotify_watched_inodes(within=tmp_path) == [inode(top)]
    assert inotify_watched_inodes(guards=True, within=tmp_path) == []
    (top / "created").write_text("x")
    assert notices.wait_for(about(link / "created"))
    os.rename(top, tmp_path / "moved")
    assert notices.wait_for(lambda seen: any(n.lost and str(link) in n.paths for n in seen))


def test_a_guard_that_vanished_before_its_watch_is_missed(
    tmp_path: Path, watched: tuple[DirectoryWatcher, Notices]
) -> None:
    """A guard whose directory is gone (or replaced) by the time it is watched is reported
    as missed, so the caller looks again."""
    watcher, _ = watched
    top, leaf = tmp_path / "top", tmp_path / "leaf"
    top.mkdir()
    leaf.mkdir()
    stale = ident(top)
    top.rename(tmp_path / "old")  # kept, so the new one below cannot reuse its inode
    gone = watcher.sync({str(leaf): ident(leaf)}, {str(top): stale})
    assert gone.missed == {str(top)}
    top.mkdir()  # a new directory under the old name: not the one the caller saw
    replaced = watcher.sync({str(leaf): ident(leaf)}, {str(top): stale})
    assert replaced.missed == {str(top)}
    assert watcher.guarded() == set()
