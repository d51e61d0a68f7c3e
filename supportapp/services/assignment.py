"""Giving sessions to agents. Whether an agent may take a chat is SupportAgent's
(`has_free_slot`, `can_take_chats`, `reachable`: models/agent.py); who may give which session to
whom is services/access.py's.

Every assignment locks the agent rows it touches (in id order, so two moves between the same
agents cannot deadlock) and re-checks the load under that lock; the trigger on chat_sessions
keeps `current_active_chats` exact and refuses any overshoot.
"""

from __future__ import annotations

import functools
import heapq
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, column, select, update, values
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm.attributes import set_committed_value

from supportapp.auth.actor import SYSTEM_ACTOR, Actor
from supportapp.errors import MSG_AGENT_AT_CAPACITY, Conflict, ValidationFailed
from supportapp.extensions import db
from supportapp.jobs import request_auto_assignment
from supportapp.models import (
    SUPPORT_ROLES,
    ChatMessage,
    ChatSession,
    ChatTransfer,
    SessionStatus,
    SupportAgent,
    User,
    team_members,
)
from supportapp.models.base import utcnow
from supportapp.realtime import events
from supportapp.services import access, audit
from supportapp.services.presence import online_user_ids
from supportapp.services.queue_order import QUEUE_ORDER
from supportapp.services.sessions import ensure_open, last_message_of, lock_with_last_message
from supportapp.services.unit_of_work import UnitOfWork, unit_of_work

MSG_AGENT_NOT_FOUND = "El agente de soporte no existe"
MSG_AGENT_INACTIVE = "El agente de soporte no está activo"
MSG_ALREADY_THEIRS = "La sesión ya está asignada a ese agente"
MSG_AGENT_NOT_STAFF = "El usuario del agente de soporte ya no pertenece al equipo de soporte"
AUTO_ASSIGN_BATCH = 200


def assign_session(
    actor: Actor, session_id: uuid.UUID, agent_id: uuid.UUID
) -> tuple[ChatSession, ChatMessage | None]:
    """PATCH /api/chat/session/:id/assign. `support` may assign only to their own profile.
    Returns the session and its most recent message (read with the session's lock, in the
    same statement).

    Two reads, both locking and in the usual order (the session, then the agents in id
    order): the target agent is read once, under its lock. The checks run in the order the
    API promises: the agent (400, 403), then the session (404, 409), then capacity (409)."""
    with unit_of_work() as uow:
        chat, last = lock_with_last_message(session_id)
        agent = ensure_assignable(
            _lock_agents(chat.support_agent_id if chat else None, agent_id).get(agent_id)
        )
        access.ensure_may_assign_to(actor, agent)
        access.ensure_visible(actor, chat)
        ensure_open(chat)
        access.ensure_may_take(actor, chat, agent)
        if chat.support_agent_id != agent.id or chat.status != SessionStatus.ACTIVE:
            if not agent.has_free_slot:
                raise Conflict(MSG_AGENT_AT_CAPACITY)
            _record_assignment(uow, actor, chat, agent, utcnow())
    return chat, last


def give_to_agent(
    uow: UnitOfWork, actor: Actor, session: ChatSession, agent_id: uuid.UUID
) -> SupportAgent:
    """Assign a locked, open session to an agent inside the caller's transaction."""
    agent = ensure_assignable(_lock_agents(session.support_agent_id, agent_id).get(agent_id))
    if not agent.has_free_slot:
        raise Conflict(MSG_AGENT_AT_CAPACITY)
    _record_assignment(uow, actor, session, agent, utcnow())
    return agent


