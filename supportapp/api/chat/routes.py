"""/api/chat — the user side of chat, the support console and the queue (docs/contract.md)."""

from __future__ import annotations

from flask import current_app

from supportapp.analytics import metrics, stats
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
from supportapp.api.common import PageQuerySchema, pagination, parse_date_range, parse_id
from supportapp.api.rate_limits import message_limit, opening_limits
from supportapp.auth.actor import current_actor
from supportapp.errors import MSG_SESSION_NOT_FOUND, ValidationFailed
from supportapp.models import SUPPORT_ROLES, Priority, Role, SessionStatus
from supportapp.replicas import replica_reads
from supportapp.representations import (
    iso,
    message_dict,
    note_dict,
    rating_dict,
    session_dict,
    transfer_dict,
)
from supportapp.services import assignment, messages, notes, queue, ratings, sessions
from supportapp.services.agents import my_agent

bp = Blueprint("chat", __name__, url_prefix="/api/chat", description="Chat sessions")

USER_ROLES = frozenset(Role)
MSG_SESSIONS = "Sesiones obtenidas exitosamente"


def _session_id(raw: str):
    return parse_id(raw, MSG_SESSION_NOT_FOUND)


def _page_of(page: sessions.SessionPage, page_no: int, limit: int) -> dict:
    return {
        "sessions": [session_dict(s, [m] if m else [], include_unread=True) for s, m in page.rows],
        "pagination": pagination(page_no, limit, page.total),
    }


# --- user side --------------------------------------------------------------------------------


@bp.post("/sessions")
@bp.auth(USER_ROLES)
@opening_limits
@bp.arguments(OpenSessionSchema, required=False)
@bp.response(201, SessionEnvelope)
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
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


@bp.get("/sessions")
@bp.auth(USER_ROLES)
@bp.arguments(OwnSessionsQuerySchema, location="query")
@bp.response(200, SessionListEnvelope)
def list_own_sessions(query: dict):
    """The caller's own sessions, most recent activity first."""
    filters = sessions.SessionFilters(
        user_id=current_actor().user_id, status=_status(query.get("status"))
    )
    page = sessions.list_sessions(filters, page=query["page"], limit=query["limit"])
    return ok(_page_of(page, query["page"], query["limit"]), MSG_SESSIONS)


