"""The daemon's built-in listeners, called directly."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from nodeconf.cli.listeners import WriteEffective, write_atomically
from nodeconf.model import COLOCATION


def test_write_effective_writes_the_config_as_json(tmp_path: Path) -> None:
    """The file holds the effective config's JSON, every section present."""
    config = COLOCATION.evaluate(None, {}).config
    out = tmp_path / "effective.json"
    WriteEffective(str(out)).sync_config(config)
    assert json.loads(out.read_text()) == config.to_json()


def test_file_mode_is_0644_whatever_the_umask(tmp_path: Path) -> None:
    """Readers in other containers (other users) can read it."""
    old = os.umask(0o077)
    try:
        write_atomically(str(tmp_path / "f"), b"{}")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "f").st_mode) == 0o644


def test_replacement_is_a_new_file_renamed_over_the_old(tmp_path: Path) -> None:
    """The old file is replaced by rename (a new inode), never rewritten in place."""
    target = tmp_path / "f"
    write_atomically(str(target), b"old")
    before = os.stat(target).st_ino
    with open(target, "rb") as reader:  # a reader holding the old file keeps seeing it whole
        write_atomically(str(target), b"new")
        assert reader.read() == b"old"
    assert os.stat(target).st_ino != before
    assert target.read_bytes() == b"new"


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """When the rename fails (here: the target is a directory) the temporary file is removed
    and the error propagates, so the manager retries."""
    (tmp_path / "f").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically(str(tmp_path / "f"), b"{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
