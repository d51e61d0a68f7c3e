"""Daily stats rollups: equal to a direct computation, idempotent, corrected by late data."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, text

from supportapp.analytics import rollups, windows
from supportapp.analytics.rollup_sql import COLUMNS, FLOAT_COLUMNS
from supportapp.extensions import db
from supportapp.jobs import ROLLUP_RECENT
from supportapp.models import OVERALL, DailyRollup, RollupDirtyDay
from testkit.processes import celery_control, celery_worker, wait_for

DAYS_BACK = 5


# --- data ------------------------------------------------------------------------------------


def _insert_session(rng, user_id, agent_ids, created_at, now):
    status = rng.choice(["pending", "active", "closed", "closed"])
    agent = rng.choice(agent_ids) if status != "pending" else None
    if status == "closed" and rng.random() < 0.25:
        agent = None  # closed while still in the queue
    closed_at = None
    if status == "closed":
        closed_at = min(created_at + timedelta(minutes=rng.randint(1, 3000)), now)
    session_id = uuid.uuid4()
    db.session.execute(
        text(
            "INSERT INTO chat_sessions (id, user_id, support_agent_id, status, created_at,"
            " last_message_at, queued_at, closed_at) VALUES (:id, :user, :agent, :status,"
            " :created, :created, :created, :closed)"
        ),
        {
            "id": session_id,
            "user": user_id,
            "agent": agent,
            "status": status,
            "created": created_at,
            "closed": closed_at,
        },
    )
    return session_id, agent, status


def _insert_messages(rng, session_id, session_agent, agent_ids, user_id, created_at, now):
    """Messages after `created_at`; the session's last_message_at follows the last one, as the
    message service keeps it (the rollup's message lookup relies on it)."""
    moment = created_at
    for n in range(rng.randint(0, 5)):
        # Gaps up to 1.5 h: replies land well past the session's creation hour.
        moment = min(moment + timedelta(seconds=rng.randint(1, 5400)), now)
        support = rng.random() < 0.6
        writer = None
        if support:
            writer = session_agent if rng.random() < 0.8 else rng.choice([*agent_ids, None])
        db.session.execute(
            text(
                "INSERT INTO chat_messages (id, session_id, message, sender, sender_user_id,"
                " agent_id, timestamp, response_seconds, first_response_seconds) VALUES"
                " (:id, :session, 'hola', :sender, :user, :agent, :ts, :resp, :first)"
            ),
            {
                "id": uuid.uuid4(),
                "session": session_id,
                "sender": "support" if support else "user",
                "user": user_id,
                "agent": writer,
                "ts": moment,
                "resp": round(rng.uniform(1, 900), 3) if support and rng.random() < 0.7 else None,
                "first": round(rng.uniform(1, 900), 3) if support and n == 0 else None,
            },
        )
    db.session.execute(
        text("UPDATE chat_sessions SET last_message_at = :moment WHERE id = :session"),
        {"moment": moment, "session": session_id},
    )


def _insert_rating(rng, session_id, agent, user_id):
    db.session.execute(
        text(
            "INSERT INTO session_ratings (id, session_id, user_id, agent_id, score)"
            " VALUES (:id, :session, :user, :agent, :score)"
        ),
        {
            "id": uuid.uuid4(),
            "session": session_id,
            "user": user_id,
            "agent": agent,
            "score": rng.randint(1, 5),
        },
    )


def _insert_people(agents: int, users: int) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Support users with agent profiles and end users, straight into the tables (the API's
    account creation is covered elsewhere and hashes passwords slowly on purpose)."""

    def user(role: str) -> uuid.UUID:
        user_id = uuid.uuid4()
        db.session.execute(
            text("INSERT INTO users (id, email, name, role) VALUES (:id, :email, :name, :role)"),
            {"id": user_id, "email": f"{user_id.hex}@example.com", "name": role, "role": role},
        )
        return user_id

    agent_ids = []
    for _ in range(agents):
        agent_id = uuid.uuid4()
        db.session.execute(
            text(
                "INSERT INTO support_agents (id, user_id, name, email, max_concurrent_chats)"
                " VALUES (:id, :user, 'Agente', 'agente@example.com', 50)"
            ),
            {"id": agent_id, "user": user("support")},
        )
        agent_ids.append(agent_id)
    return agent_ids, [user("user") for _ in range(users)]


@pytest.fixture
def history(app):
    """~80 sessions spread over the last DAYS_BACK days and today, with support and user
    messages, closings (with and without agent) and ratings; 4 agents. Returns
    (agent ids, user ids)."""
    rng = random.Random(20261126)
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with app.app_context():
        agents, users = _insert_people(4, 3)
        for days_ago in range(DAYS_BACK, -1, -1):
            start = midnight - timedelta(days=days_ago)
            span = (now - start) if days_ago == 0 else timedelta(days=1)
            for _ in range(14):
                created = start + span * rng.random() * 0.999
                user = rng.choice(users)
                session_id, agent, status = _insert_session(rng, user, agents, created, now)
                _insert_messages(rng, session_id, agent, agents, user, created, now)
                if status == "closed" and rng.random() < 0.7:
                    _insert_rating(rng, session_id, agent, user)
        db.session.commit()
        db.session.remove()
    return agents, users


# --- the direct computation -------------------------------------------------------------------


def direct_figures() -> dict[tuple[date, uuid.UUID], dict[str, float]]:
    """Every figure computed in Python from the raw rows, keyed by (UTC creation day, agent or
    OVERALL) — independent of the SQL the rollups use."""
    figures: dict = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    sessions = {
        row.id: row
        for row in db.session.execute(
            text(
                "SELECT id, support_agent_id, status::text, created_at, closed_at"
                " FROM chat_sessions"
            )
        )
    }

    def bump(session, agent, **values):
        day = session.created_at.astimezone(UTC).date()
        for key in (OVERALL, agent):
            if key is None:
                continue
            for name, value in values.items():
                figures[(day, key)][name] += value

    for s in sessions.values():
        closed = s.status == "closed"
        resolved = closed and s.closed_at is not None
        bump(
            s,
            s.support_agent_id,
            sessions_created=1,
            sessions_closed=int(closed),
            resolutions=int(resolved),
            resolution_seconds=(s.closed_at - s.created_at).total_seconds() if resolved else 0,
        )
    for m in db.session.execute(
        text(
            "SELECT session_id, agent_id, response_seconds, first_response_seconds"
            " FROM chat_messages WHERE sender = 'support'"
        )
    ):
        bump(
            sessions[m.session_id],
            m.agent_id,
            messages_sent=1,
            responses=int(m.response_seconds is not None),
            response_seconds=m.response_seconds or 0,
            first_responses=int(m.first_response_seconds is not None),
            first_response_seconds=m.first_response_seconds or 0,
        )
    for r in db.session.execute(text("SELECT session_id, agent_id, score FROM session_ratings")):
        bump(
            sessions[r.session_id],
            r.agent_id,
            ratings=1,
            rating_sum=r.score,
            ratings_positive=int(r.score >= 4),
        )
    return dict(figures)


def rollup_rows(days: set[date] | None = None) -> dict[tuple[date, uuid.UUID], dict[str, float]]:
    query = select(DailyRollup)
    if days is not None:
        query = query.where(DailyRollup.day.in_(days))
    return {
        (row.day, row.agent_id): {c: getattr(row, c) for c in COLUMNS}
        for row in db.session.scalars(query)
    }


def assert_same(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected), set(actual) ^ set(expected)
    for key, figures in expected.items():
        for column, value in figures.items():
            if column in FLOAT_COLUMNS:
                assert actual[key][column] == pytest.approx(value, abs=1e-6), (key, column)
            else:
                assert actual[key][column] == value, (key, column)


def sum_range(figures: dict, first: date, last: date) -> dict[uuid.UUID, dict[str, float]]:
    totals: dict = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for (day, key), values in figures.items():
        if first <= day <= last:
            for column, value in values.items():
                totals[key][column] += value
    return dict(totals)


def as_figures(totals: windows.RangeTotals) -> dict[uuid.UUID, dict[str, float]]:
    result = {OVERALL: totals.overall.as_dict()}
    result.update({agent: t.as_dict() for agent, t in totals.agents.items()})
    return result


def past_days(today: date) -> set[date]:
    return {today - timedelta(days=n) for n in range(1, DAYS_BACK + 1)}


# --- tests -------------------------------------------------------------------------------------


def test_rollups_equal_a_direct_computation_on_the_same_data(app_ctx, history):
    today = windows.utc_today()
    done = rollups.rollup_recent(DAYS_BACK)

    assert set(done) == past_days(today)
    expected = {k: v for k, v in direct_figures().items() if k[0] < today}
    assert_same(rollup_rows(), expected)
    # Every rolled-up day has its overall row, and per-agent rows only for agents.
    agents = set(history[0])
    assert {key for _, key in expected} <= agents | {OVERALL}
    assert all((day, OVERALL) in expected for day in past_days(today))


def test_rollup_of_an_empty_day_writes_its_overall_row(app_ctx):
    day = windows.utc_today() - timedelta(days=30)
    assert rollups.rollup_day(day) == 1
    row = db.session.get(DailyRollup, (day, OVERALL))
    assert row is not None
    assert all(getattr(row, c) == 0 for c in COLUMNS)


def test_rerunning_a_rollup_is_idempotent(app_ctx, history):
    rollups.rollup_recent(DAYS_BACK)
    first = rollup_rows()
    rollups.rollup_recent(DAYS_BACK)
    rollups.rollup_day(windows.utc_today() - timedelta(days=2))
    db.session.expire_all()
    assert rollup_rows() == first
    assert db.session.scalar(select(db.func.count()).select_from(DailyRollup)) == len(first)


def test_changing_a_past_session_marks_its_day_and_rerunning_corrects_it(app_ctx, history):
    today = windows.utc_today()
    agents = history[0]
    rollups.rollup_recent(DAYS_BACK)
    # (Marks of today itself, made in its last minutes, wait for the day to end.)
    past_marks = select(db.func.count()).where(RollupDirtyDay.day < today)
    assert db.session.scalar(past_marks) == 0
    old_day = today - timedelta(days=DAYS_BACK - 1)
    lo, hi = windows.day_bounds(old_day, old_day)
    session = db.session.execute(
        text(
            "SELECT id, user_id FROM chat_sessions WHERE created_at >= :lo AND created_at < :hi"
            " AND status = 'active' ORDER BY created_at LIMIT 1"
        ),
        {"lo": lo, "hi": hi},
    ).one()
    before = rollup_rows({old_day})

    # Late data for an old session: a reply that ends a wait, the closing, and a rating.
    now = datetime.now(UTC)
    db.session.execute(
        text(
            "INSERT INTO chat_messages (id, session_id, message, sender, agent_id, timestamp,"
            " response_seconds) VALUES (:id, :s, 'tarde', 'support', :agent, :ts, 4321.5)"
        ),
        {"id": uuid.uuid4(), "s": session.id, "agent": agents[0], "ts": now},
    )
    db.session.execute(
        text(
            "UPDATE chat_sessions SET status = 'closed', closed_at = :now,"
            " last_message_at = :now WHERE id = :s"
        ),
        {"now": now, "s": session.id},
    )
    db.session.execute(
        text(
            "INSERT INTO session_ratings (id, session_id, user_id, agent_id, score)"
            " VALUES (:id, :s, :u, :a, 5) ON CONFLICT (session_id) DO UPDATE SET score = 5"
        ),
        {"id": uuid.uuid4(), "s": session.id, "u": session.user_id, "a": agents[0]},
    )
    db.session.commit()

    marked = set(db.session.scalars(select(RollupDirtyDay.day).where(RollupDirtyDay.day < today)))
    assert marked == {old_day}
    # Until the rollup runs, the reader computes the dirty day from raw rows: still exact.
    expected = direct_figures()
    first, last = today - timedelta(days=DAYS_BACK), today
    assert_same(as_figures(windows.range_totals(first, last)), sum_range(expected, first, last))
    assert rollup_rows({old_day}) == before  # the stored rows are stale

    # A run whose recent window does not reach that day still recomputes it (it is marked).
    done = rollups.rollup_recent(1)
    assert set(done) == {today - timedelta(days=1), old_day}
    db.session.expire_all()
    assert_same(rollup_rows({old_day}), {k: v for k, v in expected.items() if k[0] == old_day})
    assert rollup_rows({old_day}) != before
    assert db.session.scalar(past_marks) == 0


def test_a_session_created_late_for_a_past_day_lands_in_that_day(app_ctx, history):
    """Late-arriving data (e.g. imported rows) corrects the day it belongs to."""
    today = windows.utc_today()
    rollups.rollup_recent(DAYS_BACK)
    day = today - timedelta(days=2)
    lo, _ = windows.day_bounds(day, day)
    before = db.session.get(DailyRollup, (day, OVERALL)).sessions_created
    db.session.execute(
        text(
            "INSERT INTO chat_sessions (id, user_id, status, created_at, last_message_at)"
            " VALUES (:id, :u, 'pending', :t, :t)"
        ),
        {"id": uuid.uuid4(), "u": history[1][0], "t": lo + timedelta(hours=3)},
    )
    db.session.commit()
    assert day in set(db.session.scalars(select(RollupDirtyDay.day)))
    rollups.rollup_recent(1)
    db.session.expire_all()
    assert db.session.get(DailyRollup, (day, OVERALL)).sessions_created == before + 1


def test_range_totals_combine_rollups_with_todays_raw_tail(app_ctx, history):
    today = windows.utc_today()
    first = today - timedelta(days=DAYS_BACK)
    expected = sum_range(direct_figures(), first, today)
    # Before any rollup: everything from raw rows.
    assert_same(as_figures(windows.range_totals(first, today)), expected)
    rollups.rollup_recent(DAYS_BACK)
    # Rolled-up days from rollups, today from raw rows.
    assert_same(as_figures(windows.range_totals(first, today)), expected)
    assert_same(as_figures(windows.raw_totals(first, today)), expected)
    # A sub-range, an open-ended one, and one in the future.
    mid = today - timedelta(days=2)
    assert_same(as_figures(windows.range_totals(mid, mid)), sum_range(direct_figures(), mid, mid))
    assert_same(as_figures(windows.range_totals(date(2000, 1, 1), date(2999, 1, 1))), expected)
    future = windows.range_totals(today + timedelta(days=1), today + timedelta(days=9))
    assert future.overall.sessions_created == 0 and not future.agents


def test_range_totals_averages(app_ctx, history):
    totals = windows.range_totals(windows.utc_today() - timedelta(days=DAYS_BACK), date.max)
    overall = totals.overall
    assert overall.average("response_seconds", "responses") == pytest.approx(
        overall.response_seconds / overall.responses
    )
    assert overall.average("rating_sum", "ratings") == pytest.approx(
        overall.rating_sum / overall.ratings
    )
    assert windows.Totals().average("resolution_seconds", "resolutions") is None


@pytest.mark.slow
def test_the_rollup_task_runs_on_a_real_worker(app, test_environ, history):
    today = windows.utc_today()
    with (
        celery_worker(test_environ, name="rollups") as _worker,
        celery_control(test_environ) as control,
    ):
        control.send_task(ROLLUP_RECENT, queue="rollups")

        def rolled_up() -> bool:
            with app.app_context():
                days = set(
                    db.session.scalars(
                        select(DailyRollup.day).where(DailyRollup.agent_id == OVERALL)
                    )
                )
                db.session.remove()
            return past_days(today) <= days

        wait_for(rolled_up, timeout=30, message="rollup rows written by the worker")
    with app.app_context():
        # The recent window and the days the fixture's backdated rows marked dirty: all of them.
        expected = {k: v for k, v in direct_figures().items() if k[0] < today}
        assert_same(rollup_rows(), expected)
        db.session.remove()