@bp.post("/session/<session_id>/message")
@bp.auth(USER_ROLES)
@message_limit
@bp.arguments(MessageSchema)
@bp.response(201, MessageEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def send_user_message(body: dict, session_id: str):
    """The session's owner writes a message."""
    message = messages.send_user_message(current_actor(), _session_id(session_id), body["message"])
    return ok(message_dict(message), "Mensaje enviado exitosamente")


@bp.get("/session/<session_id>/messages")
@bp.auth(USER_ROLES)
@bp.response(200, MessageArrayEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def list_messages(session_id: str):
    """The conversation, oldest first (the owner or any support role)."""
    found = messages.list_messages(current_actor(), _session_id(session_id))
    return ok([message_dict(m) for m in found], "Mensajes obtenidos exitosamente")


@bp.patch("/session/<session_id>/close")
@bp.auth(USER_ROLES)
@bp.response(200, SessionEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def close_session(session_id: str):
    """Close a session: its owner, the assigned agent, or an admin."""
    session, last = sessions.close_session(current_actor(), _session_id(session_id))
    return ok(_with_last_message(session, last), "Sesión cerrada exitosamente")


@bp.patch("/session/<session_id>/read")
@bp.auth(USER_ROLES)
@bp.response(200, ReadResultEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def mark_read(session_id: str):
    """Mark the other side's messages as read."""
    marked = sessions.mark_read(current_actor(), _session_id(session_id))
    return ok({"marked": marked}, "Mensajes marcados como leídos")


@bp.post("/session/<session_id>/rating")
@bp.auth(USER_ROLES)
@bp.arguments(RatingCreateSchema)
@bp.response(201, RatingEnvelope)
@bp.alt_response(403, response="FORBIDDEN")
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def rate_session(body: dict, session_id: str):
    """The session's user rates it (1–5, optional comment) once it is closed, only once."""
    rating = ratings.rate_session(
        current_actor(), _session_id(session_id), body["score"], body["comment"]
    )
    return ok(rating_dict(rating), "Calificación registrada exitosamente")


@bp.get("/session/<session_id>/queue")
@bp.auth(USER_ROLES)
@bp.response(200, QueuePositionEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def queue_position(session_id: str):
    """Position of a pending session in the queue and an estimated wait."""
    found = queue.position_of(current_actor(), _session_id(session_id))
    return ok(
        {
            "position": found.position,
            "total": found.total,
            "estimatedWaitMinutes": found.estimated_wait_minutes,
        },
        "Posición en la cola obtenida exitosamente",
    )


# --- support console --------------------------------------------------------------------------


@bp.get("/sessions/all")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(SessionsQuerySchema, location="query")
@bp.response(200, SessionListEnvelope)
def list_all_sessions(query: dict):
    """Every session, filtered, sorted and paginated."""
    agent_filter = query.get("supportAgentId")
    if agent_filter == "me":
        agent_filter = my_agent(current_actor()).id
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
    return ok(_page_of(page, query["page"], query["limit"]), MSG_SESSIONS)


@bp.get("/sessions/status/<status>")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(StatusPageQuerySchema, location="query")
@bp.response(200, SessionArrayEnvelope, headers={"X-Total-Count": {"schema": {"type": "integer"}}})
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
    data = [session_dict(s, [m] if m else [], include_unread=True) for s, m in page.rows]
    return ok(data, MSG_SESSIONS), 200, {"X-Total-Count": str(page.total)}


@bp.patch("/session/<session_id>/assign")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(AssignSchema)
@bp.response(200, SessionEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def assign_session(body: dict, session_id: str):
    """Give a session to an agent (`support` only to themselves)."""
    session, last = assignment.assign_session(
        current_actor(), _session_id(session_id), body["supportAgentId"]
    )
    return ok(_with_last_message(session, last), "Sesión asignada exitosamente")


@bp.post("/session/<session_id>/transfer")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(TransferRequestSchema)
@bp.response(200, SessionEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def transfer_session(body: dict, session_id: str):
    """Hand a session over to another agent, with an optional note (0–500 characters) that
    only staff see: the assigned agent or an admin. 409 when closed or the target is full."""
    session, last = assignment.transfer_session(
        current_actor(), _session_id(session_id), body["supportAgentId"], body["note"]
    )
    return ok(_with_last_message(session, last), "Sesión transferida exitosamente")


@bp.post("/session/<session_id>/notes")
@bp.auth(USER_ROLES)
@bp.arguments(NoteCreateSchema)
@bp.response(201, NoteEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def add_note(body: dict, session_id: str):
    """An internal note (1–2000 characters) on a session, for staff only: its user gets 404."""
    note = notes.add_note(current_actor(), _session_id(session_id), body["note"])
    return ok(note_dict(note), "Nota agregada exitosamente")


@bp.get("/session/<session_id>/notes")
@bp.auth(USER_ROLES)
@bp.arguments(PageQuerySchema, location="query")
@bp.response(200, NotePageEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def list_notes(query: dict, session_id: str):
    """A session's internal notes, oldest first (staff only: its user gets 404)."""
    found, total = notes.list_notes(
        current_actor(), _session_id(session_id), query["page"], query["limit"]
    )
    return ok(
        {
            "notes": [note_dict(n) for n in found],
            "pagination": pagination(query["page"], query["limit"], total),
        },
        "Notas obtenidas exitosamente",
    )


@bp.post("/session/<session_id>/support-message")
@bp.auth(SUPPORT_ROLES)
@message_limit
@bp.arguments(SupportMessageSchema)
@bp.response(201, MessageEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
@bp.alt_response(429, response="TOO_MANY_REQUESTS")
def send_support_message(body: dict, session_id: str):
    """Answer as support, with `message` or a response template's `templateId`."""
    message = messages.send_support_message(
        current_actor(), _session_id(session_id), body["message"], template_id=body["templateId"]
    )
    return ok(message_dict(message), "Mensaje enviado exitosamente")


@bp.get("/stats")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(StatsQuerySchema, location="query")
@bp.response(200, StatsEnvelope)
@replica_reads
def get_stats(query: dict):
    """Dashboard figures, optionally for sessions created between `from` and `to`;
    admins also get `advanced` (team response/resolution times, ratings, priorities, hours)."""
    timezone = current_app.config["STATS_TIMEZONE"]
    window = parse_date_range(query.get("from_"), query.get("to"), timezone)
    figures = stats.chat_stats(window, timezone=timezone, team_id=query.get("teamId"))
    advanced = None
    if current_actor().is_admin:
        advanced = metrics.team_metrics(window, timezone=timezone)
    return ok({"figures": figures, "advanced": advanced}, "Estadísticas obtenidas exitosamente")


@bp.get("/session/<session_id>/details")
@bp.auth(SUPPORT_ROLES)
@bp.response(200, DetailsEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
def get_session_details(session_id: str):
    """The session with its full history, its user and its agent."""
    details = sessions.session_details(current_actor(), _session_id(session_id))
    user = details.user
    agent = details.agent
    return ok(
        {
            "session": session_dict(details.session, details.messages),
            "user": _customer(details) if user else None,
            "agent": {"id": str(agent.id), "name": agent.name} if agent else None,
            "rating": _rating_summary(details.rating),
            "transfers": [transfer_dict(t) for t in details.transfers],
        },
        "Detalles obtenidos exitosamente",
    )


@bp.patch("/session/<session_id>/priority")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(PrioritySchema)
@bp.response(200, SessionEnvelope)
@bp.alt_response(404, response="NOT_FOUND")
@bp.alt_response(409, response="CONFLICT")
def change_priority(body: dict, session_id: str):
    """Change the priority of an open session."""
    session, last = sessions.change_priority(
        current_actor(), _session_id(session_id), Priority(body["priority"])
    )
    return ok(_with_last_message(session, last), "Prioridad actualizada exitosamente")


@bp.get("/queue")
@bp.auth(SUPPORT_ROLES)
@bp.arguments(QueueQuerySchema, location="query")
@bp.response(200, QueueEnvelope)
def get_queue(query: dict):
    """Pending sessions (of one team with `teamId`) in the order they will be assigned, with
    their position."""
    rows, total = queue.queue_page(query["page"], query["limit"], query.get("teamId"))
    data = [{**session_dict(s, [m] if m else []), "position": position} for position, s, m in rows]
    return ok(
        {"sessions": data, "pagination": pagination(query["page"], query["limit"], total)},
        "Cola obtenida exitosamente",
    )


def _customer(details: sessions.SessionDetails) -> dict:
    user = details.user
    return {
        "id": str(user.id),
        "email": user.email,
        "name": user.name,
        "isGuest": user.is_guest,
        "sessionsCount": details.user_sessions_count,
        "lastSessionAt": iso(details.user_last_session_at),
    }


def _rating_summary(rating) -> dict | None:
    if rating is None:
        return None
    data = rating_dict(rating)
    return {"score": data["score"], "comment": data["comment"], "createdAt": data["createdAt"]}


def _status(value: str | None) -> SessionStatus | None:
    return SessionStatus(value) if value else None


def _with_last_message(session, last) -> dict:
    return session_dict(session, [last] if last else [])
