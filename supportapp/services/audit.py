"""The audit trail: one row per change, written in the transaction that makes the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select

from supportapp.auth.actor import Actor
from supportapp.extensions import db
from supportapp.models import AuditLog
from supportapp.models.base import utcnow
from supportapp.services.unit_of_work import UnitOfWork


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    *,
    target_type: str,
    target_id: uuid.UUID | str | None,
    session_id: uuid.UUID | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    actor_role = str(actor.role) if actor.user_id else "system"
    target = str(target_id) if target_id else None
    # A row, not an ORM object: written with the transaction's other audit rows and its
    # outbox entries in one statement at its end (outbox.record), without the ORM's flush.
    uow.audit_rows.append(
        {
            "actor_id": actor.user_id,
            "actor_role": actor_role,
            "action": action,
            "target_type": target_type,
            "target_id": target,
            "session_id": session_id,
            "before": before,
            "after": after,
            "ip": actor.ip,
            "request_id": actor.request_id,
            "created_at": utcnow(),
        }
    )
    uow.log_lines.append(
        {
            "actorId": str(actor.user_id) if actor.user_id else None,
            "actorRole": actor_role,
            "action": action,
            "targetType": target_type,
            "targetId": target,
            "before": before,
            "after": after,
        }
    )


def list_logs(
    *,
    actor_id: uuid.UUID | None = None,
    action: str | None = None,
    session_id: uuid.UUID | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    page: int = 1,
    limit: int = 20,
) -> tuple[list[AuditLog], int]:
    """Newest first. The count is capped so a deep audit table never makes the page slow."""
    query = select(AuditLog)
    if actor_id:
        query = query.where(AuditLog.actor_id == actor_id)
    if action:
        query = query.where(AuditLog.action == action)
    if session_id:
        query = query.where(AuditLog.session_id == session_id)
    if date_from:
        query = query.where(AuditLog.created_at >= date_from)
    if date_to:
        query = query.where(AuditLog.created_at < date_to)
    rows = db.session.scalars(
        query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    total = db.session.scalar(select(db.func.count()).select_from(query.order_by(None).subquery()))
    return list(rows), int(total or 0)
