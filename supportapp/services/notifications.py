"""New-chat notifications: Web Push to the agents who could take the chat, and the outgoing
webhook. Run by the notifications worker after a session entered the pending queue.

Push: one encrypted message (RFC 8291, aes128gcm, VAPID-signed) to every subscription of every
support user whose agent profile is active and below capacity at send time, through a session
that checks every resolved address, connects to the checked one and never follows a redirect.
A push service that answers 404 or 410 says the subscription is gone: it is deleted. Other
failures are logged and not retried (a late "new chat" alert is worse than none; the dashboard
shows the queue anyway).

Webhook: when NOTIFY_WEBHOOK_URL is set, one POST per session with a JSON body signed in
`X-Signature: sha256=<hex HMAC-SHA256 of the raw body with NOTIFY_WEBHOOK_SECRET>`. Each body
is built once, so retries send the same bytes and the same `id` (receivers deduplicate on it).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import requests
from flask import current_app
from py_vapid import Vapid
from pywebpush import WebPushException, webpush
from sqlalchemy import delete, select

from supportapp.extensions import db
from supportapp.jobs import DELIVER_WEBHOOK, enqueue
from supportapp.models import SUPPORT_ROLES, ChatSession, PushSubscription, SupportAgent, User
from supportapp.models.base import utcnow
from supportapp.models.chat import Priority
from supportapp.services.endpoint_guard import GuardedSession
from supportapp.services.queue_order import queue_key
from supportapp.services.unit_of_work import unit_of_work
from supportapp.timestamps import iso

log = logging.getLogger(__name__)

EVENTS = {"created": "chat_created", "requeued": "chat_requeued"}
TITLES = {"created": "Nuevo chat en espera", "requeued": "Chat devuelto a la cola"}
PRIORITY_NAMES = {Priority.HIGH: "alta", Priority.MEDIUM: "media", Priority.LOW: "baja"}
GONE_STATUSES = (404, 410)
PUSH_TTL_SECONDS = 600
PUSH_TIMEOUT_SECONDS = 10
# More sessions than this in one event (a large requeue batch) → one summary push instead.
PUSH_SESSIONS_PER_EVENT = 5
WEBHOOK_TIMEOUT_SECONDS = 10


class WebhookDeliveryFailed(Exception):
    """The receiver could not take the event now (5xx, 429, 408): worth retrying."""


@dataclass
class PushReport:
    sessions: int = 0
    sent: int = 0
    removed: int = 0
    failed: int = 0
    webhooks: int = 0


def notify_sessions_queued(session_ids: Iterable[str | uuid.UUID], reason: str) -> PushReport:
    """Sessions entered the queue (`reason`: created or requeued): enqueue one webhook delivery
    per session, then push to every available agent's browsers. No transaction stays open
    while push services are called."""
    ids = [uuid.UUID(str(i)) for i in session_ids]
    sessions = sorted(
        db.session.scalars(select(ChatSession).where(ChatSession.id.in_(ids))), key=queue_key
    )
    report = PushReport(sessions=len(sessions))
    webhooks: list[str] = []
    payloads: list[dict] = []
    targets: list[tuple[uuid.UUID, dict]] = []
    if sessions and current_app.config.get("NOTIFY_WEBHOOK_URL"):
        webhooks = [webhook_body(s, reason) for s in sessions]
    if sessions and current_app.config.get("VAPID_PRIVATE_KEY"):
        payloads = [push_payload(s, reason) for s in sessions]
        if len(payloads) > PUSH_SESSIONS_PER_EVENT:
            payloads = [summary_payload(sessions, reason)]
        targets = [(s.id, _subscription_info(s)) for s in available_subscriptions()]
    db.session.commit()  # end the read transaction before any network call
    for body in webhooks:
        enqueue(DELIVER_WEBHOOK, body=body)
    report.webhooks = len(webhooks)
    if payloads:
        _push(targets, payloads, report)
    return report


# --- Web Push ----------------------------------------------------------------------------------


def push_payload(session: ChatSession, reason: str) -> dict:
    priority = PRIORITY_NAMES[session.priority]
    return {
        "event": EVENTS[reason],
        "sessionId": str(session.id),
        "priority": str(session.priority),
        "title": TITLES[reason],
        "body": f"Un cliente espera atención (prioridad {priority}).",
        "timestamp": iso(utcnow()),
    }


def summary_payload(sessions: list[ChatSession], reason: str) -> dict:
    """One push for many sessions; `sessionId`/`priority` are those of the head of the queue."""
    head = sessions[0]
    return {
        "event": EVENTS[reason],
        "sessionId": str(head.id),
        "sessionIds": [str(s.id) for s in sessions],
        "priority": str(head.priority),
        "title": TITLES[reason],
        "body": f"{len(sessions)} chats esperan atención.",
        "timestamp": iso(utcnow()),
    }


def available_subscriptions() -> list[PushSubscription]:
    """Subscriptions of support users whose agent is active and below capacity right now."""
    return list(
        db.session.scalars(
            select(PushSubscription)
            .join(User, User.id == PushSubscription.user_id)
            .join(SupportAgent, SupportAgent.user_id == User.id)
            .where(
                User.role.in_(SUPPORT_ROLES),
                SupportAgent.can_take_chats,
            )
            .order_by(PushSubscription.created_at)
        )
    )


def _subscription_info(subscription: PushSubscription) -> dict:
    return {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }


def _push(targets: list[tuple[uuid.UUID, dict]], payloads: list[dict], report: PushReport) -> None:
    config = current_app.config
    vapid = Vapid.from_string(config["VAPID_PRIVATE_KEY"])
    gone: list[uuid.UUID] = []
    with GuardedSession(allow_insecure=config["PUSH_ALLOW_INSECURE_ENDPOINTS"]) as http:
        for subscription_id, info in targets:
            for payload in payloads:
                outcome = _send_push(http, vapid, info, payload, config["VAPID_SUBJECT"])
                if outcome == "gone":
                    gone.append(subscription_id)
                    break
                if outcome == "sent":
                    report.sent += 1
                else:
                    report.failed += 1
    if gone:
        with unit_of_work() as uow:
            uow.db.execute(delete(PushSubscription).where(PushSubscription.id.in_(gone)))
        report.removed = len(gone)
        log.info("removed %d expired push subscriptions", len(gone))


def _send_push(http, vapid: Vapid, info: dict, payload: dict, subject: str) -> str:
    urgency = "high" if payload["priority"] == Priority.HIGH else "normal"
    try:
        webpush(
            info,
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=vapid,
            vapid_claims={"sub": subject},  # a fresh dict: pywebpush adds aud/exp to it
            ttl=PUSH_TTL_SECONDS,
            timeout=PUSH_TIMEOUT_SECONDS,
            headers={"Urgency": urgency},
            requests_session=http,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in GONE_STATUSES:
            return "gone"
        log.warning("push to %s failed: %s", _host(info["endpoint"]), status or exc)
        return "failed"
    except (requests.RequestException, ValueError) as exc:
        log.warning("push to %s failed: %s", _host(info["endpoint"]), exc)
        return "failed"
    return "sent"


def _host(endpoint: str) -> str:
    return endpoint.split("/")[2] if endpoint.count("/") >= 2 else endpoint


# --- webhook -----------------------------------------------------------------------------------


def webhook_body(session: ChatSession, reason: str) -> str:
    """The raw JSON body (signed as is): `id` identifies the event across retries."""
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "event": EVENTS[reason],
            "timestamp": iso(utcnow()),
            "data": {
                "sessionId": str(session.id),
                "userId": str(session.user_id),
                "status": str(session.status),
                "priority": str(session.priority),
                "createdAt": iso(session.created_at),
                "queuedAt": iso(session.queued_at),
            },
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def sign(body: bytes, secret: str) -> str:
    """The X-Signature header value: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver_webhook(body: str) -> int:
    """POST one event. Raises WebhookDeliveryFailed (or a requests error) when a retry may
    succeed; a 4xx other than 408/429 is the receiver refusing it: logged, not retried."""
    config = current_app.config
    url = config.get("NOTIFY_WEBHOOK_URL")
    if not url:
        return 0
    raw = body.encode()
    event = json.loads(body)
    response = requests.post(
        url,
        data=raw,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "supportapp-webhook/1",
            "X-Signature": sign(raw, config["NOTIFY_WEBHOOK_SECRET"]),
            "X-Webhook-Event": event.get("event", ""),
            "X-Webhook-Id": event.get("id", ""),
        },
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        allow_redirects=False,
    )
    status = response.status_code
    if status >= 500 or status in (408, 429):
        raise WebhookDeliveryFailed(f"webhook answered {status}")
    if status >= 300:
        log.warning("webhook refused event %s with %s; not retried", event.get("id"), status)
    return status


