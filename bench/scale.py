"""Latency against data size: `python -m bench.scale --sizes 1000 100000 1000000`.

For each size: a fresh database seeded with bench.seed, gunicorn as in the Procfile, then
p50/p95 of each dashboard read through the real HTTP stack, one request at a time.
"""

from __future__ import annotations

import time

import psycopg2

from bench import common, seed

CASES = (
    ("stats (support)", "support", "/api/chat/stats"),
    ("stats (admin)", "admin", "/api/chat/stats"),
    ("sessions/all sortBy=createdAt", "support", "/api/chat/sessions/all?sortBy=createdAt"),
    ("sessions/all sortBy=lastMessageAt", "support", "/api/chat/sessions/all?sortBy=lastMessageAt"),
    ("sessions/all sortBy=assignedAt", "support", "/api/chat/sessions/all?sortBy=assignedAt"),
    ("sessions/all sortBy=priority", "support", "/api/chat/sessions/all?sortBy=priority"),
    ("sessions/all sortBy=status", "support", "/api/chat/sessions/all?sortBy=status"),
    ("sessions/all status=active", "support", "/api/chat/sessions/all?status=active"),
    ("sessions/status/pending", "support", "/api/chat/sessions/status/pending"),
    ("queue head", "support", "/api/chat/queue?limit=20"),
    ("details (50 messages)", "support", "/api/chat/session/{session}/details"),
    ("agent metrics", "admin", "/api/support/agents/{agent}/metrics"),
    ("agent metrics (all agents)", "admin", "/api/support/agents/metrics"),
    ("audit log page 1", "admin", "/api/support/logs"),
)


def _busiest_agent(database_url: str) -> str | None:
    """The seeded agent with the most sessions (the per-agent metrics case reads theirs)."""
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT support_agent_id FROM chat_sessions WHERE support_agent_id IS NOT NULL"
            " GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        row = cur.fetchone()
    return str(row[0]) if row else None


def _prepare(database_url: str, base_url: str) -> dict:
    """Accounts, an agent profile and one session with 50 messages."""
    support = common.create_account(database_url, base_url, "support")
    admin = common.create_account(database_url, base_url, "admin")
    user = common.create_account(database_url, base_url, "user")
    admin_client = common.Client(base_url, admin.token)
    status, agent = admin_client.request(
        "POST",
        "/api/support/agents",
        {"userId": support.id, "name": "Bench agent", "maxConcurrentChats": 50},
    )
    assert status == 201, agent
    user_client = common.Client(base_url, user.token)
    support_client = common.Client(base_url, support.token)
    status, created = user_client.request("POST", "/api/chat/sessions", {"message": "hola"})
    assert status == 201, created
    session_id = created["data"]["id"]
    for index in range(49):
        client = support_client if index % 2 == 0 else user_client
        path = "support-message" if index % 2 == 0 else "message"
        status, body = client.request(
            "POST", f"/api/chat/session/{session_id}/{path}", {"message": f"mensaje {index}"}
        )
        assert status == 201, body
    return {
        "tokens": {"support": support.token, "admin": admin.token},
        "session": session_id,
        "agent": _busiest_agent(database_url) or agent["data"]["id"],
    }


def measure(base_url: str, context: dict, requests: int) -> dict:
    results = {}
    clients = {role: common.Client(base_url, token) for role, token in context["tokens"].items()}
    for name, role, template in CASES:
        path = template.format(session=context["session"], agent=context["agent"])
        client = clients[role]
        status, _ = client.request("GET", path)
        if status == 404 and "{agent}" in template:
            results[name] = {"skipped": "endpoint not available"}
            continue
        assert status == 200, (name, status)
        for _ in range(5):
            client.request("GET", path)
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            client.request("GET", path)
            timings.append((time.perf_counter() - started) * 1000)
        results[name] = {
            "p50_ms": round(common.percentile(timings, 0.5), 2),
            "p95_ms": round(common.percentile(timings, 0.95), 2),
        }
    return results


def run(sizes: list[int], requests: int) -> dict:
    report: dict = {"machine": common.machine(), "requests_per_case": requests, "sizes": {}}
    for size in sizes:
        with common.throwaway_database("bench_scale") as database_url:
            started = time.perf_counter()
            seed.main(["--sessions", str(size), "--database-url", database_url])
            seeded = round(time.perf_counter() - started, 1)
            with common.gunicorn(database_url) as base_url:
                context = _prepare(database_url, base_url)
                cases = measure(base_url, context, requests)
        report["sizes"][str(size)] = {"seed_seconds": seeded, "cases": cases}
        print(f"{size} sessions:", cases, flush=True)
    smallest, largest = str(sizes[0]), str(sizes[-1])
    report["ratio_largest_to_smallest_p50"] = {
        name: round(
            report["sizes"][largest]["cases"][name]["p50_ms"]
            / report["sizes"][smallest]["cases"][name]["p50_ms"],
            2,
        )
        for name, _, _ in CASES
        if "p50_ms" in report["sizes"][largest]["cases"].get(name, {})
        and "p50_ms" in report["sizes"][smallest]["cases"].get(name, {})
    }
    return report


def main(argv: list[str] | None = None) -> int:
    args = common.arguments(
        __doc__, argv, name="scale", sizes=[1000, 100_000, 1_000_000], requests=100
    )
    path = common.write_result(args.name, run(args.sizes, args.requests))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
