"""Looking at the followed files: what each look found, and what it means.

``FileLooks`` is the book-keeping half of ``FileSource`` (``source.py``): ``FileSource``
decides *when* to look (at start, on an inotify event, on a polling tick) and
``FileLooks.refresh_document_locked``/``refresh_labels_locked`` read the document and the
labels file once and turn what they found into the source's state and its news:

* the document's bytes, hashed (``content_version``): a new hash replaces ``state`` and
  notifies ``"configmap"``; identical bytes never notify; a document over the size limit
  hands on its first bytes (the schema rejects them, as it would a ConfigMap over the limit);
* a document that disappears keeps its last text in ``state`` (last-known-good) and is
  reported once as ``document-deleted``; its return as ``document-restored``;
* the labels file's labels merged under the fixed ones (the fixed ones win): a change
  replaces ``state`` and notifies ``"node"`` only when a changed key is one of the owner's
  ``label_keys()``; a labels file that disappears keeps its last labels (reported);
* an unreadable file, or an invalid labels file, is reported once as ``source-error`` (until
  the message changes or the file is fine again) and listed in ``errors_view``;
* ``synced`` is set once both files were looked at successfully (present or absent).

No notify at start (``initial=True``): the manager reads the first state itself.

Thread-safety: ``FileLooks`` has no lock of its own. Every method runs under the owner's
lock (``FileSource._work_lock``), which guards every field, and so do the ``notify``,
``report`` and ``label_keys`` callables it was given (the owner's context calls, which do
nothing once the owner is closed). Two exceptions, both single reference loads from any
thread: ``state`` and ``errors_view``, immutable values replaced whole under that lock.
``synced`` is a ``Latch`` with its own lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType

from nodeconf.concurrency.latch import Latch
from nodeconf.errors import DocumentError
from nodeconf.manager.source import KEY_DOCUMENT, KEY_NODE, SourceEvent, SourceState
from nodeconf.model.jsontext import MAX_DOCUMENT_BYTES as _MODEL_MAX_DOCUMENT_BYTES
from nodeconf.sources.file.labels import MAX_LABELS_FILE_BYTES, parse_labels_text
from nodeconf.sources.file.layout import FollowedFile
from nodeconf.sources.file.reading import TooLarge, UnreadableFile, content_version, read_file

__all__ = ["MAX_DOCUMENT_BYTES", "FileLooks"]

_log = logging.getLogger("nodeconf.sources.file")

#: Documents larger than this are not read (a ConfigMap holds at most 1 MiB): the first
#: 1 MiB + 1 byte are handed on, which the schema rejects as a document over the limit.
MAX_DOCUMENT_BYTES = _MODEL_MAX_DOCUMENT_BYTES


def _decode(data: bytes) -> str | bytes:
    # Undecodable bytes are handed on as bytes: the schema reports them with a position.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


class FileLooks:
    """What the looks at the document and the labels file found; see the module docstring.

    ``notify(key)``, ``report(event)`` and ``label_keys()`` are the owner's context calls.

    Thread-safety: every method under the owner's lock; ``state``, ``errors_view`` and
    ``synced`` from any thread.
    """

    def __init__(
        self,
        document: FollowedFile,
        labels_file: FollowedFile | None,
        static_labels: Mapping[str, str],
        *,
        notify: Callable[[str], None],
        report: Callable[[SourceEvent], None],
        label_keys: Callable[[], frozenset[str]],
    ) -> None:
        self._document = document
        self._labels_file = labels_file
        self._static_labels = static_labels
        self._notify = notify
        self._report = report
        self._label_keys = label_keys
        self._doc_seen = False  # a look succeeded (present or absent)
        self._doc_present = False  # present at the last good look
        self._doc_ever_present = False
        self._labels_known = self._labels_file is None
        self._labels_present = False
        self._errors: dict[str, str] = {}  # the last error per file
        # A copy of _errors, replaced whole, read lock-free by errors_view.
        self._errors_view: Mapping[str, str] = MappingProxyType({})
        self._state = SourceState(  # replaced whole; read lock-free by state
            document=None,
            node_labels=MappingProxyType(dict(self._static_labels)),
            origin=self._document.root,  # the file's own path once it has been read
        )
        self._synced = Latch()

    @property
    def state(self) -> SourceState:
        """The latest state (one reference load; never blocks)."""
        return self._state

    @property
    def errors_view(self) -> Mapping[str, str]:
        """The last problem with each file (a read-only copy; one reference load)."""
        return self._errors_view

    @property
    def synced(self) -> Latch:
        """Set once both files were looked at successfully (present or confirmed absent)."""
        return self._synced

    def refresh_document_locked(self, *, initial: bool = False) -> None:
        path = self._document.current_file()
        try:
            data: bytes | None = read_file(path, MAX_DOCUMENT_BYTES)
        except TooLarge as exc:
            # A document problem, as a ConfigMap over the limit would be (not a source
            # error): the schema rejects these first bytes as over the size limit, so the
            # document is invalid and current_revision drops to 0, whatever the source.
            data = exc.head
        except UnreadableFile as exc:
            self._error_locked("document", str(exc))
            return
        self._clear_error_locked("document")
        self._doc_seen = True
        state = self._state
        if data is None:
            if self._doc_present:
                self._doc_present = False
                detail = f"{path} was removed; the last document stays in effect"
                _log.warning("file source: %s", detail)
                self._report(SourceEvent("document-deleted", detail))
            self._mark_synced_locked()
            return
        version = content_version(data)
        if self._doc_ever_present and not self._doc_present:
            same = " with the same content" if version == state.document_version else ""
            detail = f"{path} is back{same}"
            _log.info("file source: %s", detail)
            self._report(SourceEvent("document-restored", detail))
        self._doc_present = self._doc_ever_present = True
        if version != state.document_version or path != state.origin:
            self._state = replace(
                state, document=_decode(data), document_version=version, origin=path
            )
            if version != state.document_version and not initial:
                self._notify(KEY_DOCUMENT)
        self._mark_synced_locked()

    def refresh_labels_locked(self, *, initial: bool = False) -> None:
        if self._labels_file is None:
            return
        path = self._labels_file.current_file()
        try:
            data = read_file(path, MAX_LABELS_FILE_BYTES)
            text = None if data is None else _text(data, path)
            file_labels = None if text is None else parse_labels_text(text, source=path)
        except (UnreadableFile, DocumentError) as exc:
            self._error_locked("labels", str(exc))
            return
        self._clear_error_locked("labels")
        self._labels_known = True
        if file_labels is None:
            if self._labels_present:
                self._labels_present = False
                self._error_locked("labels", f"{path} was removed; its last labels stay in effect")
            self._mark_synced_locked()
            return
        self._labels_present = True
        merged = {**file_labels, **self._static_labels}
        old = self._state.node_labels
        if merged != dict(old):
            self._state = replace(self._state, node_labels=MappingProxyType(merged))
            changed = {k for k in merged.keys() | old.keys() if merged.get(k) != old.get(k)}
            # label_keys() is the manager's cached set; asked only when labels changed.
            if not initial and changed & self._label_keys():
                self._notify(KEY_NODE)
        self._mark_synced_locked()

    def _mark_synced_locked(self) -> None:
        if self._doc_seen and self._labels_known:
            self._synced.set()

    def _clear_error_locked(self, which: str) -> None:
        if self._errors.pop(which, None) is not None:
            self._errors_view = MappingProxyType(dict(self._errors))

    def _error_locked(self, which: str, message: str) -> None:
        """Report a problem with one file once (until it changes or the file is fine again)."""
        if self._errors.get(which) == message:
            return
        self._errors[which] = message
        self._errors_view = MappingProxyType(dict(self._errors))
        _log.warning("file source: %s", message)
        self._report(SourceEvent("source-error", message))


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentError("not valid UTF-8", source=path) from exc