def transfer_session(
    actor: Actor, session_id: uuid.UUID, agent_id: uuid.UUID, note: str | None
) -> tuple[ChatSession, ChatMessage | None]:
    """POST /api/chat/session/:id/transfer: the assigned agent or an admin hands the session
    to another agent, with an optional note for staff. Locks as assign_session does (the
    session, then both agents in id order), so counters stay exact under any concurrency.
    Checks: the session (404), the target (400), who asks (403), open (409), then capacity
    (409)."""
    with unit_of_work() as uow:
        chat = db.session.scalar(
            select(ChatSession).where(ChatSession.id == session_id).with_for_update()
        )
        access.ensure_visible(actor, chat)
        agents = _lock_agents(chat.support_agent_id, agent_id)
        target = ensure_assignable(agents.get(agent_id))
        current = agents.get(chat.support_agent_id) if chat.support_agent_id else None
        access.ensure_may_transfer(actor, current)
        ensure_open(chat)
        if current is not None and current.id == target.id:
            raise ValidationFailed.field("supportAgentId", MSG_ALREADY_THEIRS)
        if not target.has_free_slot:
            raise Conflict(MSG_AGENT_AT_CAPACITY)
        previous_status = chat.status
        _move(uow, chat, target, utcnow())
        transfer = ChatTransfer(
            id=uuid.uuid4(),
            session_id=chat.id,
            from_agent_id=current.id if current else None,
            to_agent_id=target.id,
            by_user_id=actor.user_id,
            note=note or None,
            created_at=utcnow(),
        )
        uow.db.add(transfer)
        uow.db.flush()
        audit.record(
            uow,
            actor,
            "session.transferred",
            target_type="chat_session",
            target_id=chat.id,
            session_id=chat.id,
            before={
                "supportAgentId": str(current.id) if current else None,
                "status": str(previous_status),
            },
            after={"supportAgentId": str(target.id), "status": "active", "note": transfer.note},
        )
        # The user learns the new agent (chat_assigned); only staff get the note.
        uow.emit(events.chat_assigned(chat, target, str(current.id) if current else None))
        if previous_status != SessionStatus.ACTIVE:
            uow.emit(events.chat_status_changed(chat, previous_status))
        uow.emit(events.chat_transferred(chat, transfer))
        if current is not None:
            request_auto_assignment(uow)  # the old agent has a free slot
        last = last_message_of(chat.id)
    return chat, last


def _move(uow: UnitOfWork, chat: ChatSession, agent: SupportAgent, now) -> None:
    """Write the session's new agent and the agent's `last_assigned_at` in one statement (the
    trigger moves the counters and refuses overshoot); both loaded objects take the new values
    as their committed state, so the ORM has nothing left to flush for them."""
    uow.db.execute(_move_statement(), {"session_id": chat.id, "agent_id": agent.id, "now": now})
    set_committed_value(chat, "support_agent_id", agent.id)
    set_committed_value(chat, "status", SessionStatus.ACTIVE)
    set_committed_value(chat, "assigned_at", now)
    set_committed_value(agent, "last_assigned_at", now)
    set_committed_value(agent, "updated_at", now)


@functools.cache
def _move_statement():
    sessions, agents = ChatSession.__table__, SupportAgent.__table__
    agent_id = bindparam("agent_id", type_=agents.c.id.type)
    now = bindparam("now", type_=agents.c.last_assigned_at.type)
    agent = (
        update(agents)
        .where(agents.c.id == agent_id)
        .values(last_assigned_at=now, updated_at=now)
        .cte("assigned_agent")
    )
    return (
        update(sessions)
        .where(sessions.c.id == bindparam("session_id", type_=sessions.c.id.type))
        .values(support_agent_id=agent_id, status=SessionStatus.ACTIVE, assigned_at=now)
        .add_cte(agent)
    )


def _record_assignment(
    uow: UnitOfWork, actor: Actor, session: ChatSession, agent: SupportAgent, now
) -> None:
    previous_agent = session.support_agent_id
    previous_status = session.status
    _move(uow, session, agent, now)
    _announce(uow, actor, session, agent, previous_agent, previous_status)


def _announce(
    uow: UnitOfWork,
    actor: Actor,
    session: ChatSession,
    agent: SupportAgent,
    previous_agent: uuid.UUID | None,
    previous_status: SessionStatus,
) -> None:
    """The audit row and the events of an assignment already written to the session."""
    audit.record(
        uow,
        actor,
        "session.assigned",
        target_type="chat_session",
        target_id=session.id,
        session_id=session.id,
        before={
            "supportAgentId": str(previous_agent) if previous_agent else None,
            "status": str(previous_status),
        },
        after={"supportAgentId": str(agent.id), "status": "active"},
    )
    uow.emit(events.chat_assigned(session, agent, str(previous_agent) if previous_agent else None))
    if previous_status != SessionStatus.ACTIVE:
        uow.emit(events.chat_status_changed(session, previous_status))


