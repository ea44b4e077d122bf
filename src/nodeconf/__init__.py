"""nodeconf: live, validated, per-node configuration for Kubernetes node agents.

The public door for library users::

    from nodeconf import ConfigManager
    from nodeconf.sources import FileSource          # or KubernetesSource, StaticSource
    from nodeconf.testing import RecordingListener   # for your own tests

Any agent's config: ``dataclass_schema(GpuConfig)`` (listeners get ``GpuConfig`` instances)
or ``load_json_schema("gpu.schema.json")`` (listeners get ``JsonConfig``), passed to
``ConfigManager(schema=...)``; see docs/schema.md.

Everything a user needs is exported here, from ``nodeconf.sources`` and from
``nodeconf.testing``, types included (``ConfigManager[ColocationConfig]``, the listener
protocols, ``Change``, ``OutcomeKind``, ``ConfigSchema``): user code never imports an internal
module to type itself. A test pins each ``__all__``.

Thread-safety: one rule for the whole library — every public method of a public class may be
called from any thread unless its docstring says otherwise; listeners are called from the
manager's worker threads, never concurrently with themselves.
"""

from nodeconf.errors import (
    ConfigInvalid,
    DocumentError,
    Issue,
    LifecycleError,
    ListenerIntent,
    NodeconfError,
    Reject,
    RetryLater,
    SchemaError,
    SourceError,
)
from nodeconf.manager import (
    Change,
    ChangeListener,
    ConfigListener,
    ConfigManager,
    Fallback,
    FanOutSink,
    Lifecycle,
    ListenerStatus,
    ManagerStatus,
    NullSink,
    Outcome,
    OutcomeKind,
    OutcomeSink,
    PendingRetry,
    Revision,
    Settings,
    Started,
    StopReport,
)
from nodeconf.model.config import ColocationConfig
from nodeconf.model.generic import DataclassSchema, JsonConfig, JsonSchemaConfig, dataclass_schema
from nodeconf.model.seam import ConfigSchema, Document, EffectiveConfig, Evaluation
from nodeconf.schemafile import load_json_schema

__all__ = [
    "Change",
    "ChangeListener",
    "ColocationConfig",
    "ConfigInvalid",
    "ConfigListener",
    "ConfigManager",
    "ConfigSchema",
    "DataclassSchema",
    "Document",
    "DocumentError",
    "EffectiveConfig",
    "Evaluation",
    "Fallback",
    "FanOutSink",
    "Issue",
    "JsonConfig",
    "JsonSchemaConfig",
    "Lifecycle",
    "LifecycleError",
    "ListenerIntent",
    "ListenerStatus",
    "ManagerStatus",
    "NodeconfError",
    "NullSink",
    "Outcome",
    "OutcomeKind",
    "OutcomeSink",
    "PendingRetry",
    "Reject",
    "RetryLater",
    "Revision",
    "SchemaError",
    "Settings",
    "SourceError",
    "Started",
    "StopReport",
    "dataclass_schema",
    "load_json_schema",
]
__version__ = "0.1.0"
