"""New-chat notifications: Web Push that a local receiver decrypts with the subscription's keys,
expired subscriptions removed, and the signed webhook retried after a failure."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from supportapp import jobs
from supportapp.extensions import db
from supportapp.models import PushSubscription
from supportapp.models.base import utcnow
from supportapp.services import lifecycle, notifications
from supportapp.services.endpoint_guard import BlockedEndpoint, GuardedSession
from supportapp.vapid import b64url_decode, b64url_encode, generate_key_pair
from testkit.processes import celery_worker, wait_for
from tests.helpers import assign

WEBHOOK_SECRET = "webhook-secret-for-tests"
SUBJECT = "mailto:soporte@example.com"


# --- a local push service / webhook receiver --------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers with the statuses
    scripted per path (then 201)."""

    requests: list[Received] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append(Received(self.path, headers, body))
                    script = receiver.scripts.get(self.path)
                    status = script.pop(0) if script else 201
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def url(self, path: str) -> str:
        return self.origin + path

    def received(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@dataclass
class Subscriber:
    """A browser's side of a push subscription: its ECDH key pair and auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def path(self) -> str:
        return "/" + self.endpoint.split("/", 3)[3]

    def json(self) -> dict:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url_encode(point), "auth": b64url_encode(self.auth_secret)},
        }

    def decrypt(self, body: bytes) -> dict:
        """RFC 8291 aes128gcm: only the holder of this key pair and secret can read it."""
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return json.loads(plain)


def verify_vapid(request: Received, public_key: str, audience: str) -> dict:
    """The Authorization header is `vapid t=<ES256 JWT>, k=<public key>` (RFC 8292)."""
    scheme, _, params = request.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    assert values["k"] == public_key
    point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(public_key))
    return jwt.decode(values["t"], point, algorithms=["ES256"], audience=audience)


@pytest.fixture
def vapid(app, monkeypatch) -> str:
    """Web Push configured on the test app; returns the public key."""
    public, private = generate_key_pair()
    monkeypatch.setitem(app.config, "VAPID_PUBLIC_KEY", public)
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", private)
    monkeypatch.setitem(app.config, "VAPID_SUBJECT", SUBJECT)
    return public


@pytest.fixture(autouse=True)
def local_push_receivers(app, monkeypatch) -> None:
    """The receivers here are http:// on 127.0.0.1: the test-only switch lets them in."""
    monkeypatch.setitem(app.config, "PUSH_ALLOW_INSECURE_ENDPOINTS", True)


def subscribe(client, account, subscriber: Subscriber) -> None:
    response = client.post(
        "/api/support/push-subscriptions", json=subscriber.json(), headers=account.headers
    )
    assert response.status_code == 201, response.get_json()


def notify(app, session_ids, reason="created") -> notifications.PushReport:
    with app.app_context():
        report = notifications.notify_sessions_queued(session_ids, reason)
        db.session.remove()
    return report


def endpoints(app) -> set[str]:
    with app.app_context():
        found = set(db.session.scalars(select(PushSubscription.endpoint)))
        db.session.remove()
    return found


def valid_signature(request: Received) -> bool:
    expected = (
        "sha256=" + hmac.new(WEBHOOK_SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    )
    return hmac.compare_digest(request.headers.get("x-signature", ""), expected)


# --- Web Push ---------------------------------------------------------------------------------


def test_web_push_reaches_every_browser_of_available_agents_and_decrypts(
    app, client, receiver, vapid, make_account, make_agent, open_session
):
    free, _ = make_agent(max_chats=3)
    away, _ = make_agent()
    busy, busy_agent = make_agent(max_chats=1)
    no_profile = make_account("support")
    laptop, phone = (Subscriber(receiver.url(f"/push/free-{n}")) for n in ("laptop", "phone"))
    others = [
        (account, Subscriber(receiver.url(f"/push/{name}")))
        for account, name in ((away, "away"), (busy, "busy"), (no_profile, "no-profile"))
    ]
    for subscriber in (laptop, phone):
        subscribe(client, free, subscriber)
    for account, subscriber in others:
        subscribe(client, account, subscriber)
    client.patch("/api/support/agents/me", json={"isActive": False}, headers=away.headers)
    customer = make_account("user")
    taken = open_session(customer)
    assign(client, taken["id"], busy_agent["id"], busy, expect=200)

    session = open_session(customer, "¿Alguien me ayuda?")
    report = notify(app, [session["id"]])

    assert (report.sent, report.failed, report.removed) == (2, 0, 0)
    assert {r.path for r in receiver.received()} == {laptop.path, phone.path}
    for subscriber in (laptop, phone):
        (request,) = receiver.received(subscriber.path)
        assert request.headers["content-encoding"] == "aes128gcm"
        assert request.headers["ttl"] == str(notifications.PUSH_TTL_SECONDS)
        claims = verify_vapid(request, vapid, receiver.origin)
        assert claims["sub"] == SUBJECT
        payload = subscriber.decrypt(request.body)
        assert payload["event"] == "chat_created"
        assert payload["sessionId"] == session["id"]
        assert payload["priority"] == "medium"
        assert payload["title"] == "Nuevo chat en espera"
        assert "prioridad media" in payload["body"]
    # Another subscriber's keys cannot read it.
    with pytest.raises(Exception):  # noqa: B017 - any decryption failure
        phone.decrypt(receiver.received(laptop.path)[0].body)


def test_many_sessions_in_one_event_send_one_summary_push(
    app, client, receiver, vapid, make_account, make_agent, open_session
):
    agent, _ = make_agent()
    subscriber = Subscriber(receiver.url("/push/summary"))
    subscribe(client, agent, subscriber)
    customer = make_account("user")
    ids = [open_session(customer)["id"] for _ in range(notifications.PUSH_SESSIONS_PER_EVENT + 1)]

    notify(app, ids, "requeued")

    (request,) = receiver.received()
    payload = subscriber.decrypt(request.body)
    assert payload["event"] == "chat_requeued"
    assert sorted(payload["sessionIds"]) == sorted(ids)
    assert payload["sessionId"] in ids


def test_subscriptions_answered_404_or_410_are_deleted(
    app, client, receiver, vapid, make_account, make_agent, open_session
):
    agent, _ = make_agent()
    gone = Subscriber(receiver.url("/push/gone"))
    missing = Subscriber(receiver.url("/push/missing"))
    broken = Subscriber(receiver.url("/push/broken"))
    fine = Subscriber(receiver.url("/push/fine"))
    receiver.scripts.update({gone.path: [410], missing.path: [404], broken.path: [500]})
    for subscriber in (gone, missing, broken, fine):
        subscribe(client, agent, subscriber)
    session = open_session(make_account("user"))

    report = notify(app, [session["id"]])

    assert (report.sent, report.failed, report.removed) == (1, 1, 2)
    assert endpoints(app) == {broken.endpoint, fine.endpoint}


def test_no_push_is_sent_without_vapid_keys(
    app, client, receiver, make_account, make_agent, open_session
):
    agent, _ = make_agent()
    subscribe(client, agent, Subscriber(receiver.url("/push/unused")))
    session = open_session(make_account("user"))
    assert notify(app, [session["id"]]).sent == 0
    assert receiver.received() == []


# --- what enqueues the notification -----------------------------------------------------------


@pytest.fixture
def enqueued(monkeypatch) -> list[tuple[str, dict]]:
    calls: list[tuple[str, dict]] = []
    monkeypatch.setattr(
        jobs, "send", lambda name, kwargs, task_id=None: calls.append((name, kwargs))
    )
    return calls


def test_opening_a_session_enqueues_the_notification_after_commit(
    make_account, open_session, enqueued
):
    session = open_session(make_account("user"))
    assert (
        jobs.NOTIFY_SESSIONS_QUEUED,
        {"session_ids": [session["id"]], "reason": "created"},
    ) in enqueued


def test_a_requeued_session_enqueues_the_notification(
    app, client, make_account, make_agent, open_session, enqueued
):
    agent_account, agent = make_agent()
    session = open_session(make_account("user"), "Hola")
    assign(client, session["id"], agent["id"], agent_account, expect=200)
    enqueued.clear()
    with app.app_context():
        assert lifecycle.requeue_unanswered(5, now=utcnow() + timedelta(minutes=10)) == 1
        db.session.remove()
    assert (
        jobs.NOTIFY_SESSIONS_QUEUED,
        {"session_ids": [session["id"]], "reason": "requeued"},
    ) in enqueued


# --- webhook ----------------------------------------------------------------------------------


@pytest.fixture
def webhook(app, receiver, monkeypatch) -> str:
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_URL", receiver.url("/hook"))
    monkeypatch.setitem(app.config, "NOTIFY_WEBHOOK_SECRET", WEBHOOK_SECRET)
    return "/hook"


def _webhook_body(app, session_id: str) -> str:
    from supportapp.models import ChatSession

    with app.app_context():
        body = notifications.webhook_body(db.session.get(ChatSession, session_id), "created")
        db.session.remove()
    return body


def test_webhook_is_signed_and_retried_after_a_500(
    app, receiver, webhook, make_account, open_session
):
    from workers.notification_tasks import deliver_webhook

    session = open_session(make_account("user"))
    body = _webhook_body(app, session["id"])
    receiver.scripts[webhook] = [500, 200]

    result = deliver_webhook.apply(kwargs={"body": body})

    assert result.successful() and result.result == 200
    first, second = receiver.received(webhook)
    assert first.body == second.body == body.encode()
    assert valid_signature(first) and valid_signature(second)
    event = json.loads(first.body)
    assert event["event"] == "chat_created"
    assert event["data"]["sessionId"] == session["id"]
    assert first.headers["x-webhook-id"] == event["id"]


def test_webhook_refused_with_a_4xx_is_not_retried(
    app, receiver, webhook, make_account, open_session
):
    from workers.notification_tasks import deliver_webhook

    session = open_session(make_account("user"))
    receiver.scripts[webhook] = [400]
    result = deliver_webhook.apply(kwargs={"body": _webhook_body(app, session["id"])})
    assert result.successful() and result.result == 400
    assert len(receiver.received(webhook)) == 1


def test_webhook_gives_up_after_max_retries(app, receiver, webhook, make_account, open_session):
    from workers.notification_tasks import deliver_webhook

    session = open_session(make_account("user"))
    receiver.scripts[webhook] = [503] * 10
    result = deliver_webhook.apply(kwargs={"body": _webhook_body(app, session["id"])})
    assert result.failed()
    assert len(receiver.received(webhook)) == deliver_webhook.max_retries + 1


def test_signature_format():
    body = b'{"event":"chat_created"}'
    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert notifications.sign(body, "k") == f"sha256={expected}"


# --- the whole flow on a real worker ----------------------------------------------------------


@pytest.mark.slow
def test_a_new_chat_reaches_a_real_worker_push_and_webhook(
    test_environ, client, receiver, make_account, make_agent, open_session
):
    public, private = generate_key_pair()
    worker_env = {
        **test_environ,
        "VAPID_PRIVATE_KEY": private,
        "VAPID_SUBJECT": SUBJECT,
        "NOTIFY_WEBHOOK_URL": receiver.url("/hook"),
        "NOTIFY_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "PUSH_ALLOW_INSECURE_ENDPOINTS": "true",
    }
    receiver.scripts["/hook"] = [500]  # the first delivery fails; the retry succeeds
    agent, _ = make_agent()
    browser = Subscriber(receiver.url(f"/push/{uuid.uuid4().hex}"))
    subscribe(client, agent, browser)

    with celery_worker(worker_env, name="notifications") as worker:
        session = open_session(make_account("user"), "Necesito ayuda con mi pedido")

        pushes = wait_for(
            lambda: receiver.received(browser.path),
            timeout=30,
            message=lambda: f"a push from the worker; its output:\n{worker.output()}",
        )
        hooks = wait_for(
            lambda: len(receiver.received("/hook")) >= 2 and receiver.received("/hook"),
            timeout=30,
            message=lambda: f"a webhook retry; worker output:\n{worker.output()}",
        )

    payload = browser.decrypt(pushes[0].body)
    assert payload["event"] == "chat_created"
    assert payload["sessionId"] == session["id"]
    verify_vapid(pushes[0], public, receiver.origin)
    assert len(hooks) == 2
    assert hooks[0].body == hooks[1].body
    assert all(valid_signature(h) for h in hooks)
    assert json.loads(hooks[0].body)["data"]["sessionId"] == session["id"]


# --- keys and configuration ----------------------------------------------------------------------


def test_cli_prints_a_vapid_key_pair_that_the_configuration_accepts(app, test_environ):
    from supportapp.config import load_settings
    from supportapp.vapid import public_key_of

    result = app.test_cli_runner().invoke(args=["push", "generate-vapid-keys"])

    assert result.exit_code == 0, result.output
    lines = dict(line.split("=", 1) for line in result.output.split())
    public, private = lines["VAPID_PUBLIC_KEY"], lines["VAPID_PRIVATE_KEY"]
    assert len(b64url_decode(public)) == 65 and len(b64url_decode(private)) == 32
    assert public_key_of(private) == public
    settings = load_settings({**test_environ, **lines, "VAPID_SUBJECT": SUBJECT})
    assert settings["VAPID_PUBLIC_KEY"] == public


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ({"VAPID_PRIVATE_KEY": generate_key_pair()[1]}, "VAPID_SUBJECT is required"),
        (
            {
                "VAPID_PRIVATE_KEY": generate_key_pair()[1],
                "VAPID_PUBLIC_KEY": generate_key_pair()[0],
                "VAPID_SUBJECT": SUBJECT,
            },
            "VAPID_PUBLIC_KEY does not belong",
        ),
        # Named, never echoed: a private key stays out of the error.
        ({"VAPID_PRIVATE_KEY": "not-a-key"}, r"VAPID_PRIVATE_KEY \(value hidden\)"),
        ({"VAPID_SUBJECT": "soporte@example.com"}, "VAPID_SUBJECT="),
        ({"NOTIFY_WEBHOOK_URL": "https://hooks.example.com/x"}, "NOTIFY_WEBHOOK_SECRET is"),
        ({"NOTIFY_WEBHOOK_URL": "hooks.example.com"}, "NOTIFY_WEBHOOK_URL="),
    ],
)
def test_inconsistent_notification_settings_stop_the_process(test_environ, extra, problem):
    from supportapp.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match=problem) as raised:
        load_settings({**test_environ, **extra})
    assert "not-a-key" not in str(raised.value)


