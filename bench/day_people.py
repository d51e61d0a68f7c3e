"""The people of bench/day.py: agents, customers and admins, each an asyncio task with its own
WebSocket, talking to the service over REST as the console and the widget do.

A customer opens a chat (some for a team, some later sending a file), waits for an agent, and
exchanges messages with think times and typing frames; the agent answers each message, now and
then adds an internal note or transfers the chat to another agent, and closes it at the end;
the customer rates some closed chats. Agents with room also take sessions that wait in the
queue; admins poll the stats, the queue and the agents' metrics.

Every message sent is tracked until the other party's socket receives its event (the assigned
agent's for a customer message, the customer's for an agent's): that delay, from the moment
the REST request was sent, is the delivery time of bench/day.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import struct
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

THINK_CUSTOMER = (1.0, 3.0)  # seconds between a reply and the customer's next message
THINK_AGENT = (0.5, 2.0)  # seconds between a customer message and the agent's answer
WAIT_TIMEOUT = 30.0  # longest wait for an assignment, a reply or a close before giving up
QUEUE_POLL_SECONDS = 15.0
ADMIN_POLL_SECONDS = 3.0
# Conflicts the script can cause by racing other people and that a real console shows as a
# notice, not a failure: taking a session someone else took first (403, only an admin may
# reassign it), a transfer target that filled up meanwhile (409). Only counted as conflicts on
# the calls that can race (`conflicts=`); anywhere else they are errors.
EXPECTED_CONFLICTS = {403, 409}
TAKE_AFTER_SECONDS = 5.0  # an agent takes a queued session only once it waited this long


def tiny_png(width: int = 32, height: int = 32) -> bytes:
    """A valid PNG (grey square) for the attachments."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --- what was sent and what arrived ---------------------------------------------------------


@dataclass
class Sent:
    message_id: str
    side: str  # "user" or "support": who sent it
    sent_at: float  # perf_counter when the REST request went out
    answered_at: float  # … and when its response arrived


class Tracker:
    """Messages sent, their deliveries to the other party, errors and other counts."""

    def __init__(self) -> None:
        self.sent: dict[str, Sent] = {}
        self.delivered: dict[str, float] = {}
        self.errors: list[dict] = []
        self.conflicts: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.lost_other: Counter[str] = Counter()  # closes, transfers never seen
        self.assignment_waits: list[tuple[float, float]] = []  # (opened at, seconds)
        self.requests: Counter[str] = Counter()

    def message_sent(self, message_id: str, side: str, sent_at: float, answered_at: float):
        self.sent[message_id] = Sent(message_id, side, sent_at, answered_at)

    def message_received(self, message_id: str, at: float) -> None:
        self.delivered.setdefault(message_id, at)

    def error(self, what: str, detail: Any) -> None:
        self.errors.append({"at": time.perf_counter(), "what": what, "detail": str(detail)[:300]})


# --- REST -----------------------------------------------------------------------------------


