"""The file source: the document and the node labels from files, followed live.

``FileSource(path, key=..., node_labels=..., labels_file=...)`` implements the ``Source``
protocol (``nodeconf.manager.source``) for sidecar and local use.

What it follows
    ``path`` is a directory laid out like a mounted ConfigMap (the document is the file named
    ``key``), or the document file itself. Followed without ever exiting: kubelet's atomic
    ``..data`` symlink swap, plain rewrites (read once the writer closed the file), editors'
    rename-over, deletion and re-creation of the file, of its directory and of directories
    above it, a directory above it renamed away and another put in its place, a symlinked
    directory re-pointed, and edits made *behind* symlinks: in place or with ``sed -i`` on
    ``dir/..data/key`` (the file in the current timestamped directory), or on the target of
    a ``path`` that is a symlink to a file elsewhere. A path that does not exist yet is
    waited for. Not seen: re-pointing a *symlink* that is a directory above the document's
    directory (an event only in that link's own directory, which is not watched).

Which directories are watched, and why (``layout.py`` has the details)
    Non-recursive inotify watches, re-decided after every event that can move a file:

    * the directory where the file's *name* lives (``path``, or the directory of a plain
      ``path``): renames, rewrites, deletions and kubelet's ``..data`` swap happen there;
      while it is missing, its nearest existing ancestor instead (to see it re-created);
      its parent too when that directory is itself a symlink (re-pointing it shows there);
    * every directory that holds a symlink of the chain from the name to the real file
      (re-pointing one is an event only there), usually the same directory;
    * the directory that holds the *real* file (kubelet's current timestamped directory,
      a symlink target's directory): an edit of the real file is an event only there.
      After a swap the new timestamped directory is watched and the old one's watch is
      removed, so a ConfigMap directory costs two watches however often it is updated;
    * *guards*: every directory above those (``/`` excepted), watched for its own removal
      or renaming only (``IN_MOVE_SELF``/``IN_DELETE_SELF``, never its entries' events): a
      directory above renamed away leaves the followed directory's watch on the old tree,
      and only its guard tells. One watch per level of the path.

    Not the parent of the file's directory in full, which may be busy (``/tmp``): its guard
    reports nothing that happens in it. A symlink target in a busy directory does make that
    directory watched in full, and its unrelated events are filtered out by name. After a
    swap the file is read at once and the watches are moved afterwards (latency first), once
    the notified consumer has read ``snapshot()`` (so the manager's worker does not wait for
    the GIL behind the re-arm; bounded wait); if a watch was added, the file is read once
    more, so a change made before that watch existed is not missed.

What it promises
    * ``snapshot()`` always holds the last document read successfully (last-known-good): a
      deleted document is reported (``SourceEvent("document-deleted")``) but not forgotten;
      its return is reported as ``document-restored``.
    * ``notify("configmap")`` exactly when the document's bytes changed (``document_version``
      is a hash of them); ``notify("node")`` when the labels changed on a key that
      ``context.label_keys()`` says matters.
    * No debounce: a change is read as soon as its event arrives; bursts collapse in the
      manager's queue (keys, not payloads) and identical content never notifies.
    * Idle costs nothing: the watches above, one reader thread blocked without a timeout;
      reading never produces an event (no ``IN_OPEN``/``IN_ACCESS`` in the mask).
    * Where inotify is unavailable or a watch cannot be added (watch limit), it falls back to
      reading both files every ``poll_interval_seconds`` and reports that once
      (``SourceEvent("fallback-polling")``).
    * After ``stop`` returns True, no ``notify`` or ``report`` ever happens and every thread it
      started has ended.

Threads (all daemon threads, all joined by ``stop``)
    * ``nodeconf-file-inotify`` - ``DirectoryWatcher``'s reader (``inotify_simple``): reads
      inotify events and calls ``FileSource._on_notice``, which looks at the files and calls
      the context.
    * ``nodeconf-file-poller`` - only in polling mode: one look per interval.
    ``start`` arms the watches and does the first look on the caller's thread.

Locks (details in ``source.py``, ``looks.py`` and ``watcher.py``)
    * ``FileSource._work_lock`` (re-entrant): every look, every change of the watched set,
      every context call; it guards the source's book-keeping (``FileLooks`` has no lock of
      its own). The state is replaced whole under it and read without it.
    * ``DirectoryWatcher._lock``: the watch-descriptor maps; taken inside ``_work_lock``,
      never held while calling out.
    * ``Poller._cond``: the poller's stop flag.
    Lock order: ``_work_lock`` -> ``DirectoryWatcher._lock``.

Thread-safety: see ``FileSource``.
"""

from __future__ import annotations

from nodeconf.sources.file.labels import MAX_LABELS_FILE_BYTES, parse_labels_text
from nodeconf.sources.file.looks import MAX_DOCUMENT_BYTES
from nodeconf.sources.file.source import DEFAULT_KEY, FileSource

__all__ = [
    "DEFAULT_KEY",
    "MAX_DOCUMENT_BYTES",
    "MAX_LABELS_FILE_BYTES",
    "FileSource",
    "parse_labels_text",
]
