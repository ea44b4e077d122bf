"""Where a followed file lives, and which directories and names to watch to follow it.

A *followed file* is named by a ``root`` path and, for the document, a ``key``:

* ``root`` is a directory (a mounted ConfigMap, or any directory): the file is ``root/key``.
  Kubelet's layout is ``root/key -> ..data/key`` and ``root/..data -> ..2026_11_26_...``; an
  update creates a new timestamped directory and renames a ``..data_tmp`` symlink over
  ``..data`` (one ``IN_MOVED_TO ..data`` event in ``root``);
* otherwise (a plain file, or nothing yet) the file is ``root`` itself. ``root`` may also be
  ``dir/key`` inside a kubelet directory: then the swap of ``dir/..data`` changes it.

The layout is re-decided on every look, so a path that is missing at start-up, a directory
that is removed and re-created, or a file replaced by a directory are all followed.

``watch_dirs()`` says which directories must be watched *now* (not recursively): the file's
directory, or, while that directory is missing, its nearest existing ancestor (to see the path
being created again, one level at a time). The directory's own removal or renaming arrives on
its own watch (``IN_DELETE_SELF``/``IN_MOVE_SELF``), after which the ancestor is watched; its
parent is watched too only when the directory is a symlink (re-pointing a link is an event in
the link's directory only). Not watching the parent keeps a busy parent (``/tmp``) from
waking us. Not detected: a directory *above* the file's directory renamed away while the
file's directory lives on under the new name. ``names`` are the paths whose events matter: the
file, the ``..data`` links that can redirect it, and every ancestor of ``root`` (a directory on
the way created or removed); the last ones (``structure``: ``root`` and its ancestors) are
those that can change which directories must be watched.

Thread-safety: ``FollowedFile`` is immutable; its methods only read the file system.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

__all__ = ["DirId", "FollowedFile"]

#: A directory's identity: (st_dev, st_ino). A directory removed and re-created gets a new one.
DirId = tuple[int, int]

KUBELET_DATA_LINK = "..data"


def _ancestors(path: str) -> list[str]:
    """``/a/b/c`` -> ``["/a/b/c", "/a/b", "/a", "/"]``."""
    out = [path]
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return out
        out.append(parent)
        path = parent


@dataclass(frozen=True, slots=True)
class FollowedFile:
    """A file followed by name (see the module docstring).

    ``root`` must be absolute and normalised; ``key`` is the file's name inside ``root`` when
    ``root`` is a directory, or ``None`` when ``root`` is always the file itself.

    Thread-safety: immutable.
    """

    root: str
    key: str | None = None
    names: frozenset[str] = field(init=False, repr=False, compare=False)
    structure: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parent = os.path.dirname(self.root)
        structure = frozenset(_ancestors(self.root))
        names = set(structure)
        names.add(os.path.join(parent, KUBELET_DATA_LINK))
        if self.key is not None:
            names.add(os.path.join(self.root, self.key))
            names.add(os.path.join(self.root, KUBELET_DATA_LINK))
        object.__setattr__(self, "names", frozenset(names))
        object.__setattr__(self, "structure", structure)

    def current_file(self) -> str:
        """The file's path as the file system is laid out right now."""
        if self.key is not None and os.path.isdir(self.root):
            return os.path.join(self.root, self.key)
        return self.root

    def watch_dirs(self) -> dict[str, DirId]:
        """The directories to watch right now, with their identities."""
        directory = os.path.dirname(self.current_file())
        if os.path.isdir(directory):
            wanted = [directory]
            if os.path.islink(directory):  # re-pointing the link shows only in its parent
                wanted.append(os.path.dirname(directory))
        else:
            wanted = [next((a for a in _ancestors(directory) if os.path.isdir(a)), "/")]
        out: dict[str, DirId] = {}
        for path in wanted:
            try:
                st = os.stat(path)
            except OSError:
                continue  # vanished meanwhile: the caller re-computes until stable
            out[path] = (st.st_dev, st.st_ino)
        return out

    def concerns(self, paths: tuple[str, ...]) -> bool:
        """Whether an event on any of ``paths`` can change this file or where it is."""
        return any(p in self.names for p in paths)

    def moves(self, paths: tuple[str, ...]) -> bool:
        """Whether an event on any of ``paths`` can change *where* the file is (``root`` or a
        directory above it), so that the watched directories must be looked at again."""
        return any(p in self.structure for p in paths)
