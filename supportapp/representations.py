"""The camelCase shapes of the contract's entities (docs/contract.md), shared by REST responses
and WebSocket events."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from supportapp.models import (
    AuditLog,
    ChatMessage,
    ChatNote,
    ChatSession,
    ChatTransfer,
    PushSubscription,
    ResponseTemplate,
    SessionRating,
    SupportAgent,
    User,
)
from supportapp.models.base import utcnow
from supportapp.services.attachment_links import signed_url
from supportapp.timestamps import iso

if TYPE_CHECKING:
    from supportapp.auth.actor import Actor
    from supportapp.services.data_rights import UserExport
    from supportapp.services.queue import QueuePosition
    from supportapp.services.search import SearchHit
    from supportapp.services.sessions import SessionDetails


def message_dict(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": str(message.id),
        "sessionId": str(message.session_id),
        "message": message.message,
        "sender": str(message.sender),
        "timestamp": iso(message.timestamp),
        "isRead": message.is_read,
        "attachments": [attachment_dict(a) for a in message.attachments or ()],
    }


def attachment_dict(summary: dict[str, Any]) -> dict[str, Any]:
    """An attachment as a message shows it (the summary stored with the message), with a
    signed download link that works without a header."""
    return {
        "id": summary["id"],
        "filename": summary["filename"],
        "contentType": summary["contentType"],
        "size": summary["size"],
        "url": signed_url(summary["id"]),
    }


def session_dict(
    session: ChatSession,
    messages: list[ChatMessage] | None = None,
    *,
    include_unread: bool = False,
) -> dict[str, Any]:
    """A ChatSession with every field of the contract. `messages` is the full history in details
    and the most recent message (0 or 1 item) everywhere else."""
    data: dict[str, Any] = {
        "id": str(session.id),
        "userId": str(session.user_id),
        "supportAgentId": str(session.support_agent_id) if session.support_agent_id else None,
        "status": str(session.status),
        "priority": str(session.priority),
        "assignedAt": iso(session.assigned_at),
        "createdAt": iso(session.created_at),
        "lastMessageAt": iso(session.last_message_at),
        "closedAt": iso(session.closed_at),
        "messages": [message_dict(m) for m in (messages or [])],
        "teamId": str(session.team_id) if session.team_id else None,
        "outsideBusinessHours": session.outside_business_hours,
        "sla": sla_view(session),
    }
    if include_unread:
        data["unreadCount"] = session.unread_user_count
    return data


def session_summary(
    session: ChatSession, last: ChatMessage | None, *, include_unread: bool = False
) -> dict[str, Any]:
    """A ChatSession as lists and single-session answers show it: with its latest message."""
    return session_dict(session, [last] if last else [], include_unread=include_unread)


def session_rows(rows: Iterable[tuple[ChatSession, ChatMessage | None]]) -> list[dict[str, Any]]:
    """(session, latest message) rows of a session list, with their unread counts."""
    return [session_summary(s, m, include_unread=True) for s, m in rows]


def queue_entries(rows: Iterable[tuple[int, ChatSession, ChatMessage | None]]) -> list[dict]:
    """(position, session, latest message) rows of the queue."""
    return [{**session_summary(s, m), "position": position} for position, s, m in rows]


def queue_position_dict(found: QueuePosition) -> dict[str, Any]:
    return {
        "position": found.position,
        "total": found.total,
        "estimatedWaitMinutes": found.estimated_wait_minutes,
    }


def session_details_dict(details: SessionDetails) -> dict[str, Any]:
    """The session with its full history, its customer (with their history's figures), its
    agent, its rating and its transfers."""
    user, agent, rating = details.user, details.agent, details.rating
    return {
        "session": session_dict(details.session, details.messages),
        "user": {
            "id": str(user.id),
            "email": user.email,
            "name": user.name,
            "isGuest": user.is_guest,
            "sessionsCount": details.user_sessions_count,
            "lastSessionAt": iso(details.user_last_session_at),
        }
        if user
        else None,
        "agent": {"id": str(agent.id), "name": agent.name} if agent else None,
        "rating": {
            "score": rating.score,
            "comment": rating.comment,
            "createdAt": iso(rating.created_at),
        }
        if rating
        else None,
        "transfers": [transfer_dict(t) for t in details.transfers],
    }


def search_hit_dict(hit: SearchHit) -> dict[str, Any]:
    return {
        "session": session_summary(hit.session, hit.last_message),
        "message": message_dict(hit.message),
        "highlight": hit.highlight,
    }


def push_subscription_dict(subscription: PushSubscription) -> dict[str, Any]:
    return {
        "id": str(subscription.id),
        "endpoint": subscription.endpoint,
        "createdAt": iso(subscription.created_at),
    }


def sla_view(session: Any, now: datetime | None = None) -> dict[str, Any]:
    """The `sla` block of a ChatSession (services/sla.py computes the due times): a target is
    breached once its due time passed without the first support reply (resp. the close)."""
    now = now or utcnow()
    first_due, resolution_due = session.first_response_due_at, session.resolution_due_at
    replied = session.first_response_at or session.closed_at
    return {
        "firstResponseDueAt": iso(first_due),
        "resolutionDueAt": iso(resolution_due),
        "firstResponseBreached": first_due is not None and (replied or now) > first_due,
        "resolutionBreached": resolution_due is not None
        and (session.closed_at or now) > resolution_due,
    }


def agent_dict(agent: SupportAgent) -> dict[str, Any]:
    return {
        "id": str(agent.id),
        "userId": str(agent.user_id),
        "name": agent.name,
        "email": agent.email,
        "isActive": agent.is_active,
        "maxConcurrentChats": agent.max_concurrent_chats,
        "currentActiveChats": agent.current_active_chats,
        "presence": str(agent.presence),
        "presenceChangedAt": iso(agent.presence_changed_at),
        "createdAt": iso(agent.created_at),
        "updatedAt": iso(agent.updated_at),
    }


def token_info_dict(actor: Actor, claims: dict[str, Any]) -> dict[str, Any]:
    """What an access token says: its user, role and expiry (Unix time)."""
    return {"userId": str(actor.user_id), "role": str(actor.role), "expiresAt": claims.get("exp")}


def user_dict(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "role": str(user.role),
        "isGuest": user.is_guest,
    }


def export_dict(export: UserExport) -> dict[str, Any]:
    """The data-rights export: everything held about one customer, as one JSON document."""
    user = export.user
    return {
        "exportedAt": iso(datetime.now(UTC)),
        "user": {
            **user_dict(user),
            "externalId": user.external_id,
            "createdAt": iso(user.created_at),
            "updatedAt": iso(user.updated_at),
            "lastActiveAt": iso(user.last_active_at),
        },
        "sessions": [
            {
                **session_dict(session, export.messages.get(session.id, [])),
                "contentErasedAt": iso(session.content_erased_at),
            }
            for session in export.sessions
        ],
        "ratings": [rating_dict(r) for r in export.ratings],
        "attachments": export.attachments,
        "auditLogs": [audit_dict(a) for a in export.audit_rows],
    }


def audit_dict(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "actorId": str(entry.actor_id) if entry.actor_id else None,
        "actorRole": entry.actor_role,
        "action": entry.action,
        "targetType": entry.target_type,
        "targetId": entry.target_id,
        "sessionId": str(entry.session_id) if entry.session_id else None,
        "before": entry.before,
        "after": entry.after,
        "ip": entry.ip,
        "requestId": entry.request_id,
        "createdAt": iso(entry.created_at),
    }


def template_dict(template: ResponseTemplate) -> dict[str, Any]:
    return {
        "id": str(template.id),
        "title": template.title,
        "content": template.content,
        "shortcut": template.shortcut,
        "category": template.category,
        "isShared": template.is_shared,
        "createdBy": str(template.created_by) if template.created_by else None,
        "createdAt": iso(template.created_at),
        "updatedAt": iso(template.updated_at),
    }


def rating_dict(rating: SessionRating) -> dict[str, Any]:
    return {
        "id": str(rating.id),
        "sessionId": str(rating.session_id),
        "userId": str(rating.user_id),
        "agentId": str(rating.agent_id) if rating.agent_id else None,
        "score": rating.score,
        "comment": rating.comment,
        "createdAt": iso(rating.created_at),
    }


def team_dict(view: Any) -> dict[str, Any]:
    """A team (services/teams.TeamView) with its member agent ids."""
    team = view.team
    return {
        "id": str(team.id),
        "name": team.name,
        "description": team.description,
        "isPublic": team.is_public,
        "businessHours": team.business_hours,
        "agentIds": [str(agent_id) for agent_id in view.agent_ids],
        "createdAt": iso(team.created_at),
        "updatedAt": iso(team.updated_at),
    }


def availability_dict(found: Any, *, team: bool = False) -> dict[str, Any]:
    """services/availability.Availability as the widget reads it: for one team in the team
    list (`team=True`), or as the availability of support or a team."""
    if team:
        return {
            "id": str(found.team.id),
            "name": found.team.name,
            "open": found.open,
            "nextOpenAt": iso(found.next_open_at),
            "estimatedWaitMinutes": found.estimated_wait_minutes,
        }
    return {
        "open": found.open,
        "nextOpenAt": iso(found.next_open_at),
        "agentsOnline": found.agents_online,
        "estimatedWaitMinutes": found.estimated_wait_minutes,
    }


def transfer_dict(transfer: ChatTransfer) -> dict[str, Any]:
    return {
        "fromAgentId": str(transfer.from_agent_id) if transfer.from_agent_id else None,
        "toAgentId": str(transfer.to_agent_id) if transfer.to_agent_id else None,
        "byUserId": str(transfer.by_user_id) if transfer.by_user_id else None,
        "note": transfer.note,
        "createdAt": iso(transfer.created_at),
    }


def note_dict(note: ChatNote) -> dict[str, Any]:
    return {
        "id": str(note.id),
        "sessionId": str(note.session_id),
        "authorId": str(note.author_id) if note.author_id else None,
        "authorName": note.author_name,
        "note": note.note,
        "createdAt": iso(note.created_at),
    }
