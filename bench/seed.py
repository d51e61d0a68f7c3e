"""Load realistic data with COPY: `python -m bench.seed --sessions 1000000`.

Sessions get a status mix (~10 % pending, ~20 % active — bounded by what the agents can hold —
the rest closed), priorities, creation times spread over the last 90 days, ~10 messages each
alternating sides with realistic response gaps, agents with mixed capacities, and ratings on a
share of the closed sessions. The open sessions (pending, active) are all in the last 6 hours,
so at 1 M "today" holds ~12 % of all sessions.

For history at a steady daily volume (what a team accumulates over years), `--days N` spreads
the closed sessions over N days instead of 90 (sessions / N a day) and `--open-sessions N` caps
the open queue at N sessions (the surplus picks are closed like the others): e.g.
`--sessions 30000 --days 30 --open-sessions 300` vs `--sessions 1000000 --days 1000
--open-sessions 300` hold the same ~1 k sessions a day and the same queue.

Row triggers are disabled during the load and the counters they keep are rebuilt in bulk
afterwards, then checked against the raw rows.

The target database must already be migrated (`flask --app wsgi db upgrade`).
"""

from __future__ import annotations

import bisect
import io
import itertools
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg2
from tqdm import tqdm

from bench.common import arguments
from supportapp.auth.passwords import hash_password

DAYS = 90
AGENT_CAPACITY = (5, 50)
RATED_SHARE = 0.3
PRIORITIES = ("low",) * 3 + ("medium",) * 5 + ("high",) * 2
SEED_MARKER = "seed"


# Message text: everyday support phrases (every message draws from them), plus, in some
# messages, one word of a long tail (product and place names, Zipf-distributed: a few are
# common, most are rare) and order numbers — what a selective search looks for.
_COMMON_TEXT = (
    "hola buenas gracias ayuda problema pedido factura reembolso pago tarjeta envío cuenta "
    "contraseña acceso error cobro devolución cambio producto entrega retraso dirección "
    "correo teléfono descuento precio garantía cancelar suscripción plan actualizar revisar "
    "necesito quiero puedo pueden sigue todavía ayer hoy mañana semana mes urgente favor "
    "hello thanks help order invoice refund payment card shipping account password login "
    "issue charge return exchange delivery delay address email discount price warranty "
    "cancel subscription update please still yesterday today tomorrow week urgent"
)
COMMON_WORDS = tuple(_COMMON_TEXT.split())
BODIES = 4096  # distinct runs of common words, drawn once: text costs ~µs per message
TAIL_WORDS = 20_000
TAIL_SHARE = 0.3
ORDER_SHARE = 0.1
_SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "te",
    "zu",
    "ven",
    "dor",
    "sil",
    "qui",
    "bra",
    "nel",
    "tor",
    "fa",
    "gu",
    "xo",
    "pre",
    "lin",
    "sa",
    "mo",
)


def tail_word(rank: int) -> str:
    """The tail word of a rank (0 = most frequent): a pronounceable made-up name."""
    syllables = []
    number = rank + len(_SYLLABLES) ** 2
    while number:
        number, digit = divmod(number, len(_SYLLABLES))
        syllables.append(_SYLLABLES[digit])
    return "".join(syllables)


class MessageTexts:
    """Deterministic message texts, on a random stream of their own (the rest of the seed does
    not change with them)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed + 1)
        rng = self.rng
        self.bodies = [
            " ".join(rng.choices(COMMON_WORDS, k=rng.randint(4, 9))).capitalize()
            for _ in range(BODIES)
        ]
        weights = [1 / (rank + 1) for rank in range(TAIL_WORDS)]
        self.tail_cumulative = list(itertools.accumulate(weights))
        self.tail_words = [tail_word(rank) for rank in range(TAIL_WORDS)]

    def next(self) -> str:
        rng = self.rng
        text = self.bodies[rng.randrange(BODIES)]
        if rng.random() < TAIL_SHARE:
            point = rng.random() * self.tail_cumulative[-1]
            text += " " + self.tail_words[bisect.bisect(self.tail_cumulative, point)]
        if rng.random() < ORDER_SHARE:
            text += f" pedido {rng.randrange(10_000_000):07d}"
        return text


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f+00")


class CopyStream(io.RawIOBase):
    """A file-like view over a generator of text lines, for cursor.copy_expert."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while len(self._buffer) < len(target):
            chunk = "".join(line for _, line in zip(range(2000), self._lines, strict=False))
            if not chunk:
                break
            self._buffer += chunk.encode()
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _copy(cur, table: str, columns: str, lines: Iterator[str]) -> None:
    cur.copy_expert(
        f"COPY {table} ({columns}) FROM STDIN",
        io.BufferedReader(CopyStream(lines), buffer_size=1 << 20),
    )


