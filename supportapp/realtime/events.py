"""The event catalogue: one builder per event name, with the data shape clients receive.

Session events go to support staff and to the session's owner; agent events, transfers and
internal notes only to staff (no user id: no user's socket or replay ever matches them).
Notices (`resync_required`) are not stream events: one socket gets them, with no id, never
replayed.
"""

from __future__ import annotations

from typing import Any

from supportapp.models import (
    ChatMessage,
    ChatNote,
    ChatSession,
    ChatTransfer,
    SessionRating,
    SessionStatus,
    SupportAgent,
)
from supportapp.models.chat import Priority
from supportapp.realtime.bus import Event
from supportapp.representations import (
    agent_dict,
    message_dict,
    note_dict,
    rating_dict,
    session_dict,
    transfer_dict,
)


def resync_required(reason: str) -> dict[str, Any]:
    """Tells a client that events may be missing: refetch over REST what it shows."""
    return {"event": "resync_required", "data": {"reason": reason}}


def _for_session(name: str, session: ChatSession, **data) -> Event:
    return Event(
        name=name, data={"session": session_dict(session), **data}, user_id=str(session.user_id)
    )


def chat_created(session: ChatSession, messages: list[ChatMessage]) -> Event:
    return Event(
        name="chat_created",
        data={"session": session_dict(session, messages[-1:])},
        user_id=str(session.user_id),
    )


def chat_message_received(session: ChatSession, message: ChatMessage) -> Event:
    return Event(
        name="chat_message_received",
        data={"message": message_dict(message), "session": session_dict(session, [message])},
        user_id=str(session.user_id),
    )


def chat_assigned(
    session: ChatSession, agent: SupportAgent, previous_agent_id: str | None
) -> Event:
    return _for_session(
        "chat_assigned",
        session,
        agent={"id": str(agent.id), "name": agent.name},
        previousAgentId=previous_agent_id,
    )


def chat_status_changed(session: ChatSession, previous: SessionStatus) -> Event:
    return _for_session("chat_status_changed", session, previousStatus=str(previous))


def chat_priority_changed(session: ChatSession, previous: Priority) -> Event:
    return _for_session("chat_priority_changed", session, previousPriority=str(previous))


def chat_rated(session: ChatSession, rating: SessionRating) -> Event:
    return _for_session("chat_rated", session, rating=rating_dict(rating))


def messages_read(session: ChatSession, sender: str, count: int) -> Event:
    return Event(
        name="messages_read",
        data={"sessionId": str(session.id), "sender": sender, "count": count},
        user_id=str(session.user_id),
    )


def agent_status_changed(agent: SupportAgent) -> Event:
    return Event(name="agent_status_changed", data={"agent": agent_dict(agent)})


def sla_notice(session: ChatSession, kind: str, target: str) -> Event:
    """`sla_warning` (80 % of the time used) or `sla_breached`; `target` is `firstResponse` or
    `resolution`. Staff only."""
    return Event(
        name="sla_breached" if kind == "breach" else "sla_warning",
        data={"session": session_dict(session), "target": target},
        user_id=None,
    )


def user_erased(user_id: str, session_ids: list[str], reason: str) -> Event:
    """Staff only: a customer's data was erased (`reason`: request, self, guest_cleanup)."""
    return Event(
        name="user_erased",
        data={"userId": user_id, "sessionIds": session_ids, "reason": reason},
    )


def chat_transferred(session: ChatSession, transfer: ChatTransfer) -> Event:
    data = transfer_dict(transfer)
    return Event(
        name="chat_transferred",
        data={
            "session": session_dict(session),
            "fromAgentId": data["fromAgentId"],
            "toAgentId": data["toAgentId"],
            "note": data["note"],
        },
    )


def chat_note_added(note: ChatNote) -> Event:
    return Event(name="chat_note_added", data={"note": note_dict(note)})