def _lock_agents(
    previous_id: uuid.UUID | None, agent_id: uuid.UUID
) -> dict[uuid.UUID, SupportAgent]:
    """Lock the session's current agent and the target agent, in id order; the existing ones
    by id, freshly read, each with `is_staff` set from its user's current role."""
    ids = sorted({agent_id, previous_id} - {None}, key=str)
    found = {}
    for agent, role in db.session.execute(_lock_agents_statement(), {"ids": ids}):
        agent.is_staff = role in SUPPORT_ROLES
        found[agent.id] = agent
    return found


@functools.cache
def _lock_agents_statement():
    return (
        select(SupportAgent, User.role)
        .join(User, User.id == SupportAgent.user_id)
        .where(SupportAgent.id.in_(bindparam("ids", expanding=True)))
        .order_by(SupportAgent.id)
        .with_for_update(of=SupportAgent)
        .execution_options(populate_existing=True)
    )


def ensure_assignable(agent: SupportAgent | None) -> SupportAgent:
    """An agent takes chats only while the profile is active and its user is still staff
    (support, admin or superadmin): a demoted user's leftover profile is never assigned."""
    if agent is None:
        raise ValidationFailed.field("supportAgentId", MSG_AGENT_NOT_FOUND)
    if not agent.is_staff:
        raise ValidationFailed.field("supportAgentId", MSG_AGENT_NOT_STAFF)
    if not agent.is_active:
        raise ValidationFailed.field("supportAgentId", MSG_AGENT_INACTIVE)
    return agent


# --- automatic assignment -----------------------------------------------------------------


