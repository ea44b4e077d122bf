"""Run the benchmarks: ``python -m bench [NAME ...] [--quick]``."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from bench._report import print_results, write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. model")
    parser.add_argument("--quick", action="store_true", help="fewer samples (smoke test)")
    args = parser.parse_args(argv)
    import bench

    available = sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules(bench.__path__)
        if m.name.startswith("bench_")
    )
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; have {', '.join(available)}")
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"== {name}", flush=True)
        results = module.run(quick=args.quick)
        print_results(results)
        print(f"   written to {write_json(results)}", flush=True)
        failed += sum(1 for r in results if r.met is False)
    print(f"{failed} target(s) missed" if failed else "all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
