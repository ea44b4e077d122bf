"""The Kubernetes source: the document from a ConfigMap, the labels from the agent's Node.

Public names: ``KubernetesSource`` (the ``Source``), ``KubernetesSettings`` and
``BackoffSettings`` (how it behaves), ``KubernetesEventSink`` and ``EventSinkSettings`` (apply
outcomes as core/v1 Events on the agent's pod), ``PodConditionPublisher`` and
``PodConditionSettings`` (the ``nodeconf.io/ConfigApplied`` condition on the agent's pod),
``KubeClient`` (the one adapter to lightkube).

Module map: ``client`` (requests on lightkube's client), ``wire`` (JSON bodies, LIST
results, watch events), ``apierrors`` (the adapter's errors), ``watchstream`` (an open watch
response), ``connections`` (shutting a client's sockets down to interrupt it),
``lightkube_internals`` (the two lightkube internals we rely on), ``listwatch`` (our own
list-watch loop), ``watchtypes`` (what a loop follows, counts and calls), ``backoff``
(jittered capped reconnect delays), ``prepare`` (create/backfill the ConfigMap at start),
``source`` (``KubernetesSource``), ``changes`` (which change of the
ConfigMap or the Node becomes which key), ``delivery`` (the loops' handler and the gate to the
manager), ``events`` (the Event recorder), ``eventmap`` (which outcome becomes which Event),
``eventsettings`` (the recorder's settings and counters), ``podstatus`` (the pod condition: its
content), ``podpublisher`` (its writer), ``settings``.

Needs the ``kubernetes`` extra (lightkube and httpx2; lightkube brings msgspec, which nodeconf
does not import itself); nothing else in nodeconf imports this package.

Thread-safety: see each class; every public method is safe from any thread.
"""

from __future__ import annotations

from nodeconf.sources.kubernetes.backoff import BackoffSettings
from nodeconf.sources.kubernetes.client import KubeClient
from nodeconf.sources.kubernetes.events import KubernetesEventSink
from nodeconf.sources.kubernetes.eventsettings import EventSinkSettings, EventSinkStats
from nodeconf.sources.kubernetes.podpublisher import PodConditionPublisher, PodConditionSettings
from nodeconf.sources.kubernetes.podstatus import CONDITION_TYPE
from nodeconf.sources.kubernetes.settings import KubernetesSettings
from nodeconf.sources.kubernetes.source import DEFAULT_CONFIGMAP, DEFAULT_KEY, KubernetesSource
from nodeconf.sources.kubernetes.watchtypes import WatchStats

__all__ = [
    "CONDITION_TYPE",
    "DEFAULT_CONFIGMAP",
    "DEFAULT_KEY",
    "BackoffSettings",
    "EventSinkSettings",
    "EventSinkStats",
    "KubeClient",
    "KubernetesEventSink",
    "KubernetesSettings",
    "KubernetesSource",
    "PodConditionPublisher",
    "PodConditionSettings",
    "WatchStats",
]
