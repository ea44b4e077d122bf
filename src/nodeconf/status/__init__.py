"""Status: what a running manager tells the outside world - metrics, health, logs.

Module map (one concept each):

* ``metrics`` - ``MetricsSink``: an ``OutcomeSink`` counting outcomes into Prometheus metrics,
  plus gauges read from ``manager.status()`` at scrape time (injectable ``registry=``);
* ``server`` - ``StatusServer``: ``/healthz``, ``/readyz``, ``/metrics``, ``/status`` on the
  standard library's HTTP server; ``address`` parses ``--status-addr``;
* ``health`` - the health and readiness rules, as pure functions of a status snapshot;
* ``outcomelog`` - ``LogSink``: outcomes as log lines; ``changelog`` - ``ChangeLog``: a
  listener logging each applied change with its diff;
* ``logformat`` - ``--log-format text|json``.

The names below are loaded on first use (PEP 562), so importing one light module of this
package never pulls in ``prometheus_client`` or ``http.server``.

Thread-safety: see each module; every sink and the server are safe to use from any thread.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "ChangeLog",
    "LogSink",
    "MetricsSink",
    "StatusServer",
    "configure_logging",
    "health_problems",
    "is_ready",
    "parse_address",
    "reset_logging",
]

_HOMES = {
    "ChangeLog": "nodeconf.status.changelog",
    "LogSink": "nodeconf.status.outcomelog",
    "MetricsSink": "nodeconf.status.metrics",
    "StatusServer": "nodeconf.status.server",
    "configure_logging": "nodeconf.status.logformat",
    "health_problems": "nodeconf.status.health",
    "is_ready": "nodeconf.status.health",
    "parse_address": "nodeconf.status.address",
    "reset_logging": "nodeconf.status.logformat",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'nodeconf.status' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted(__all__)
