"""Helpers shared by the Kubernetes source tests (imported as ``tests.kubernetes.kube_helpers``).

* ``fast_settings(**overrides)``: ``KubernetesSettings`` with millisecond delays;
* ``RecordingContext``: a ``SourceContext`` that records keys and reports and lets a test wait
  for them (it stands in for the manager in source-level tests; the acceptance tests use a
  real ``ConfigManager``);
* ``document(**global_fields)`` / ``put_document`` / ``configmap``: ConfigMap bodies;
* ``WatchingListener`` (a ``RecordingListener`` one can wait on with a predicate) and
  ``OutcomeRecorder`` (an outcome sink one can wait on), for the acceptance tests;
* ``RecordingTransport``: an httpx2 transport that forwards to the real one and can run a
  hook just before a matching request leaves (to stage a real race) or block it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx2

from kubeapi import KubeAPIServer
from nodeconf.manager.outcomes import Outcome
from nodeconf.manager.source import SourceEvent
from nodeconf.sources.kubernetes import BackoffSettings, KubernetesSettings
from nodeconf.testing import RecordingListener

__all__ = [
    "CONFIGMAP",
    "KEY",
    "NAMESPACE",
    "NODE",
    "POD",
    "OutcomeRecorder",
    "RecordingContext",
    "RecordingTransport",
    "WatchingListener",
    "configmap",
    "document",
    "fast_settings",
    "interval_document",
    "interval_of",
    "put_document",
]

NAMESPACE = "volcano-system"  # also in conftest.py (which cannot import this module)
NODE = "node-a"
POD = "agent-xyz"
CONFIGMAP = "volcano-agent-configuration"
KEY = "colocation-config"
WAIT = 10.0  # seconds: bounds a failure, never paces a test

_FAST = KubernetesSettings(
    request_timeout_seconds=5.0,
    watch_timeout_min_seconds=60,
    watch_timeout_max_seconds=60,
    watch_idle_timeout_seconds=30.0,
    backoff=BackoffSettings(
        initial_delay_seconds=0.01, max_delay_seconds=0.05, reset_after_seconds=60.0
    ),
    prepare_retry_interval_seconds=0.01,
    prepare_timeout_seconds=5.0,
    jitter_seed=20261126,
)


def fast_settings(**overrides: Any) -> KubernetesSettings:
    """Settings with millisecond reconnect delays and a pinned jitter seed."""
    return replace(_FAST, **overrides)


def document(**global_fields: Any) -> str:
    """A document text whose ``globalConfig`` holds the given sections."""
    return json.dumps({"globalConfig": global_fields}, indent=2)


def configmap(
    text: str, *, name: str = CONFIGMAP, key: str = KEY, **extra_data: str
) -> dict[str, Any]:
    """A ConfigMap body in ``NAMESPACE`` holding ``text`` under ``key``."""
    return {
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": {key: text, **extra_data},
    }


def put_document(api: KubeAPIServer, text: str) -> dict[str, Any]:
    """Create the ConfigMap with ``text``, or replace its data key with ``text``."""
    current = api.get("configmaps", CONFIGMAP, NAMESPACE)
    if current is None:
        return api.create(configmap(text))
    return api.patch("configmaps", CONFIGMAP, {"data": {KEY: text}}, namespace=NAMESPACE)


class RecordingContext:
    """A ``SourceContext`` that records what a source tells it.

    Thread-safety: every method is safe from any thread; ``_cond`` guards the lists.
    """

    def __init__(self, label_keys: frozenset[str] = frozenset({"volcano.sh/colocation"})) -> None:
        self._cond = threading.Condition()
        self._keys: list[str] = []  # guarded by _cond
        self._reports: list[SourceEvent] = []  # guarded by _cond
        self._label_keys = label_keys

    def notify(self, key: str) -> None:
        with self._cond:
            self._keys.append(key)
            self._cond.notify_all()

    def label_keys(self) -> frozenset[str]:
        return self._label_keys

    def report(self, event: SourceEvent) -> None:
        with self._cond:
            self._reports.append(event)
            self._cond.notify_all()

    @property
    def keys(self) -> list[str]:
        with self._cond:
            return list(self._keys)

    @property
    def reports(self) -> list[SourceEvent]:
        with self._cond:
            return list(self._reports)

    def report_kinds(self) -> list[str]:
        return [r.kind for r in self.reports]

    def wait_keys(self, key: str, count: int = 1, timeout: float = WAIT) -> bool:
        """Wait until ``key`` was notified at least ``count`` times."""
        with self._cond:
            return self._cond.wait_for(lambda: self._keys.count(key) >= count, timeout)

    def wait_report(
        self, predicate: Callable[[SourceEvent], bool], count: int = 1, timeout: float = WAIT
    ) -> bool:
        """Wait until at least ``count`` reports satisfy ``predicate``."""
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for r in self._reports if predicate(r)) >= count, timeout
            )


class RecordingTransport(httpx2.BaseTransport):
    """Forwards to a real ``httpx2.HTTPTransport``; records requests; runs ``hook`` (once per
    matching request, on the requesting thread) just before a request matching
    ``(method, path_contains)`` is sent.

    Thread-safety: ``_lock`` guards ``sent``.
    """

    def __init__(self) -> None:
        self._inner = httpx2.HTTPTransport()
        self._lock = threading.Lock()
        self.sent: list[tuple[str, str, bytes]] = []  # guarded by _lock
        self._hooks: list[tuple[str, str, Callable[[], None]]] = []  # guarded by _lock

    def before(self, method: str, path_contains: str, hook: Callable[[], None]) -> None:
        """Run ``hook`` before the next ``method`` request whose path contains the text."""
        with self._lock:
            self._hooks.append((method, path_contains, hook))

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        hook = None
        with self._lock:
            self.sent.append((request.method, request.url.path, body))
            for index, (method, part, fn) in enumerate(self._hooks):
                if method == request.method and part in request.url.path:
                    hook = fn
                    del self._hooks[index]
                    break
        if hook is not None:
            hook()
        return self._inner.handle_request(request)

    def bodies(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(body) for m, _, body in self.sent if m == method and body]

    def close(self) -> None:
        self._inner.close()


class WatchingListener(RecordingListener):
    """A ``RecordingListener`` (register it ``with_change=True``) that also lists the revision
    of every call. Thread-safety: as ``RecordingListener``."""

    def revisions(self) -> list[int]:
        """The revision of every call, in order."""
        return [c.revision for c in self.changes if c is not None]


class OutcomeRecorder:
    """An ``OutcomeSink`` that keeps every outcome and lets a test wait for one.

    Thread-safety: ``_cond`` guards ``_outcomes``.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._outcomes: list[Outcome] = []  # guarded by _cond

    def emit(self, outcome: Outcome) -> None:
        with self._cond:
            self._outcomes.append(outcome)
            self._cond.notify_all()

    @property
    def outcomes(self) -> list[Outcome]:
        with self._cond:
            return list(self._outcomes)

    def wait_for(
        self, predicate: Callable[[Outcome], bool], count: int = 1, timeout: float = WAIT
    ) -> bool:
        with self._cond:
            return self._cond.wait_for(
                lambda: sum(1 for o in self._outcomes if predicate(o)) >= count, timeout
            )


def interval_document(n: int, **more: Any) -> str:
    """A document whose global qosCheckInterval is ``n`` (a cheap way to make distinct
    revisions and to recognise them)."""
    return document(networkQosConfig={"qosCheckInterval": n}, **more)


def interval_of(config: Any) -> int:
    return int(config.to_json()["networkQosConfig"]["qosCheckInterval"])
