"""WebSocket fan-out: `python -m bench.ws --sockets 500 1000 2000 --servers 2`.

For each worker class (`--worker-class`, default gthread and gevent) and each socket count N:
`--servers` gunicorn web processes started as in the Procfile (one worker each) on a throwaway
database, N sockets spread over them (half as a support agent, half as the user who owns the
benchmark session, so both audiences receive every event), then `--events` user messages over
REST, one at a time and alternating processes. Latency is receipt on a socket minus the moment
the REST response arrived, for every socket and event. Memory is the workers' RSS after
connecting minus before, per socket; CPU is the workers' CPU time while idle with N sockets
open and while delivering. Writes bench/results/<name>.json.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import websocket

from bench.common import (
    Client,
    arguments,
    bench_env,
    create_account,
    machine,
    percentile,
    throwaway_database,
    write_result,
)
from testkit.processes import GunicornServer

READER_THREADS = 2
IDLE_SECONDS = 5.0
DELIVERY_TIMEOUT = 15.0


def worker_settings(worker_class: str, sockets_per_server: int) -> dict[str, str]:
    """gunicorn settings able to hold the sockets (plus room for REST) in one worker."""
    room = sockets_per_server + 200
    settings = {"GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_WORKER_CONNECTIONS": str(room)}
    if worker_class == "gthread":
        settings["GUNICORN_THREADS"] = str(room)
    return settings


def web_process(database_url: str, log_dir: Path, index: int, **settings: str) -> GunicornServer:
    """One gunicorn web process (one worker), started, its output in a log file."""
    env = bench_env(database_url, JWT_ACCESS_TTL="86400")
    log_path = log_dir / f"web-{index}.log"
    return GunicornServer(env, name=f"web-{index}", log_path=log_path, **settings).start()


def worker_of(server: GunicornServer) -> psutil.Process:
    children = psutil.Process(server.pid).children()
    if len(children) != 1:
        raise RuntimeError(f"expected one worker, found {len(children)}")
    return children[0]


@dataclass
class Receipts:
    """When each socket received each message (by message id), from the reader threads."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)
    other_frames: int = 0

    def add(self, message_id: str, at: float) -> None:
        with self.lock:
            self.times[message_id].append(at)

    def count(self, message_id: str) -> int:
        with self.lock:
            return len(self.times.get(message_id, ()))


def _open_socket(url: str) -> websocket.WebSocket:
    ws = websocket.create_connection(url, timeout=30, enable_multithread=False)
    hello = json.loads(ws.recv())
    if hello.get("event") != "connected":
        raise RuntimeError(f"unexpected first frame {hello}")
    return ws


MESSAGE_ID = b'"data": {"message": {"id": "'


