"""The session lock read that also brings the session's latest message
(services/sessions.py: lock_with_last_message), against a message written while it waited."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from supportapp.extensions import db
from supportapp.models import ChatSession, Role, Sender, User
from supportapp.models.base import utcnow
from supportapp.services.sessions import lock_with_last_message
from tests.helpers import add_message

pytestmark = pytest.mark.usefixtures("app_ctx")


def _session_with_message() -> tuple[uuid.UUID, uuid.UUID]:
    user = User(email=f"u-{uuid.uuid4().hex[:8]}@example.com", name="U", role=Role.USER)
    db.session.add(user)
    db.session.flush()
    at = utcnow() - timedelta(minutes=5)
    chat = ChatSession(user_id=user.id, created_at=at, last_message_at=at)
    db.session.add(chat)
    db.session.flush()
    first = add_message(chat.id, Sender.USER, at, "primero")
    db.session.commit()
    return chat.id, first.id


def test_brings_the_latest_message_in_one_read():
    session_id, first_id = _session_with_message()
    chat, last = lock_with_last_message(session_id)
    db.session.rollback()
    assert chat.id == session_id and last.id == first_id
    assert lock_with_last_message(uuid.uuid4()) == (None, None)
    db.session.rollback()


def test_a_message_written_while_waiting_for_the_lock_is_the_one_returned(app):
    session_id, _ = _session_with_message()
    later = utcnow()
    new_id = uuid.uuid4()
    with db.engine.connect() as writer:
        # Another transaction holds the lock and writes a message, as a message send does.
        writer.execute(
            text("SELECT id FROM chat_sessions WHERE id = :id FOR UPDATE"), {"id": session_id}
        )
        writer.execute(
            text(
                "INSERT INTO chat_messages (id, session_id, message, sender, timestamp, is_read,"
                " attachments) VALUES (:mid, :id, 'segundo', 'user', :at, false, '[]')"
            ),
            {"mid": new_id, "id": session_id, "at": later},
        )
        writer.execute(
            text("UPDATE chat_sessions SET last_message_at = :at WHERE id = :id"),
            {"at": later, "id": session_id},
        )
        found: dict = {}

        def read() -> None:
            with app.app_context():
                found["row"] = lock_with_last_message(session_id)
                found["ids"] = (found["row"][0].last_message_at, found["row"][1].id)
                db.session.rollback()

        reader = threading.Thread(target=read)
        reader.start()
        reader.join(0.5)
        assert reader.is_alive()  # waiting for the writer's lock
        writer.commit()
        reader.join(10)
    assert found["ids"] == (later, new_id)
