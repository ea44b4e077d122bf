"""Issue 5 acceptance: real files -> FileSource -> ConfigManager -> listener.

Each scenario ends with exactly the final valid config delivered (the listener's calls are the
first config, then the final one) and nothing invalid ever delivered (every delivered config
is one of the valid documents written; invalid ones show up only as ``invalid`` outcomes).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from file_source.fsworld import (
    OutcomeRecorder,
    json_doc,
    kubelet_write,
    rename_over,
    write_in_place,
)
from nodeconf.concurrency.clock import FakeClock
from nodeconf.manager import ConfigManager
from nodeconf.sources.file import FileSource
from nodeconf.testing import RecordingListener

KEY = "colocation-config"
Run = Callable[..., tuple[ConfigManager, RecordingListener, OutcomeRecorder]]


def _cpu_high(config: Any) -> int:
    value = config.to_json()["evictingConfig"]["evictingCPUHighWatermark"]
    assert isinstance(value, int)
    return value


@pytest.fixture
def run() -> Iterator[Run]:
    """``run(path, **source_kwargs)``: a started manager over a FileSource with a recording
    listener and sink; stopped (completely) when the test ends."""
    managers: list[ConfigManager] = []

    def start(
        path: Path, **kwargs: Any
    ) -> tuple[ConfigManager, RecordingListener, OutcomeRecorder]:
        listener = RecordingListener()
        sink = OutcomeRecorder()
        manager = ConfigManager(FileSource(path, **kwargs), [listener], sink=sink)
        managers.append(manager)
        manager.start(10.0)
        return manager, listener, sink

    yield start
    for manager in managers:
        report = manager.stop(10.0)
        assert report.completed, report


def _delivered(listener: RecordingListener) -> list[int]:
    return [_cpu_high(c) for c in listener.calls]


def test_kubelet_swap_delivers_the_new_config(tmp_path: Path, run: Run) -> None:
    """A kubelet-style ``..data`` swap delivers the new config once."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    _, listener, sink = run(tmp_path)
    kubelet_write(tmp_path, {KEY: json_doc(82)})
    assert listener.wait_for_calls(2)
    assert _delivered(listener) == [81, 82]
    assert sink.outcomes("invalid") == []


def test_plain_rewrite_delivers_only_the_complete_file(tmp_path: Path, run: Run) -> None:
    """Truncate-and-write in place, in pieces: only the complete new file is delivered and no
    partial file is ever even evaluated (no ``invalid`` outcome)."""
    (tmp_path / KEY).write_text(json_doc(70))
    manager, listener, sink = run(tmp_path)
    write_in_place(tmp_path / KEY, json_doc(71), pieces=5)
    assert listener.wait_for_calls(2)
    assert manager.wait_idle(10)
    assert _delivered(listener) == [70, 71]
    assert sink.outcomes("invalid") == []


def test_rename_over_delivers_the_new_config(tmp_path: Path, run: Run) -> None:
    """An editor's rename-over delivers the new config once."""
    (tmp_path / KEY).write_text(json_doc(70))
    _, listener, sink = run(tmp_path)
    rename_over(tmp_path / KEY, json_doc(72))
    assert listener.wait_for_calls(2)
    assert _delivered(listener) == [70, 72]
    assert sink.outcomes("invalid") == []


def test_delete_then_recreate_keeps_then_replaces_the_config(tmp_path: Path, run: Run) -> None:
    """Deleting the document keeps revision 1 in force (reported); re-creating it delivers
    the new config."""
    (tmp_path / KEY).write_text(json_doc(70))
    manager, listener, sink = run(tmp_path)
    (tmp_path / KEY).unlink()
    assert sink.wait_for("source")
    assert [o.detail for o in sink.outcomes("source")] == ["document-deleted"]
    current = manager.current
    assert current is not None
    assert current.number == 1
    rename_over(tmp_path / KEY, json_doc(73))
    assert listener.wait_for_calls(2)
    assert _delivered(listener) == [70, 73]
    assert manager.current.number == 2  # type: ignore[union-attr]


def test_whole_directory_removed_and_recreated(tmp_path: Path, run: Run) -> None:
    """The mounted directory removed and re-created by kubelet: the new config is delivered,
    the old one stays in force in between."""
    cm = tmp_path / "cm"
    kubelet_write(cm, {KEY: json_doc(81)})
    manager, listener, sink = run(cm)
    shutil.rmtree(cm)
    assert sink.wait_for("source")
    kubelet_write(cm, {KEY: json_doc(84)})
    assert listener.wait_for_calls(2)
    assert _delivered(listener) == [81, 84]
    assert sink.outcomes("invalid") == []
    assert manager.status().source_error == ""


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ('{"globalConfig": {', "invalid JSON"),
        (json_doc(0), "evictingCPUHighWatermark must be a positive number"),
    ],
    ids=["unparsable", "breaks-a-rule"],
)
def test_invalid_edit_then_valid_edit(tmp_path: Path, run: Run, bad: str, error: str) -> None:
    """An invalid edit is reported and never delivered; the next valid edit is delivered."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    manager, listener, sink = run(tmp_path)
    kubelet_write(tmp_path, {KEY: bad})
    assert sink.wait_for("invalid")
    assert error in sink.outcomes("invalid")[0].error
    assert manager.current.number == 1  # type: ignore[union-attr]
    kubelet_write(tmp_path, {KEY: json_doc(85)})
    assert listener.wait_for_calls(2)
    assert sink.wait_for("recovered")
    assert _delivered(listener) == [81, 85]


def test_polling_fallback_delivers_changes(tmp_path: Path, run: Run) -> None:
    """With ``force_polling`` a kubelet swap is delivered at the next poll tick."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    clock = FakeClock()
    _, listener, sink = run(tmp_path, force_polling=True, clock=clock)
    assert [o.detail for o in sink.outcomes("source")] == ["fallback-polling"]
    kubelet_write(tmp_path, {KEY: json_doc(86)})
    assert clock.wait_for_waiters(1)
    clock.advance(1.0)
    assert listener.wait_for_calls(2)
    assert _delivered(listener) == [81, 86]


def test_labels_file_change_delivers_the_node_override(tmp_path: Path, run: Run) -> None:
    """Turning a node label on in the labels file changes the delivered config."""
    labels = tmp_path / "node-labels"
    labels.write_text("volcano.sh/oversubscription=false\n")
    kubelet_write(tmp_path / "cm", {KEY: json_doc(81)})
    _, listener, _ = run(tmp_path / "cm", labels_file=labels)
    write_in_place(labels, "volcano.sh/oversubscription=true\n")
    assert listener.wait_for_calls(2)
    first, second = (c.to_json()["nodeLabelConfig"] for c in listener.calls)
    assert first["nodeOverSubscriptionEnable"] is False
    assert second["nodeOverSubscriptionEnable"] is True


def test_stopping_the_manager_leaves_no_file_source_thread(tmp_path: Path) -> None:
    """Manager stop (phase 1 stops the source) ends every ``nodeconf-file-*`` thread."""
    kubelet_write(tmp_path, {KEY: json_doc(81)})
    manager = ConfigManager(FileSource(tmp_path), [RecordingListener()])
    manager.start(10.0)
    assert manager.stop(10.0).completed
    assert not [t for t in threading.enumerate() if t.name.startswith("nodeconf-")]
