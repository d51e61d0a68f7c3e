"""Each rule has one home, and where it has a Python and a SQL form the two agree.

- eligibility (models/agent.py): `has_free_slot`, `can_take_chats`, `reachable` evaluated by
  PostgreSQL and by Python over a grid of agents;
- queue order (services/queue_order.py): QUEUE_ORDER in SQL, `queue_key` in Python and
  `ahead_of` (a session's position) over random pending sessions;
- priority ranks: the stored `priority_rank` column against PRIORITY_RANK;
- access (services/access.py): every role × action, and the SQL visibility forms against the
  Python ones;
- texts, timestamps, the resync notice and claims → caller, each from its one module.
"""

from __future__ import annotations

import itertools
import random
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from supportapp.auth.actor import Actor, actor_from_claims
from supportapp.extensions import db
from supportapp.models import (
    PRIORITY_RANK,
    Availability,
    ChatSession,
    Priority,
    ResponseTemplate,
    Role,
    SessionStatus,
    SupportAgent,
    User,
)
from supportapp.realtime import events
from supportapp.realtime.bus import Event
from supportapp.realtime.hub import Subscriber
from supportapp.services import access
from supportapp.services.queue_order import QUEUE_ORDER, ahead_of, queue_key
from supportapp.texts import MESSAGE_MAX_LENGTH, blank, visible
from supportapp.timestamps import iso

ROLES = (Role.USER, Role.SUPPORT, Role.ADMIN, Role.SUPERADMIN)


def _user(role: Role = Role.USER) -> User:
    user = User(id=uuid.uuid4(), email=f"{uuid.uuid4().hex}@example.com", name="U", role=role)
    db.session.add(user)
    return user


# --- eligibility ------------------------------------------------------------------------------


def test_eligibility_hybrids_agree_in_sql_and_python(app_ctx):
    online = set()
    grid = itertools.product(
        (True, False),  # active
        (1, 2, 5),  # max
        (0, 1, 2, 5),  # current
        tuple(Availability),
        (True, False),  # a staff socket open
    )
    agents = []
    for active, maximum, current, availability, socket_open in grid:
        if current > maximum:
            continue
        user = _user(Role.SUPPORT)
        if socket_open:
            online.add(user.id)
        agents.append(
            SupportAgent(
                id=uuid.uuid4(),
                user_id=user.id,
                name="A",
                email=user.email,
                is_active=active,
                max_concurrent_chats=maximum,
                current_active_chats=current,
                availability=availability,
            )
        )
    db.session.flush()
    db.session.add_all(agents)
    db.session.flush()

    rules = [
        (SupportAgent.has_free_slot, lambda a: a.has_free_slot),
        (SupportAgent.can_take_chats, lambda a: a.can_take_chats),
        (SupportAgent.reachable(online), lambda a: a.reachable(online)),
    ]
    for in_sql_form, in_python_form in rules:
        in_sql = set(db.session.scalars(select(SupportAgent.id).where(in_sql_form)))
        in_python = {a.id for a in agents if in_python_form(a)}
        assert in_sql == in_python
        assert in_sql and in_sql != {a.id for a in agents}  # the grid has both answers
    db.session.rollback()


def test_can_take_chats_is_active_and_below_capacity():
    def agent(active, current, maximum):
        return SupportAgent(
            is_active=active, current_active_chats=current, max_concurrent_chats=maximum
        )

    assert agent(True, 1, 2).can_take_chats
    assert not agent(True, 2, 2).can_take_chats
    assert not agent(False, 0, 2).can_take_chats
    assert agent(False, 0, 2).has_free_slot


# --- queue order and ranks --------------------------------------------------------------------


@pytest.fixture
def random_queue(app_ctx):
    rng = random.Random(17)
    owner = _user()
    db.session.flush()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chats = []
    for _ in range(60):
        chats.append(
            ChatSession(
                id=uuid.uuid4(),
                user_id=owner.id,
                status=SessionStatus.PENDING,
                priority=rng.choice(list(Priority)),
                # few distinct times, so ties fall through to the id
                queued_at=start + timedelta(minutes=rng.randrange(5)),
                created_at=start,
                last_message_at=start,
            )
        )
    db.session.add_all(chats)
    db.session.flush()
    yield chats
    db.session.rollback()


def test_queue_order_in_sql_matches_the_python_sort_key(random_queue):
    in_sql = list(
        db.session.scalars(
            select(ChatSession.id)
            .where(ChatSession.id.in_([c.id for c in random_queue]))
            .order_by(*QUEUE_ORDER)
        )
    )

    assert in_sql == [c.id for c in sorted(random_queue, key=queue_key)]


