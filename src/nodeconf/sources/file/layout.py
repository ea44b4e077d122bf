"""Where a followed file lives, and which directories and names to watch to follow it.

A *followed file* is named by a ``root`` path and, for the document, a ``key``:

* ``root`` is a directory (a mounted ConfigMap, or any directory): the file is ``root/key``.
  Kubelet's layout is ``root/key -> ..data/key`` and ``root/..data -> ..2026_11_26_...``; an
  update creates a new timestamped directory and renames a ``..data_tmp`` symlink over
  ``..data`` (one ``IN_MOVED_TO ..data`` event in ``root``), then deletes the old one;
* otherwise (a plain file, or nothing yet) the file is ``root`` itself. ``root`` may also be
  ``dir/key`` inside a kubelet directory: then the swap of ``dir/..data`` changes it, or a
  symlink to a file anywhere else.

The layout is re-decided on every look (``locate()``), so a path that is missing at start-up,
a directory that is removed and re-created, or a file replaced by a directory are all
followed. A ``Location`` says which directories to watch *now* (not recursively), and why:

* where the file's **name** lives: the file's directory, or, while that directory is missing,
  its nearest existing ancestor (to see the path being created again, one level at a time).
  The directory's own removal or renaming arrives on its own watch
  (``IN_DELETE_SELF``/``IN_MOVE_SELF``), after which the ancestor is watched; its parent is
  watched too only when the directory is a symlink (re-pointing a link is an event in the
  link's directory only). Not watching the parent keeps a busy parent (``/tmp``) from waking
  us.
* the **guards**: every directory above a watched one (``/`` excepted) gets a watch for its
  *own* removal or renaming only (``IN_MOVE_SELF``/``IN_DELETE_SELF``): a directory above
  the file's directory renamed away (``mv /etc/agent /etc/agent.old``, then a new
  ``/etc/agent``) produces no event in the file's directory, whose watch follows its inode
  to the old tree. A guard never reports what happens *in* its directory, so a busy
  ancestor costs nothing. Not seen: re-pointing a *symlink* above the file's directory (an
  event in that link's directory only).
* where the file's **content** lives: the chain of symlinks from the name to the real file is
  followed one component at a time (``root/key -> ..data/key``, ``root/..data ->
  ..2026_...``; a plain file that links to a file elsewhere), and every directory that holds a
  symlink of the chain is watched (re-pointing one is an event there), and so is the
  directory that holds the real file (the *content directory*, e.g. the current timestamped
  directory): an edit *behind* the links (``sed -i`` on ``root/..data/key``, an editor
  writing ``root/..2026_.../key``) is an event only there. While the real file's directory
  is missing, its nearest existing ancestor is watched instead. Symlinks in the directories
  *above* the file's directory are resolved but not followed (as above).

The chain changes whenever one of its names changes (kubelet's swap renames ``..data``), so
the owner locates again after any event on them, and moves the watches: the old timestamped
directory's watch is removed (kubelet deletes that directory; a layout that keeps it must
not keep its watch). ``FollowedFile.names`` are the fixed paths whose events matter (the file,
the ``..data`` links that can redirect it, every ancestor of ``root``); ``structure`` (``root``
and its ancestors) are those that can change where the name lives; ``Location.names`` are the
chain's own paths, which change with the chain.

Thread-safety: ``FollowedFile`` and ``Location`` are immutable; ``locate`` only reads the file
system; the functions are pure.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = [
    "NOWHERE",
    "DirId",
    "FollowedFile",
    "Location",
    "absolute_path",
    "check_key",
    "content_only_dirs",
]

#: A directory's identity: (st_dev, st_ino). A directory removed and re-created gets a new one.
DirId = tuple[int, int]

KUBELET_DATA_LINK = "..data"
#: Symlinks followed in one chain before giving up (Linux's own limit, ``MAXSYMLINKS``).
_MAX_SYMLINK_HOPS = 40
_NO_DIRS: Mapping[str, DirId] = MappingProxyType({})


def _ancestors(path: str) -> list[str]:
    """``/a/b/c`` -> ``["/a/b/c", "/a/b", "/a", "/"]``."""
    out = [path]
    while True:
        parent = os.path.dirname(path)
        if parent == path:
            return out
        out.append(parent)
        path = parent


def _identity(path: str) -> DirId | None:
    """``path``'s identity if it is a directory now (symlinks followed), else None."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


