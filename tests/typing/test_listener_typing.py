"""``ConfigManager`` is generic in the config type: mypy checks the listeners a user adds.

Runs mypy (``--strict``) on a small user module that imports only public names, so it also
proves that typing user code needs no internal module.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

mypy_api = pytest.importorskip("mypy.api", reason="mypy is a dev dependency (make venv)")

USER_CODE = textwrap.dedent(
    """
    from nodeconf import Change, ColocationConfig, ConfigManager
    from nodeconf.sources import StaticSource

    def apply(config: ColocationConfig) -> None: ...
    def with_change(config: ColocationConfig, change: Change[ColocationConfig]) -> None: ...
    def wrong(config: int) -> None: ...

    class Agent:
        def sync_config(self, config: ColocationConfig) -> None: ...

    manager: ConfigManager[ColocationConfig] = ConfigManager(StaticSource())
    manager.add_listener(apply)
    manager.add_listener(Agent())
    manager.add_listener(with_change, with_change=True)
    manager.add_listener(wrong)  # the only error
    current = manager.current
    if current is not None:
        reveal_type(current.config)
    """
)


def test_mypy_checks_listeners_against_the_config_type(tmp_path: Path) -> None:
    """A listener taking the wrong config type is a mypy error; the right ones are not, and
    ``manager.current.config`` is typed as the config type."""
    module = tmp_path / "user_agent.py"
    module.write_text(USER_CODE)
    out, _, _ = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".cache"), str(module)]
    )
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out
    assert '"Callable[[int], None]"' in errors[0], out
    assert 'Revealed type is "nodeconf.model.config.ColocationConfig"' in out, out
