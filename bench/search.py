"""Message search at scale: `python -m bench.search --sessions 1000000`.

On a throwaway database: migrate to just before the message-search migration, seed with
bench.seed (~10 messages per session), time that migration (the generated tsvector's table
rewrite and the CONCURRENTLY built GIN index), then time selective searches — made-up product
names from the seed's long tail (tens to hundreds of matches at 10 M messages), those with a
common word, and order numbers — through the service function the route calls, one at a time,
p50/p95/p99. The first pass reads pages freshly written by the migration (cold); the second
repeats the same queries (warm).

`--database-url URL` measures an already seeded and migrated database instead (no seeding).
"""

from __future__ import annotations

import os
import random
import time

import psycopg2
from alembic.script import ScriptDirectory

from bench import seed
from bench.common import (
    ROOT,
    arguments,
    bench_env,
    machine,
    percentile,
    run_flask,
    throwaway_database,
    write_result,
)

SEARCH_MIGRATION_DOC = "message search"
TARGET_P95_MS = 100
# The command line: defaults, and the help of the options that need one.
OPTIONS = {"sessions": 1_000_000, "queries": 200, "seed": 7, "database_url": None}
HELP = {"database_url": "measure this seeded database, do not seed"}


def search_revision() -> tuple[str, str]:
    """(revision, down_revision) of the migration that adds message search."""
    script = ScriptDirectory(str(ROOT / "migrations"))
    for revision in script.walk_revisions():
        if (revision.doc or "").startswith(SEARCH_MIGRATION_DOC):
            return revision.revision, revision.down_revision
    raise SystemExit("no message search migration found")


def _table_sizes(database_url: str) -> dict:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT (SELECT count(*) FROM chat_messages), "
            "pg_size_pretty(pg_table_size('chat_messages')), "
            "pg_size_pretty(pg_relation_size('ix_messages_search'))"
        )
        messages, table, index = cur.fetchone()
    return {"messages": messages, "table_size": table, "search_index_size": index}


def _queries(count: int, rng: random.Random) -> dict[str, list[str]]:
    """Selective queries: tail words of rank 500–19,999 (the seed's Zipf tail), the same with
    a common word (both must match), and order numbers."""
    tail = [seed.tail_word(rng.randrange(500, seed.TAIL_WORDS)) for _ in range(count)]
    return {
        "tail word": tail,
        "tail word + common word": [
            f"{word} {rng.choice(seed.COMMON_WORDS)}" for word in tail[: count // 2]
        ],
        "order number": [f"{rng.randrange(10_000_000):07d}" for _ in range(count // 2)],
    }


def measure(database_url: str, count: int, seed_value: int) -> dict:
    """Both passes of every case: {"cold": {...}, "warm": {...}}."""
    return {
        "cold": _measure_pass(database_url, count, seed_value),
        "warm": _measure_pass(database_url, count, seed_value),
    }


def _measure_pass(database_url: str, count: int, seed_value: int) -> dict:
    from supportapp import create_app
    from supportapp.config import Config
    from supportapp.extensions import db
    from supportapp.services import search

    app = create_app(Config(bench_env(database_url)))
    rng = random.Random(seed_value)
    results: dict = {}
    with app.app_context():
        for name, queries in _queries(count, rng).items():
            for query in queries[:5]:  # warm the cache and the pool
                search.search_messages(query, search.SearchFilters())
            timings, totals = [], []
            for query in queries:
                started = time.perf_counter()
                page = search.search_messages(query, search.SearchFilters())
                timings.append((time.perf_counter() - started) * 1000)
                totals.append(page.total)
                db.session.remove()
            results[name] = {
                "queries": len(queries),
                "p50_ms": round(percentile(timings, 0.5), 2),
                "p95_ms": round(percentile(timings, 0.95), 2),
                "p99_ms": round(percentile(timings, 0.99), 2),
                "matches_median": int(percentile(totals, 0.5)),
                "matches_max": max(totals),
            }
            print(name, results[name], flush=True)
    return results


def run(sessions: int, count: int, seed_value: int) -> dict:
    revision, before = search_revision()
    with throwaway_database("bench_search") as database_url:
        run_flask(database_url, "db", "downgrade", before)
        started = time.perf_counter()
        seed.main(["--sessions", str(sessions), "--database-url", database_url])
        seeded = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        run_flask(database_url, "db", "upgrade", revision)
        migrated = round(time.perf_counter() - started, 1)
        sizes = _table_sizes(database_url)
        print(f"seeded in {seeded} s; search migration {migrated} s; {sizes}", flush=True)
        cases = measure(database_url, count, seed_value)
    return {
        "machine": machine(),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "sessions": sessions,
        "seed_seconds": seeded,
        "search_migration_seconds": migrated,
        **sizes,
        "target_p95_ms": TARGET_P95_MS,
        "cases": cases,
    }


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv, name="search", helps=HELP, **OPTIONS)
    if args.database_url:
        result = {
            "machine": machine(),
            "load_average_1m": round(os.getloadavg()[0], 1),
            **_table_sizes(args.database_url),
            "target_p95_ms": TARGET_P95_MS,
            "cases": measure(args.database_url, args.queries, args.seed),
        }
    else:
        result = run(args.sessions, args.queries, args.seed)
    path = write_result(args.name, result)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
