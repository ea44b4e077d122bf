"""logship: a small node agent that gets its config from nodeconf.

Its config is a frozen dataclass; nodeconf reads the layered document (``globalConfig``, then
the ``nodesConfig`` override whose selector matches this node's labels), checks it, and calls
the agent's listener with a ``LogshipConfig`` instance each time the effective config changes.
An invalid edit is reported and the last good config stays in force.

Run it from the repository root (after ``make venv``)::

    .venv/bin/python examples/any-agent/agent.py            # until Ctrl-C; edit document.json
    .venv/bin/python examples/any-agent/agent.py --once     # print the first config and exit

``schema.json`` beside it describes the same config as a JSON Schema, for the daemon and for
agents in other languages (``nodeconf render document.json --schema schema.json ...``).
"""

from __future__ import annotations

import argparse
import enum
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from nodeconf import ConfigManager, Issue, dataclass_schema
from nodeconf.sources import FileSource

HERE = Path(__file__).resolve().parent


class Level(enum.Enum):
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class Compression(enum.Enum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


@dataclass(frozen=True)
class Limits:
    """Sending rate limits (a token bucket)."""

    rate: Annotated[int, {"minimum": 1, "maximum": 100_000}] = 1000
    burst: Annotated[int, {"minimum": 1, "maximum": 1_000_000}] = 2000


@dataclass(frozen=True)
class Output:
    """Where logs go."""

    endpoint: Annotated[str, {"pattern": "^https?://", "maxLength": 200}] = (
        "http://collector.logging:4318"
    )
    compression: Compression = Compression.GZIP
    flush_seconds: Annotated[float, {"exclusiveMinimum": 0, "maximum": 60}] = 5.0


@dataclass(frozen=True)
class LogshipConfig:
    """Config of logship, a node log shipper: what it reads, how fast it sends, where."""

    level: Level = Level.INFO
    paths: Annotated[tuple[Annotated[str, {"pattern": "^/"}], ...], {"minItems": 1}] = (
        "/var/log/containers",
    )
    limits: Limits = Limits()
    output: Output = Output()


def burst_covers_rate(config: LogshipConfig) -> list[Issue]:
    """A cross-field rule: the bucket must hold at least one second of sending."""
    if config.limits.burst < config.limits.rate:
        return [Issue("limits.burst", config.limits.burst, "must be >= limits.rate")]
    return []


SCHEMA = dataclass_schema(LogshipConfig, rules=burst_covers_rate)


class Shipper:
    """The agent's listener: nodeconf calls it from a worker thread, never twice at once."""

    def __init__(self) -> None:
        self.applied = threading.Event()

    def sync_config(self, config: LogshipConfig) -> None:
        # config is a LogshipConfig: typed attributes, enums, tuples.
        print(
            f"logship: level={config.level.value} paths={','.join(config.paths)} "
            f"rate={config.limits.rate}/s burst={config.limits.burst} "
            f"-> {config.output.endpoint} ({config.output.compression.value}, "
            f"flush every {config.output.flush_seconds:g}s)",
            flush=True,
        )
        self.applied.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--document", default=str(HERE / "document.json"))
    parser.add_argument("--labels-file", default=str(HERE / "node-labels"))
    parser.add_argument("--once", action="store_true", help="print the first config and exit")
    args = parser.parse_args(argv)

    shipper = Shipper()
    source = FileSource(args.document, labels_file=args.labels_file)
    stop = threading.Event()
    # ConfigManager[LogshipConfig]: mypy checks that the listener takes a LogshipConfig.
    with ConfigManager(source, [shipper], schema=SCHEMA) as manager:
        if args.once:
            if not shipper.applied.wait(10):
                print(f"logship: no valid config: {manager.status().last_error}", file=sys.stderr)
                return 1
            return 0
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