class Seeder:
    def __init__(
        self,
        sessions: int,
        agents: int,
        messages_per_session: int,
        seed: int,
        days: int = DAYS,
        open_sessions: int = -1,
    ) -> None:
        self.sessions = sessions
        self.days = days
        self.open_left = open_sessions  # < 0: no cap (the default mix)
        self.agents = agents
        self.messages_per_session = messages_per_session
        self.rng = random.Random(seed)
        self.texts = MessageTexts(seed)
        self.now = datetime.now(UTC)
        self.users = max(sessions // 10, 10)
        self.user_ids = [_uid(self.rng) for _ in range(self.users)]
        self.agent_user_ids = [_uid(self.rng) for _ in range(agents)]
        self.agent_ids = [_uid(self.rng) for _ in range(agents)]
        self.capacity = [self.rng.randint(*AGENT_CAPACITY) for _ in range(agents)]
        self.load = [0] * agents
        self.counts = {
            "sessions": 0,
            "messages": 0,
            "ratings": 0,
            "pending": 0,
            "active": 0,
            "closed": 0,
        }
        self.ratings: list[str] = []

    # -- rows ------------------------------------------------------------------------------

    def user_rows(self) -> Iterator[str]:
        password = hash_password("password123")
        created = _ts(self.now - timedelta(days=self.days + 1))
        for i, user_id in enumerate(self.user_ids):
            yield (
                f"{user_id}\tuser{i}@{SEED_MARKER}.example\tUsuario {i}\t{password}\tuser\t"
                f"{created}\t{created}\n"
            )
        for i, user_id in enumerate(self.agent_user_ids):
            yield (
                f"{user_id}\tagent{i}@{SEED_MARKER}.example\tAgente {i}\t{password}\t"
                f"support\t{created}\t{created}\n"
            )

    def agent_rows(self) -> Iterator[str]:
        created = _ts(self.now - timedelta(days=self.days + 1))
        for i, agent_id in enumerate(self.agent_ids):
            yield (
                f"{agent_id}\t{self.agent_user_ids[i]}\tAgente {i}\t"
                f"agent{i}@{SEED_MARKER}.example\tt\t{self.capacity[i]}\t0\t\\N\t{created}\t"
                f"{created}\n"
            )

    def _pick_status(self) -> tuple[str, int | None]:
        roll = self.rng.random()
        if roll < 0.30 and self.open_left == 0:
            roll = 1.0  # the open queue is full: closed like the rest
        if roll < 0.10:
            self.open_left -= 1
            return "pending", None
        if roll < 0.30:
            agent = self.rng.randrange(self.agents)
            if self.load[agent] < self.capacity[agent]:
                self.load[agent] += 1
                self.open_left -= 1
                return "active", agent
        return "closed", self.rng.randrange(self.agents)

    def _schedule(self) -> list[tuple[str, int | None, datetime]]:
        """(status, agent, creation time) of every session, in creation order — as a live
        system writes them, which is what time-ordered (BRIN) indexes rely on. Closed sessions
        spread over the last `days` days; open ones (pending, active) are recent: the last 6
        hours."""
        picked = [self._pick_status() for _ in range(self.sessions)]
        closed = [p for p in picked if p[0] == "closed"]
        still_open = [p for p in picked if p[0] != "closed"]
        self.rng.shuffle(still_open)

        def spread(items, seconds: float) -> list:
            step = seconds / max(len(items), 1)
            start = self.now - timedelta(seconds=seconds)
            return [
                (status, agent, start + timedelta(seconds=(index + self.rng.random()) * step))
                for index, (status, agent) in enumerate(items)
            ]

        return spread(closed, self.days * 86400) + spread(still_open, 6 * 3600)

    def session_and_message_rows(self, messages_out: list[str]) -> Iterator[str]:
        """Yield session rows; append each session's message rows to `messages_out`."""
        rng = self.rng
        for status, agent, created in self._schedule():
            session_id = _uid(rng)
            user_id = self.user_ids[rng.randrange(self.users)]
            self.counts[status] += 1
            priority = PRIORITIES[rng.randrange(len(PRIORITIES))]
            moment = created
            waiting_since = None
            first_response_at = None
            agent_id = self.agent_ids[agent] if agent is not None else None
            count = max(1, int(rng.gauss(self.messages_per_session, 2)))
            if status == "pending":
                count = rng.randint(1, 2)
            for index in range(count):
                user_side = index % 2 == 0 or agent_id is None
                gap = rng.expovariate(1 / (90 if user_side else 150))
                moment = moment + timedelta(seconds=gap if index else 0)
                response = first = "\\N"
                if user_side:
                    waiting_since = waiting_since or moment
                    sender, author, msg_agent = "user", user_id, "\\N"
                else:
                    if waiting_since is not None:
                        response = f"{(moment - waiting_since).total_seconds():.3f}"
                        waiting_since = None
                    if first_response_at is None:
                        first_response_at = moment
                        first = f"{(moment - created).total_seconds():.3f}"
                    sender, author, msg_agent = "support", self.agent_user_ids[agent], agent_id
                messages_out.append(
                    f"{_uid(rng)}\t{session_id}\t{self.texts.next()}\t{sender}\t"
                    f"{author}\t{msg_agent}\t{_ts(moment)}\t{'t' if status == 'closed' else 'f'}"
                    f"\t{response}\t{first}\n"
                )
            last = moment
            assigned = _ts(created + timedelta(seconds=rng.random() * 60)) if agent_id else "\\N"
            closed = (
                _ts(last + timedelta(minutes=rng.random() * 30)) if status == "closed" else "\\N"
            )
            queued = _ts(created)
            waiting = _ts(waiting_since) if waiting_since and status != "closed" else "\\N"
            first_at = _ts(first_response_at) if first_response_at else "\\N"
            unread = 0 if status == "closed" else (1 if waiting_since else 0)
            if status == "closed" and agent_id and rng.random() < RATED_SHARE:
                score = min(5, max(1, round(rng.gauss(4.1, 1.0))))
                self.ratings.append(
                    f"{_uid(rng)}\t{session_id}\t{user_id}\t{agent_id}\t{score}\t\\N\t{closed}\n"
                )
            yield (
                f"{session_id}\t{user_id}\t{agent_id or chr(92) + 'N'}\t{status}\t{priority}\t"
                f"{assigned}\t{_ts(created)}\t{_ts(last)}\t{queued}\t{waiting}\t{first_at}\t"
                f"{closed}\t{unread}\t0\n"
            )

    # -- loading ---------------------------------------------------------------------------

    def load_into(self, database_url: str) -> dict:
        started = time.perf_counter()
        conn = psycopg2.connect(database_url)
        conn.autocommit = False
        cur = conn.cursor()
        cur.execute("SET session_replication_role = replica")  # no triggers, no FK checks
        _copy(
            cur,
            "users",
            "id, email, name, password_hash, role, created_at, updated_at",
            self.user_rows(),
        )
        _copy(
            cur,
            "support_agents",
            "id, user_id, name, email, is_active, "
            "max_concurrent_chats, current_active_chats, last_assigned_at, created_at, "
            "updated_at",
            self.agent_rows(),
        )
        batch = 20_000
        progress = tqdm(total=self.sessions, unit="sessions", desc="sessions+messages")
        messages: list[str] = []
        rows = self.session_and_message_rows(messages)
        done = 0
        while done < self.sessions:
            size = min(batch, self.sessions - done)
            _copy(
                cur,
                "chat_sessions",
                "id, user_id, support_agent_id, status, priority, assigned_at, created_at, "
                "last_message_at, queued_at, waiting_since, first_response_at, closed_at, "
                "unread_user_count, unread_support_count",
                _take(rows, size),
            )
            _copy(
                cur,
                "chat_messages",
                "id, session_id, message, sender, sender_user_id, agent_id, timestamp, "
                "is_read, response_seconds, first_response_seconds",
                iter(messages),
            )
            self.counts["messages"] += len(messages)
            messages.clear()
            done += size
            progress.update(size)
        progress.close()
        _copy(
            cur,
            "session_ratings",
            "id, session_id, user_id, agent_id, score, comment, created_at",
            iter(self.ratings),
        )
        self.counts["ratings"] = len(self.ratings)
        self.counts["sessions"] = self.sessions
        cur.execute("SET session_replication_role = DEFAULT")
        conn.commit()
        loaded = time.perf_counter() - started
        # Block ranges filled by COPY are summarized by autovacuum later; do it now.
        cur.execute("SELECT brin_summarize_new_values('ix_messages_timestamp_brin')")
        # Unsummarized, the ratings' BRIN returns every block: each raw stretch then read all
        # 265 k ratings of the 1 M seed (50 ms) to keep the ~1 k of its day.
        cur.execute("SELECT brin_summarize_new_values('ix_ratings_created_brin')")
        cur.execute("ANALYZE")
        conn.commit()
        conn.close()
        return {
            **self.counts,
            "agents": self.agents,
            "users": self.users,
            "load_seconds": round(loaded, 1),
        }


def _take(rows: Iterator[str], count: int) -> Iterator[str]:
    for _, row in zip(range(count), rows, strict=False):
        yield row


def rebuild_and_check(database_url: str, days_back: int = DAYS) -> dict[str, int]:
    """Rebuild the trigger-kept counters, the daily rollups and the histogram blocks, then
    verify them against the raw rows (every counter; the rollups of the oldest, a middle and the
    latest finished day) and the blocks against their days (the first and the largest)."""
    from supportapp import create_app
    from supportapp.analytics import counters, histogram_blocks, rollups, windows
    from supportapp.config import Config

    # The rebuild needs the app's configuration, not Redis: any REDIS_URL satisfies it.
    environ = {"REDIS_URL": "redis://127.0.0.1:6379/0", **os.environ}
    app = create_app(Config({**environ, "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}))
    with app.app_context():
        counters.rebuild_counters()
        mismatches = counters.check_counters()
        today = windows.utc_today()
        days = [today - timedelta(days=n) for n in range(days_back + 1, 0, -1)]
        for day in tqdm(days, unit="days", desc="daily rollups"):
            rollups.rollup_day(day)
        histogram_blocks.build_missing_blocks()
        sample = (days[0], days[len(days) // 2], days[-1])
        mismatches["daily_rollups"] = sum(rollups.check_day(day) for day in sample)
        blocks = sorted(histogram_blocks.existing_blocks(days[0], days[-1]))
        mismatches["histogram_blocks"] = sum(
            histogram_blocks.check_block(*block) for block in (blocks[:1] + blocks[-1:])
        )
        return mismatches


def main(argv: list[str] | None = None) -> int:
    args = arguments(
        __doc__,
        argv,
        sessions=10_000,
        agents=500,
        messages_per_session=11,
        seed=42,
        days=DAYS,
        open_sessions=-1,
        database_url=os.environ.get("DATABASE_URL"),
        helps={
            "days": "closed sessions spread over this many days (sessions / days a day)",
            "open_sessions": "at most this many open (pending, active) sessions; -1: no cap "
            "(~10 %% pending plus what the agents hold)",
        },
    )
    if not args.database_url:
        raise SystemExit("DATABASE_URL is not set: pass --database-url")
    seeder = Seeder(
        args.sessions,
        args.agents,
        args.messages_per_session,
        args.seed,
        days=args.days,
        open_sessions=args.open_sessions,
    )
    started = time.perf_counter()
    summary = seeder.load_into(args.database_url)
    mismatches = rebuild_and_check(args.database_url, args.days)
    summary["total_seconds"] = round(time.perf_counter() - started, 1)
    summary["counter_mismatches"] = mismatches
    print(summary)
    return 1 if any(mismatches.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