def test_a_pem_private_key_is_accepted_and_normalised(test_environ):
    from supportapp.config import load_settings

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    settings = load_settings({**test_environ, "VAPID_PRIVATE_KEY": pem, "VAPID_SUBJECT": SUBJECT})
    raw = b64url_decode(settings["VAPID_PRIVATE_KEY"])
    assert int.from_bytes(raw, "big") == key.private_numbers().private_value


# --- sending only where the endpoint check allows -------------------------------------------


def _fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))
                for address in answers[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_a_send_connects_to_the_address_that_was_checked(receiver, monkeypatch):
    # The name resolves (once, checked) to the receiver's loopback address; the request goes
    # there with the endpoint's own Host header.
    port = receiver.server.server_address[1]
    _fake_dns(monkeypatch, {"push.receiver.test": ["127.0.0.1"]})
    with GuardedSession(allow_insecure=True) as http:
        response = http.post(f"http://push.receiver.test:{port}/push/a", data=b"x", timeout=5)
    assert response.status_code == 201
    (request,) = receiver.received("/push/a")
    assert request.headers["host"] == f"push.receiver.test:{port}"


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["10.1.2.3"], ["8.8.8.8", "192.168.0.10"], ["169.254.169.254"]],
)
def test_a_send_to_a_name_with_any_non_public_address_never_connects(monkeypatch, addresses):
    _fake_dns(monkeypatch, {"push.rebound.test": addresses})
    connects: list = []
    monkeypatch.setattr(socket.socket, "connect", lambda *args: connects.append(args))
    with GuardedSession() as http, pytest.raises(BlockedEndpoint):
        http.post("https://push.rebound.test/x", data=b"x", timeout=5)
    assert connects == []


def test_redirects_are_never_followed(receiver):
    receiver.scripts["/push/moved"] = [307]
    with GuardedSession(allow_insecure=True) as http:
        response = http.post(receiver.url("/push/moved"), data=b"x", timeout=5)
    assert response.status_code == 307
    assert len(receiver.received()) == 1


def test_a_push_to_a_refused_endpoint_counts_as_failed(
    app, vapid, make_agent, make_account, open_session, monkeypatch
):
    agent, _ = make_agent()
    with app.app_context():
        db.session.add(
            PushSubscription(
                user_id=uuid.UUID(agent.id),
                endpoint="https://push.rebound.test/x",
                **Subscriber("https://push.rebound.test/x").json()["keys"],
            )
        )
        db.session.commit()
        db.session.remove()
    _fake_dns(monkeypatch, {"push.rebound.test": ["10.9.9.9"]})
    session = open_session(make_account("user"))
    report = notify(app, [session["id"]])
    assert (report.sent, report.failed) == (0, 1)