class Api:
    """REST calls with one token on a shared aiohttp session; every unexpected status is an
    error in the tracker (and None is returned)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str, tracker: Tracker):
        self.http = http
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tracker = tracker

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        expect: int = 200,
        form: aiohttp.FormData | None = None,
        conflicts: str | None = None,
    ) -> tuple[dict | None, float, float]:
        """(the envelope's data or None, sent at, answered at)."""
        self.tracker.requests[f"{method} {_UUID.sub(':id', path.split('?')[0])}"] += 1
        sent_at = time.perf_counter()
        try:
            async with self.http.request(
                method,
                self.base_url + path,
                json=body if form is None else None,
                data=form,
                headers=self.headers,
            ) as response:
                raw = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.tracker.error(f"{method} {path}", repr(exc))
            return None, sent_at, time.perf_counter()
        answered_at = time.perf_counter()
        if status == expect:
            return json.loads(raw)["data"], sent_at, answered_at
        if conflicts and status in EXPECTED_CONFLICTS:
            self.tracker.conflicts[conflicts] += 1
            return None, sent_at, answered_at
        self.tracker.error(f"{method} {path}", f"{status} {raw[:200]!r}")
        return None, sent_at, answered_at


async def login(http: aiohttp.ClientSession, base_url: str, email: str, password: str) -> dict:
    async with http.post(
        f"{base_url}/api/auth/login", json={"email": email, "password": password}
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"login of {email}: {response.status} {body}")
        return body["data"]


# --- sockets --------------------------------------------------------------------------------


class Socket:
    """One WebSocket and the task reading it; `on_text` sees each text frame with its arrival
    time."""

    def __init__(self, world: World, token: str, on_text, label: str) -> None:
        self.world = world
        self.token = token
        self.on_text = on_text
        self.label = label
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.task: asyncio.Task | None = None
        self.closing = False

    async def open(self) -> None:
        url = self.world.ws_url() + f"?token={self.token}"
        self.ws = await self.world.http.ws_connect(url, heartbeat=None, autoping=True)
        hello = await self.ws.receive_json(timeout=15)
        if hello.get("event") != "connected":
            raise RuntimeError(f"unexpected first frame {hello}")
        # A first frame ends the one-second hold of live events meant for an early resume.
        await self.ws.send_str('{"type": "ping"}')
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        tracker = self.world.tracker
        while True:
            try:
                message = await self.ws.receive()
            except (aiohttp.ClientError, ConnectionError) as exc:
                if not self.closing:
                    tracker.error(f"socket {self.label} failed", repr(exc))
                return
            at = time.perf_counter()
            if message.type == aiohttp.WSMsgType.TEXT:
                tracker.counts["frames"] += 1
                try:
                    self.on_text(message.data, at)
                except (ValueError, KeyError, TypeError) as exc:
                    tracker.error(f"frame on {self.label}", f"{exc!r}: {message.data[:200]}")
            elif message.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.ERROR,
            ):
                if not self.closing:
                    tracker.error(f"socket {self.label} closed", f"{message.type} {message.data}")
                return

    async def send(self, frame: dict) -> None:
        if self.ws is not None and not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(json.dumps(frame))

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self.task, 5)


# --- the shared state of one simulated day --------------------------------------------------


@dataclass
class Plan:
    """What one customer's chat will be, drawn when the customer arrives."""

    messages: int  # customer messages, the opening one included
    team: bool
    attachment_at: int | None  # which customer message (2..messages) is a file
    note_at: int | None  # after which agent reply an internal note is added
    transfer_at: int | None  # before which agent reply the chat is transferred
    customer_closes: bool
    rates: bool

    @classmethod
    def draw(cls, rng: random.Random, mix: Mix) -> Plan:
        messages = rng.randint(*mix.customer_messages)
        return cls(
            messages=messages,
            team=rng.random() < mix.team_share,
            attachment_at=rng.randint(2, messages) if rng.random() < mix.attachment_share else None,
            note_at=rng.randint(1, messages) if rng.random() < mix.note_share else None,
            transfer_at=rng.randint(2, messages) if rng.random() < mix.transfer_share else None,
            customer_closes=rng.random() < mix.customer_close_share,
            rates=rng.random() < mix.rating_share,
        )


@dataclass
class Mix:
    think_customer: tuple[float, float] = THINK_CUSTOMER
    think_agent: tuple[float, float] = THINK_AGENT
    customer_messages: tuple[int, int] = (3, 5)
    team_share: float = 0.3
    attachment_share: float = 0.15
    note_share: float = 0.2
    transfer_share: float = 0.1
    customer_close_share: float = 0.2
    rating_share: float = 0.6


