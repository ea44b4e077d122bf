"""The public doors: ``nodeconf``, ``nodeconf.sources`` and ``nodeconf.testing``.

Changing what they export is a change of the public API; these tests make it deliberate.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import nodeconf
import nodeconf.sources
import nodeconf.testing


def test_nodeconf_exports() -> None:
    """``nodeconf`` exports the manager, its settings and reports, the error tree, and the
    builders of generic config schemas."""
    assert sorted(nodeconf.__all__) == [
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


def test_sources_exports() -> None:
    """``nodeconf.sources`` exports the three sources and the source protocols."""
    assert sorted(nodeconf.sources.__all__) == [
        "Cancellable",
        "FileSource",
        "KEY_DOCUMENT",
        "KEY_NODE",
        "KubernetesSource",
        "Source",
        "SourceContext",
        "SourceEvent",
        "SourceState",
        "StaticSource",
    ]


def test_testing_exports() -> None:
    """``nodeconf.testing`` exports the test kit."""
    assert sorted(nodeconf.testing.__all__) == [
        "FakeClock",
        "PlannedError",
        "RecordingListener",
        "StaticSource",
    ]


@pytest.mark.parametrize(
    "module", [nodeconf, nodeconf.sources, nodeconf.testing], ids=lambda m: m.__name__
)
def test_every_exported_name_resolves(module: object) -> None:
    """Every name in ``__all__`` is importable (lazy ones included)."""
    for name in module.__all__:  # type: ignore[attr-defined]
        assert getattr(module, name) is not None, name


def test_importing_the_doors_loads_no_heavy_dependency() -> None:
    """``import nodeconf, nodeconf.sources, nodeconf.testing`` loads no inotify_simple, lightkube,
    prometheus_client or yaml: those load when the source or feature that needs them is used."""
    code = (
        "import sys, nodeconf, nodeconf.sources, nodeconf.testing\n"
        "heavy = {'inotify_simple', 'lightkube', 'prometheus_client', 'yaml', 'httpx2'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
