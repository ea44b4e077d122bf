"""Registers ``thread_unsafe`` for these tests (pytest-run-parallel's marker).

Under ``make test-ft`` each ``concurrency`` test body runs on several threads at once, sharing
its fixtures; a test that compares the process's whole thread list, or shares one manager
through fixtures, is marked ``thread_unsafe`` so pytest-run-parallel runs it on one thread.
On the default interpreter the marker does nothing; it is registered here so that
``--strict-markers`` accepts it when pytest-run-parallel is not installed.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "thread_unsafe: run on one thread under pytest-run-parallel (make test-ft)"
    )
