"""The object store, its change history and the open watches: one lock guards all three.

Promises:

* every successful write bumps ONE global ``resourceVersion`` (shared by all resource types)
  and records one change; a write that changes nothing (same object apart from its
  resourceVersion) bumps nothing and records nothing, like the real server;
* a watch registered at version ``N`` gets exactly the changes with a version above ``N``
  once each, in order: the replay from history and the registration happen under the same
  lock as every write, and every write offers its change to every watch while still holding
  it, so nothing falls in between and nothing is delivered twice;
* history is kept per resource type (like the API server's per-resource watch cache), at
  most ``history_limit`` changes each; ``floor[kind]`` is the oldest version a watch of that
  kind can start from; ``compact()`` moves every floor to the current version.

Threads: handler threads and test threads call any ``Store`` method. Items reach a watch's
handler thread through the ``Watcher``'s deque plus a wake-up pipe, so the handler can wait
on the pipe and its socket together with one ``select`` (it learns that its client went away
without polling). Lock order: ``Store._cond`` is the innermost lock; nothing else is taken
while holding it (writing a byte to a non-blocking pipe is the only I/O done under it).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubeapi._patch import apply_patch
from kubeapi._resources import (
    RESOURCES,
    KubeAPIError,
    ResourceInfo,
    bad_request,
    conflict,
    expired,
    status_failure,
)
from kubeapi._selectors import Selector

__all__ = ["Change", "Store", "WatchItem", "Watcher"]

Key = tuple[str, str]  # (namespace or "", name)


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Change:
    """One recorded write. ``obj`` is the new state (for DELETED: the last state with the
    deletion's resourceVersion); ``old`` the state before (None for ADDED).

    Thread-safety: immutable; ``obj``/``old`` are never mutated once recorded.
    """

    rv: int
    kind: str
    type: str
    obj: dict[str, Any]
    old: dict[str, Any] | None
    data: bytes  # ``obj`` serialised once, shared by every watch


@dataclass(frozen=True)
class WatchItem:
    """What a watch's handler thread takes off its queue.

    ``tag`` is ``event`` (``type`` + ``data``), ``bookmark`` (``rv``) or ``end`` with an
    ``end`` mode: ``keep`` (terminating chunk, connection stays open for the next request, as
    after ``timeoutSeconds``), ``close`` (terminating chunk, then the connection is closed) or
    ``abort`` (connection closed without the terminating chunk).

    Thread-safety: immutable.
    """

    tag: str
    type: str = ""
    data: bytes = b""
    rv: int = 0
    end: str = ""


class Watcher:
    """One open watch stream: its filter and the queue feeding its handler thread.

    Thread-safety: ``offer``/``put``/``close`` may be called from any thread (the store calls
    them under its lock); ``pop``, ``drain_wake`` and ``release`` belong to the handler thread
    that owns the stream.
    """

    def __init__(
        self,
        info: ResourceInfo,
        namespace: str | None,
        labels: Selector,
        fields: Selector,
        *,
        bookmarks: bool,
        silent: bool,
    ) -> None:
        self.info = info
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.bookmarks = bookmarks
        self.silent = silent
        # deque append/popleft are atomic; producers append, only the handler pops.
        self._items: deque[WatchItem] = deque()
        # Wake-up pipe: one byte per put; owned by the handler thread (which closes it in
        # ``release`` after the store has dropped this watcher, so no put can race it).
        self.wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self.wake_r, False)

    def matches(self, obj: dict[str, Any] | None) -> bool:
        """True when ``obj`` is in this watch's namespace and passes both selectors."""
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        return self.labels.matches(obj) and self.fields.matches(obj)

    def event_type(self, change: Change) -> str | None:
        """The event this watch sees for ``change``: objects entering the filter are ADDED,
        leaving it DELETED, as the API server's watch cache does; None if invisible."""
        if change.kind != self.info.plural:
            return None
        was = self.matches(change.old)
        if change.type == "DELETED":
            return "DELETED" if was else None
        now = self.matches(change.obj)
        if now:
            return "MODIFIED" if was else "ADDED"
        return "DELETED" if was else None

    def put(self, item: WatchItem) -> None:
        """Queue ``item`` and wake the handler."""
        self._items.append(item)
        # A full pipe (BlockingIOError) means a wake-up is pending anyway.
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake_w, b"\0")

    def offer(self, change: Change) -> None:
        """Queue ``change`` if this watch can see it."""
        if self.silent:
            return
        event_type = self.event_type(change)
        if event_type is not None:
            self.put(WatchItem("event", type=event_type, data=change.data))

    def close(self, *, abrupt: bool) -> None:
        """Ask the handler to end the stream and close its connection after what is already
        queued (``abrupt``: without the terminating chunk)."""
        self.put(WatchItem("end", end="abort" if abrupt else "close"))

    def pop(self) -> WatchItem | None:
        """The next queued item, or None."""
        try:
            return self._items.popleft()
        except IndexError:
            return None

    def drain_wake(self) -> None:
        """Empty the wake-up pipe (call before popping)."""
        try:
            while os.read(self.wake_r, 4096):
                pass
        except BlockingIOError:
            pass

    def release(self) -> None:
        """Close the pipe; only after ``Store.unregister``."""
        os.close(self.wake_r)
        os.close(self._wake_w)


