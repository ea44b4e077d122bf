"""``KubernetesSource``: the document from a ConfigMap, the labels from the agent's Node.

Two list-watch loops (``listwatch``), one per object, each on its own thread:
``nodeconf-watch-configmap`` follows ConfigMap ``<namespace>/<configmap>`` and
``nodeconf-watch-node`` follows Node ``<node_name>``. Which of their changes become which
manager key is ``changes``' business (``ChangeTracker``); ``delivery`` (``LoopHandler``) applies
them and passes the keys and reports to the context. Nothing is notified before the first
complete state (``wait_synced``: the ConfigMap listed, present or absent, and the Node found):
the manager's initial sync reads ``snapshot()`` after it.

``prepare(schema, timeout)`` creates or backfills the ConfigMap (``prepare``; skipped with
``prepare=False``).

Threads and locks: the two loop threads call the ``LoopHandler``; the manager calls
``prepare``/``start``/``stop`` (one at a time) and ``snapshot``/``wait_synced`` from any thread;
``cancel`` comes from the thread that stops the manager, while ``prepare`` or ``wait_synced``
may be running on another; ``health_problems``, ``status_json`` and ``watch_stats`` are read by
the status server's request threads. ``_prepare_pause`` guards ``_prepare_cancelled``; ``_synced``
is a ``Latch`` with its own lock; the ``LoopHandler`` guards the ``ChangeTracker`` with a lock of
its own. ``_lock`` guards the lifecycle; ``_gate.lock`` (``ContextGate``) is held while calling
the context (``notify``/``report``) and by ``start``/``stop`` while they open and close the
gate, so once ``stop`` has returned no call to the context is in flight or will ever be made,
even from a loop thread that outlived its join timeout. Lock order: ``_gate.lock`` before
``_lock``; the context is never called with ``_lock`` held.

Thread-safety: as above; every public method is safe to call from any thread.
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import time
from typing import TYPE_CHECKING, Any, Final

from lightkube import Client as LightkubeClient

from nodeconf.concurrency.clock import Clock, default_clock, seconds_left
from nodeconf.concurrency.latch import Latch
from nodeconf.errors import LifecycleError
from nodeconf.manager.source import SourceEvent, SourceState
from nodeconf.sources.kubernetes.changes import ChangeTracker
from nodeconf.sources.kubernetes.client import KIND_CONFIGMAPS, KIND_NODES, KubeClient
from nodeconf.sources.kubernetes.delivery import ContextGate, LoopHandler
from nodeconf.sources.kubernetes.events import KubernetesEventSink
from nodeconf.sources.kubernetes.eventsettings import EventSinkSettings
from nodeconf.sources.kubernetes.listwatch import ListWatch
from nodeconf.sources.kubernetes.podpublisher import PodConditionPublisher, PodConditionSettings
from nodeconf.sources.kubernetes.prepare import PrepareResult, prepare_configmap
from nodeconf.sources.kubernetes.settings import KubernetesSettings
from nodeconf.sources.kubernetes.watchtypes import WatchStats, WatchTarget

if TYPE_CHECKING:
    from nodeconf.manager.source import SourceContext
    from nodeconf.model.seam import ConfigSchema

__all__ = ["DEFAULT_CONFIGMAP", "DEFAULT_KEY", "KubernetesSource"]

DEFAULT_CONFIGMAP: Final = "volcano-agent-configuration"
DEFAULT_KEY: Final = "colocation-config"

_log = logging.getLogger("nodeconf.sources.kubernetes")


class _Life(enum.Enum):
    NEW = "new"
    RUNNING = "running"
    STOPPED = "stopped"


class KubernetesSource:
    """The document from a ConfigMap and the node labels from a Node, watched live.

    ``namespace`` is the agent's namespace (where the ConfigMap lives); ``node_name`` the
    agent's node; ``pod_name`` the agent's pod (only needed for ``event_sink``). ``client``
    is a ``KubeClient`` or a lightkube ``Client`` (default: built from ``kubeconfig``, a path,
    else the in-cluster service account, ``KUBECONFIG`` or ``~/.kube/config``). ``clock``
    paces reconnect delays and prepare retries; ``settings`` is ``KubernetesSettings``.
    See the module docstring for what becomes which key.

    Thread-safety: every method is safe from any thread (see the module docstring).
    """

    def __init__(
        self,
        *,
        namespace: str,
        node_name: str,
        pod_name: str | None = None,
        configmap: str = DEFAULT_CONFIGMAP,
        key: str = DEFAULT_KEY,
        prepare: bool = True,
        client: KubeClient | LightkubeClient | None = None,
        kubeconfig: str | None = None,
        clock: Clock | None = None,
        settings: KubernetesSettings | None = None,
    ) -> None:
        if not namespace:
            raise ValueError("namespace must be a non-empty string")
        if not node_name:
            raise ValueError("node_name must be a non-empty string")
        self.namespace = namespace
        self.node_name = node_name
        self.pod_name = pod_name
        self.configmap = configmap
        self.key = key
        self._prepare_enabled = prepare
        self._given_client = client
        self._kubeconfig = kubeconfig
        self._clock = clock if clock is not None else default_clock()
        self._settings = settings if settings is not None else KubernetesSettings()
        self._origin = f"ConfigMap {namespace}/{configmap} key {key}"
        self._cm_target = WatchTarget(KIND_CONFIGMAPS, configmap, namespace)
        self._node_target = WatchTarget(KIND_NODES, node_name, None)
        self._synced = Latch()  # set once the first complete state is known
        # Ends a prepare in progress (cancel); _prepare_cancelled is guarded by it.
        self._prepare_pause = threading.Condition()
        self._prepare_cancelled = False
        self._gate = ContextGate()
        self._handler = LoopHandler(
            ChangeTracker(origin=self._origin, key=key, node_name=node_name),
            self._synced,
            self._gate,
        )
        self._lock = threading.Lock()
        # -- guarded by _lock ------------------------------------------------------------
        self._life = _Life.NEW
        self._stop_requested = False  # set by the first stop(); start() checks it late
        self._client: KubeClient | None = None  # the root client (prepare, forks)
        self._loops: tuple[ListWatch, ...] = ()
        self._loop_clients: tuple[KubeClient, ...] = ()
        self._pending_reports: list[SourceEvent] = []  # from prepare, sent at start

    def __repr__(self) -> str:
        return (
            f"KubernetesSource(namespace={self.namespace!r}, node_name={self.node_name!r}, "
            f"configmap={self.configmap!r}, key={self.key!r})"
        )

    # -- the client ------------------------------------------------------------------------

    def _root_client(self) -> KubeClient:
        with self._lock:
            if self._client is None:
                given = self._given_client
                timeout = self._settings.request_timeout_seconds
                if isinstance(given, KubeClient):
                    self._client = given
                elif given is not None:
                    self._client = KubeClient(given, request_timeout_seconds=timeout)
                else:  # loads configuration only: no network I/O under the lock
                    self._client = KubeClient.connect(
                        self._kubeconfig, request_timeout_seconds=timeout
                    )
            return self._client

    # -- Source protocol -------------------------------------------------------------------

    def prepare(self, schema: ConfigSchema, timeout: float | None) -> None:
        """Create or backfill the ConfigMap (see ``prepare`` module); no-op when disabled.

        Waits at most ``min(timeout, settings.prepare_timeout_seconds)``; raises
        ``SourceError`` when it could not finish, ``LifecycleError`` after ``start``.
        """
        with self._lock:
            if self._life is not _Life.NEW:
                raise LifecycleError(
                    f"prepare() needs a new source; this one is {self._life.value}"
                )
        if not self._prepare_enabled:
            return
        client = self._root_client()
        budget = self._settings.prepare_timeout_seconds
        if timeout is not None:
            budget = min(budget, timeout)
        result = prepare_configmap(
            client,
            namespace=self.namespace,
            name=self.configmap,
            key=self.key,
            schema=schema,
            clock=self._clock,
            retry_interval_seconds=self._settings.prepare_retry_interval_seconds,
            deadline=self._clock.now() + budget,
            pause=self._prepare_pause,
            cancelled=self._is_prepare_cancelled,
        )
        self._after_prepare(result)

    def _after_prepare(self, result: PrepareResult) -> None:
        if result.action == "unreadable":
            detail = f"{self._origin} left unprepared: {result.error}"
            _log.warning("%s", detail)
            with self._lock:
                self._pending_reports.append(SourceEvent("source-error", detail))
        elif result.action != "unchanged":
            _log.info("%s %s", self._origin, result.action)

    def start(self, context: SourceContext) -> None:
        """Start both list-watch loops; returns at once (see ``wait_synced``)."""
        with self._lock:
            if self._life is not _Life.NEW:
                raise LifecycleError(f"start() needs a new source; this one is {self._life.value}")
            self._life = _Life.RUNNING
        root = self._root_client()
        rng = random.Random(self._settings.jitter_seed)  # noqa: S311 - jitter, not crypto
        loops = []
        clients = []
        for target, thread_name in (
            (self._cm_target, "nodeconf-watch-configmap"),
            (self._node_target, "nodeconf-watch-node"),
        ):
            client = root.fork()
            clients.append(client)
            loops.append(
                ListWatch(
                    client,
                    target,
                    self._handler,
                    settings=self._settings,
                    clock=self._clock,
                    rng=random.Random(rng.random()),  # noqa: S311 - one stream per loop
                    thread_name=thread_name,
                )
            )
        with self._gate.lock:
            self._gate.open_locked(context)
            with self._lock:
                if self._stop_requested:  # stop() ran while we were building the loops
                    self._gate.close_locked()
                    for client in clients:
                        client.close()
                    raise LifecycleError("start() raced with stop(): the source is stopped")
                self._loops = tuple(loops)
                self._loop_clients = tuple(clients)
                pending, self._pending_reports = self._pending_reports, []
            for event in pending:
                context.report(event)
        for loop in loops:
            loop.start()

    def wait_synced(self, timeout: float | None) -> bool:
        """True once the ConfigMap was listed and the Node found; False on timeout or after
        ``cancel``."""
        return self._synced.wait(timeout)

    def cancel(self) -> None:
        """End a ``prepare`` or ``wait_synced`` in progress on another thread (the manager
        calls this when it is stopped during ``start()``): ``prepare`` raises ``SourceError``
        at its next retry pause, or once a request in flight has returned (bounded by the
        request timeout); ``wait_synced`` returns False now. Later calls of either end at
        once. Never blocks; idempotent."""
        with self._prepare_pause:
            self._prepare_cancelled = True
            self._prepare_pause.notify_all()
        self._synced.cancel()

    def _is_prepare_cancelled(self) -> bool:
        # Called by prepare_configmap with _prepare_pause held.
        return self._prepare_cancelled

    def snapshot(self) -> SourceState:
        return self._handler.snapshot()

    def stop(self, timeout: float | None) -> bool:
        """Stop both loops and join their threads within ``timeout``; idempotent.

        Returns False when a thread was still running at the deadline (it will make no
        further call to the context either way).
        """
        with self._gate.lock:
            self._gate.close_locked()
            with self._lock:
                was = self._life
                self._life = _Life.STOPPED
                self._stop_requested = True
                loops = self._loops
                clients = self._loop_clients
        for loop in loops:
            loop.stop()
        # Joining threads takes real time, whatever clock paces the loops.
        deadline = None if timeout is None else time.monotonic() + timeout
        joined = True
        for loop in loops:
            joined = loop.join(seconds_left(deadline)) and joined
        if joined:
            for client in clients:
                client.close()
            if was is not _Life.STOPPED and self._given_client is None:
                with self._lock:
                    root = self._client
                if root is not None:
                    root.close()
        return joined

    # -- extras ----------------------------------------------------------------------------

    def health_problems(self) -> list[str]:
        """What a restart of this process would cure (empty: healthy): the liveness check.

        The source stopped; a list-watch loop whose thread died; a loop that is stuck (no
        progress for ``settings.stuck_after_seconds``: alive, but blocked beyond every timeout
        it has). Deliberately *not* a problem: an API server that cannot be reached, or
        answers errors, however long. The loop keeps retrying with backoff and resumes from
        its resourceVersion once the server is back; a restart would only drop that, and have
        every node relist at once when the server returns. That state shows in the log
        (``watch of ... restarts``), in ``watch_stats()`` and in the watch-restart metric.
        """
        with self._lock:
            life = self._life
            loops = self._loops
        if life is _Life.STOPPED:
            return ["Kubernetes source is stopped"]
        problems = []
        stuck_after = self._settings.stuck_after_seconds
        for loop in loops:
            if loop.thread.ident is not None and not loop.thread.is_alive():
                problems.append(f"watch of {loop.target} has stopped")
                continue
            stalled = loop.stalled_seconds()
            if stalled > stuck_after:
                problems.append(
                    f"watch of {loop.target} is stuck: no progress for {stalled:.0f}s "
                    f"(last error: {loop.stats().last_error or 'none'})"
                )
        return problems

    def status_json(self) -> dict[str, Any]:
        """What this source says about itself, for ``/status`` (JSON-serialisable): where it
        reads, whether it is synced, and each watch's counters, last error and how long
        since its last step. A watch failing over and over shows here (and in the log), not
        in ``health_problems``."""
        watches: dict[str, Any] = {}
        with self._lock:
            loops = self._loops
        for loop in loops:
            name = "configmap" if loop.target.kind == KIND_CONFIGMAPS else "node"
            stats = loop.stats()
            watches[name] = {
                "lists": stats.lists,
                "watches": stats.watches,
                "events": stats.events,
                "bookmarks": stats.bookmarks,
                "expired": stats.expired,
                "failures": stats.failures,
                "consecutive_failures": stats.consecutive_failures,
                "last_error": stats.last_error,
                "resource_version": stats.resource_version,
                "seconds_since_progress": round(max(0.0, loop.stalled_seconds()), 3),
            }
        return {
            "kind": "kubernetes",
            "configmap": f"{self.namespace}/{self.configmap}",
            "key": self.key,
            "node": self.node_name,
            "synced": self._synced.is_set(),
            "watches": watches,
        }

    def watch_stats(self) -> dict[str, WatchStats]:
        """Counters of both loops, keyed ``configmap`` and ``node`` (empty before start)."""
        with self._lock:
            loops = self._loops
        return {
            ("configmap" if loop.target.kind == KIND_CONFIGMAPS else "node"): loop.stats()
            for loop in loops
        }

    def wait_for_version(
        self, resource_version: int | str, *, kind: str = "configmap", timeout: float | None = None
    ) -> bool:
        """Block until the ``configmap`` (or ``node``) watch has handed every change up to
        ``resource_version`` to the manager; False on timeout or before ``start``.

        For tests and tools that must know the agent has seen a write ("read your writes");
        versions compare as integers (true of etcd-backed API servers)."""
        target = KIND_CONFIGMAPS if kind == "configmap" else KIND_NODES
        with self._lock:
            loops = [loop for loop in self._loops if loop.target.kind == target]
        if not loops:
            return False
        return loops[0].wait_processed(int(resource_version), timeout)

    def event_sink(
        self, *, clock: Clock | None = None, settings: EventSinkSettings | None = None
    ) -> KubernetesEventSink:
        """A ``KubernetesEventSink`` posting on this agent's pod with this source's client
        configuration (needs ``pod_name``). The caller closes it."""
        if not self.pod_name:
            raise ValueError("event_sink() needs the source's pod_name")
        return KubernetesEventSink(
            namespace=self.namespace,
            pod_name=self.pod_name,
            node_name=self.node_name,
            client=self._root_client(),
            clock=clock if clock is not None else self._clock,
            settings=settings,
        )

    def pod_condition_publisher(
        self, *, jitter_seconds: float = 2.0, settings: PodConditionSettings | None = None
    ) -> PodConditionPublisher:
        """A ``PodConditionPublisher`` for this agent's pod with this source's client
        configuration and clock (needs ``pod_name``); without ``settings`` it waits a jitter
        of up to ``jitter_seconds`` and retries with this source's backoff. The caller binds
        it to the manager and closes it."""
        if not self.pod_name:
            raise ValueError("pod_condition_publisher() needs the source's pod_name")
        if settings is None:
            settings = PodConditionSettings(
                jitter_seconds=jitter_seconds, backoff=self._settings.backoff
            )
        return PodConditionPublisher(
            namespace=self.namespace,
            pod_name=self.pod_name,
            client=self._root_client(),
            clock=self._clock,
            settings=settings,
        )