@dataclass
class Chat:
    session_id: str
    plan: Plan
    opened_at: float = field(default_factory=time.perf_counter)
    agent_id: str | None = None
    user_messages: int = 1  # the opening message
    seen_by_agent: int = 1  # customer messages some agent's socket has received (opening incl.)
    replies: int = 0  # agent replies sent
    replies_seen: int = 0  # agent replies the customer's socket has received
    adopted_by: set[str] = field(default_factory=set)  # agents whose socket took it
    transferred: bool = False
    noted: bool = False
    closed: bool = False
    assigned: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # wakes the agent's handler
    reply_seen: asyncio.Event = field(default_factory=asyncio.Event)
    close_seen: asyncio.Event = field(default_factory=asyncio.Event)

    def poke(self) -> None:
        self.changed.set()


class World:
    """Everything the simulated people share: the service's address, the HTTP client, the
    chats by session id, the agents by id, the tracker and the random source."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        rng: random.Random,
        mix: Mix,
        team_id: str | None,
    ) -> None:
        self.http = http
        self.base_url = base_url
        self.rng = rng
        self.mix = mix
        self.team_id = team_id
        self.tracker = Tracker()
        self.chats: dict[str, Chat] = {}
        self.agents: dict[str, Agent] = {}
        # Assignments seen by an agent's socket before the customer's POST answered.
        self.early_assignments: dict[str, str] = {}
        self.stopping = False

    def register(self, chat: Chat) -> None:
        """The customer's POST answered: the chat is known by its id from now on."""
        self.chats[chat.session_id] = chat
        agent_id = self.early_assignments.pop(chat.session_id, None)
        if agent_id is not None and agent_id in self.agents:
            self.agents[agent_id].adopt(chat)

    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/ws"

    def load_of(self, agent_id: str) -> int:
        return sum(1 for c in self.chats.values() if c.agent_id == agent_id and not c.closed)

    async def think(self, bounds: tuple[float, float]) -> None:
        await asyncio.sleep(self.rng.uniform(*bounds))


# --- agents ---------------------------------------------------------------------------------


