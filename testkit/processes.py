"""Start the Procfile's processes (gunicorn, a Celery worker) — or any other server a test needs
— wait until they are ready, and always stop them again. Used by the tests and by bench/.

Each process runs in its own process group with its output appended to a log file, so a caller
can kill the whole group (pool children included) and a failure shows what the process printed;
a stopped process can be started again with the same command (same port). Waiting is done by
polling with a deadline, never by fixed sleeps.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WORKER_QUEUES = "assignment,notifications,rollups"

T = TypeVar("T")

_running: dict[int, Process] = {}


# --- waiting ------------------------------------------------------------------------------------


def wait_for(
    predicate: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    message: str | Callable[[], str] = "condition not met",
) -> T:
    """Call `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"timed out after {timeout:.0f}s: {text}")
        time.sleep(interval)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def devservices() -> Any:
    """scripts/devservices.py loaded as a module (a script, not a package): the embedded
    PostgreSQL and Redis it runs, for tests that need private servers of their own."""
    spec = importlib.util.spec_from_file_location(
        "supportapp_devservices", ROOT / "scripts" / "devservices.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def lend_to_postgres_user(ds: Any, pg: Any, user: Any, home: Path) -> None:
    """Run as root, the embedded PostgreSQL of `ds` (devservices()) works as its own system
    `user`: let it use its binaries and own `home`, where a private cluster will live."""
    if user is None:
        return
    ds.make_world_usable(pg.install_dir)
    ds.make_traversable(pg.install_dir)
    home.chmod(0o755)
    ds.chown_tree(home, user)


def run_flask(
    env: Mapping[str, str], *args: str, cwd: Path = ROOT, timeout: float | None = 300
) -> str:
    """`flask --app wsgi <args>` — the app's own commands (`db upgrade`, `users create`, …) — in
    `env`; returns what it printed, raises with its output when it fails."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def data(self) -> Any:
        """The envelope's `data`."""
        assert isinstance(self.body, dict), self.body
        return self.body.get("data")


def http_request(
    method: str,
    url: str,
    body: Any = None,
    *,
    token: str | None = None,
    headers: Mapping[str, str] | None = None,
    source_address: str | None = None,
    timeout: float = 10.0,
) -> HttpResponse:
    """One JSON request over a fresh connection (optionally from another loopback address,
    e.g. 127.0.0.2, to look like another client IP)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname,
        parts.port,
        timeout=timeout,
        source_address=(source_address, 0) if source_address else None,
    )
    send_headers = {"Accept": "application/json", **(headers or {})}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        send_headers["Content-Type"] = "application/json"
    if token:
        send_headers["Authorization"] = f"Bearer {token}"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(method, path, body=payload, headers=send_headers)
        response = conn.getresponse()
        raw = response.read()
        content_type = response.headers.get("Content-Type", "")
        data: Any = raw.decode("utf-8", "replace")
        if "json" in content_type and raw:
            data = json.loads(raw)
        return HttpResponse(response.status, response.headers, data)
    finally:
        conn.close()


# --- processes ----------------------------------------------------------------------------------


class Process:
    """A child process leading its own process group, its output appended to `log_path` (a
    temporary file, removed by cleanup(), when none is given)."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str],
        log_path: Path | None = None,
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self._own_log = log_path is None
        if log_path is None:
            fd, log_name = tempfile.mkstemp(prefix=f"supportapp-{name}-", suffix=".log")
            os.close(fd)
            log_path = Path(log_name)
        self.log_path = log_path
        self.popen: subprocess.Popen | None = None
        self.stopped = True

    def start(self):
        """Spawn the command (again, after a stop); returns self."""
        with open(self.log_path, "ab") as log_file:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.stopped = False
        _running[self.popen.pid] = self
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen is not None and not self.stopped and not self.exited()

    def output(self, tail: int | None = 6000) -> str:
        """The end of what the process printed (all of it with tail=None)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "<no output>"
        return text if tail is None else text[-tail:]

    def exited(self) -> bool:
        """True once the group leader has exited (without reaping it, so its pid — and the
        process group id — cannot be reused while we may still signal the group)."""
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def _wait_exit(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def _finish(self) -> None:
        self.signal_group(signal.SIGKILL)  # leftovers (pool children, gunicorn workers)
        assert self.popen is not None
        self.popen.wait()
        self.stopped = True
        _running.pop(self.pid, None)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (leader and children), like a crash."""
        if self.stopped:
            return
        self.signal_group(signal.SIGKILL)
        self._wait_exit(30)
        self._finish()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        """`sig` (SIGTERM: graceful shutdown) to the leader, then SIGKILL the group after
        `timeout`."""
        if self.stopped:
            return
        if sig == signal.SIGKILL:
            self.kill()
            return
        if not self.exited():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            if not self._wait_exit(timeout):
                self.signal_group(signal.SIGKILL)
                self._wait_exit(30)
        self._finish()

    def cleanup(self) -> None:
        self.stop()
        if self._own_log:
            with contextlib.suppress(FileNotFoundError):
                self.log_path.unlink()

    def failed_start(self, why: str) -> AssertionError:
        """Stop the process and describe why it never became ready, with its output."""
        output = self.output()
        self.cleanup()
        return AssertionError(f"{self.name} {why}; its output:\n{output}")

    def wait_until_ready(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until it holds; a process that exits or stays unready is stopped and
        reported with its output."""

        def check() -> bool:
            if self.exited():
                raise self.failed_start(f"exited with {self.popen.poll()} before it was ready")
            return ready()

        try:
            wait_for(check, timeout=timeout, interval=0.1, message=what)
        except AssertionError as exc:
            if self.stopped:
                raise
            raise self.failed_start(f"was not ready within {timeout:.0f}s ({what})") from exc


P = TypeVar("P", bound=Process)


@contextlib.contextmanager
def running(process: P) -> Iterator[P]:
    """Yield a started process; stop it (and remove its temporary log) afterwards."""
    try:
        yield process
    finally:
        process.cleanup()


def stop_all(processes: Iterable[Process], sig: int = signal.SIGTERM, timeout: float = 10) -> None:
    """Signal every process group at once, then reap them; SIGKILL whatever outlives
    `timeout`. (Faster than stopping one after the other.)"""
    running = [p for p in processes if not p.stopped]
    for process in running:
        process.signal_group(sig)
    deadline = time.monotonic() + timeout
    for process in running:
        if not process._wait_exit(max(deadline - time.monotonic(), 0.1)):
            process.signal_group(signal.SIGKILL)
            process._wait_exit(10)
        process._finish()


class GunicornServer(Process):
    """`gunicorn --config gunicorn.conf.py wsgi:app` as the Procfile's `web` line, on `port`
    (a free one by default), with `workers` worker processes; `settings` are extra
    environment variables (GUNICORN_WORKER_CLASS, JWT_ACCESS_TTL, …)."""

    def __init__(
        self,
        env: Mapping[str, str],
        port: int | None = None,
        *,
        workers: int = 1,
        threads: int | None = None,
        name: str | None = None,
        log_path: Path | None = None,
        cwd: Path = ROOT,
        **settings: str,
    ) -> None:
        self.port = port or free_port()
        server_env = {
            **env,
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(workers),
            # gunicorn's control socket path is per user: test servers must not take it over.
            "GUNICORN_CMD_ARGS": "--no-control-socket",
            **({"GUNICORN_THREADS": str(threads)} if threads else {}),
            **settings,
        }
        argv = [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
        super().__init__(name or f"gunicorn-{self.port}", argv, server_env, log_path, cwd)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> HttpResponse:
        return http_request(method, self.url + path, body, **kwargs)

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/healthz", timeout=2).status == 200
        except OSError:
            return False

    def wait_healthy(self, timeout: float = 40.0):
        """Returns self once GET /healthz answers 200."""
        self.wait_until_ready(self.healthy, timeout, "GET /healthz")
        return self


G = TypeVar("G", bound=GunicornServer)


@contextlib.contextmanager
def serving(*servers: G, sig: int = signal.SIGTERM) -> Iterator[tuple[G, ...]]:
    """Start `servers` together, yield them once each answers GET /healthz, and stop them all
    at once afterwards (`sig=SIGQUIT`: without the graceful wait for open sockets)."""
    try:
        for server in servers:
            server.start()
        for server in servers:
            server.wait_healthy()
        yield servers
    finally:
        stop_all(servers, sig)


def start_gunicorn(
    env: Mapping[str, str],
    port: int | None = None,
    *,
    workers: int = 1,
    threads: int | None = 4,
    timeout: float = 20.0,
    **kwargs: Any,
) -> GunicornServer:
    """A started GunicornServer, returned once GET /healthz answers 200."""
    server = GunicornServer(env, port, workers=workers, threads=threads, **kwargs)
    return server.start().wait_healthy(timeout)


def gunicorn_server(
    env: Mapping[str, str], port: int | None = None, **kwargs: Any
) -> contextlib.AbstractContextManager[GunicornServer]:
    """`with gunicorn_server(env) as server:` — started and ready inside, cleaned up after."""
    return running(start_gunicorn(env, port, **kwargs))


@contextlib.contextmanager
def celery_control(env: Mapping[str, str]):
    """A bare Celery client on the env's broker, to ping/inspect workers and send tasks by
    name without touching the app's global Celery object."""
    from celery import Celery

    client = Celery("supportapp-tests", broker=env["REDIS_URL"])
    client.conf.update(
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_routes={"workers.assignment_tasks.*": {"queue": "assignment"}},
    )
    try:
        yield client
    finally:
        client.close()


class CeleryWorker(Process):
    """The Procfile's `worker` line (prefork pool) with a unique node name."""

    def __init__(
        self,
        env: Mapping[str, str],
        extra_args: Sequence[str] = (),
        *,
        name: str | None = None,
        queues: str = WORKER_QUEUES,
        concurrency: int = 2,
        loglevel: str = "INFO",
    ) -> None:
        self.node = f"{name or 'worker'}-{uuid.uuid4().hex[:8]}@supportapp-tests"
        argv = [
            str(BIN / "celery"),
            "-A",
            "celery_app",
            "worker",
            "--queues",
            queues,
            "--pool",
            "prefork",
            "-c",
            str(concurrency),
            "--loglevel",
            loglevel,
            "-n",
            self.node,
            *extra_args,
        ]
        super().__init__(self.node.split("@")[0], argv, env)

    def wait_answering(self, timeout: float = 40.0):
        """Returns self once the worker answers a control ping (its queues are consumed by
        then)."""
        with celery_control(self.env) as control:

            def answers() -> bool:
                return bool(control.control.ping(destination=[self.node], timeout=0.5))

            self.wait_until_ready(answers, timeout, f"ping of {self.node}")
        return self


def start_celery_worker(
    env: Mapping[str, str],
    extra_args: Sequence[str] = (),
    *,
    timeout: float = 40.0,
    **kwargs: Any,
) -> CeleryWorker:
    """A started CeleryWorker, returned once it answers a control ping."""
    return CeleryWorker(env, extra_args, **kwargs).start().wait_answering(timeout)


def celery_worker(
    env: Mapping[str, str], extra_args: Sequence[str] = (), **kwargs: Any
) -> contextlib.AbstractContextManager[CeleryWorker]:
    """`with celery_worker(env) as worker:` — answering inside, cleaned up after."""
    return running(start_celery_worker(env, extra_args, **kwargs))


def workers_idle(control, nodes: Sequence[str]) -> bool:
    """No task running or reserved on any of `nodes` (each must answer)."""
    inspector = control.control.inspect(destination=list(nodes), timeout=1.0)
    active = inspector.active() or {}
    reserved = inspector.reserved() or {}
    if set(active) != set(nodes) or set(reserved) != set(nodes):
        return False
    return not any(active.values()) and not any(reserved.values())


@atexit.register
def _kill_leftovers() -> None:  # a safety net: context managers normally stop everything
    for process in list(_running.values()):
        process.kill()