class Store:
    """Objects, per-kind history and open watches under one condition variable.

    Thread-safety: every public method may be called from any thread.
    """

    def __init__(self, history_limit: int) -> None:
        if history_limit < 1:
            raise ValueError(f"history_limit must be >= 1, got {history_limit}")
        self._history_limit = history_limit
        # The one lock (a Condition so waiters can watch the watcher list). Guards every
        # field below.
        self._cond = threading.Condition()
        self._rv = 0
        self._objects: dict[str, dict[Key, dict[str, Any]]] = {k: {} for k in RESOURCES}
        self._history: dict[str, deque[Change]] = {k: deque() for k in RESOURCES}
        self._floor: dict[str, int] = dict.fromkeys(RESOURCES, 0)
        self._watchers: list[Watcher] = []

    # -- reads -------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        """The current global resourceVersion."""
        with self._cond:
            return self._rv

    def get(self, info: ResourceInfo, namespace: str | None, name: str) -> dict[str, Any] | None:
        """A copy of the object, or None."""
        with self._cond:
            obj = self._objects[info.plural].get(self._key(info, namespace, name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(
        self,
        info: ResourceInfo,
        namespace: str | None,
        labels: Selector | None = None,
        fields: Selector | None = None,
    ) -> tuple[int, list[dict[str, Any]]]:
        """(current resourceVersion, copies of the matching objects sorted by namespace/name)."""
        with self._cond:
            items = [
                copy.deepcopy(obj)
                for key, obj in sorted(self._objects[info.plural].items())
                if (namespace is None or not info.namespaced or key[0] == namespace)
                and (labels is None or labels.matches(obj))
                and (fields is None or fields.matches(obj))
            ]
            return self._rv, items

    # -- writes ------------------------------------------------------------------------

    def create(self, info: ResourceInfo, namespace: str | None, body: Any) -> dict[str, Any]:
        """POST: store a new object; 409 AlreadyExists if the name is taken."""
        obj = self._prepare_body(info, namespace, body, None)
        meta = obj["metadata"]
        if not meta.get("name"):
            generate = meta.get("generateName")
            if not generate:
                raise KubeAPIError(
                    status_failure(422, "Invalid", "name or generateName is required")
                )
            meta["name"] = generate + secrets.token_hex(3)[:5]
        with self._cond:
            key = self._key(info, meta.get("namespace"), meta["name"])
            if key in self._objects[info.plural]:
                message = f'{info.plural} "{meta["name"]}" already exists'
                details = {"name": meta["name"], "kind": info.plural}
                raise KubeAPIError(status_failure(409, "AlreadyExists", message, details))
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = _now()
            return self._commit(info, key, obj, None, "ADDED")

    def replace(
        self, info: ResourceInfo, namespace: str | None, name: str, body: Any
    ) -> dict[str, Any]:
        """PUT: replace an object; 404 if missing, 409 if its resourceVersion is stale."""
        obj = self._prepare_body(info, namespace, body, name)
        with self._cond:
            return self._update_locked(info, self._key(info, namespace, name), obj)

    def patch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        patch: Any,
        patch_type: str,
        *,
        subresource: str = "",
    ) -> dict[str, Any]:
        """PATCH: apply a merge, strategic merge or JSON patch; a resourceVersion in the
        result is a precondition (409 when stale). With ``subresource="status"`` only the
        patched object's ``status`` is kept (the rest of the patch is ignored, as the real
        server does for ``/status``)."""
        with self._cond:
            key = self._key(info, namespace, name)
            current = self._objects[info.plural].get(key)
            if current is None:
                raise self._not_found(info, name)
            patched = apply_patch(current, patch, patch_type)
            if subresource == "status" and isinstance(patched, dict):
                status = patched.get("status")
                patched = copy.deepcopy(current)
                patched["status"] = status if status is not None else {}
                meta = patch.get("metadata") if isinstance(patch, dict) else None
                rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
                if rv is not None:
                    patched["metadata"]["resourceVersion"] = rv
            if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
                raise KubeAPIError(status_failure(422, "Invalid", "patch removed the metadata"))
            for field in ("name", "namespace"):
                if patched["metadata"].get(field) != current["metadata"].get(field):
                    message = f"metadata.{field}: Invalid value: field is immutable"
                    raise KubeAPIError(status_failure(422, "Invalid", message))
            obj = self._prepare_body(info, namespace, patched, name)
            return self._update_locked(info, key, obj)

    def delete(
        self,
        info: ResourceInfo,
        namespace: str | None,
        name: str,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """DELETE: remove the object, return its last state (with the deletion's version)."""
        with self._cond:
            key = self._key(info, namespace, name)
            current = self._objects[info.plural].get(key)
            if current is None:
                raise self._not_found(info, name)
            for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                wanted = (preconditions or {}).get(field)
                have = current["metadata"].get(field)
                if wanted is not None and wanted != have:
                    message = (
                        f"Precondition failed: {label} in precondition: {wanted}, "
                        f"{label} in object meta: {have}"
                    )
                    details = {"name": name, "kind": info.plural}
                    raise KubeAPIError(status_failure(409, "Conflict", message, details))
            del self._objects[info.plural][key]
            self._rv += 1
            gone = copy.deepcopy(current)
            gone["metadata"]["resourceVersion"] = str(self._rv)
            self._record(Change(self._rv, info.plural, "DELETED", gone, current, _dump(gone)))
            return copy.deepcopy(gone)

    def compact(self) -> None:
        """Forget all history: a watch from any version older than now gets 410."""
        with self._cond:
            for kind in self._history:
                self._history[kind].clear()
                self._floor[kind] = self._rv

    # -- watches -----------------------------------------------------------------------

    def open_watch(
        self,
        info: ResourceInfo,
        namespace: str | None,
        labels: Selector,
        fields: Selector,
        resource_version: int | None,
        *,
        bookmarks: bool,
        silent: bool = False,
    ) -> Watcher:
        """Register a watch; pre-queue synthetic ADDED (``resource_version`` None or 0) or
        the replay of history after ``resource_version``.

        Raises ``KubeAPIError`` 410 Expired when ``resource_version`` is older than the
        history kept for ``info``.
        """
        watcher = Watcher(info, namespace, labels, fields, bookmarks=bookmarks, silent=silent)
        try:
            with self._cond:
                if not silent:
                    if not resource_version:
                        for _, obj in sorted(self._objects[info.plural].items()):
                            if watcher.matches(obj):
                                watcher.put(WatchItem("event", type="ADDED", data=_dump(obj)))
                    else:
                        floor = self._floor[info.plural]
                        if resource_version < floor:
                            raise KubeAPIError(expired(resource_version, floor))
                        for change in self._history[info.plural]:
                            if change.rv > resource_version:
                                watcher.offer(change)
                self._watchers.append(watcher)
                self._cond.notify_all()
        except BaseException:
            watcher.release()
            raise
        return watcher

    def unregister(self, watcher: Watcher) -> None:
        """Stop feeding ``watcher`` (its handler is ending)."""
        with self._cond:
            if watcher in self._watchers:
                self._watchers.remove(watcher)
                self._cond.notify_all()

    def bookmark(self, watcher: Watcher | None = None) -> None:
        """Queue a BOOKMARK at the current version to ``watcher`` (or every watch that asked
        for bookmarks). Queued under the lock, so it never overtakes an earlier event."""
        with self._cond:
            targets = [watcher] if watcher is not None else list(self._watchers)
            for target in targets:
                if target.bookmarks and not target.silent and target in self._watchers:
                    target.put(WatchItem("bookmark", rv=self._rv))

    def close_watches(self, kind: str | None = None, *, abrupt: bool = False) -> int:
        """Ask every open watch (of ``kind``) to end; return how many were asked."""
        with self._cond:
            targets = [w for w in self._watchers if kind is None or w.info.plural == kind]
            for watcher in targets:
                watcher.close(abrupt=abrupt)
            return len(targets)

    def watcher_count(self, kind: str | None = None) -> int:
        """How many watch streams are open (of ``kind``)."""
        with self._cond:
            return self._count_locked(kind)

    def wait_for_watchers(self, n: int, kind: str | None, timeout: float) -> bool:
        """Wait until at least ``n`` watch streams (of ``kind``) are open."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count_locked(kind) >= n, timeout)

    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait on the store's condition for ``predicate`` (re-checked on watch changes)."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # -- internals (call with the lock held where noted) ---------------------------------

    def _count_locked(self, kind: str | None) -> int:
        return sum(1 for w in self._watchers if kind is None or w.info.plural == kind)

    @staticmethod
    def _key(info: ResourceInfo, namespace: str | None, name: str) -> Key:
        return ((namespace or "default") if info.namespaced else "", name)

    @staticmethod
    def _not_found(info: ResourceInfo, name: str) -> KubeAPIError:
        details = {"name": name, "kind": info.plural}
        return KubeAPIError(
            status_failure(404, "NotFound", f'{info.plural} "{name}" not found', details)
        )

    @staticmethod
    def _prepare_body(
        info: ResourceInfo, namespace: str | None, body: Any, name: str | None
    ) -> dict[str, Any]:
        """Validate a request body the way the API server's decoder would, on a copy."""
        if not isinstance(body, dict):
            raise bad_request(f"the body of a {info.kind} must be a JSON object")
        obj = copy.deepcopy(body)
        if obj.get("kind") not in (None, "", info.kind):
            raise bad_request(f"kind {obj.get('kind')!r} does not match {info.kind!r}")
        if obj.get("apiVersion") not in (None, "", "v1"):
            raise bad_request(f"apiVersion {obj.get('apiVersion')!r} is not v1")
        obj["kind"], obj["apiVersion"] = info.kind, "v1"
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if info.namespaced:
            given = meta.get("namespace")
            wanted = namespace or given or "default"
            if given and given != wanted:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent "
                    "on the request"
                )
            meta["namespace"] = wanted
        else:
            meta.pop("namespace", None)
        if name is not None:
            if meta.get("name") in (None, ""):
                meta["name"] = name
            elif meta["name"] != name:
                raise bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the "
                    f"URL ({name})"
                )
        for field in ("labels", "annotations"):
            values = meta.get(field)
            if values is not None and (
                not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
            ):
                raise bad_request(f"metadata.{field} must map strings to strings")
        if info.plural == "configmaps":
            for field in ("data", "binaryData"):
                values = obj.get(field)
                if values is not None and (
                    not isinstance(values, dict)
                    or not all(isinstance(v, str) for v in values.values())
                ):
                    raise bad_request(
                        f"json: cannot unmarshal into Go struct field ConfigMap.{field} "
                        "of type string"
                    )
        return obj

    def _update_locked(self, info: ResourceInfo, key: Key, obj: dict[str, Any]) -> dict[str, Any]:
        current = self._objects[info.plural].get(key)
        if current is None:
            raise self._not_found(info, key[1])
        meta, current_meta = obj["metadata"], current["metadata"]
        wanted = meta.get("resourceVersion")
        if wanted not in (None, "") and wanted != current_meta["resourceVersion"]:
            raise conflict(info, key[1])
        for field in ("uid", "creationTimestamp"):
            meta[field] = current_meta[field]
        meta["resourceVersion"] = current_meta["resourceVersion"]
        if obj == current:  # a no-op write: no new version, no event
            return copy.deepcopy(current)
        return self._commit(info, key, obj, current, "MODIFIED")

    def _commit(
        self,
        info: ResourceInfo,
        key: Key,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        event_type: str,
    ) -> dict[str, Any]:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[info.plural][key] = obj
        self._record(Change(self._rv, info.plural, event_type, obj, old, _dump(obj)))
        return copy.deepcopy(obj)

    def _record(self, change: Change) -> None:
        history = self._history[change.kind]
        history.append(change)
        while len(history) > self._history_limit:
            self._floor[change.kind] = history.popleft().rv
        for watcher in self._watchers:
            watcher.offer(change)
