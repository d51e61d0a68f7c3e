"""Stats and search with and without a read replica: `python -m bench.replica --sessions 20000`.

Starts a private PostgreSQL primary and a streaming standby made by pg_basebackup
(testkit/replication.py), seeds the primary (bench/seed.py) and lets the standby replay it,
then runs two gunicorns as the Procfile does — one with every read on the primary, one with
DATABASE_REPLICA_URL naming the standby — and loads them in turn, alternating for `--rounds`
rounds, with the same clients: `GET /api/chat/stats` (a support user's dashboard) and
`GET /api/chat/search` (selective words of the seed's tail). Reported per case: requests per
second, p50/p99, and the CPU seconds per request of each PostgreSQL server (primary, standby),
so the read load moving off the primary shows even where throughput cannot grow.

Everything — clients, gunicorn, both PostgreSQL servers, Redis — shares this machine's cores
(2 on the project's machines): a replica adds no CPU here, it only moves work between
processes. On separate hosts the primary's share is the figure that scales.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time

from bench import seed
from bench.common import Client, create_account, gunicorn, machine, run_flask, write_result
from bench.load import run_case
from testkit.replication import ReplicatedPostgres, Server

CASES = ("GET stats", "GET search")


def _cpu(server: Server) -> float:
    """CPU seconds so far of a PostgreSQL server: its postmaster and every child (backends
    stay alive in the gunicorns' pools, so their time is counted between two readings)."""
    import psutil

    pid = int((server.data / "postmaster.pid").read_text().split()[0])
    master = psutil.Process(pid)
    total = 0.0
    for process in [master, *master.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    return total


def _requests(words: list[str]) -> dict[str, list[tuple[str, str, None]]]:
    return {
        "GET stats": [("GET", "/api/chat/stats", None)],
        "GET search": [("GET", f"/api/chat/search?q={word}&limit=20", None) for word in words],
    }


def _replica_share(base_url: str) -> dict[str, float]:
    client = Client(base_url)
    client.conn.request("GET", "/metrics")
    text = client.conn.getresponse().read().decode()
    shares = {}
    for line in text.splitlines():
        if line.startswith("supportapp_replica_reads_total{"):
            where = line.split('served_by="', 1)[1].split('"', 1)[0]
            shares[where] = float(line.rsplit(" ", 1)[1])
    return shares


def run(sessions: int, seconds: float, concurrency: int, rounds: int) -> dict:
    rng = random.Random(7)
    with ReplicatedPostgres(replicas=1) as servers:
        primary, standby = servers.primary, servers.replicas[0]
        run_flask(primary.url, "db", "upgrade")
        started = time.perf_counter()
        seeded = seed.Seeder(sessions, max(sessions // 400, 10), 11, 42).load_into(primary.url)
        seed.rebuild_and_check(primary.url)  # counters and rollups, as after real traffic
        primary.scalar("VACUUM ANALYZE")
        servers.wait_replayed(timeout=600)
        seed_seconds = round(time.perf_counter() - started, 1)
        words = [seed.tail_word(rng.randrange(500, seed.TAIL_WORDS)) for _ in range(200)]
        plans = _requests(words)
        results: dict[str, dict[str, list[dict]]] = {
            "primary only": {c: [] for c in CASES},
            "with replica": {c: [] for c in CASES},
        }
        with (
            gunicorn(primary.url) as alone,
            gunicorn(primary.url, DATABASE_REPLICA_URL=standby.url) as replicated,
        ):
            targets = {"primary only": alone, "with replica": replicated}
            tokens = {}
            for label, url in targets.items():
                account = create_account(primary.url, url, "support")
                tokens[label] = account.token
            servers.wait_replayed()
            for _round in range(rounds):
                for case in CASES:
                    for label, url in targets.items():
                        per_worker = [(tokens[label], plans[case])] * concurrency
                        run_case(url, per_worker, 1.0)  # warm the pools and caches
                        before = (_cpu(primary), _cpu(standby))
                        measured = run_case(url, per_worker, seconds)
                        after = (_cpu(primary), _cpu(standby))
                        count = max(measured["requests"], 1)
                        measured["primary_cpu_ms_per_request"] = round(
                            (after[0] - before[0]) * 1000 / count, 2
                        )
                        measured["standby_cpu_ms_per_request"] = round(
                            (after[1] - before[1]) * 1000 / count, 2
                        )
                        results[label][case].append(measured)
            served = _replica_share(replicated)
    summary = {
        label: {case: _best(runs) for case, runs in by_case.items()}
        for label, by_case in results.items()
    }
    return {
        "machine": machine(),
        "command": "python -m bench.replica " + " ".join(sys.argv[1:]),
        "sessions": sessions,
        "messages": seeded.get("messages"),
        "seed_and_replay_seconds": seed_seconds,
        "seconds_per_case": seconds,
        "concurrency": concurrency,
        "rounds": rounds,
        "web_workers": 2,
        "replica_reads_served_by": served,
        "summary": summary,
        "runs": results,
        "ratio_with_replica": {
            case: round(
                summary["with replica"][case]["rps"]
                / max(summary["primary only"][case]["rps"], 1e-9),
                2,
            )
            for case in CASES
        },
    }


def _best(runs: list[dict]) -> dict:
    """The median round by throughput (rounds alternate, so noise hits both sides)."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[len(ordered) // 2]


def markdown(name: str, data: dict) -> list[str]:
    """The docs/performance.md section (bench/report.py)."""
    lines = [
        f"## Reads on a replica (`{name}`)",
        "",
        f"`{data['command']}`: {data['sessions']:,} sessions ({data['messages']:,} messages) on a "
        f"primary and a pg_basebackup streaming standby, both on this machine; two gunicorns "
        f"({data['web_workers']} workers each) loaded in turn by {data['concurrency']} clients, "
        f"{data['seconds_per_case']} s per case, median of {data['rounds']} alternating rounds. "
        "Clients, web processes and both PostgreSQL servers share the machine's "
        f"{data['machine'].get('cpus')} cores: the replica adds no CPU here, it moves the reads' "
        "database work off the primary.",
        "",
        "| case | req/s primary only | req/s with replica | ratio | primary CPU ms/req "
        "(alone → with replica) | standby CPU ms/req | p99 ms (alone → with replica) |",
        "|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        alone, with_replica = (
            data["summary"]["primary only"][case],
            data["summary"]["with replica"][case],
        )
        lines.append(
            f"| {case} | {alone['rps']} | {with_replica['rps']} | "
            f"{data['ratio_with_replica'][case]}× | {alone['primary_cpu_ms_per_request']} → "
            f"{with_replica['primary_cpu_ms_per_request']} | "
            f"{with_replica['standby_cpu_ms_per_request']} | {alone['p99_ms']} → "
            f"{with_replica['p99_ms']} |"
        )
    served = data.get("replica_reads_served_by", {})
    lines += [
        "",
        "Replica-routed calls of the second gunicorn (its `/metrics`): "
        f"{int(served.get('replica', 0)):,} served by the standby, "
        f"{int(served.get('primary', 0)):,} by the primary.",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--name", default="replica")
    args = parser.parse_args(argv)
    data = run(args.sessions, args.seconds, args.concurrency, args.rounds)
    data["command"] = "python -m bench.replica " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    path = write_result(args.name, data)
    print("\n".join(markdown(args.name, data)))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
