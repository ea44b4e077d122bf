"""Where the document and the node labels come from: the public door for sources.

* ``StaticSource``: in memory, set from code (tests, embedding, fixed configs);
* ``FileSource``: a mounted ConfigMap directory or a plain file, watched through inotify;
* ``KubernetesSource``: list-watch of the ConfigMap and the Node through lightkube (needs
  the ``kubernetes`` extra: ``pip install nodeconf[kubernetes]``).

Each class is imported on first use, so ``import nodeconf.sources`` loads neither inotify_simple
nor lightkube. Every source implements ``nodeconf.sources.Source`` (the protocol the manager
consumes; see ``nodeconf.manager.source`` for its contract), and the file and Kubernetes
sources also ``Cancellable`` (a stop during ``start()`` ends their start-up waits at once).

Thread-safety: see each source's own docstring.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from nodeconf.manager.source import (
    KEY_DOCUMENT,
    KEY_NODE,
    Cancellable,
    Source,
    SourceContext,
    SourceEvent,
    SourceState,
)

if TYPE_CHECKING:
    from nodeconf.sources.file import FileSource
    from nodeconf.sources.kubernetes import KubernetesSource
    from nodeconf.sources.static import StaticSource

__all__ = [
    "KEY_DOCUMENT",
    "KEY_NODE",
    "Cancellable",
    "FileSource",
    "KubernetesSource",
    "Source",
    "SourceContext",
    "SourceEvent",
    "SourceState",
    "StaticSource",
]

_LAZY = {
    "FileSource": "nodeconf.sources.file",
    "KubernetesSource": "nodeconf.sources.kubernetes",
    "StaticSource": "nodeconf.sources.static",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
