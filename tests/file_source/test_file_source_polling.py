"""The polling fallback: used when asked or when inotify fails, reported once, driven by a
fake clock (no sleeps)."""

from __future__ import annotations

import errno
import threading
from pathlib import Path
from typing import Any

import inotify_simple
import pytest

from file_source.fsworld import RecordingContext, StartSource, json_doc, kubelet_write, rename_over
from nodeconf.concurrency.clock import FakeClock
from nodeconf.sources.file import FileSource

KEY = "colocation-config"


def _tick(clock: FakeClock, seconds: float = 1.0) -> None:
    """Move time by one interval once the poller is parked on the clock."""
    assert clock.wait_for_waiters(1)
    clock.advance(seconds)


def test_force_polling_reports_once_and_sees_a_kubelet_swap(
    tmp_path: Path, start_source: StartSource
) -> None:
    """force_polling: ``fallback-polling`` reported once; a swap is seen at the next tick."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    clock = FakeClock()
    source, context = start_source(tmp_path, clock=clock, force_polling=True)
    assert source.mode == "polling"
    assert source.wait_synced(0)
    assert len(context.events("fallback-polling")) == 1
    kubelet_write(tmp_path, {KEY: json_doc(82)})
    _tick(clock)
    assert context.wait_notified("configmap")
    assert source.snapshot().document == json_doc(82)
    assert context.caller_threads() == {"nodeconf-file-poller", "MainThread"}


def test_polling_does_not_look_before_the_interval(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Nothing is read between ticks: a change waits for the clock."""
    (tmp_path / KEY).write_text(json_doc(70))
    clock = FakeClock()
    _source, context = start_source(
        tmp_path, clock=clock, force_polling=True, poll_interval_seconds=5.0
    )
    rename_over(tmp_path / KEY, json_doc(71))
    _tick(clock, 4.0)
    assert context.observe_quiet() == 0
    clock.advance(1.0)
    assert context.wait_notified("configmap")


def test_polling_reports_deletion_and_restoration(
    tmp_path: Path, start_source: StartSource
) -> None:
    """Deletion keeps the last text and is reported; re-creation is read, as with inotify."""
    doc = tmp_path / KEY
    doc.write_text(json_doc(70))
    clock = FakeClock()
    source, context = start_source(tmp_path, clock=clock, force_polling=True)
    doc.unlink()
    _tick(clock)
    assert context.wait_event("document-deleted")
    assert source.snapshot().document == json_doc(70)
    rename_over(doc, json_doc(72))
    _tick(clock)
    assert context.wait_event("document-restored")
    assert context.wait_notified("configmap")


def test_polling_follows_the_labels_file(tmp_path: Path, start_source: StartSource) -> None:
    """In polling mode the labels file is re-read at each tick too."""
    labels = tmp_path / "labels"
    labels.write_text("zone=a\n")
    clock = FakeClock()
    source, context = start_source(
        tmp_path / "cm",
        labels_file=labels,
        keys=frozenset({"zone"}),
        clock=clock,
        force_polling=True,
    )
    rename_over(labels, "zone=b\n")
    _tick(clock)
    assert context.wait_notified("node")
    assert source.snapshot().node_labels["zone"] == "b"


def _refuse_watches(monkeypatch: pytest.MonkeyPatch, refuse: Any = lambda path: True) -> None:
    """Make the inotify binding fail as it does at the watch limit (ENOSPC)."""
    real = inotify_simple.INotify.add_watch

    def add_watch(self: inotify_simple.INotify, path: str, *args: Any) -> Any:
        if refuse(path):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return real(self, path, *args)

    monkeypatch.setattr(inotify_simple.INotify, "add_watch", add_watch)


def test_watch_limit_at_start_falls_back_to_polling(
    tmp_path: Path, start_source: StartSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watch refused at start: polling, reported once with the reason, still synced."""
    _refuse_watches(monkeypatch)
    (tmp_path / KEY).write_text(json_doc(70))
    clock = FakeClock()
    source, context = start_source(tmp_path, clock=clock)
    assert source.mode == "polling"
    assert source.wait_synced(0)
    [event] = context.events("fallback-polling")
    assert "inotify watch limit reached" in event.detail
    rename_over(tmp_path / KEY, json_doc(71))
    _tick(clock)
    assert context.wait_notified("configmap")


def test_watch_limit_later_falls_back_without_losing_the_change(
    tmp_path: Path, start_source: StartSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watch refused while re-arming (a re-created directory) switches to polling, which
    then reads the document; the reader thread survives and is joined by stop."""
    _refuse_watches(monkeypatch, lambda path: str(path).endswith("/cm"))
    clock = FakeClock()
    source, context = start_source(tmp_path / "cm", clock=clock)
    first_mode = source.mode
    assert first_mode == "inotify"
    kubelet_write(tmp_path / "cm", {KEY: json_doc(73)})
    assert context.wait_event("fallback-polling")
    assert source.mode == "polling"
    _tick(clock)
    assert context.wait_for(lambda: source.snapshot().document == json_doc(73))
    assert len(context.events("fallback-polling")) == 1


def test_no_inotify_instance_falls_back_to_polling(
    tmp_path: Path, start_source: StartSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When no inotify instance can be created (instance limit), polling is used."""

    def refuse(self: inotify_simple.INotify, *args: Any, **kwargs: Any) -> None:
        raise OSError(errno.EMFILE, "inotify instance limit reached")

    monkeypatch.setattr(inotify_simple.INotify, "__init__", refuse)
    source, context = start_source(tmp_path, clock=FakeClock())
    assert source.mode == "polling"
    assert "inotify instance limit reached" in context.events("fallback-polling")[0].detail


def test_stop_wakes_a_parked_poller(tmp_path: Path) -> None:
    """stop() ends the poller while it waits for a tick that never comes."""
    clock = FakeClock()
    source = FileSource(tmp_path, clock=clock, force_polling=True, poll_interval_seconds=3600)
    source.start(RecordingContext())
    assert clock.wait_for_waiters(1)
    assert source.stop(10.0)
    assert not [t for t in threading.enumerate() if t.name == "nodeconf-file-poller"]
