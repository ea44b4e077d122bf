"""The file source: the document and the node labels from files, followed live.

``FileSource(path, key=..., node_labels=..., labels_file=...)`` implements the ``Source``
protocol (``nodeconf.manager.source``) for sidecar and local use.

What it follows
    ``path`` is a directory laid out like a mounted ConfigMap (the document is the file named
    ``key``), or the document file itself. Followed without ever exiting: kubelet's atomic
    ``..data`` symlink swap, plain rewrites (read once the writer closed the file), editors'
    rename-over, deletion and re-creation of the file, of its directory and of directories
    above it, a symlinked directory re-pointed. A path that does not exist yet is waited
    for. Not seen: renaming a directory *above* the document's directory (the document's
    directory itself gets no event; only the next event that reaches a watched directory
    makes the source look at the path again).

What it promises
    * ``snapshot()`` always holds the last document read successfully (last-known-good): a
      deleted document is reported (``SourceEvent("document-deleted")``) but not forgotten;
      its return is reported as ``document-restored``.
    * ``notify("configmap")`` exactly when the document's bytes changed (``document_version``
      is a hash of them); ``notify("node")`` when the labels changed on a key that
      ``context.label_keys()`` says matters.
    * No debounce: a change is read as soon as its event arrives; bursts collapse in the
      manager's queue (keys, not payloads) and identical content never notifies.
    * Idle costs nothing: non-recursive inotify watches on the file's directory only (not its
      parent, which may be busy), one reader thread blocked without a timeout; reading never
      produces an event (no ``IN_OPEN``/``IN_ACCESS`` in the mask).
    * Where inotify is unavailable or a watch cannot be added (watch limit), it falls back to
      reading both files every ``poll_interval_seconds`` and reports that once
      (``SourceEvent("fallback-polling")``).
    * After ``stop`` returns True, no ``notify`` or ``report`` ever happens and every thread it
      started has ended.

Threads (all daemon threads, all joined by ``stop``)
    * ``nodeconf-file-inotify`` - watchdog's ``InotifyFD`` reader: reads inotify events and
      calls ``FileSource._on_notice``, which looks at the files and calls the context.
    * ``nodeconf-file-poller`` - only in polling mode: one look per interval.
    ``start`` arms the watches and does the first look on the caller's thread.

Locks (details in ``source.py`` and ``watcher.py``)
    * ``FileSource._work_lock`` (re-entrant): every look, every change of the watched set,
      every context call; it guards the source's book-keeping. ``_state`` is replaced whole
      under it and read without it.
    * ``DirectoryWatcher._lock``: the watch-descriptor maps; taken inside ``_work_lock``,
      never held while calling out.
    * ``Poller._cond``: the poller's stop flag.
    Lock order: ``_work_lock`` -> ``DirectoryWatcher._lock`` -> watchdog's ``InotifyFD`` lock.

Thread-safety: see ``FileSource``.
"""

from __future__ import annotations

from nodeconf.sources.file.labels import MAX_LABELS_FILE_BYTES, parse_labels_text
from nodeconf.sources.file.source import DEFAULT_KEY, MAX_DOCUMENT_BYTES, FileSource

__all__ = [
    "DEFAULT_KEY",
    "MAX_DOCUMENT_BYTES",
    "MAX_LABELS_FILE_BYTES",
    "FileSource",
    "parse_labels_text",
]