class Agent:
    """A support agent with a console open: one staff socket (so presence is online), a
    handler task per chat assigned to them, and now and then a look at the queue."""

    def __init__(self, world: World, agent_id: str, token: str, capacity: int, team: bool):
        self.world = world
        self.agent_id = agent_id
        self.capacity = capacity
        self.in_team = team
        self.api = Api(world.http, world.base_url, token, world.tracker)
        self.socket = Socket(world, token, self._on_text, f"agent {agent_id[:8]}")
        self.handlers: dict[str, asyncio.Task] = {}
        self.watches: set[asyncio.Task] = set()
        self.queue_task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.socket.open()
        self.queue_task = asyncio.create_task(self._watch_queue())

    def _on_text(self, text: str, at: float) -> None:
        # Staff sockets receive every session event: only those naming this agent matter here.
        if self.agent_id not in text:
            return
        frame = json.loads(text)
        event, data = frame.get("event"), frame.get("data") or {}
        session = data.get("session") or {}
        chat = self.world.chats.get(session.get("id", ""))
        if chat is None:
            if event == "chat_assigned" and session.get("supportAgentId") == self.agent_id:
                self.world.early_assignments[session["id"]] = self.agent_id
            return
        if event == "chat_message_received":
            message = data["message"]
            if message["sender"] == "user" and session.get("supportAgentId") == self.agent_id:
                self.world.tracker.message_received(message["id"], at)
                chat.seen_by_agent += 1
                chat.poke()
        elif event == "chat_assigned" and session.get("supportAgentId") == self.agent_id:
            self.adopt(chat)

    def adopt(self, chat: Chat) -> None:
        """The chat is this agent's now: answer it."""
        chat.agent_id = self.agent_id
        chat.adopted_by.add(self.agent_id)
        chat.poke()
        if chat.session_id not in self.handlers and not chat.closed:
            self.handlers[chat.session_id] = asyncio.create_task(self._handle(chat))

    async def _handle(self, chat: Chat) -> None:
        """Answer the customer's messages until the chat is closed or handed on."""
        try:
            while chat.agent_id == self.agent_id and not chat.closed:
                if chat.seen_by_agent <= chat.replies:
                    chat.changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(chat.changed.wait(), WAIT_TIMEOUT)
                    continue
                await self._answer(chat)
        except (aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
            self.world.tracker.error("agent's chat handler", repr(exc))
        finally:
            self.handlers.pop(chat.session_id, None)

    async def _answer(self, chat: Chat) -> None:
        world, plan, sid = self.world, chat.plan, chat.session_id
        await self.socket.send({"type": "typing", "sessionId": sid, "isTyping": True})
        await world.think(world.mix.think_agent)
        if chat.agent_id != self.agent_id:
            return
        upcoming = chat.replies + 1
        if plan.transfer_at == upcoming and not chat.transferred:
            chat.transferred = True
            if await self._transfer(chat):
                await self.socket.send({"type": "typing", "sessionId": sid, "isTyping": False})
                return
        await self.socket.send({"type": "typing", "sessionId": sid, "isTyping": False})
        data, sent_at, answered_at = await self.api.call(
            "POST",
            f"/api/chat/session/{sid}/support-message",
            {"message": f"Respuesta {upcoming}: lo revisamos enseguida."},
            expect=201,
        )
        chat.replies += 1  # counted even when it failed, so the chat moves on
        if data is not None:
            world.tracker.message_sent(data["id"], "support", sent_at, answered_at)
            world.tracker.counts["support_messages"] += 1
        if upcoming == 1:
            await self.api.call("PATCH", f"/api/chat/session/{sid}/read")
        if plan.note_at == upcoming and not chat.noted:
            chat.noted = True
            await self.api.call(
                "POST",
                f"/api/chat/session/{sid}/notes",
                {"note": "Cliente recurrente: revisar el historial de pedidos."},
                expect=201,
            )
        if chat.replies >= plan.messages and not plan.customer_closes:
            await asyncio.sleep(0.5)
            chat.closed = True
            await self.api.call("PATCH", f"/api/chat/session/{sid}/close")

    async def _transfer(self, chat: Chat) -> bool:
        """Hand the chat on as the console's transfer dialog does: the first agent of
        GET /api/support/agents/transfer-targets (online first, least loaded first) with room
        (and in the team, for a team's chat); True when it moved."""
        world = self.world
        found, _, _ = await self.api.call("GET", "/api/support/agents/transfer-targets")
        target = None
        for candidate in found or []:
            agent = world.agents.get(candidate["id"])
            has_room = candidate["currentActiveChats"] < candidate["maxConcurrentChats"]
            if agent is not None and has_room and (agent.in_team or not chat.plan.team):
                target = agent
                break
        if target is None:
            return False
        data, _, _ = await self.api.call(
            "POST",
            f"/api/chat/session/{chat.session_id}/transfer",
            {"supportAgentId": target.agent_id, "note": "Lo pasa a facturación."},
            conflicts="transfer target full",
        )
        if data is None:
            return False
        world.tracker.counts["transfers"] += 1
        chat.agent_id = target.agent_id
        # The new agent starts on its socket's chat_assigned; checked at the end of the run.
        watch = asyncio.create_task(self._expect_taken(chat, target))
        self.watches.add(watch)
        watch.add_done_callback(self.watches.discard)
        return True

    @staticmethod
    async def _expect_taken(chat: Chat, target: Agent) -> None:
        deadline = time.perf_counter() + WAIT_TIMEOUT
        while target.agent_id not in chat.adopted_by and time.perf_counter() < deadline:
            if chat.closed:
                return
            await asyncio.sleep(0.1)
        if target.agent_id not in chat.adopted_by and not chat.closed:
            target.world.tracker.lost_other["transfer not seen by the new agent"] += 1

    async def _watch_queue(self) -> None:
        """Every so often, an agent with room takes the longest-waiting session that automatic
        assignment has left in the queue for a while."""
        world = self.world
        await asyncio.sleep(world.rng.uniform(0, QUEUE_POLL_SECONDS))
        while not world.stopping:
            if world.load_of(self.agent_id) < self.capacity:
                data, _, _ = await self.api.call("GET", "/api/chat/queue?limit=5")
                waiting = (data or {}).get("sessions") or []
                for session in waiting[:1]:
                    chat = world.chats.get(session["id"])
                    if chat is None or chat.assigned.is_set():
                        continue
                    if time.perf_counter() - chat.opened_at < TAKE_AFTER_SECONDS:
                        continue
                    taken, _, _ = await self.api.call(
                        "PATCH",
                        f"/api/chat/session/{session['id']}/assign",
                        {"supportAgentId": self.agent_id},
                        conflicts="take from queue",
                    )
                    if taken is not None:
                        world.tracker.counts["taken_from_queue"] += 1
            await asyncio.sleep(world.rng.uniform(0.5, 1.5) * QUEUE_POLL_SECONDS)

    async def stop(self) -> None:
        if self.queue_task is not None:
            self.queue_task.cancel()
        for task in [*self.handlers.values(), *self.watches]:
            task.cancel()
        await self.socket.close()


# --- customers ------------------------------------------------------------------------------


class Customer:
    """A visitor of the widget: a guest account, one socket, one chat."""

    def __init__(self, world: World, number: int) -> None:
        self.world = world
        self.number = number
        self.chat: Chat | None = None

    def _on_text(self, text: str, at: float) -> None:
        chat = self.chat
        if chat is None:
            return
        frame = json.loads(text)
        event, data = frame.get("event"), frame.get("data") or {}
        if event == "chat_message_received":
            message = data["message"]
            if message["sender"] == "support":
                self.world.tracker.message_received(message["id"], at)
                chat.replies_seen += 1
                chat.reply_seen.set()
        elif event == "chat_assigned":
            chat.assigned.set()
        elif event == "chat_status_changed" and data["session"]["status"] == "closed":
            chat.close_seen.set()

    async def run(self) -> None:
        try:
            await self._visit()
        except (aiohttp.ClientError, ValueError, KeyError, TypeError) as exc:
            self.world.tracker.error("customer", repr(exc))

    async def _visit(self) -> None:
        world, tracker = self.world, self.world.tracker
        plan = Plan.draw(world.rng, world.mix)
        async with world.http.post(
            f"{world.base_url}/api/auth/guest", json={"name": f"Cliente {self.number}"}
        ) as response:
            body = await response.json()
            if response.status != 201:
                tracker.error("POST /api/auth/guest", f"{response.status} {body}")
                return
        api = Api(world.http, world.base_url, body["data"]["accessToken"], tracker)
        socket = Socket(
            world, body["data"]["accessToken"], self._on_text, f"customer {self.number}"
        )
        try:
            await socket.open()
        except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
            tracker.error("customer socket", repr(exc))
            return
        try:
            await self._chat(api, socket, plan)
        finally:
            await socket.close()

    async def _chat(self, api: Api, socket: Socket, plan: Plan) -> None:
        world, tracker = self.world, self.world.tracker
        opening: dict[str, Any] = {"message": "Hola, tengo un problema con mi pedido."}
        if plan.team and world.team_id:
            opening["teamId"] = world.team_id
        # The Chat must exist before the events about it arrive: created before the request,
        # bound to its id as soon as the response gives it.
        pending = Chat(session_id="", plan=plan)
        self.chat = pending
        opened_at = time.perf_counter()
        data, _, _ = await api.call("POST", "/api/chat/sessions", opening, expect=201)
        if data is None:
            return
        pending.session_id = data["id"]
        chat = pending
        world.register(chat)
        tracker.counts["chats_opened"] += 1
        if data.get("supportAgentId"):
            chat.assigned.set()
        try:
            await asyncio.wait_for(chat.assigned.wait(), WAIT_TIMEOUT * 2)
        except TimeoutError:
            tracker.counts["never_assigned"] += 1
            chat.closed = True
            await api.call("PATCH", f"/api/chat/session/{chat.session_id}/close")
            return
        tracker.assignment_waits.append((opened_at, time.perf_counter() - opened_at))
        for number in range(2, plan.messages + 1):
            if not await self._reply_to(chat, number - 1):
                return
            await socket.send({"type": "typing", "sessionId": chat.session_id, "isTyping": True})
            await world.think(world.mix.think_customer)
            await socket.send({"type": "typing", "sessionId": chat.session_id, "isTyping": False})
            await self._send(api, chat, number)
        if not await self._reply_to(chat, plan.messages):
            return
        if plan.customer_closes:
            await asyncio.sleep(0.5)
            chat.closed = True
            chat.poke()
            await api.call("PATCH", f"/api/chat/session/{chat.session_id}/close")
        try:
            await asyncio.wait_for(chat.close_seen.wait(), WAIT_TIMEOUT)
        except TimeoutError:
            tracker.lost_other["close not seen by the customer"] += 1
            return
        chat.closed = True
        tracker.counts["chats_closed"] += 1
        if plan.rates:
            score = world.rng.choice((3, 4, 5, 5, 5))
            rated, _, _ = await api.call(
                "POST",
                f"/api/chat/session/{chat.session_id}/rating",
                {"score": score, "comment": "Gracias por la ayuda."},
                expect=201,
            )
            if rated is not None:
                tracker.counts["ratings"] += 1

    async def _reply_to(self, chat: Chat, replies: int) -> bool:
        """Wait until the customer has seen `replies` agent replies."""
        deadline = time.perf_counter() + WAIT_TIMEOUT
        while chat.replies_seen < replies:
            chat.reply_seen.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                self.world.tracker.counts["customers_gave_up_waiting"] += 1
                chat.closed = True
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(chat.reply_seen.wait(), remaining)
        return True

    async def _send(self, api: Api, chat: Chat, number: int) -> None:
        tracker, sid = self.world.tracker, chat.session_id
        if chat.plan.attachment_at == number:
            form = aiohttp.FormData()
            form.add_field("message", "Adjunto la captura.")
            form.add_field("file", PNG, filename="captura.png", content_type="image/png")
            data, sent_at, answered_at = await api.call(
                "POST", f"/api/chat/session/{sid}/attachments", form=form, expect=201
            )
            tracker.counts["attachments"] += 1 if data is not None else 0
        else:
            data, sent_at, answered_at = await api.call(
                "POST",
                f"/api/chat/session/{sid}/message",
                {"message": f"Mensaje {number}: sigue sin llegar, ¿me ayudan?"},
                expect=201,
            )
        chat.user_messages += 1
        if data is not None:
            tracker.message_sent(data["id"], "user", sent_at, answered_at)
            tracker.counts["user_messages"] += 1


# --- admins ---------------------------------------------------------------------------------


class Admin:
    """A supervisor with the dashboard open: a staff socket and a poll of the stats and the
    queue every few seconds, of the agents' metrics every fourth time."""

    def __init__(self, world: World, token: str, number: int) -> None:
        self.world = world
        self.api = Api(world.http, world.base_url, token, world.tracker)
        self.socket = Socket(world, token, lambda text, at: None, f"admin {number}")
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.socket.open()
        self.task = asyncio.create_task(self._poll())

    async def _poll(self) -> None:
        world = self.world
        turn = 0
        await asyncio.sleep(world.rng.uniform(0, ADMIN_POLL_SECONDS))
        while not world.stopping:
            await self.api.call("GET", "/api/chat/stats")
            await self.api.call("GET", "/api/chat/queue")
            if turn % 4 == 0:
                await self.api.call("GET", "/api/support/agents/metrics")
            turn += 1
            await asyncio.sleep(ADMIN_POLL_SECONDS)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        await self.socket.close()
