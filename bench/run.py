"""The whole benchmark suite: `python -m bench.run [--quick] [--only NAME ...]`.

Each part writes bench/results/<name>.json; docs/performance.md is then regenerated from
every result present (bench/report.py). `--quick` is a small version that finishes in a few
minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib
import time

FULL = {
    "seed": ["--sessions", "1000000"],
    "scale": ["--sizes", "1000", "100000", "1000000", "--requests", "100"],
    "load": ["--seconds", "20", "--concurrency", "8", "--sessions", "100000"],
    "ws": ["--sockets", "500", "1000", "2000", "--servers", "2"],
    "assign": ["--sessions", "10000", "--agents", "200"],
    "search": ["--sessions", "1000000"],
    "day": ["--plot", "docs/img/day-knee.png"],
    "replica": ["--sessions", "50000", "--seconds", "10", "--rounds", "3"],
}
QUICK = {
    "seed": ["--sessions", "20000"],
    "scale": ["--sizes", "1000", "10000", "--requests", "20", "--name", "scale-quick"],
    "load": ["--seconds", "3", "--concurrency", "4", "--sessions", "5000", "--name", "load-quick"],
    "ws": ["--sockets", "200", "--servers", "2", "--name", "ws-quick"],
    "assign": ["--sessions", "2000", "--agents", "50", "--name", "assign-quick"],
    "search": ["--sessions", "20000", "--queries", "50", "--name", "search-quick"],
    "day": [
        *("--agents", "10", "--customers", "200", "--rates", "1", "3"),
        *("--step-seconds", "15", "--warmup", "5", "--think-scale", "0.5", "--name", "day-quick"),
    ],
    "replica": ["--sessions", "5000", "--seconds", "3", "--rounds", "1", "--name", "replica-quick"],
}


def _seed_timing(args: list[str]) -> int:
    """Time the data generator alone on a throwaway database (its own result file)."""
    from bench import seed
    from bench.common import machine, throwaway_database, write_result

    sessions = int(args[args.index("--sessions") + 1])
    with throwaway_database("bench_seed") as database_url:
        started = time.perf_counter()
        code = seed.main([*args, "--database-url", database_url])
        elapsed = time.perf_counter() - started
    write_result(
        "seed" if sessions >= 1_000_000 else "seed-quick",
        {
            "machine": machine(),
            "sessions": sessions,
            "seconds": round(elapsed, 1),
            "target_seconds_for_1M": 600,
        },
    )
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", choices=sorted(FULL))
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else FULL
    failures = []
    for name, part_args in plan.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name} {' '.join(part_args)}", flush=True)
        if name == "seed":
            code = _seed_timing(part_args)
        else:
            code = importlib.import_module(f"bench.{name}").main(part_args)
        if code:
            failures.append(name)
    from bench import report

    report.main([])
    if failures:
        print("failed:", ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
