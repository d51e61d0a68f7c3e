"""/api/chat — the user side of chat, the support console and the queue (docs/contract.md)."""

from __future__ import annotations

import uuid

from flask import current_app

from supportapp.api.blueprint import Blueprint, ok
from supportapp.api.chat.schemas import (
    AssignSchema,
    DetailsEnvelope,
    MessageArrayEnvelope,
    MessageEnvelope,
    MessageSchema,
    NoteCreateSchema,
    NoteEnvelope,
    NotePageEnvelope,
    OpenSessionSchema,
    OwnSessionsQuerySchema,
    PrioritySchema,
    QueueEnvelope,
    QueuePositionEnvelope,
    QueueQuerySchema,
    RatingCreateSchema,
    RatingEnvelope,
    ReadResultEnvelope,
    SessionArrayEnvelope,
    SessionEnvelope,
    SessionListEnvelope,
    SessionsQuerySchema,
    StatsEnvelope,
    StatsQuerySchema,
    StatusPageQuerySchema,
    SupportMessageSchema,
    TransferRequestSchema,
)
from supportapp.api.common import PageQuerySchema, page_of, query_window
from supportapp.api.rate_limits import message_limit, opening_limits
from supportapp.auth.actor import current_actor
from supportapp.errors import MSG_SESSION_NOT_FOUND, ValidationFailed
from supportapp.models import (
    SUPPORT_ROLES,
    ChatMessage,
    ChatSession,
    Priority,
    Role,
    SessionStatus,
)
from supportapp.replicas import replica_reads
from supportapp.representations import (
    message_dict,
    note_dict,
    queue_entries,
    queue_position_dict,
    rating_dict,
    session_details_dict,
    session_dict,
    session_rows,
    session_summary,
)
from supportapp.services import assignment, dashboard, messages, notes, queue, ratings, sessions
from supportapp.services.agents import resolve_agent_id

bp = Blueprint(
    "chat",
    __name__,
    url_prefix="/api/chat",
    description="Chat sessions",
    path_ids={"session_id": MSG_SESSION_NOT_FOUND},
)

USER_ROLES = frozenset(Role)
MSG_SESSIONS = "Sesiones obtenidas exitosamente"
# Writing a message spends the caller's message budget (429) and needs an open session (409).
WRITE_MESSAGE = {
    "response": MessageEnvelope,
    "guards": (message_limit,),
    "errors": [409, 429],
    "status": 201,
}
MSG_SENT = "Mensaje enviado exitosamente"
# Changing a session answers it with its latest message; 409 when its state does not allow it.
CHANGE_SESSION = {"response": SessionEnvelope, "errors": [409]}


# --- user side --------------------------------------------------------------------------------


@bp.endpoint(
    "POST /sessions",
    SessionEnvelope,
    USER_ROLES,
    errors=[409, 429],
    guards=(opening_limits,),
    body_required=False,
    status=201,
    body=OpenSessionSchema,
)
def open_session(body: dict):
    """Open a chat session (status `pending`), optionally with its first message. At most
    MAX_OPEN_SESSIONS_PER_USER not closed (409), SESSION_OPEN_RATE_LIMIT openings (429); a
    first message also spends the message budget."""
    session, first = sessions.open_session(
        current_actor(),
        body.get("message"),
        team_id=body.get("teamId"),
        max_open=current_app.config["MAX_OPEN_SESSIONS_PER_USER"],
    )
    return ok(session_dict(session, first[-1:]), "Sesión creada exitosamente")


@bp.endpoint("GET /sessions", SessionListEnvelope, USER_ROLES, query=OwnSessionsQuerySchema)
def list_own_sessions(query: dict):
    """The caller's own sessions, most recent activity first."""
    filters = sessions.SessionFilters(
        user_id=current_actor().user_id, status=_status(query.get("status"))
    )
    page = sessions.list_sessions(filters, page=query["page"], limit=query["limit"])
    return ok(page_of("sessions", session_rows(page.rows), query, page.total), MSG_SESSIONS)


@bp.endpoint(
    "POST /session/<session_id>/message", auth=USER_ROLES, body=MessageSchema, **WRITE_MESSAGE
)
def send_user_message(body: dict, session_id: uuid.UUID):
    """The session's owner writes a message."""
    message = messages.send_user_message(current_actor(), session_id, body["message"])
    return ok(message_dict(message), MSG_SENT)


