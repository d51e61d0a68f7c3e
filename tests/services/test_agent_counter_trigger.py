"""The database keeps support_agents.current_active_chats equal to the number of `active`
sessions assigned to the agent, whatever writes the sessions (docs/decisions.md, Capacity)."""

from __future__ import annotations

import random
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from supportapp.analytics.counters import CHECK_SQL, check_counters
from supportapp.extensions import db
from supportapp.models import ChatSession, Role, SessionStatus, SupportAgent, User
from tests.helpers import session_counters

pytestmark = pytest.mark.usefixtures("app_ctx")


def new_user(role: Role = Role.USER) -> uuid.UUID:
    user = User(email=f"{role}-{uuid.uuid4().hex[:8]}@example.com", name="Someone", role=role)
    db.session.add(user)
    db.session.commit()
    return user.id


def new_agent(max_chats: int = 5) -> uuid.UUID:
    user_id = new_user(Role.SUPPORT)
    agent = SupportAgent(
        user_id=user_id, name="Agent", email="agent@example.com", max_concurrent_chats=max_chats
    )
    db.session.add(agent)
    db.session.commit()
    return agent.id


@pytest.fixture
def owner() -> uuid.UUID:
    return new_user()


@pytest.fixture
def new_session(owner):
    """new_session(status="pending", agent=None) → id of a committed session."""

    def factory(status: str = "pending", agent: uuid.UUID | None = None) -> uuid.UUID:
        session = ChatSession(user_id=owner, status=SessionStatus(status), support_agent_id=agent)
        db.session.add(session)
        db.session.commit()
        return session.id

    return factory


def execute(sql: str, **params) -> None:
    db.session.execute(text(sql), params)
    db.session.commit()


def set_session(session_id: uuid.UUID, **values) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    execute(f"UPDATE chat_sessions SET {assignments} WHERE id = :id", id=session_id, **values)


def load(agent_id: uuid.UUID) -> int:
    """The agent's counter as stored now."""
    return db.session.scalar(
        text("SELECT current_active_chats FROM support_agents WHERE id = :id"), {"id": agent_id}
    )


def real_load(agent_id: uuid.UUID) -> int:
    return db.session.scalar(
        text(
            "SELECT count(*) FROM chat_sessions WHERE support_agent_id = :id AND status = 'active'"
        ),
        {"id": agent_id},
    )


def assert_load(agent_id: uuid.UUID, expected: int) -> None:
    assert (load(agent_id), real_load(agent_id)) == (expected, expected)


def assert_at_capacity_error(raised: pytest.ExceptionInfo) -> None:
    assert isinstance(raised.value, DBAPIError)
    assert raised.value.orig.pgcode == "SA409"
    db.session.rollback()


# --- insert ----------------------------------------------------------------------------------


def test_inserting_an_active_assigned_session_counts(new_session):
    agent = new_agent()
    new_session("active", agent)
    new_session("active", agent)

    assert_load(agent, 2)


@pytest.mark.parametrize("status", ["pending", "closed"])
def test_inserting_a_session_that_is_not_active_does_not_count(new_session, status):
    agent = new_agent()
    new_session(status, agent)

    assert_load(agent, 0)


def test_an_active_session_without_agent_counts_for_nobody(new_session):
    agent = new_agent()
    new_session("active")

    assert_load(agent, 0)


# --- update ----------------------------------------------------------------------------------


def test_assigning_a_pending_session_counts(new_session):
    agent = new_agent()
    session = new_session()

    set_session(session, status="active", support_agent_id=agent)

    assert_load(agent, 1)


def test_updates_that_keep_status_and_agent_do_not_count_twice(new_session):
    agent = new_agent()
    session = new_session("active", agent)

    set_session(session, priority="high")
    set_session(session, status="active", support_agent_id=agent)
    execute("UPDATE chat_sessions SET last_message_at = now() WHERE id = :id", id=session)

    assert_load(agent, 1)


def test_reassigning_moves_the_chat_between_agents(new_session):
    first, second = new_agent(), new_agent()
    session = new_session("active", first)
    new_session("active", first)

    set_session(session, support_agent_id=second)

    assert_load(first, 1)
    assert_load(second, 1)


def test_reopening_to_pending_frees_the_slot_and_reactivating_takes_it(new_session):
    agent = new_agent()
    session = new_session("active", agent)

    set_session(session, status="pending")
    assert_load(agent, 0)

    set_session(session, status="active")
    assert_load(agent, 1)