class _Frames:
    """Server → client frames read straight off one socket (unmasked, so cheap to split): the
    client's own cost must not hide the server's. Pings are answered through websocket-client."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.buffer = b""

    def read(self, receipts: Receipts) -> bool:
        chunk = self.ws.sock.recv(65536)
        if not chunk:
            return False
        at = time.perf_counter()
        self.buffer += chunk
        while len(self.buffer) >= 2:
            opcode, size, offset = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
            if size == 126:
                size, offset = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, offset = int.from_bytes(self.buffer[2:10], "big"), 10
            if len(self.buffer) < offset + size:
                break
            payload = self.buffer[offset : offset + size]
            self.buffer = self.buffer[offset + size :]
            if opcode == websocket.ABNF.OPCODE_PING:
                self.ws.pong(payload)
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                return False
            elif (found := payload.find(MESSAGE_ID)) >= 0:
                start = found + len(MESSAGE_ID)
                receipts.add(payload[start : start + 36].decode(), at)
            else:
                receipts.other_frames += 1
        return True


def _read(sockets: list[websocket.WebSocket], receipts: Receipts, stop: threading.Event):
    """Wait on many sockets at once; stamp each frame the moment its bytes are read."""
    selector = selectors.DefaultSelector()
    for ws in sockets:
        selector.register(ws.sock, selectors.EVENT_READ, _Frames(ws))
    try:
        while not stop.is_set():
            for key, _mask in selector.select(timeout=0.2):
                try:
                    alive = key.data.read(receipts)
                except OSError:
                    alive = False
                if not alive:
                    selector.unregister(key.fileobj)
    finally:
        selector.close()


def _cpu_seconds(workers: list[psutil.Process]) -> float:
    return sum(sum(w.cpu_times()[:2]) for w in workers)


def measure(
    servers: list[GunicornServer], user, support, session_id: str, n_sockets: int, events: int
) -> dict:
    load_before = os.getloadavg()[0]
    workers = [worker_of(server) for server in servers]
    rss_before = [w.memory_info().rss for w in workers]
    urls = []
    for index in range(n_sockets):
        server = servers[index % len(servers)]
        token = (support if (index // len(servers)) % 2 == 0 else user).token
        urls.append(f"ws://127.0.0.1:{server.port}/ws?token={token}")
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=32) as pool:
        sockets = list(pool.map(_open_socket, urls))
    connect_seconds = time.perf_counter() - started

    receipts = Receipts()
    stop = threading.Event()
    readers = [
        threading.Thread(target=_read, args=(sockets[i::READER_THREADS], receipts, stop))
        for i in range(READER_THREADS)
    ]
    for reader in readers:
        reader.start()
    try:
        time.sleep(1.5)  # past each socket's resume window
        rss_after = [w.memory_info().rss for w in workers]
        cpu_idle_start = _cpu_seconds(workers)
        time.sleep(IDLE_SECONDS)
        idle_cpu = (_cpu_seconds(workers) - cpu_idle_start) / IDLE_SECONDS
        threads_after = [w.num_threads() for w in workers]

        clients = [Client(server.url, user.token) for server in servers]
        latencies: list[float] = []
        complete: list[float] = []
        from_request: list[float] = []
        request_times: list[float] = []
        lost = 0
        cpu_start = _cpu_seconds(workers)
        for index in range(events):
            sent = time.perf_counter()
            status, body = clients[index % len(clients)].request(
                "POST", f"/api/chat/session/{session_id}/message", {"message": f"evento {index}"}
            )
            responded = time.perf_counter()
            request_times.append(responded - sent)
            if status != 201:
                raise RuntimeError(f"message refused: {status} {body}")
            message_id = body["data"]["id"]
            deadline = responded + DELIVERY_TIMEOUT
            while receipts.count(message_id) < n_sockets and time.perf_counter() < deadline:
                time.sleep(0.002)
            with receipts.lock:
                stamps = list(receipts.times[message_id])
            lost += n_sockets - len(stamps)
            # An event may arrive before the response: it is published right after COMMIT.
            delays = [max(at - responded, 0.0) for at in stamps]
            latencies += delays
            from_request += [at - sent for at in stamps]
            if len(stamps) == n_sockets:
                complete.append(max(delays))
            time.sleep(0.1)
        delivery_cpu = _cpu_seconds(workers) - cpu_start
    finally:
        stop.set()
        for reader in readers:
            reader.join()
        for ws in sockets:
            with contextlib.suppress(Exception):
                ws.close(timeout=0.1)

    per_server = n_sockets / len(servers)
    rss_per_socket = [(a - b) / per_server for a, b in zip(rss_after, rss_before, strict=True)]
    return {
        "sockets": n_sockets,
        "sockets_per_process": per_server,
        "events": events,
        "connect_seconds": round(connect_seconds, 2),
        "latency_ms": {
            "p50": round(percentile(latencies, 0.5) * 1000, 1),
            "p99": round(percentile(latencies, 0.99) * 1000, 1),
            "max": round(max(latencies, default=0) * 1000, 1),
        },
        "latency_from_request_ms": {
            "p50": round(percentile(from_request, 0.5) * 1000, 1),
            "p99": round(percentile(from_request, 0.99) * 1000, 1),
        },
        "rest_request_ms_p50": round(percentile(request_times, 0.5) * 1000, 1),
        "all_sockets_reached_ms": {
            "p50": round(percentile(complete, 0.5) * 1000, 1),
            "p99": round(percentile(complete, 0.99) * 1000, 1),
        },
        "lost_deliveries": lost,
        "rss_per_socket_kib": round(sum(rss_per_socket) / len(rss_per_socket) / 1024, 1),
        "rss_worker_mib": [round(value / 2**20, 1) for value in rss_after],
        "threads_per_worker": threads_after,
        "idle_cpu_percent": round(idle_cpu * 100, 1),
        "delivery_cpu_ms_per_event": round(delivery_cpu / events * 1000, 1),
        # The machine is shared: its 1-minute load average before and after, for context.
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def run_class(
    database_url: str, worker_class: str, counts: list[int], n_servers: int, events: int
) -> dict:
    results = {}
    accounts = None
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as logs:
        for n_sockets in counts:
            settings = worker_settings(worker_class, -(-n_sockets // n_servers))
            servers = [
                web_process(database_url, Path(logs), i, **settings) for i in range(n_servers)
            ]
            try:
                for server in servers:
                    server.wait_healthy(60)
                if accounts is None:
                    accounts = _accounts(database_url, servers[0].url)
                user, support, session_id = accounts
                _warm_up(servers, user)
                print(f"  {worker_class}: {n_sockets} sockets …", flush=True)
                result = measure(servers, user, support, session_id, n_sockets, events)
                results[str(n_sockets)] = result
                print(
                    f"    p50 {result['latency_ms']['p50']} ms, p99 {result['latency_ms']['p99']}"
                    f" ms, lost {result['lost_deliveries']}, "
                    f"{result['rss_per_socket_kib']} KiB/socket, "
                    f"idle CPU {result['idle_cpu_percent']}%",
                    flush=True,
                )
            finally:
                for server in servers:
                    server.stop()
    return results


def _accounts(database_url: str, base_url: str):
    user = create_account(database_url, base_url, "user")
    support = create_account(database_url, base_url, "support")
    status, body = Client(base_url, user.token).request(
        "POST", "/api/chat/sessions", {"message": "sesión del benchmark"}
    )
    if status != 201:
        raise RuntimeError(f"could not open the session: {status} {body}")
    return user, support, body["data"]["id"]


def _warm_up(servers: list[GunicornServer], user) -> None:
    """Imports, pools and the stream reader of each worker exist before measuring memory."""
    for server in servers:
        Client(server.url, user.token).request("GET", "/api/chat/sessions")
        ws = _open_socket(f"ws://127.0.0.1:{server.port}/ws?token={user.token}")
        ws.close()
    time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        argv,
        name="ws",
        sockets=[500, 1000, 2000],
        servers=2,
        events=30,
        worker_class=["gthread", "gevent"],
    )

    report = {
        "machine": machine(),
        "servers": args.servers,
        "events_per_run": args.events,
        "target": "≥1,000 sockets per process; p99 < 250 ms at 1,000 sockets over 2 processes",
        "results": {},
    }
    with throwaway_database("bench_ws") as database_url:
        for worker_class in args.worker_class:
            report["results"][worker_class] = run_class(
                database_url, worker_class, args.sockets, args.servers, args.events
            )
    path = write_result(args.name, report)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