def test_ahead_of_counts_exactly_the_sessions_the_order_puts_first(random_queue):
    ordered = sorted(random_queue, key=queue_key)
    ids = [c.id for c in random_queue]
    for position, chat in enumerate(ordered):
        ahead = db.session.scalar(
            select(func.count()).where(ChatSession.id.in_(ids), ahead_of(chat))
        )
        assert ahead == position


def test_the_stored_priority_rank_is_priority_rank(random_queue):
    stored = dict(
        db.session.execute(
            select(ChatSession.priority, ChatSession.priority_rank).where(
                ChatSession.id.in_([c.id for c in random_queue])
            )
        ).all()
    )

    assert stored == {p: PRIORITY_RANK[p] for p in Priority}


# --- access policy ------------------------------------------------------------------------------

OWNER, AGENT_USER, OTHER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
AGENT_ID, OTHER_AGENT_ID = uuid.uuid4(), uuid.uuid4()


def _actor(role: Role, who: uuid.UUID) -> Actor:
    return Actor(user_id=who, role=role)


def _chat(status=SessionStatus.ACTIVE, agent_id=AGENT_ID):
    return SimpleNamespace(user_id=OWNER, status=status, support_agent_id=agent_id)


# (who: the chat's owner, its agent's user, or someone else) × role → expected verdict.
# Staff may own a chat (they opened it as a customer) or be its agent; users never are agents.
CASES = [
    (role, who)
    for role in ROLES
    for who in ("owner", "agent", "other")
    if not (role == Role.USER and who == "agent")
]
WHO = {"owner": OWNER, "agent": AGENT_USER, "other": OTHER}


def _expected(action: str, role: Role, who: str) -> bool:
    staff = role != Role.USER
    admin = role in (Role.ADMIN, Role.SUPERADMIN)
    return {
        "see": staff or who == "owner",
        "write_as_customer": who == "owner",
        "close": admin or who in ("owner", "agent"),
        "transfer": admin or who == "agent",
        "rate": who == "owner",
        "notes": staff,
        "team_figures": admin,
    }[action]


@pytest.mark.parametrize(("role", "who"), CASES)
@pytest.mark.parametrize(
    "action", ["see", "write_as_customer", "close", "transfer", "rate", "notes", "team_figures"]
)
def test_access_policy_table(action, role, who):
    actor = _actor(role, WHO[who])
    chat = _chat()
    verdict = {
        "see": lambda: access.may_see(actor, chat),
        "write_as_customer": lambda: access.may_write_as_customer(actor, chat),
        "close": lambda: access.may_close(actor, chat, AGENT_USER),
        "transfer": lambda: access.may_transfer(actor, AGENT_USER),
        "rate": lambda: access.may_rate(actor, chat, OTHER if who == "owner" else AGENT_USER),
        "notes": lambda: access.may_see_notes(actor),
        "team_figures": lambda: access.sees_team_figures(actor),
    }[action]()

    assert verdict is _expected(action, role, who)


def test_staff_who_handled_their_own_chat_may_not_rate_it():
    staff_owner = _actor(Role.SUPPORT, OWNER)

    assert not access.may_rate(staff_owner, _chat(), OWNER)
    assert access.may_rate(staff_owner, _chat(), AGENT_USER)


@pytest.mark.parametrize("role", ROLES)
def test_assigning_support_only_to_themselves_and_never_taking_over(role):
    actor = _actor(role, AGENT_USER)
    admin = role in (Role.ADMIN, Role.SUPERADMIN)

    assert access.may_assign_to(actor, AGENT_USER)
    assert access.may_assign_to(actor, OTHER) is admin
    assert access.takes_over(_chat(agent_id=OTHER_AGENT_ID), AGENT_ID)
    assert not access.takes_over(_chat(agent_id=AGENT_ID), AGENT_ID)
    assert not access.takes_over(_chat(status=SessionStatus.PENDING, agent_id=None), AGENT_ID)


@pytest.mark.parametrize("role", ROLES)
def test_reactivation_after_an_admin_deactivated_is_for_admins(role):
    actor = _actor(role, AGENT_USER)
    by_admin = SimpleNamespace(deactivated_by_admin=True, user_id=AGENT_USER)
    by_self = SimpleNamespace(deactivated_by_admin=False, user_id=AGENT_USER)

    assert access.may_reactivate(actor, by_admin) is (role in (Role.ADMIN, Role.SUPERADMIN))
    assert access.may_reactivate(actor, by_self)