@pytest.mark.parametrize(
    ("status", "change"),
    [
        ("active", {"status": "closed"}),
        ("closed", {"status": "pending"}),
        ("active", {"support_agent_id": None}),
    ],
    ids=["closing-frees-the-slot", "reopening-closed-to-pending-does-not-count", "unassigning"],
)
def test_a_change_that_leaves_no_active_chat_leaves_no_load(new_session, status, change):
    agent = new_agent()
    session = new_session(status, agent)

    set_session(session, **change)

    assert_load(agent, 0)


def test_one_statement_closing_many_sessions(new_session):
    agent, other = new_agent(), new_agent()
    for _ in range(3):
        new_session("active", agent)
    new_session("active", other)

    execute("UPDATE chat_sessions SET status = 'closed' WHERE support_agent_id = :id", id=agent)

    assert_load(agent, 0)
    assert_load(other, 1)


# --- delete ----------------------------------------------------------------------------------


def test_deleting_an_active_session_frees_the_slot(new_session):
    agent = new_agent()
    session = new_session("active", agent)
    new_session("active", agent)

    execute("DELETE FROM chat_sessions WHERE id = :id", id=session)

    assert_load(agent, 1)


def test_deleting_a_closed_session_changes_nothing(new_session):
    agent = new_agent()
    new_session("active", agent)
    closed = new_session("closed", agent)

    execute("DELETE FROM chat_sessions WHERE id = :id", id=closed)

    assert_load(agent, 1)


def test_deleting_the_owner_deletes_their_sessions_and_frees_the_slots(new_session, owner):
    agent = new_agent()
    new_session("active", agent)
    new_session("active", agent)

    execute("DELETE FROM users WHERE id = :id", id=owner)

    assert_load(agent, 0)


def test_deleting_an_agent_leaves_its_sessions_unassigned(new_session):
    agent = new_agent()
    session = new_session("active", agent)

    execute("DELETE FROM support_agents WHERE id = :id", id=agent)

    assert db.session.get(ChatSession, session).support_agent_id is None


# --- capacity --------------------------------------------------------------------------------


def test_taking_a_chat_beyond_capacity_raises_sa409(new_session):
    agent = new_agent(max_chats=2)
    new_session("active", agent)
    new_session("active", agent)

    with pytest.raises(DBAPIError) as raised:
        new_session("active", agent)

    assert_at_capacity_error(raised)
    assert_load(agent, 2)


def test_assigning_to_a_full_agent_raises_sa409_and_changes_nothing(new_session):
    full, other = new_agent(max_chats=1), new_agent()
    new_session("active", full)
    session = new_session("active", other)

    with pytest.raises(DBAPIError) as raised:
        set_session(session, support_agent_id=full)

    assert_at_capacity_error(raised)
    assert_load(full, 1)
    assert_load(other, 1)
    assert db.session.get(ChatSession, session).support_agent_id == other


def test_a_statement_that_would_overfill_an_agent_is_undone_as_a_whole(new_session):
    agent = new_agent(max_chats=2)
    for _ in range(3):
        new_session("pending", agent)

    with pytest.raises(DBAPIError) as raised:
        execute("UPDATE chat_sessions SET status = 'active' WHERE support_agent_id = :id", id=agent)

    assert_at_capacity_error(raised)
    assert_load(agent, 0)


def test_lowering_capacity_below_the_load_is_allowed_and_blocks_new_chats(new_session):
    agent = new_agent(max_chats=3)
    sessions = [new_session("active", agent) for _ in range(3)]

    execute("UPDATE support_agents SET max_concurrent_chats = 1 WHERE id = :id", id=agent)
    assert_load(agent, 3)

    with pytest.raises(DBAPIError) as raised:
        new_session("active", agent)
    assert_at_capacity_error(raised)

    set_session(sessions[0], status="closed")  # 2 left: still over the new capacity
    with pytest.raises(DBAPIError) as raised:
        new_session("active", agent)
    assert_at_capacity_error(raised)

    set_session(sessions[1], status="closed")
    set_session(sessions[2], status="closed")
    new_session("active", agent)
    assert_load(agent, 1)


