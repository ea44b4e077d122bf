"""Fixtures for the file source tests: a started source that is always stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from file_source.fsworld import RecordingContext, StartSource
from nodeconf.sources.file import FileSource


@pytest.fixture
def start_source() -> Iterator[StartSource]:
    """``start_source(path, keys=..., context=..., **kwargs)`` -> a started, synced source
    and its context (a new ``RecordingContext(keys)`` unless one is given); every source
    started this way is stopped (threads joined) when the test ends."""
    started: list[FileSource] = []

    def start(
        path: str | os.PathLike[str],
        *,
        keys: frozenset[str] = frozenset(),
        context: RecordingContext | None = None,
        **kwargs: Any,
    ) -> tuple[FileSource, RecordingContext]:
        source = FileSource(path, **kwargs)
        context = RecordingContext(keys) if context is None else context
        context.source = source
        started.append(source)
        source.start(context)
        return source, context

    yield start
    for source in started:
        assert source.stop(10.0), f"{source!r} did not stop in time"
