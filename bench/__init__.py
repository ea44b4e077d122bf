"""nodeconf benchmarks: ``python -m bench [NAME ...] [--quick]`` (or ``make bench``).

Each ``bench/bench_*.py`` module defines ``run(quick: bool) -> list[Result]``. Every result is
reported next to a baseline measured in the same run on the same machine, as a ratio: absolute
numbers move with the machine, ratios to the floor much less. Targets are printed beside the
measurements; they are never asserted in the unit suite.
"""