@bp.endpoint("GET /session/<session_id>/messages", MessageArrayEnvelope, USER_ROLES)
def list_messages(session_id: uuid.UUID):
    """The conversation, oldest first (the owner or any support role)."""
    found = messages.list_messages(current_actor(), session_id)
    return ok([message_dict(m) for m in found], "Mensajes obtenidos exitosamente")


@bp.endpoint("PATCH /session/<session_id>/close", auth=USER_ROLES, **CHANGE_SESSION)
def close_session(session_id: uuid.UUID):
    """Close a session: its owner, the assigned agent, or an admin."""
    changed = sessions.close_session(current_actor(), session_id)
    return _answer(changed, "Sesión cerrada exitosamente")


@bp.endpoint("PATCH /session/<session_id>/read", ReadResultEnvelope, USER_ROLES)
def mark_read(session_id: uuid.UUID):
    """Mark the other side's messages as read."""
    marked = sessions.mark_read(current_actor(), session_id)
    return ok({"marked": marked}, "Mensajes marcados como leídos")


@bp.endpoint(
    "POST /session/<session_id>/rating",
    RatingEnvelope,
    USER_ROLES,
    errors=[403, 409],
    status=201,
    body=RatingCreateSchema,
)
def rate_session(body: dict, session_id: uuid.UUID):
    """The session's user rates it (1–5, optional comment) once it is closed, only once."""
    rating = ratings.rate_session(current_actor(), session_id, body["score"], body["comment"])
    return ok(rating_dict(rating), "Calificación registrada exitosamente")


@bp.endpoint("GET /session/<session_id>/queue", QueuePositionEnvelope, USER_ROLES)
def queue_position(session_id: uuid.UUID):
    """Position of a pending session in the queue and an estimated wait."""
    found = queue.position_of(current_actor(), session_id)
    return ok(queue_position_dict(found), "Posición en la cola obtenida exitosamente")


# --- support console --------------------------------------------------------------------------


@bp.endpoint("GET /sessions/all", SessionListEnvelope, SUPPORT_ROLES, query=SessionsQuerySchema)
def list_all_sessions(query: dict):
    """Every session, filtered, sorted and paginated."""
    agent_filter = query.get("supportAgentId")
    if agent_filter is not None:
        agent_filter = resolve_agent_id(current_actor(), agent_filter)
    filters = sessions.SessionFilters(
        status=_status(query.get("status")),
        priority=Priority(query["priority"]) if query.get("priority") else None,
        support_agent_id=agent_filter,
        user_id=query.get("userId"),
        team_id=query.get("teamId"),
    )
    page = sessions.list_sessions(
        filters,
        sort_by=query["sortBy"],
        sort_order=query["sortOrder"],
        page=query["page"],
        limit=query["limit"],
    )
    return ok(page_of("sessions", session_rows(page.rows), query, page.total), MSG_SESSIONS)


@bp.endpoint(
    "GET /sessions/status/<status>",
    SessionArrayEnvelope,
    SUPPORT_ROLES,
    headers={"X-Total-Count": {"schema": {"type": "integer"}}},
    query=StatusPageQuerySchema,
)
def list_sessions_by_status(query: dict, status: str):
    """Sessions in one status, most recent activity first; total in X-Total-Count."""
    try:
        wanted = SessionStatus(status)
    except ValueError as exc:
        raise ValidationFailed.field(
            "status", "El estado debe ser active, closed o pending"
        ) from exc
    page = sessions.list_sessions(
        sessions.SessionFilters(status=wanted), page=query["page"], limit=query["limit"]
    )
    return ok(session_rows(page.rows), MSG_SESSIONS), 200, {"X-Total-Count": str(page.total)}


@bp.endpoint(
    "PATCH /session/<session_id>/assign", auth=SUPPORT_ROLES, body=AssignSchema, **CHANGE_SESSION
)
def assign_session(body: dict, session_id: uuid.UUID):
    """Give a session to an agent (`support` only to themselves)."""
    changed = assignment.assign_session(current_actor(), session_id, body["supportAgentId"])
    return _answer(changed, "Sesión asignada exitosamente")


