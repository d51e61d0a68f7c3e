"""Start the Procfile's processes (gunicorn, a Celery worker) for a test, wait until they are
ready, and always stop them again.

Each process runs in its own process group with its output in a temporary file, so a test can
kill the whole group (pool children included) and a failure shows what the process printed.
Waiting is done by polling with a deadline, never by fixed sleeps.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = ROOT / ".venv" / "bin"
WORKER_QUEUES = "assignment,notifications,rollups"

T = TypeVar("T")

_running: dict[int, ManagedProcess] = {}


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


# --- HTTP -------------------------------------------------------------------------------------


@dataclass
class HttpResponse:
    status: int
    headers: Mapping[str, str]
    body: Any

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


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


@dataclass
class ManagedProcess:
    """A child process leading its own process group, with its output in a file."""

    name: str
    popen: subprocess.Popen
    log_path: Path
    stopped: bool = field(default=False, init=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self, tail: int = 6000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "<no output>"
        return text[-tail:]

    def exited(self) -> bool:
        """True once the group leader has exited (without reaping it, so its pid — and the
        process group id — cannot be reused while we may still signal the group)."""
        try:
            info = os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _signal_group(self, sig: int) -> None:
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
        self._signal_group(signal.SIGKILL)  # leftovers (pool children, gunicorn workers)
        self.popen.wait()
        self.stopped = True
        _running.pop(self.pid, None)

    def kill(self) -> None:
        """SIGKILL the whole process group at once (leader and children), like a crash."""
        if self.stopped:
            return
        self._signal_group(signal.SIGKILL)
        self._wait_exit(30)
        self._finish()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL the group after `timeout`."""
        if self.stopped:
            return
        if not self.exited():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            if not self._wait_exit(timeout):
                self._signal_group(signal.SIGKILL)
                self._wait_exit(30)
        self._finish()

    def cleanup(self) -> None:
        self.stop()
        with contextlib.suppress(FileNotFoundError):
            self.log_path.unlink()


@dataclass
class GunicornServer(ManagedProcess):
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> HttpResponse:
        return http_request(method, self.base_url + path, body, **kwargs)


@dataclass
class CeleryWorker(ManagedProcess):
    node: str = ""


def _spawn(
    cls: type[ManagedProcess], name: str, argv: Sequence[str], env: Mapping[str, str], **fields
):
    fd, log_name = tempfile.mkstemp(prefix=f"supportapp-{name}-", suffix=".log")
    with os.fdopen(fd, "wb") as log_file:
        popen = subprocess.Popen(
            list(argv),
            cwd=ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = cls(name=name, popen=popen, log_path=Path(log_name), **fields)
    _running[popen.pid] = process
    return process


def _failed_start(process: ManagedProcess, why: str) -> AssertionError:
    output = process.output()
    process.cleanup()
    return AssertionError(f"{process.name} {why}; its output:\n{output}")


def start_gunicorn(
    env: Mapping[str, str],
    port: int | None = None,
    *,
    workers: int = 1,
    threads: int = 4,
    timeout: float = 20.0,
) -> GunicornServer:
    """`gunicorn --config gunicorn.conf.py wsgi:app` as the Procfile's `web` line, on `port`;
    returns once GET /healthz answers 200."""
    port = port or free_port()
    server_env = {
        **env,
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    argv = [str(VENV_BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"]
    server = _spawn(GunicornServer, f"gunicorn-{port}", argv, server_env, port=port)

    def healthy() -> bool:
        if server.exited():
            raise _failed_start(server, f"exited with {server.popen.poll()} before it was ready")
        try:
            return server.request("GET", "/healthz", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, timeout=timeout, interval=0.1, message="gunicorn /healthz")
    except AssertionError as exc:
        if server.stopped:
            raise
        raise _failed_start(server, f"did not answer /healthz within {timeout:.0f}s") from exc
    return server


@contextlib.contextmanager
def gunicorn_server(env: Mapping[str, str], port: int | None = None, **kwargs: Any):
    server = start_gunicorn(env, port, **kwargs)
    try:
        yield server
    finally:
        server.cleanup()


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


def start_celery_worker(
    env: Mapping[str, str],
    extra_args: Sequence[str] = (),
    *,
    name: str | None = None,
    timeout: float = 40.0,
) -> CeleryWorker:
    """The Procfile's `worker` line (prefork pool, two children) with a unique node name;
    returns once the worker answers a control ping (its task queues are consumed by then)."""
    node = f"{name or 'worker'}-{uuid.uuid4().hex[:8]}@supportapp-tests"
    argv = [
        str(VENV_BIN / "celery"),
        "-A",
        "celery_app",
        "worker",
        "--queues",
        WORKER_QUEUES,
        "--pool",
        "prefork",
        "-c",
        "2",
        "--loglevel",
        "INFO",
        "-n",
        node,
        *extra_args,
    ]
    worker = _spawn(CeleryWorker, node.split("@")[0], argv, env, node=node)
    with celery_control(env) as control:

        def answers() -> bool:
            if worker.exited():
                raise _failed_start(
                    worker, f"exited with {worker.popen.poll()} before it was ready"
                )
            return bool(control.control.ping(destination=[node], timeout=0.5))

        try:
            wait_for(answers, timeout=timeout, interval=0.2, message=f"ping of {node}")
        except AssertionError as exc:
            if worker.stopped:
                raise
            raise _failed_start(worker, f"did not answer a ping within {timeout:.0f}s") from exc
    return worker


@contextlib.contextmanager
def celery_worker(env: Mapping[str, str], extra_args: Sequence[str] = (), **kwargs: Any):
    worker = start_celery_worker(env, extra_args, **kwargs)
    try:
        yield worker
    finally:
        worker.cleanup()


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