def _directory(path: str) -> tuple[DirId, bool] | None:
    """``path``'s identity and whether ``path`` is a symlink, if it is a directory now."""
    try:
        st = os.lstat(path)
        linked = stat.S_ISLNK(st.st_mode)
        if linked:
            st = os.stat(path)
    except OSError:
        return None
    return ((st.st_dev, st.st_ino), linked) if stat.S_ISDIR(st.st_mode) else None


def _join(directory: str, name: str) -> str:
    return directory + name if directory.endswith("/") else f"{directory}/{name}"


def _follow_links(directory: str, name: str) -> tuple[str, list[str], set[str]]:
    """Resolve ``directory/name`` one component at a time (``directory`` exists).

    Returns the file's path with no symlink after ``directory``, the directories that hold
    the symlinks met, and the symlinks' own paths (in a symlink loop: those met until the hop
    limit, whose fix is an event in one of those directories). A missing component ends
    nothing: the rest of the path is joined as it is (the file does not exist, but where it
    will appear is known). Paths stay under ``directory``'s own spelling (the names events
    arrive under) until a ``..`` needs the physical parent (``realpath`` then).
    """
    resolved = directory
    physical = False  # resolved has no symlink in any component
    pending = [name]  # components still to walk, the next one last
    link_dirs: list[str] = []
    links: set[str] = set()
    hops = 0
    while pending:
        component = pending.pop()
        if component in ("", "."):
            continue
        if component == "..":
            if not physical:
                resolved, physical = os.path.realpath(resolved), True
            resolved = os.path.dirname(resolved)
            continue
        candidate = _join(resolved, component)
        try:
            target = os.readlink(candidate)
        except OSError:  # not a symlink (EINVAL), or missing, or below a non-directory
            resolved = candidate
            continue
        hops += 1
        if hops > _MAX_SYMLINK_HOPS:  # a loop: reading reports ELOOP; a fix is an event
            return candidate, link_dirs, links
        link_dirs.append(resolved)
        links.add(candidate)
        if target.startswith("/"):
            resolved, physical = "/", True
        pending.extend(reversed(target.split("/")))
    return resolved, link_dirs, links


@dataclass(frozen=True, slots=True)
class Location:
    """Where a followed file is right now, and what to watch to see it change.

    ``file`` is the real file's path (every symlink on the way resolved; it may not exist).
    ``dirs`` are the directories to watch (path -> identity; see the module docstring).
    ``names`` are the chain's paths whose events matter: its symlinks, ``file``, and the
    missing directories on the way to ``file``. ``content_dir`` is the directory that holds
    ``file`` when that directory matters *only* for the file's content (no symlink of the
    chain, not where the name lives): a watch added there late can only have missed a content
    change, which reading the file again covers; otherwise None. ``guards`` are the
    directories above those in ``dirs`` (``/`` and ``dirs`` themselves excepted), to be
    watched for their own removal or renaming only.

    Thread-safety: immutable.
    """

    file: str
    dirs: Mapping[str, DirId]
    names: frozenset[str]
    content_dir: str | None = None
    guards: Mapping[str, DirId] = field(default_factory=lambda: _NO_DIRS)

    def concerns(self, paths: tuple[str, ...]) -> bool:
        """Whether an event on any of ``paths`` can change the content or the chain."""
        return any(p in self.names for p in paths)


#: The location before the first look: nothing watched, no name.
NOWHERE = Location(file="", dirs=_NO_DIRS, names=frozenset())