def auto_assign_batch(batch_size: int = AUTO_ASSIGN_BATCH) -> int:
    """Take up to `batch_size` sessions from the head of the queue and give each to the active
    (and, with ASSIGN_ONLY_ONLINE, online) agent with the lowest load (current/max; ties →
    assigned least recently), never past capacity. Sessions and agents are claimed with SKIP
    LOCKED, so several workers can run this at once: each works on rows no other holds, and
    nothing is assigned twice."""
    with unit_of_work() as uow:
        queued = list(
            db.session.scalars(
                select(ChatSession)
                .where(ChatSession.status == SessionStatus.PENDING)
                .order_by(*QUEUE_ORDER)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        if not queued:
            return 0
        agents = list(
            db.session.scalars(
                select(SupportAgent)
                .join(User, User.id == SupportAgent.user_id)
                .where(
                    SupportAgent.can_take_chats,
                    *_routable(),
                    User.role.in_(SUPPORT_ROLES),  # a demoted user's profile is skipped
                )
                .with_for_update(of=SupportAgent, skip_locked=True)
            )
        )
        plan = _plan(queued, agents, _team_routes(queued, agents))
        if plan:
            _apply_plan(uow, plan, utcnow())
    return len(plan)


def _routable() -> list:
    """With ASSIGN_ONLY_ONLINE, only agents whose presence is online: availability online and
    a staff socket open somewhere (the ids come from Redis, fresher than the stored presence)."""
    if not current_app.config["ASSIGN_ONLY_ONLINE"]:
        return []
    return [SupportAgent.reachable(online_user_ids())]


@dataclass(frozen=True)
class _TeamRoutes:
    """Which agents may take which team's sessions: a team's session goes only to the team's
    members until it has waited TEAM_FALLBACK_MINUTES (0 = never), then to anyone."""

    members: dict[uuid.UUID, frozenset[uuid.UUID]]  # team id -> agent ids
    fallback_before: datetime | None  # queued before this: any agent may take it

    def allows(self, session: ChatSession, agent: SupportAgent) -> bool:
        if session.team_id is None:
            return True
        if self.fallback_before is not None and session.queued_at <= self.fallback_before:
            return True
        return agent.id in self.members.get(session.team_id, frozenset())


def _team_routes(queued: list[ChatSession], agents: list[SupportAgent]) -> _TeamRoutes:
    team_ids = {s.team_id for s in queued if s.team_id is not None}
    members: dict[uuid.UUID, set[uuid.UUID]] = {team_id: set() for team_id in team_ids}
    if team_ids and agents:
        rows = db.session.execute(
            select(team_members.c.team_id, team_members.c.agent_id).where(
                team_members.c.team_id.in_(team_ids),
                team_members.c.agent_id.in_([a.id for a in agents]),
            )
        )
        for team_id, agent_id in rows:
            members[team_id].add(agent_id)
    minutes = current_app.config.get("TEAM_FALLBACK_MINUTES") or 0
    return _TeamRoutes(
        members={team_id: frozenset(ids) for team_id, ids in members.items()},
        fallback_before=utcnow() - timedelta(minutes=minutes) if minutes else None,
    )


def _plan(queued: list[ChatSession], agents: list[SupportAgent], routes: _TeamRoutes):
    """Queue order × least-loaded agent first (ties: assigned least recently), each session to
    an agent its team routing allows; a session nobody may take now is left in the queue."""
    load = [_LoadEntry.of(agent) for agent in agents]
    heapq.heapify(load)
    now = utcnow()
    plan: list[tuple[ChatSession, SupportAgent]] = []
    for session in queued:
        if not load:
            break
        skipped: list[_LoadEntry] = []
        while load and not routes.allows(session, load[0].agent):
            skipped.append(heapq.heappop(load))
        if load:
            entry = heapq.heappop(load)
            plan.append((session, entry.agent))
            entry = entry.after_one_more(now)
            if entry.current < entry.agent.max_concurrent_chats:
                heapq.heappush(load, entry)
        for entry in skipped:
            heapq.heappush(load, entry)
    return plan


def _apply_plan(uow: UnitOfWork, plan: list[tuple[ChatSession, SupportAgent]], now) -> None:
    """Write a whole batch in three statements; the counter trigger sees one statement."""
    rows = values(
        column("id", UUID(as_uuid=True)), column("agent_id", UUID(as_uuid=True)), name="plan"
    ).data([(chat.id, agent.id) for chat, agent in plan])
    db.session.execute(
        update(ChatSession)
        .where(ChatSession.id == rows.c.id)
        .values(support_agent_id=rows.c.agent_id, status=SessionStatus.ACTIVE, assigned_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(SupportAgent)
        .where(SupportAgent.id.in_({agent.id for _, agent in plan}))
        .values(last_assigned_at=now),
        execution_options={"synchronize_session": False},
    )
    previous = {chat.id: chat.status for chat, _ in plan}
    refreshed = {
        s.id: s
        for s in db.session.scalars(
            select(ChatSession)
            .where(ChatSession.id.in_(previous))
            .execution_options(populate_existing=True)
        )
    }
    for chat, agent in plan:
        _announce(uow, SYSTEM_ACTOR, refreshed[chat.id], agent, None, previous[chat.id])


def auto_assign_all(batch_size: int = AUTO_ASSIGN_BATCH, max_batches: int = 50) -> int:
    """Run batches until the queue or the free capacity runs out."""
    total = 0
    for _ in range(max_batches):
        assigned = auto_assign_batch(batch_size)
        total += assigned
        if assigned < batch_size:
            break
    return total


@dataclass(order=True, frozen=True)
class _LoadEntry:
    load: float
    last_assigned: float
    agent_key: str
    current: int = field(compare=False)
    agent: SupportAgent = field(compare=False)

    @classmethod
    def of(cls, agent: SupportAgent) -> _LoadEntry:
        last = agent.last_assigned_at.timestamp() if agent.last_assigned_at else 0.0
        return cls(
            agent.current_active_chats / agent.max_concurrent_chats,
            last,
            str(agent.id),
            agent.current_active_chats,
            agent,
        )

    def after_one_more(self, now) -> _LoadEntry:
        current = self.current + 1
        return _LoadEntry(
            current / self.agent.max_concurrent_chats,
            now.timestamp(),
            self.agent_key,
            current,
            self.agent,
        )