@bp.endpoint(
    "POST /session/<session_id>/transfer",
    auth=SUPPORT_ROLES,
    body=TransferRequestSchema,
    **CHANGE_SESSION,
)
def transfer_session(body: dict, session_id: uuid.UUID):
    """Hand a session over to another agent, with an optional note (0–500 characters) that
    only staff see: the assigned agent or an admin. 409 when closed or the target is full."""
    changed = assignment.transfer_session(
        current_actor(), session_id, body["supportAgentId"], body["note"]
    )
    return _answer(changed, "Sesión transferida exitosamente")


@bp.endpoint(
    "POST /session/<session_id>/notes", NoteEnvelope, USER_ROLES, status=201, body=NoteCreateSchema
)
def add_note(body: dict, session_id: uuid.UUID):
    """An internal note (1–2000 characters) on a session, for staff only: its user gets 404."""
    note = notes.add_note(current_actor(), session_id, body["note"])
    return ok(note_dict(note), "Nota agregada exitosamente")


@bp.endpoint("GET /session/<session_id>/notes", NotePageEnvelope, USER_ROLES, query=PageQuerySchema)
def list_notes(query: dict, session_id: uuid.UUID):
    """A session's internal notes, oldest first (staff only: its user gets 404)."""
    found, total = notes.list_notes(current_actor(), session_id, query["page"], query["limit"])
    data = page_of("notes", [note_dict(n) for n in found], query, total)
    return ok(data, "Notas obtenidas exitosamente")


@bp.endpoint(
    "POST /session/<session_id>/support-message",
    auth=SUPPORT_ROLES,
    body=SupportMessageSchema,
    **WRITE_MESSAGE,
)
def send_support_message(body: dict, session_id: uuid.UUID):
    """Answer as support, with `message` or a response template's `templateId`."""
    message = messages.send_support_message(
        current_actor(), session_id, body["message"], template_id=body["templateId"]
    )
    return ok(message_dict(message), MSG_SENT)


@bp.endpoint("GET /stats", StatsEnvelope, SUPPORT_ROLES, query=StatsQuerySchema)
@replica_reads
def get_stats(query: dict):
    """Dashboard figures, optionally for sessions created between `from` and `to`;
    admins also get `advanced` (team response/resolution times, ratings, priorities, hours)."""
    timezone = current_app.config["STATS_TIMEZONE"]
    window = query_window(query)
    found = dashboard.dashboard(
        current_actor(), window, timezone=timezone, team_id=query.get("teamId")
    )
    return ok(
        {"figures": found.figures, "advanced": found.advanced},
        "Estadísticas obtenidas exitosamente",
    )


@bp.endpoint("GET /session/<session_id>/details", DetailsEnvelope, SUPPORT_ROLES)
def get_session_details(session_id: uuid.UUID):
    """The session with its full history, its user and its agent."""
    details = sessions.session_details(current_actor(), session_id)
    return ok(session_details_dict(details), "Detalles obtenidos exitosamente")


@bp.endpoint(
    "PATCH /session/<session_id>/priority",
    auth=SUPPORT_ROLES,
    body=PrioritySchema,
    **CHANGE_SESSION,
)
def change_priority(body: dict, session_id: uuid.UUID):
    """Change the priority of an open session."""
    changed = sessions.change_priority(current_actor(), session_id, Priority(body["priority"]))
    return _answer(changed, "Prioridad actualizada exitosamente")


@bp.endpoint("GET /queue", QueueEnvelope, SUPPORT_ROLES, query=QueueQuerySchema)
def get_queue(query: dict):
    """Pending sessions (of one team with `teamId`) in the order they will be assigned, with
    their position."""
    rows, total = queue.queue_page(query["page"], query["limit"], query.get("teamId"))
    return ok(page_of("sessions", queue_entries(rows), query, total), "Cola obtenida exitosamente")


def _answer(changed: tuple[ChatSession, ChatMessage | None], message: str) -> dict:
    """The answer of a change to a session: the session with its latest message."""
    session, last = changed
    return ok(session_summary(session, last), message)


def _status(value: str | None) -> SessionStatus | None:
    return SessionStatus(value) if value else None