@pytest.mark.parametrize("role", ROLES)
def test_the_event_rule_of_a_socket_is_the_visibility_rule(role):
    staff = role != Role.USER
    socket = Subscriber(user_id=str(OWNER), is_support=staff)
    for owner in (OWNER, OTHER):
        chat_event = Event("chat_message_received", {}, user_id=str(owner))
        expected = access.may_see(_actor(role, OWNER), SimpleNamespace(user_id=owner))
        assert access.may_receive(socket, chat_event) is expected
    staff_only = Event("chat_note_added", {}, user_id=None)
    assert access.may_receive(socket, staff_only) is staff


@pytest.mark.parametrize("role", ROLES)
def test_visibility_in_sql_matches_python(app_ctx, role):
    me, someone = _user(role), _user()
    db.session.flush()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    chats = [
        ChatSession(id=uuid.uuid4(), user_id=owner.id, created_at=start, last_message_at=start)
        for owner in (me, someone)
    ]
    templates = [
        ResponseTemplate(
            id=uuid.uuid4(),
            title="t",
            content="c",
            shortcut=uuid.uuid4().hex[:12],
            is_shared=shared,
            created_by=author.id,
        )
        for shared in (True, False)
        for author in (me, someone)
    ]
    db.session.add_all(chats + templates)
    db.session.flush()
    actor = _actor(role, me.id)

    chat_ids = [c.id for c in chats]
    assert set(
        db.session.scalars(
            select(ChatSession.id).where(
                ChatSession.id.in_(chat_ids), access.visible_sessions(actor)
            )
        )
    ) == {c.id for c in chats if access.may_see(actor, c)}
    template_ids = [t.id for t in templates]
    assert set(
        db.session.scalars(
            select(ResponseTemplate.id).where(
                ResponseTemplate.id.in_(template_ids), access.visible_templates(actor)
            )
        )
    ) == {t.id for t in templates if access.may_see_template(actor, t)}
    db.session.rollback()


# --- texts, timestamps, notices, callers --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "is_blank"),
    [("", True), ("  ", True), ("\u200b\u200d", True), ("\u2800", True), (" hola ", False)],
)
def test_blank_and_visible(text, is_blank):
    assert blank(text) is is_blank
    assert visible(text) == ("" if is_blank else text.strip())


def test_the_message_schema_and_the_template_renderer_use_the_same_limit():
    from supportapp.api.chat.schemas import MessageSchema

    errors = MessageSchema().validate({"message": "x" * (MESSAGE_MAX_LENGTH + 1)})
    assert errors["message"] == [f"El mensaje no puede superar los {MESSAGE_MAX_LENGTH} caracteres"]
    assert MessageSchema().validate({"message": "x" * MESSAGE_MAX_LENGTH}) == {}
    assert MessageSchema().validate({"message": "\u200b"}) == {
        "message": ["El mensaje no puede estar vacío"]
    }


def test_opening_message_cost_follows_blank():
    from supportapp.services.sessions import opening_message_cost

    assert [opening_message_cost(m) for m in (None, 3, "", " \u200b ", "hola")] == [0, 0, 0, 0, 1]


def test_one_timestamp_format():
    moment = datetime(2026, 3, 1, 12, 30, 5, 123456, tzinfo=UTC)

    assert iso(moment) == "2026-03-01T12:30:05.123Z"
    assert iso(None) is None
    assert Event("x", {}).timestamp.endswith("Z")


def test_one_resync_notice():
    from supportapp.realtime.hub import STREAM_INTERRUPTED

    assert events.resync_required("why") == {"event": "resync_required", "data": {"reason": "why"}}
    assert events.resync_required("the event stream was interrupted") == STREAM_INTERRUPTED


def test_the_websocket_and_rest_build_the_same_actor_from_claims(app):
    from supportapp.realtime.ws import _identify

    user_id = uuid.uuid4()
    claims = {"sub": str(user_id), "role": "support", "type": "access", "exp": 2_000_000_000}
    with app.test_request_context("/ws"):
        from flask_jwt_extended import create_access_token

        token = create_access_token(identity=str(user_id), additional_claims={"role": "support"})
        from_socket = _identify(token)
        from_rest = actor_from_claims(claims)

    assert isinstance(from_socket, Actor)
    assert (from_socket.user_id, from_socket.role) == (from_rest.user_id, from_rest.role)
    assert from_socket.is_support