# --- SLA notices -------------------------------------------------------------------------------

SLA_TITLES = {"warning": "SLA a punto de vencer", "breach": "SLA incumplido"}
SLA_TARGET_NAMES = {"firstResponse": "primera respuesta", "resolution": "resolución"}


def notify_sla(notices: list[tuple[str, str, str]]) -> PushReport:
    """Push each SLA notice `(session id, "warning"|"breach", target)` to the session's assigned
    agent, or to every available agent while it waits in the queue."""
    report = PushReport(sessions=len(notices))
    if not notices or not current_app.config.get("VAPID_PRIVATE_KEY"):
        return report
    ids = {uuid.UUID(session_id) for session_id, _, _ in notices}
    sessions = {
        s.id: s for s in db.session.scalars(select(ChatSession).where(ChatSession.id.in_(ids)))
    }
    available: list[tuple[uuid.UUID, dict]] | None = None
    deliveries: list[tuple[list[tuple[uuid.UUID, dict]], dict]] = []
    for session_id, kind, target in notices:
        chat = sessions.get(uuid.UUID(session_id))
        if chat is None:
            continue
        if chat.support_agent_id is not None:
            targets = [
                (s.id, _subscription_info(s))
                for s in db.session.scalars(
                    select(PushSubscription)
                    .join(SupportAgent, SupportAgent.user_id == PushSubscription.user_id)
                    .where(SupportAgent.id == chat.support_agent_id)
                )
            ]
        else:
            if available is None:
                available = [(s.id, _subscription_info(s)) for s in available_subscriptions()]
            targets = available
        deliveries.append((targets, sla_payload(chat, kind, target)))
    db.session.commit()  # end the read transaction before any network call
    for targets, payload in deliveries:
        _push(targets, [payload], report)
    return report


def sla_payload(session: ChatSession, kind: str, target: str) -> dict:
    return {
        "event": "sla_breached" if kind == "breach" else "sla_warning",
        "sessionId": str(session.id),
        "priority": str(session.priority),
        "target": target,
        "title": SLA_TITLES[kind],
        "body": f"Objetivo de {SLA_TARGET_NAMES[target]} del chat (prioridad "
        f"{PRIORITY_NAMES[session.priority]}).",
        "timestamp": iso(utcnow()),
    }
