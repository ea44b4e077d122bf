"""pytest plugin for `make test-ft`: keep one broken test from sinking or hanging the whole run.

1. Skip what needs the kubernetes extra instead of erroring. The free-threaded venv is built
without the ``kubernetes`` extra: lightkube requires msgspec, which supports free threading
only from Python 3.14, so it does not install on 3.13t. A test module or folder (for example
through its conftest.py) that imports one of those packages would stop the whole collection
with ``ModuleNotFoundError``. This plugin turns exactly that collection failure, and no other,
into a skip that states the reason; those tests run on the default interpreter (`make test`).

2. Never hang at exit. A test that leaves a non-daemon thread blocked forever already fails
(the suite's ``no_leaked_threads`` fixture), but the interpreter would then wait for that thread
at shutdown and the CI job would sit until its time limit. After pytest has reported and written
its results, if such threads remain, this plugin names them and ends the process with pytest's
exit status (at least 1).

Loaded by scripts/test-ft.sh with ``-p ft_pytest_plugin`` (scripts/ on PYTHONPATH); not used
by the ordinary suite. Thread-safety: pytest calls these hooks from its main thread only.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Generator

import pytest

__all__ = [
    "KUBERNETES_EXTRA_MODULES",
    "SKIP_REASON",
    "pytest_make_collect_report",
    "pytest_sessionfinish",
    "pytest_unconfigure",
]

#: Top-level modules of the ``kubernetes`` extra in pyproject.toml (absent from the venv).
KUBERNETES_EXTRA_MODULES = frozenset(
    {"lightkube", "lightkube_models", "httpx2", "httpcore2", "msgspec"}
)
SKIP_REASON = (
    "needs the kubernetes extra ({module}), which does not install on free-threaded CPython 3.13"
    " (lightkube requires msgspec, free-threaded only from 3.14); runs under `make test`"
)
#: Key under which the session's exit status is kept on the config (pytest's main thread only).
_EXIT_STATUS = pytest.StashKey[int]()
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([A-Za-z0-9_]+)[.']")


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    """Report a collector that failed only for a missing kubernetes-extra module as skipped."""
    report = yield
    if not report.failed:
        return report
    match = _MISSING_MODULE.search(str(report.longrepr))
    if match is None or match.group(1) not in KUBERNETES_EXTRA_MODULES:
        return report
    report.outcome = "skipped"
    # No line number: pytest then prints the folder or module alone (its annotation says int).
    reason = SKIP_REASON.format(module=match.group(1))
    report.longrepr = (str(collector.path), None, reason)  # type: ignore[assignment]
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Remember the exit status pytest is about to return."""
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process now if non-daemon threads are left that would block its exit."""
    stuck = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
    ]
    if not stuck:
        return
    status = config.stash.get(_EXIT_STATUS, 1) or 1
    names = ", ".join(thread.name for thread in stuck)
    sys.stdout.flush()
    sys.stderr.flush()
    message = f"ft_pytest_plugin: {len(stuck)} non-daemon thread(s) still running: {names};"
    os.write(2, f"{message} exiting with status {status} instead of waiting for them\n".encode())
    os._exit(status)
