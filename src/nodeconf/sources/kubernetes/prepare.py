"""Prepare the ConfigMap at start (spec section 3), without ever overwriting an admin's edit.

``prepare_configmap`` makes sure the document exists and carries the sections Volcano's agent
backfills:

* missing ConfigMap: create it with the schema's default document. ``409 AlreadyExists`` means
  another agent won the race: that counts as success (the object is then re-read, like any
  existing one);
* present ConfigMap: ``schema.prepare_document(text)``; when it added something, write it
  back with a PUT that carries the ``metadata.resourceVersion`` we read. A ``409 Conflict``
  (someone edited it meanwhile) or a ``404`` (deleted meanwhile) re-reads and starts over, so
  the administrator's edit is never overwritten; every other key of the ConfigMap and every
  field nodeconf does not know travels through unchanged (objects are plain JSON);
* present ConfigMap without our data key: the key is added with the default document (same
  precondition). **We improve**: Volcano fails its start-up on this;
* unreadable document (bad JSON, no ``globalConfig``): nothing is written and the result
  says so. **We improve**: Volcano retries for a minute and then refuses to start; nodeconf
  starts, and the manager reports the document as invalid with its coordinates, keeping the
  defaults until an administrator fixes it.

Any other failure (connection, 5xx, 429, 403) is retried every ``retry_interval_seconds`` on
the injected clock until ``deadline``; then ``SourceError`` is raised with the last error
chained. The first failure, and each later one whose message differs, is logged as a warning
(an agent stuck at start-up says why). Conflicts and races are retried at once (they mean
someone else made progress), a few times in a row at most before the interval applies again.
``cancelled()`` (checked with ``pause`` held, before each attempt and at each pause; whoever
makes it true notifies ``pause``) ends the retries with ``SourceError``.

Thread-safety: a pure function of its arguments; runs on the caller's thread (the manager's,
during ``start``). It reads the clock and waits on it; it starts no thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from nodeconf.errors import DocumentError, SourceError
from nodeconf.sources.kubernetes.apierrors import ApiStatusError
from nodeconf.sources.kubernetes.client import KIND_CONFIGMAPS, KubeClient

if TYPE_CHECKING:
    from nodeconf.concurrency.clock import Clock
    from nodeconf.model.seam import ConfigSchema

__all__ = ["PrepareResult", "prepare_configmap"]

_log = logging.getLogger("nodeconf.sources.kubernetes")

#: Conflicts retried back to back before the retry interval applies again.
_IMMEDIATE_RETRIES = 3


@dataclass(frozen=True, slots=True)
class PrepareResult:
    """What prepare did: ``created``, ``backfilled``, ``key-added``, ``unchanged`` or
    ``unreadable`` (then ``error`` says why and nothing was written); ``attempts`` counts
    the rounds it took.

    Thread-safety: immutable.
    """

    action: Literal["created", "backfilled", "key-added", "unchanged", "unreadable"]
    attempts: int
    error: DocumentError | None = None


def prepare_configmap(
    client: KubeClient,
    *,
    namespace: str,
    name: str,
    key: str,
    schema: ConfigSchema,
    clock: Clock,
    retry_interval_seconds: float,
    deadline: float,
    pause: threading.Condition | None = None,
    cancelled: Callable[[], bool] = lambda: False,
) -> PrepareResult:
    """Create or backfill the ConfigMap; see the module docstring. ``deadline`` is a value of
    ``clock.now()``."""
    if pause is None:
        pause = threading.Condition()  # nobody notifies it: waits end on the clock only
    attempts = 0
    immediate = 0
    logged = ""
    while True:
        with pause:
            if cancelled():
                raise SourceError(
                    f"preparing ConfigMap {namespace}/{name} was cancelled", temporary=False
                )
        attempts += 1
        try:
            result = _attempt(client, namespace=namespace, name=name, key=key, schema=schema)
        except ApiStatusError as exc:
            if exc.conflict or exc.not_found:
                immediate += 1
                if immediate <= _IMMEDIATE_RETRIES and clock.now() < deadline:
                    continue
            last: SourceError = exc
        except SourceError as exc:
            last = exc
        else:
            if isinstance(result, PrepareResult):
                return PrepareResult(result.action, attempts, result.error)
            continue  # "retry": lost a race, re-read at once
        immediate = 0
        if str(last) != logged:
            logged = str(last)
            _log.warning(
                "cannot prepare ConfigMap %s/%s yet (attempt %d): %s; retrying every %gs",
                namespace,
                name,
                attempts,
                logged,
                retry_interval_seconds,
            )
        with pause:
            retry_at = clock.now() + retry_interval_seconds
            if retry_at > deadline:
                raise SourceError(
                    f"cannot prepare ConfigMap {namespace}/{name} after {attempts} attempt(s): "
                    f"{last}",
                    temporary=last.temporary,
                ) from last
            while not cancelled() and clock.wait_until(pause, retry_at):
                pass


def _attempt(
    client: KubeClient, *, namespace: str, name: str, key: str, schema: ConfigSchema
) -> PrepareResult | Literal["retry"]:
    current = client.get(KIND_CONFIGMAPS, name, namespace=namespace)
    if current is None:
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {key: schema.default_document_text()},
        }
        try:
            client.create(KIND_CONFIGMAPS, body, namespace=namespace)
        except ApiStatusError as exc:
            if exc.conflict:  # AlreadyExists: another agent created it first
                return "retry"
            raise
        return PrepareResult("created", 0)
    data: dict[str, Any] = dict(current.get("data") or {})
    text = data.get(key)
    if text is None:
        data[key] = schema.default_document_text()
        action: Literal["backfilled", "key-added"] = "key-added"
    else:
        try:
            new_text, changed = schema.prepare_document(text)
        except DocumentError as exc:
            return PrepareResult("unreadable", 0, exc)
        if not changed:
            return PrepareResult("unchanged", 0)
        data[key] = new_text
        action = "backfilled"
    updated = dict(current)
    updated["data"] = data
    # current["metadata"]["resourceVersion"] travels along: the PUT is a compare-and-swap.
    client.replace(KIND_CONFIGMAPS, name, updated, namespace=namespace)
    return PrepareResult(action, 0)
