"""Which inotify notices matter to a ``FileSource``, and what each one asks for.

``FileSource._on_notice`` (the reader thread) asks this module, for every ``Notice``, three
questions whose answers depend only on the notice and on immutable data:

* ``relevance(...)``: must the document be looked at again, must the labels file, and can
  the event have *moved* a file (changed where its name or content lives), so that both
  files are located again and the watches moved? An event concerns a file when it names one
  of the file's fixed names (``FollowedFile.names``: the file, the ``..data`` links, every
  ancestor of its root) or a path of its current chain (``Location.names``); a lost watch or
  a dropped event (``Notice.lost``) concerns both. Anything but a content change
  (``CONTENT_EVENTS``: ``IN_CLOSE_WRITE``, ``IN_ATTRIB``) can move a file, and so can any
  event on a file's root or a directory above it (``FollowedFile.moves``).
* ``creates_file(notice)``: is it an ``IN_CREATE`` of an entry that is not a directory? Only
  such a notice can announce a file whose writer has not closed it yet; the source then
  ``lstat``s the file's paths the notice names (and only then: this runs before every read an
  event causes) and hands each result to
* ``unclosed_file(st)``: does that ``lstat`` show a regular file with one link? Then its
  writer has not closed it yet and reading it now could see half of it; its
  ``IN_CLOSE_WRITE`` follows and is read. A symlink or a hard link (``st_nlink > 1``) is
  complete at creation and is read at once (so is a path whose ``lstat`` failed).

Nothing here touches the file system, a thread or a clock: the stat results are passed in.

Thread-safety: pure functions and an immutable value type; safe from any thread.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from nodeconf.sources.file.inotify import IN_ATTRIB, IN_CLOSE_WRITE, IN_CREATE, IN_ISDIR, Notice
from nodeconf.sources.file.layout import FollowedFile, Location

__all__ = ["CONTENT_EVENTS", "Relevance", "creates_file", "relevance", "unclosed_file"]

#: Events that change a file's content but never which file a name leads to.
CONTENT_EVENTS = IN_CLOSE_WRITE | IN_ATTRIB


@dataclass(frozen=True, slots=True)
class Relevance:
    """What one notice asks for: look at the ``document`` again, at the ``labels`` file
    again, and (``moved``) locate both files again and move the watches. ``moved`` is only
    meaningful when ``document`` or ``labels`` is set (an event that concerns neither file is
    ignored whole).

    Thread-safety: immutable.
    """

    document: bool
    labels: bool
    moved: bool


def relevance(
    notice: Notice,
    document: FollowedFile,
    document_location: Location,
    labels_file: FollowedFile | None,
    labels_location: Location,
) -> Relevance:
    """What ``notice`` asks of a source following ``document`` (now at ``document_location``)
    and, when not None, ``labels_file`` (now at ``labels_location``); see the module docstring.
    """
    paths = notice.paths
    doc = notice.lost or document.concerns(paths) or document_location.concerns(paths)
    labels = labels_file is not None and (
        notice.lost or labels_file.concerns(paths) or labels_location.concerns(paths)
    )
    if not (doc or labels):
        return Relevance(document=False, labels=False, moved=False)
    # Anything but a content change (a name created, removed, renamed; a watched directory
    # gone) may change where a file's name or content lives: locate it and re-arm.
    moved = (
        notice.lost
        or bool(notice.mask & ~CONTENT_EVENTS)
        or document.moves(paths)
        or (labels_file is not None and labels_file.moves(paths))
    )
    return Relevance(document=doc, labels=labels, moved=moved)


def creates_file(notice: Notice) -> bool:
    """Whether ``notice`` is an ``IN_CREATE`` of an entry that is not a directory (the only
    notice whose file may still be being written; ``unclosed_file`` then decides)."""
    return bool(notice.mask & IN_CREATE) and not notice.mask & IN_ISDIR


def unclosed_file(st: os.stat_result) -> bool:
    """Whether a just-created entry, by its ``lstat``, is a regular file with one link: its
    writer has not closed it yet."""
    return stat.S_ISREG(st.st_mode) and st.st_nlink == 1
