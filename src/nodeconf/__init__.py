"""nodeconf: live, validated, per-node configuration for Kubernetes node agents."""

from nodeconf.errors import (
    ConfigInvalid,
    DocumentError,
    Issue,
    LifecycleError,
    ListenerIntent,
    NodeconfError,
    Reject,
    RetryLater,
    SourceError,
)

__all__ = [
    "ConfigInvalid",
    "DocumentError",
    "Issue",
    "LifecycleError",
    "ListenerIntent",
    "NodeconfError",
    "Reject",
    "RetryLater",
    "SourceError",
]
__version__ = "0.1.0"
