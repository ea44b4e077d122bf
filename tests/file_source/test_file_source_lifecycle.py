"""Starting and stopping the file source: exact, idempotent, nothing after stop."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from file_source.fsworld import RecordingContext, StartSource, json_doc, rename_over
from nodeconf.errors import LifecycleError
from nodeconf.sources.file import FileSource

KEY = "colocation-config"


def _ours() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("nodeconf-file-")}


def test_inotify_mode_runs_one_named_thread(tmp_path: Path, start_source: StartSource) -> None:
    """While running, the only thread the source adds is ``nodeconf-file-inotify``."""
    before = {t.name for t in threading.enumerate()}
    source, _ = start_source(tmp_path)
    added = {t.name for t in threading.enumerate()} - before
    assert added == {"nodeconf-file-inotify"}
    assert source.alive()


def test_stop_joins_every_thread(tmp_path: Path) -> None:
    """stop() returns True and every ``nodeconf-file-*`` thread has ended."""
    source = FileSource(tmp_path)
    source.start(RecordingContext())
    assert _ours()
    assert source.stop(10.0)
    assert _ours() == set()
    assert not source.alive()


def test_nothing_is_notified_after_stop(tmp_path: Path) -> None:
    """Changes after stop() returned are never notified nor reported."""
    (tmp_path / KEY).write_text(json_doc(70))
    source = FileSource(tmp_path)
    context = RecordingContext()
    source.start(context)
    assert source.stop(10.0)
    rename_over(tmp_path / KEY, json_doc(71))
    (tmp_path / KEY).unlink()
    assert context.observe_quiet() == 0


def test_stop_is_idempotent_and_works_before_start(tmp_path: Path) -> None:
    """stop() may be called twice, or on a source never started."""
    never = FileSource(tmp_path)
    assert never.stop(1.0)
    source = FileSource(tmp_path)
    source.start(RecordingContext())
    assert source.stop(10.0)
    assert source.stop(10.0)


def test_start_twice_or_after_stop_raises(tmp_path: Path) -> None:
    """Starting a running or stopped source is a LifecycleError, not a hang."""
    source = FileSource(tmp_path)
    source.start(RecordingContext())
    with pytest.raises(LifecycleError, match="already running"):
        source.start(RecordingContext())
    source.stop(10.0)
    with pytest.raises(LifecycleError, match="already stopped"):
        source.start(RecordingContext())


def test_stop_from_inside_notify_does_not_deadlock(tmp_path: Path) -> None:
    """A context that stops the source from its notify (on the reader thread) returns."""
    (tmp_path / KEY).write_text(json_doc(70))
    source = FileSource(tmp_path)
    results: list[bool] = []

    class Stopper(RecordingContext):
        def notify(self, key: str) -> None:
            results.append(source.stop(5.0))
            super().notify(key)

    context = Stopper()
    source.start(context)
    rename_over(tmp_path / KEY, json_doc(71))
    assert context.wait_notified("configmap")
    assert results == [True]
    assert source.stop(10.0)
    assert _ours() == set()


def test_snapshot_before_start_has_the_fixed_labels_and_no_document(tmp_path: Path) -> None:
    """Before start, snapshot() is "no document" with the labels given in code."""
    source = FileSource(tmp_path, node_labels={"zone": "a"})
    state = source.snapshot()
    assert state.document is None
    assert dict(state.node_labels) == {"zone": "a"}
    assert not source.wait_synced(0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "a/b"}, "key must be a file name"),
        ({"key": ""}, "key must be a file name"),
        ({"poll_interval_seconds": 0}, "poll_interval_seconds must be > 0"),
        ({"node_labels": {"bad key": "x"}}, "node_labels: label key 'bad key'"),
    ],
)
def test_bad_arguments_raise_value_error(
    tmp_path: Path, kwargs: dict[str, object], message: str
) -> None:
    """Bad constructor arguments are refused at once with a precise message."""
    with pytest.raises(ValueError, match=message):
        FileSource(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_cancel_releases_a_wait_for_an_unreadable_document(
    tmp_path: Path, start_source: StartSource
) -> None:
    """An unreadable document keeps the source unsynced; cancel() (a manager stopped during
    start) releases a wait_synced in progress with False, and every later one at once."""
    (tmp_path / KEY).mkdir()  # the key names a directory: not a document
    source, context = start_source(tmp_path)
    assert context.wait_event("source-error")
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(source.wait_synced(None)))
    waiter.start()
    source.cancel()
    waiter.join(10.0)
    assert not waiter.is_alive()
    assert results == [False]
    assert source.wait_synced(None) is False


def test_status_json_says_how_it_follows_and_what_is_wrong(
    tmp_path: Path, start_source: StartSource
) -> None:
    """status_json() (the daemon's /status "source"): paths, mode, synced, and the last
    problem with each file until it is fixed."""
    (tmp_path / KEY).mkdir()
    source, context = start_source(tmp_path)
    assert context.wait_event("source-error")
    said = source.status_json()
    assert (said["kind"], said["mode"], said["synced"]) == ("file", "inotify", False)
    assert said["path"] == str(tmp_path)
    assert said["key"] == KEY
    assert said["errors"] == {"document": f"{tmp_path / KEY}: is a directory"}
    (tmp_path / KEY).rmdir()
    rename_over(tmp_path / KEY, json_doc(70))
    assert context.wait_notified("configmap")
    assert source.status_json()["errors"] == {}
    assert source.status_json()["synced"] is True
