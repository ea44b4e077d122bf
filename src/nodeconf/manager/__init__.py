"""The engine: the only layer that owns worker threads.

``ConfigManager`` reads a source, computes revisions through a schema and delivers them to
listeners from a pool of worker threads (one per busy listener, plus one free), with
per-listener retries and an exact two-phase stop. The modules, one concept each:

* ``config_manager``: ``ConfigManager``, a small facade over the parts below;
* ``scheduler``: every decision, as a pure state machine (no threads, no clock, no I/O);
* ``pool``: the worker threads that carry out the scheduler's jobs, under one lock;
* ``running``: what each job means (the only place listeners, sinks and the source run);
* ``revisions``: evaluation of a source state into a revision;
* ``stopping``: the two-phase stop and its report;
* ``listeners``: what a listener is, ``Change`` and ``Revision``;
* ``settings``: ``Settings``; ``lifecycle``: ``Lifecycle``; ``fallback``: ``Fallback``;
* ``starting``: ``start()``'s source steps (also resumed in the background after a fallback);
* ``reports``: ``ManagerStatus``, ``ListenerStatus``, ``StopReport``, ``PendingRetry``;
* ``source``: the source seam; ``outcomes``: the outcome sink seam.

Threads and locks are described in docs/threading.md.
"""

from __future__ import annotations

from nodeconf.manager.config_manager import ConfigManager
from nodeconf.manager.fallback import Fallback
from nodeconf.manager.lifecycle import Lifecycle, Started
from nodeconf.manager.listeners import Change, ChangeListener, ConfigListener, Listener, Revision
from nodeconf.manager.outcomes import FanOutSink, NullSink, Outcome, OutcomeKind, OutcomeSink
from nodeconf.manager.reports import ListenerStatus, ManagerStatus, PendingRetry, StopReport
from nodeconf.manager.settings import Settings
from nodeconf.manager.source import (
    KEY_DOCUMENT,
    KEY_NODE,
    Cancellable,
    Source,
    SourceContext,
    SourceEvent,
    SourceState,
)

__all__ = [
    "KEY_DOCUMENT",
    "KEY_NODE",
    "Cancellable",
    "Change",
    "ChangeListener",
    "ConfigListener",
    "ConfigManager",
    "Fallback",
    "FanOutSink",
    "Lifecycle",
    "Listener",
    "ListenerStatus",
    "ManagerStatus",
    "NullSink",
    "Outcome",
    "OutcomeKind",
    "OutcomeSink",
    "PendingRetry",
    "Revision",
    "Settings",
    "Source",
    "SourceContext",
    "SourceEvent",
    "SourceState",
    "Started",
    "StopReport",
]
