"""Reading a followed file safely: regular files only, bounded size, never blocking.

``read_file(path, limit)`` returns the bytes of the regular file at ``path`` (symlinks
followed), ``None`` when it does not exist (also a dangling symlink or a missing directory on
the way), and raises ``UnreadableFile`` for everything else: not a regular file (a directory, a
FIFO: opened with ``O_NONBLOCK`` so a FIFO never blocks the watcher thread), larger than
``limit`` bytes, or an I/O error such as permission denied.

``content_version(data)`` is the version nodeconf gives a document read from a file: a hash of
its bytes. A content hash (rather than inode and mtime) is what makes an atomic ``..data``
swap that rewrites identical bytes a non-event, and a rewrite within one mtime tick a change.

Thread-safety: pure functions over the file system; safe from any thread.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat

__all__ = ["TooLarge", "UnreadableFile", "content_version", "read_file"]

_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR})
_CHUNK_BYTES = 64 * 1024


class UnreadableFile(Exception):  # noqa: N818 - a condition of the file, not a program error
    """The file exists (or may) but cannot be read as a document; ``str()`` says why.

    Thread-safety: immutable after construction.
    """


class TooLarge(UnreadableFile):
    """The file is larger than the limit; ``head`` holds its first ``limit + 1`` bytes (enough
    for a parser to reject it as over the limit, as it would reject a ConfigMap).

    Thread-safety: immutable after construction.
    """

    def __init__(self, message: str, head: bytes) -> None:
        super().__init__(message)
        self.head = head


def read_file(path: str, limit: int) -> bytes | None:
    """The bytes of the regular file at ``path``; ``None`` if it does not exist.

    Raises ``UnreadableFile`` when it is not a regular file or cannot be opened or read, and
    ``TooLarge`` (an ``UnreadableFile``) when it is larger than ``limit`` bytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        raise UnreadableFile(f"{path}: cannot open: {exc.strerror or exc}") from exc
    try:
        st = os.fstat(fd)
        mode = st.st_mode
        if not stat.S_ISREG(mode):
            kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise UnreadableFile(f"{path}: is {kind}")
        # Ask for one byte more than the size: a short read then proves end of file without a
        # second read(); a file that grew meanwhile is read on until end of file.
        want = min(st.st_size, limit) + 1
        chunks: list[bytes] = []
        size = 0
        while True:
            chunk = os.read(fd, want)
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                head = b"".join(chunks)[: limit + 1]
                raise TooLarge(f"{path}: larger than {limit} bytes", head)
            if len(chunk) < want:
                return b"".join(chunks)
            want = _CHUNK_BYTES
    except OSError as exc:
        raise UnreadableFile(f"{path}: cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def content_version(data: bytes) -> str:
    """A short, stable version string for ``data`` (a BLAKE2b hash of the bytes)."""
    return "b2:" + hashlib.blake2b(data, digest_size=12).hexdigest()
