"""The offline commands shown in README.md print exactly what the README shows.

A ``console`` block in the README is a transcript: ``$ COMMAND`` lines, each followed by
what it prints (stdout, then stderr, as a terminal shows them when only one of them is
used). Every transcript command that runs ``.venv/bin/nodeconf`` is run here, from the
repository root, with this interpreter's ``python -m nodeconf`` in its place. The commands
that need the running daemon (``sed``/``grep`` of the ``make run`` copy) are checked by
running the tour by hand on a fresh clone (docs/development.md).
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODECONF = ".venv/bin/nodeconf"


def _transcripts(text: str) -> list[tuple[str, str]]:
    """(command, expected output) for every ``$ `` line of the ``console`` blocks."""
    found: list[tuple[str, str]] = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.DOTALL):
        command: str | None = None
        output: list[str] = []
        for line in block.splitlines():
            if line.startswith("$ "):
                if command is not None:
                    found.append((command, "".join(output)))
                command, output = line[2:], []
            else:
                output.append(line + "\n")
        if command is not None:
            found.append((command, "".join(output)))
    return found


OFFLINE = [
    pytest.param(command, expected, id=command[:60])
    for command, expected in _transcripts((ROOT / "README.md").read_text(encoding="utf-8"))
    if NODECONF in command
]


def test_the_readme_shows_offline_commands() -> None:
    """The README's tour shows validate (valid and invalid) and render transcripts."""
    commands = [param.values[0] for param in OFFLINE]
    assert sum(f"{NODECONF} validate" in c for c in commands) >= 2
    assert any(f"{NODECONF} render" in c for c in commands)


@pytest.mark.parametrize(("command", "expected"), OFFLINE)
def test_readme_command_prints_what_the_readme_shows(command: str, expected: str) -> None:
    """Running the README's command prints exactly the lines shown under it."""
    ours = f"{shlex.quote(sys.executable)} -m nodeconf"
    done = subprocess.run(
        ["bash", "-c", command.replace(NODECONF, ours)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout + done.stderr == expected
