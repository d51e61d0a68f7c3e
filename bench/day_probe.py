"""What bench/day.py reads around each step: CPU time per process kind (psutil on the process
trees), Redis commands processed, PostgreSQL transactions (and statements, when
pg_stat_statements is loaded) of the benchmark's database, and the service's own /metrics."""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter
from dataclasses import dataclass

import psutil
import psycopg2
import redis
from prometheus_client.parser import text_string_to_metric_families

from testkit.processes import http_request

KINDS = ("web", "worker", "postgres", "redis", "generator")


def _tree(pid: int) -> list[psutil.Process]:
    """A process and its live descendants."""
    with contextlib.suppress(psutil.Error):
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    return []


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


@dataclass
class Snapshot:
    at: float
    cpu: dict[str, float]
    machine_cpu: float  # every process of the machine, ours included
    load_1m: float
    redis_commands: int
    pg_transactions: int
    pg_statements: int | None
    metrics: dict[str, float]


class Probe:
    """Reads the figures of one running service (web and worker trees by pid, the PostgreSQL
    backends of `database_url`'s database, the Redis at `redis_url`)."""

    def __init__(
        self,
        *,
        web_pid: int,
        worker_pids: list[int],
        redis_pid: int | None,
        database_url: str,
        redis_url: str,
        metrics_url: str,
    ) -> None:
        self.web_pid = web_pid
        self.worker_pids = worker_pids
        self.redis_pid = redis_pid
        self.database = database_url.rsplit("/", 1)[1]
        self.redis = redis.Redis.from_url(redis_url)
        self.metrics_url = metrics_url
        self.conn = psycopg2.connect(database_url)
        self.conn.autocommit = True
        self.statements = self._enable_statements()
        self._seen: dict[str, dict[tuple[int, float], float]] = {}

    def _enable_statements(self) -> bool:
        """pg_stat_statements counts statements only when the server preloads it."""
        try:
            with self.conn.cursor() as cur:
                cur.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                cur.execute("SELECT count(*) FROM pg_stat_statements")
            return True
        except psycopg2.Error:
            return False

    def close(self) -> None:
        self.conn.close()
        self.redis.close()

    def _postgres_backends(self) -> list[psutil.Process]:
        marker = f" {self.database} "
        found = []
        for process in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if marker in " ".join(process.info["cmdline"] or []) + " ":
                    found.append(process)
        return found

    def _cpu_of(self, kind: str, processes: list[psutil.Process]) -> float:
        """CPU seconds of `kind` so far: every process ever seen counts with its last
        reading, so one that exits between two snapshots (a pool's connection closed, a
        recycled worker) does not make the total go down."""
        seen = self._seen.setdefault(kind, {})
        for process in processes:
            with contextlib.suppress(psutil.Error):
                seen[(process.pid, process.create_time())] = _cpu(process)
        return sum(seen.values())

    def our_pids(self) -> set[int]:
        """The processes this probe measures (to leave them out of "what else ran")."""
        return {pid for seen in self._seen.values() for pid, _ in seen}

    def _pg_counts(self) -> tuple[int, int | None]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT pg_stat_clear_snapshot()")
            cur.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            )
            transactions = int(cur.fetchone()[0])
            statements = None
            if self.statements:
                cur.execute(
                    "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s "
                    "JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database()"
                )
                statements = int(cur.fetchone()[0])
        return transactions, statements

    def metrics(self) -> dict[str, float]:
        """The service's /metrics, summed per metric name (labels dropped), plus 5xx and 429
        request counts."""
        figures: Counter[str] = Counter({"http_5xx": 0.0, "http_429": 0.0})
        try:
            response = http_request("GET", self.metrics_url, timeout=10)
        except OSError:
            return {}
        if response.status != 200 or not isinstance(response.body, str):
            return {}
        for family in text_string_to_metric_families(response.body):
            for sample in family.samples:
                if not sample.name.startswith("supportapp_"):
                    continue
                figures[sample.name] += sample.value
                if sample.name == "supportapp_http_requests_total":
                    status = sample.labels.get("status", "")
                    if status.startswith("5"):
                        figures["http_5xx"] += sample.value
                    elif status == "429":
                        figures["http_429"] += sample.value
        return dict(figures)

    def snapshot(self) -> Snapshot:
        cpu = {
            "web": self._cpu_of("web", _tree(self.web_pid)),
            "worker": self._cpu_of("worker", [p for pid in self.worker_pids for p in _tree(pid)]),
            "postgres": self._cpu_of("postgres", self._postgres_backends()),
            "redis": self._cpu_of("redis", _tree(self.redis_pid) if self.redis_pid else []),
            "generator": self._cpu_of("generator", [psutil.Process(os.getpid())]),
        }
        times = psutil.cpu_times()
        transactions, statements = self._pg_counts()
        return Snapshot(
            at=time.perf_counter(),
            cpu=cpu,
            machine_cpu=times.user + times.system + getattr(times, "nice", 0.0),
            load_1m=os.getloadavg()[0],
            redis_commands=int(self.redis.info("stats")["total_commands_processed"]),
            pg_transactions=transactions,
            pg_statements=statements,
            metrics=self.metrics(),
        )


def other_processes() -> dict[str, float]:
    """CPU seconds so far of every process on the machine, by command (the first words of its
    command line): compared before and after a run, what else ran meanwhile."""
    totals: Counter[str] = Counter()
    for process in psutil.process_iter(["cmdline", "name"]):
        with contextlib.suppress(psutil.Error):
            words = process.info["cmdline"] or [process.info["name"] or "?"]
            if words[0].startswith("postgres:"):  # a backend's title, one per connection
                words = ["postgres:"]
            label = " ".join(os.path.basename(w) if i == 0 else w for i, w in enumerate(words))
            totals[f"{process.pid} {label[:80]}"] += _cpu(process)
    return dict(totals)


def busiest_others(before: dict[str, float], after: dict[str, float], ours: set[int]) -> list:
    """The processes (not ours) that used the most CPU between two other_processes() calls."""
    used: Counter[str] = Counter()
    for key, seconds in after.items():
        pid, label = key.split(" ", 1)
        if int(pid) in ours:
            continue
        delta = seconds - before.get(key, 0.0)
        if label.startswith("postgres"):
            label = "PostgreSQL (other databases and its own background work)"
        if delta > 0.05:
            used[label] += delta
    return [{"command": label, "cpu_seconds": round(s, 1)} for label, s in used.most_common(8)]