def content_only_dirs(locations: list[Location]) -> set[str]:
    """The watched directories that matter to no location but for a file's content (a new
    watch on one of them alone cannot hide a change of the layout)."""
    content = {loc.content_dir for loc in locations if loc.content_dir is not None}
    return content - {p for loc in locations for p in loc.dirs if p != loc.content_dir}


def absolute_path(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute and normalised, symlinks left as they are (a followed root)."""
    return os.path.normpath(os.path.abspath(os.fspath(path)))


def check_key(key: str) -> None:
    """Raise ``ValueError`` unless ``key`` is a file name (a ConfigMap data key)."""
    if not key or key in (".", "..") or "/" in key or "\0" in key:
        raise ValueError(f"key must be a file name (a ConfigMap data key), got {key!r}")


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

    def locate(self) -> Location:
        """Where the file's name and content are now, and the directories to watch for them.

        A directory that vanishes while this looks is left out: the caller locates again
        until the watched set is stable.
        """
        found = self._locate()
        return replace(found, guards=_guards(found.dirs)) if found.dirs else found

    def _locate(self) -> Location:
        key = self.key
        found = _directory(self.root) if key is not None else None
        if key is not None and found is not None:  # one lstat: the layout and its identity
            name, directory = _join(self.root, key), self.root
        else:
            name, directory = self.root, os.path.dirname(self.root)
            found = _directory(directory)
        if found is None:  # the file's directory is missing: wait for it to appear
            for ancestor in _ancestors(directory)[1:]:
                ident = _identity(ancestor)
                if ident is not None:
                    return Location(name, MappingProxyType({ancestor: ident}), frozenset())
            return NOWHERE
        ident, linked = found
        dirs: dict[str, DirId] = {directory: ident}
        if linked:  # re-pointing the link shows only in its parent
            _add(dirs, os.path.dirname(directory))
        file, link_dirs, names = _follow_links(directory, os.path.basename(name))
        names.add(file)
        for link_dir in link_dirs:
            if link_dir not in dirs:
                _add(dirs, link_dir)
        holder = os.path.dirname(file)
        if holder in dirs:
            return Location(file, MappingProxyType(dirs), frozenset(names))
        held = _identity(holder)
        while held is None and holder != "/":
            names.add(holder)  # missing (or not a directory yet): its appearance matters
            holder = os.path.dirname(holder)
            held = _identity(holder)
        if held is None or holder in dirs:
            return Location(file, MappingProxyType(dirs), frozenset(names))
        content_only = holder == os.path.dirname(file) and held not in dirs.values()
        dirs[holder] = held
        return Location(
            file, MappingProxyType(dirs), frozenset(names), holder if content_only else None
        )

    def concerns(self, paths: tuple[str, ...]) -> bool:
        """Whether an event on any of ``paths`` can change this file or where it is."""
        return any(p in self.names for p in paths)

    def moves(self, paths: tuple[str, ...]) -> bool:
        """Whether an event on any of ``paths`` can change *where* the file is (``root`` or a
        directory above it), so that the watched directories must be looked at again."""
        return any(p in self.structure for p in paths)


def _guards(dirs: Mapping[str, DirId]) -> Mapping[str, DirId]:
    """The directories above those in ``dirs``, ``/`` and ``dirs`` themselves excepted, with
    their identities (one that vanished meanwhile is left out: the caller locates again)."""
    guards: dict[str, DirId] = {}
    for directory in dirs:
        for ancestor in _ancestors(directory)[1:-1]:
            if ancestor in guards:
                break  # it and everything above it are in already
            if ancestor in dirs:
                continue  # watched in full; what is above it is still needed
            ident = _identity(ancestor)
            if ident is not None:
                guards[ancestor] = ident
    return MappingProxyType(guards)


def _add(dirs: dict[str, DirId], path: str) -> None:
    ident = _identity(path)
    if ident is not None:  # vanished meanwhile: the caller locates again until stable
        dirs[path] = ident
