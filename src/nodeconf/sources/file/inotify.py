"""The inotify(7) vocabulary: the event bits, the masks nodeconf asks for, and ``Notice``.

``DirectoryWatcher`` (``watcher.py``) adds its watches with these masks and hands each event
on as a ``Notice``; ``FileSource`` (``source.py``) asks ``notices.py`` what a notice's bits
and paths ask it to look at again.

What the kernel reports (mask ``WATCH_MASK``, non-recursive watches on directories):

* kubelet's atomic update, in the ConfigMap directory: ``IN_CREATE|IN_ISDIR ..2026_...``,
  ``IN_CREATE ..data_tmp``, ``IN_MOVED_FROM ..data_tmp`` + ``IN_MOVED_TO ..data`` (one
  ``rename``), ``IN_DELETE|IN_ISDIR ..<old>``. Kubelet's own writes inside the new
  timestamped directory are not seen (it is watched only once ``..data`` points to it);
  an edit made there later is (``IN_CLOSE_WRITE key`` or ``IN_MOVED_TO key`` on the
  timestamped directory's watch);
* a plain rewrite: ``IN_CLOSE_WRITE key`` (``IN_MODIFY`` is not asked for: the file is read
  only once the writer closed it); ``truncate``/``O_TRUNC`` alone is not an event;
* a rename-over by an editor: ``IN_MOVED_TO key``; deletion: ``IN_DELETE key``;
* the directory itself removed or renamed: ``IN_DELETE_SELF``/``IN_MOVE_SELF`` (then
  ``IN_IGNORED``) on its own watch; the watch is dropped and the owner re-syncs (it then
  watches the nearest existing ancestor, where the directory's re-creation is an
  ``IN_CREATE|IN_ISDIR`` or ``IN_MOVED_TO``);
* a *guard* (a directory above the followed ones, watched with ``GUARD_MASK``) reports only
  its own ``IN_DELETE_SELF``/``IN_MOVE_SELF``, handled the same way: a directory renamed
  two levels above the document is otherwise invisible (the watches below follow their
  inodes into the moved tree).

Reading never produces events (``IN_OPEN``, ``IN_ACCESS`` and ``IN_CLOSE_NOWRITE`` are not in
the mask), so idle means no wake-up at all (``DirectoryWatcher``'s reader thread blocks in
``poll()`` without a timeout).

Thread-safety: constants and an immutable value type.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GUARD_MASK",
    "IN_ATTRIB",
    "IN_CLOSE_WRITE",
    "IN_CREATE",
    "IN_DELETE",
    "IN_DELETE_SELF",
    "IN_IGNORED",
    "IN_ISDIR",
    "IN_MASK_ADD",
    "IN_MOVED_FROM",
    "IN_MOVED_TO",
    "IN_MOVE_SELF",
    "IN_ONLYDIR",
    "IN_Q_OVERFLOW",
    "IN_UNMOUNT",
    "WATCH_MASK",
    "Notice",
]

# inotify(7) bits (Linux ABI).
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_UNMOUNT = 0x00002000
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_ISDIR = 0x40000000

#: What every watch asks for. ``IN_ONLYDIR``: a path that turned into a file fails to watch.
WATCH_MASK = (
    IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)

#: What a guard asks for: its directory's own removal or renaming, never its entries' events.
GUARD_MASK = IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR
#: inotify_add_watch(2): OR into an existing watch's mask instead of replacing it.
IN_MASK_ADD = 0x20000000


@dataclass(frozen=True, slots=True)
class Notice:
    """One inotify event, translated to paths.

    ``paths`` are the paths the event is about (the entry ``dir/name``, or the watched
    directory itself), one per watched path that names that directory; ``mask`` is the inotify
    mask (0 when none); ``lost`` means a watched directory went away or events were dropped
    (queue overflow): everything must be looked at again.

    Thread-safety: immutable.
    """

    paths: tuple[str, ...]
    mask: int = 0
    lost: bool = False