def test_the_counter_can_never_be_negative():
    agent = new_agent()

    with pytest.raises(IntegrityError) as raised:
        execute("UPDATE support_agents SET current_active_chats = -1 WHERE id = :id", id=agent)

    assert raised.value.orig.pgcode == "23514"  # check_violation
    db.session.rollback()
    assert_load(agent, 0)


@pytest.mark.parametrize("max_chats", [0, 51])
def test_capacity_stays_within_1_and_50(max_chats):
    agent = new_agent()

    with pytest.raises(IntegrityError):
        execute(
            "UPDATE support_agents SET max_concurrent_chats = :max WHERE id = :id",
            id=agent,
            max=max_chats,
        )
    db.session.rollback()


# --- everything at once ----------------------------------------------------------------------


def test_the_counter_stays_exact_through_a_random_series_of_changes(new_session):
    rng = random.Random(409)
    agents = [new_agent(max_chats=rng.randint(1, 3)) for _ in range(3)]
    sessions: list[uuid.UUID] = []
    refused = 0
    for _ in range(150):
        action = rng.choices(["insert", "status", "agent", "delete"], [4, 3, 3, 1])[0]
        action = action if sessions else "insert"
        try:
            if action == "insert":
                sessions.append(
                    new_session(rng.choice(["pending", "active", "closed"]), rng.choice(agents))
                )
            elif action == "status":
                set_session(
                    rng.choice(sessions), status=rng.choice(["pending", "active", "closed"])
                )
            elif action == "agent":
                set_session(rng.choice(sessions), support_agent_id=rng.choice([*agents, None]))
            else:
                session = sessions.pop(rng.randrange(len(sessions)))
                execute("DELETE FROM chat_sessions WHERE id = :id", id=session)
        except DBAPIError as error:
            assert error.orig.pgcode == "SA409"
            db.session.rollback()
            refused += 1
        for agent in agents:
            assert load(agent) == real_load(agent)
            assert 0 <= load(agent) <= db.session.get(SupportAgent, agent).max_concurrent_chats
    assert refused >= 5  # the series did run into capacity limits


# --- updates that change no counted column (migration 0005: early exit) --------------------


def assert_counters_exact() -> None:
    assert check_counters() == dict.fromkeys(CHECK_SQL, 0)


def test_an_update_of_last_message_at_only_leaves_every_counter_exact(new_session):
    agent = new_agent()
    session = new_session("active", agent)
    new_session("pending")
    before = session_counters()

    execute("UPDATE chat_sessions SET last_message_at = now() WHERE id = :id", id=session)
    execute(
        "UPDATE chat_sessions SET last_message_at = now(), unread_user_count = 3, "
        "status = status, priority = priority WHERE id = :id",
        id=session,
    )

    assert session_counters() == before
    assert_load(agent, 1)
    assert_counters_exact()


def test_priority_and_status_changes_after_quiet_updates_keep_counters_exact(new_session):
    agent = new_agent()
    session = new_session("active", agent)
    execute("UPDATE chat_sessions SET last_message_at = now() WHERE id = :id", id=session)

    set_session(session, priority="high")
    assert_load(agent, 1)
    assert_counters_exact()
    assert {(row[1], row[2], row[3]) for row in session_counters()} == {("active", "high", 1)}

    execute("UPDATE chat_sessions SET last_message_at = now() WHERE id = :id", id=session)
    set_session(session, status="closed", priority="low")
    assert_load(agent, 0)
    assert_counters_exact()
    assert {(row[1], row[2], row[3]) for row in session_counters()} == {("closed", "low", 1)}


def test_one_statement_mixing_quiet_and_counted_changes(new_session):
    agent = new_agent()
    quiet = new_session("active", agent)
    closing = new_session("active", agent)

    execute(
        "UPDATE chat_sessions SET last_message_at = now(), "
        "status = CASE WHEN id = :closing THEN 'closed'::session_status ELSE status END "
        "WHERE id IN (:quiet, :closing)",
        quiet=quiet,
        closing=closing,
    )

    assert_load(agent, 1)
    assert_counters_exact()


def test_a_statement_that_changes_ids_and_counted_columns_still_counts(new_session):
    agent = new_agent()
    session = new_session("active", agent)

    execute(
        "UPDATE chat_sessions SET id = gen_random_uuid(), status = 'closed', priority = 'high' "
        "WHERE id = :id",
        id=session,
    )

    assert_load(agent, 0)
    assert_counters_exact()
