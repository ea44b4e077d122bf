"""The public names of ``nodeconf.status``."""

from __future__ import annotations

import pytest

import nodeconf.status


def test_public_names_are_pinned() -> None:
    """``__all__`` lists exactly the supported names."""
    assert sorted(nodeconf.status.__all__) == [
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


@pytest.mark.parametrize("name", nodeconf.status.__all__)
def test_every_public_name_resolves(name: str) -> None:
    """Each name loads from its module on first use."""
    assert getattr(nodeconf.status, name).__name__ == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    """Typos fail like any missing attribute."""
    with pytest.raises(AttributeError, match="no attribute 'Metrics'"):
        _ = nodeconf.status.Metrics  # type: ignore[attr-defined]
