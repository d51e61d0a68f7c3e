"""A hand-built support history with known timings, shared by the metrics and advanced-stats
tests. Rows are inserted as the services would write them (response_seconds on the reply that
ended a wait, first_response_seconds on the first reply since creation or requeue), so the
expected figures below can be checked by hand.

    session created (UTC)      prio    agent  status  closed   replies (seconds)            rating
    S1 2024-05-10 10:00        high    A      closed  10:30    A first 120/resp 120; A resp 300   4
    S2 2024-05-10 10:40        medium  A      closed  11:40    A first 240/resp 240               5
    S3 2024-05-11 09:00        low     A      active  -        requeued 09:30; A first 300 /
                                                               resp 2100 at 09:35; A plain 09:36  -
    S4 2024-05-11 14:00        high    B      closed  16:00    B first 600/resp 600               3
    S5 2024-05-12 08:00        medium  B      closed  08:20    B first 60/resp 60; A plain 08:05  4
    S6 2024-05-12 20:00        high    -      pending -        admin without agent profile:
                                                               first 180/resp 180                 -
    S7 2024-04-30 10:00        low     A      closed  10:10    A first 30/resp 30                 1

Agent C (Carla) has no activity at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask

from supportapp.extensions import db
from supportapp.models import (
    ChatSession,
    Priority,
    Role,
    Sender,
    SessionRating,
    SessionStatus,
    SupportAgent,
    User,
)
from tests.helpers import add_message


@dataclass
class Seeded:
    agent_a: str
    agent_b: str
    agent_c: str
    sessions: dict[str, str]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


def seed(app: Flask, agent_b_user_id: str) -> Seeded:
    """Insert the history above; agent B belongs to the (already registered) user given."""
    with app.app_context():
        owner = _user("Dueña", Role.USER)
        staff_without_profile = _user("Admin sin perfil", Role.ADMIN)
        agent_a = _agent(_user("Ana", Role.SUPPORT).id, "Ana")
        agent_b = _agent(uuid.UUID(agent_b_user_id), "Bruno")
        agent_c = _agent(_user("Carla", Role.SUPPORT).id, "Carla")
        db.session.flush()
        sessions = {}

        def session(name, created, priority, agent, status, closed=None, requeued=None):
            row = ChatSession(
                id=uuid.uuid4(),
                user_id=owner.id,
                support_agent_id=agent.id if agent else None,
                status=SessionStatus(status),
                priority=Priority(priority),
                created_at=_at(created),
                last_message_at=_at(created),
                assigned_at=_at(created) if agent else None,
                closed_at=_at(closed) if closed else None,
                requeued_at=_at(requeued) if requeued else None,
            )
            db.session.add(row)
            db.session.flush()
            sessions[name] = row
            return row

        def user_says(row, at):
            add_message(row.id, Sender.USER, _at(at), "Ayuda", sender_user_id=owner.id)

        def reply(row, at, agent, first=None, response=None, sender_user=None):
            add_message(
                row.id,
                Sender.SUPPORT,
                _at(at),
                "Respuesta",
                sender_user_id=sender_user.id if sender_user else agent.user_id,
                agent_id=agent.id if agent else None,
                first_response_seconds=first,
                response_seconds=response,
            )

        def rating(row, score):
            db.session.add(
                SessionRating(
                    session_id=row.id,
                    user_id=owner.id,
                    agent_id=row.support_agent_id,
                    score=score,
                    created_at=row.closed_at + timedelta(minutes=1),
                )
            )

        s1 = session("S1", "2024-05-10T10:00:00", "high", agent_a, "closed", "2024-05-10T10:30:00")
        user_says(s1, "2024-05-10T10:00:00")
        reply(s1, "2024-05-10T10:02:00", agent_a, first=120, response=120)
        user_says(s1, "2024-05-10T10:10:00")
        reply(s1, "2024-05-10T10:15:00", agent_a, response=300)
        rating(s1, 4)

        s2 = session(
            "S2", "2024-05-10T10:40:00", "medium", agent_a, "closed", "2024-05-10T11:40:00"
        )
        user_says(s2, "2024-05-10T10:40:00")
        reply(s2, "2024-05-10T10:44:00", agent_a, first=240, response=240)
        rating(s2, 5)

        s3 = session(
            "S3", "2024-05-11T09:00:00", "low", agent_a, "active", requeued="2024-05-11T09:30:00"
        )
        user_says(s3, "2024-05-11T09:00:00")
        reply(s3, "2024-05-11T09:35:00", agent_a, first=300, response=2100)
        reply(s3, "2024-05-11T09:36:00", agent_a)

        s4 = session("S4", "2024-05-11T14:00:00", "high", agent_b, "closed", "2024-05-11T16:00:00")
        user_says(s4, "2024-05-11T14:00:00")
        reply(s4, "2024-05-11T14:10:00", agent_b, first=600, response=600)
        rating(s4, 3)

        s5 = session(
            "S5", "2024-05-12T08:00:00", "medium", agent_b, "closed", "2024-05-12T08:20:00"
        )
        user_says(s5, "2024-05-12T08:00:00")
        reply(s5, "2024-05-12T08:01:00", agent_b, first=60, response=60)
        reply(s5, "2024-05-12T08:05:00", agent_a)
        rating(s5, 4)

        s6 = session("S6", "2024-05-12T20:00:00", "high", None, "pending")
        user_says(s6, "2024-05-12T20:00:00")
        reply(
            s6,
            "2024-05-12T20:03:00",
            None,
            first=180,
            response=180,
            sender_user=staff_without_profile,
        )

        s7 = session("S7", "2024-04-30T10:00:00", "low", agent_a, "closed", "2024-04-30T10:10:00")
        user_says(s7, "2024-04-30T10:00:00")
        reply(s7, "2024-04-30T10:00:30", agent_a, first=30, response=30)
        rating(s7, 1)

        db.session.commit()
        return Seeded(
            agent_a=str(agent_a.id),
            agent_b=str(agent_b.id),
            agent_c=str(agent_c.id),
            sessions={name: str(row.id) for name, row in sessions.items()},
        )


def _user(name: str, role: Role) -> User:
    user = User(id=uuid.uuid4(), email=f"{uuid.uuid4().hex[:10]}@example.com", name=name, role=role)
    db.session.add(user)
    db.session.flush()
    return user


def _agent(user_id: uuid.UUID, name: str) -> SupportAgent:
    agent = SupportAgent(id=uuid.uuid4(), user_id=user_id, name=name, email=f"{name}@example.com")
    db.session.add(agent)
    db.session.flush()
    return agent


NO_TIMES = {"average": None, "median": None, "p90": None}


# No SLA targets in this history: nothing to meet.
NO_SLA = {"firstResponse": None, "resolution": None}


def times(average, median, p90) -> dict:
    return {"average": average, "median": median, "p90": p90}


# Sessions created in May 2024 (from=2024-05-01&to=2024-05-31), computed by hand; minutes.
MAY_A = {
    "chatsHandled": 3,  # S1, S2, S3
    "activeChats": 1,
    "closedChats": 2,
    "messagesSent": 6,  # S1 ×2, S2, S3 ×2, S5
    # [120, 240, 300] s: mean 220 s; p90 = 240 + 0.8·60 = 288 s
    "firstResponseTime": times(3.7, 4.0, 4.8),
    # [120, 240, 300, 2100] s: mean 690 s; median 270 s; p90 = 300 + 0.7·1800 = 1560 s
    "responseTime": times(11.5, 4.5, 26.0),
    # [30, 60] min: p90 = 30 + 0.9·30
    "resolutionTime": times(45.0, 45.0, 57.0),
    "averageRating": 4.5,
    "ratingsCount": 2,
    "csat": 100.0,
    "slaMet": NO_SLA,
}
MAY_B = {
    "chatsHandled": 2,  # S4, S5
    "activeChats": 0,
    "closedChats": 2,
    "messagesSent": 2,
    # [60, 600] s: mean 330 s; p90 = 60 + 0.9·540 = 546 s
    "firstResponseTime": times(5.5, 5.5, 9.1),
    "responseTime": times(5.5, 5.5, 9.1),
    # [20, 120] min: p90 = 20 + 0.9·100
    "resolutionTime": times(70.0, 70.0, 110.0),
    "averageRating": 3.5,
    "ratingsCount": 2,
    "csat": 50.0,
    "slaMet": NO_SLA,
}
# The time and rating figures of nobody (an agent or a team without sessions in the range).
NOTHING = {
    "firstResponseTime": NO_TIMES,
    "responseTime": NO_TIMES,
    "resolutionTime": NO_TIMES,
    "averageRating": None,
    "ratingsCount": 0,
    "csat": None,
    "slaMet": NO_SLA,
}
IDLE = {"chatsHandled": 0, "activeChats": 0, "closedChats": 0, "messagesSent": 0, **NOTHING}
# Every session ever (no from/to): A also has S7.
ALL_A = {
    "chatsHandled": 4,
    "activeChats": 1,
    "closedChats": 3,
    "messagesSent": 7,
    # [30, 120, 240, 300] s: mean 172.5 s; median 180 s; p90 = 240 + 0.7·60 = 282 s
    "firstResponseTime": times(2.9, 3.0, 4.7),
    # [30, 120, 240, 300, 2100] s: mean 558 s; median 240 s; p90 = 300 + 0.6·1800 = 1380 s
    "responseTime": times(9.3, 4.0, 23.0),
    # [10, 30, 60] min: mean 33.33; p90 = 30 + 0.8·30
    "resolutionTime": times(33.3, 30.0, 54.0),
    "averageRating": 3.33,  # (4 + 5 + 1) / 3
    "ratingsCount": 3,
    "csat": 66.7,  # 2 of 3
    "slaMet": NO_SLA,
}
# The whole team, May 2024: every reply, including the admin without an agent profile (S6).
MAY_TEAM = {
    # [60, 120, 180, 240, 300, 600] s: mean 250 s; median 210 s; p90 = 300 + 0.5·300 = 450 s
    "firstResponseTime": times(4.2, 3.5, 7.5),
    # [60, 120, 180, 240, 300, 600, 2100] s: mean 514.3 s; p90 = 600 + 0.4·1500 = 1200 s
    "responseTime": times(8.6, 4.0, 20.0),
    # [20, 30, 60, 120] min: p90 = 60 + 0.7·60
    "resolutionTime": times(57.5, 45.0, 102.0),
    "averageRating": 4.0,  # 4, 5, 3, 4
    "ratingsCount": 4,
    "csat": 75.0,
    "slaMet": NO_SLA,
    "byPriority": {"low": 1, "medium": 2, "high": 3},
    "busiestHours": [
        {"hour": 10, "sessions": 2},
        {"hour": 8, "sessions": 1},
        {"hour": 9, "sessions": 1},
        {"hour": 14, "sessions": 1},
        {"hour": 20, "sessions": 1},
    ],
}
