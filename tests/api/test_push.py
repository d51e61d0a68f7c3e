"""/api/support/push-subscriptions: agents register the browsers that get new-chat pushes."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from supportapp.extensions import db
from supportapp.models import PushSubscription
from supportapp.vapid import b64url_encode, generate_key_pair
from tests.conftest import assert_error

URL = "/api/support/push-subscriptions"
KEY_URL = f"{URL}/vapid-public-key"
MSG_NOT_FOUND = "Suscripción push no encontrada"


def browser_keys() -> dict[str, str]:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url_encode(point), "auth": b64url_encode(os.urandom(16))}


def subscription(endpoint: str = "https://push.example.com/send/abc123") -> dict:
    return {"endpoint": endpoint, "keys": browser_keys()}


def stored(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(PushSubscription.endpoint, PushSubscription.user_id, PushSubscription.p256dh)
        ).all()
        db.session.remove()
    return [(e, str(u), k) for e, u, k in rows]


@pytest.fixture
def agent(make_account):
    return make_account("support")


# --- registering ------------------------------------------------------------------------------


def test_register_returns_201_and_stores_the_subscription(app, client, agent):
    body = subscription()
    response = client.post(URL, json=body, headers=agent.headers)

    assert response.status_code == 201, response.get_json()
    payload = response.get_json()
    assert payload["success"] is True
    assert payload["message"] == "Suscripción push registrada exitosamente"
    assert payload["data"]["endpoint"] == body["endpoint"]
    assert payload["data"]["createdAt"].endswith("Z")
    assert stored(app) == [(body["endpoint"], agent.id, body["keys"]["p256dh"])]


def test_registering_the_same_endpoint_again_updates_it(app, client, agent):
    first = client.post(URL, json=subscription(), headers=agent.headers).get_json()["data"]
    again = subscription()
    second = client.post(URL, json=again, headers=agent.headers)
    assert second.status_code == 201
    assert second.get_json()["data"]["id"] == first["id"]
    assert stored(app) == [(again["endpoint"], agent.id, again["keys"]["p256dh"])]


def test_an_endpoint_registered_by_another_agent_becomes_the_callers(
    app, client, agent, make_account
):
    other = make_account("admin")
    client.post(URL, json=subscription(), headers=agent.headers)
    response = client.post(URL, json=subscription(), headers=other.headers)
    assert response.status_code == 201
    assert [row[1] for row in stored(app)] == [other.id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "endpoint"),
        ({"keys": browser_keys()}, "endpoint"),
        ({"endpoint": "https://push.example.com/x"}, "keys"),
        ({"endpoint": "ftp://push.example.com/x", "keys": browser_keys()}, "endpoint"),
        ({"endpoint": "no es una url", "keys": browser_keys()}, "endpoint"),
        ({"endpoint": "https://" + "a" * 2048, "keys": browser_keys()}, "endpoint"),
        ({"endpoint": 42, "keys": browser_keys()}, "endpoint"),
        ({"endpoint": "https://push.example.com/x", "keys": "nope"}, "keys"),
        (
            {"endpoint": "https://push.example.com/x", "keys": {"auth": browser_keys()["auth"]}},
            "keys",
        ),
        (
            {
                "endpoint": "https://push.example.com/x",
                "keys": {**browser_keys(), "p256dh": b64url_encode(b"\x04" + b"\x01" * 64)},
            },
            "keys",
        ),
        (
            {
                "endpoint": "https://push.example.com/x",
                "keys": {**browser_keys(), "auth": b64url_encode(b"short")},
            },
            "keys",
        ),
        (
            {
                "endpoint": "https://push.example.com/x",
                "keys": {**browser_keys(), "auth": "%%%%"},
            },
            "keys",
        ),
    ],
)
def test_register_returns_400_for_invalid_input(app, client, agent, body, field):
    response = client.post(URL, json=body, headers=agent.headers)
    assert_error(response, 400, field=field)
    assert stored(app) == []


def test_register_returns_400_for_a_body_that_is_not_json(client, agent):
    response = client.post(
        URL, data="endpoint=x", headers={**agent.headers, "Content-Type": "application/json"}
    )
    assert_error(response, 400)


MSG_NOT_PUBLIC = "Debe ser la URL de un servicio push en una dirección pública"
MSG_NOT_HTTPS = "Debe ser una URL https válida"


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://push.example.com/x", MSG_NOT_HTTPS),
        ("ftp://push.example.com/x", MSG_NOT_HTTPS),
        ("https://user:pw@push.example.com/x", MSG_NOT_HTTPS),
        ("https://127.0.0.1:8443/x", MSG_NOT_PUBLIC),
        ("https://127.1/x", MSG_NOT_PUBLIC),
        ("https://2130706433/x", MSG_NOT_PUBLIC),
        ("https://0x7f.0.0.1/x", MSG_NOT_PUBLIC),
        ("https://10.0.0.8/x", MSG_NOT_PUBLIC),
        ("https://172.16.5.4/x", MSG_NOT_PUBLIC),
        ("https://192.168.1.1/x", MSG_NOT_PUBLIC),
        ("https://169.254.169.254/latest/meta-data", MSG_NOT_PUBLIC),
        ("https://100.64.0.1/x", MSG_NOT_PUBLIC),
        ("https://0.0.0.0/x", MSG_NOT_PUBLIC),
        ("https://224.0.0.1/x", MSG_NOT_PUBLIC),
        ("https://240.0.0.1/x", MSG_NOT_PUBLIC),
        ("https://[::1]/x", MSG_NOT_PUBLIC),
        ("https://[::]/x", MSG_NOT_PUBLIC),
        ("https://[fe80::1]/x", MSG_NOT_PUBLIC),
        ("https://[fc00::1]/x", MSG_NOT_PUBLIC),
        ("https://[ff02::1]/x", MSG_NOT_PUBLIC),
        ("https://[::ffff:127.0.0.1]/x", MSG_NOT_PUBLIC),
        ("https://[64:ff9b::a00:1]/x", MSG_NOT_PUBLIC),
        ("https://[2002:7f00:1::]/x", MSG_NOT_PUBLIC),
        ("https://localhost/x", MSG_NOT_PUBLIC),
        ("https://LOCALHOST./x", MSG_NOT_PUBLIC),
        ("https://api.localhost/x", MSG_NOT_PUBLIC),
        ("https://printer.local/x", MSG_NOT_PUBLIC),
        ("https://metadata.google.internal/x", MSG_NOT_PUBLIC),
        ("https://intranet/x", MSG_NOT_PUBLIC),
    ],
)
def test_endpoints_that_are_not_public_https_are_refused(app, client, agent, endpoint, message):
    response = client.post(URL, json=subscription(endpoint), headers=agent.headers)
    assert_error(response, 400, message, field="endpoint")
    assert stored(app) == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://8.8.8.8/x",
        "https://[2606:4700::1111]:8443/x",
    ],
)
def test_public_https_endpoints_are_accepted(client, agent, endpoint):
    response = client.post(URL, json=subscription(endpoint), headers=agent.headers)
    assert response.status_code == 201, response.get_json()


def test_the_test_switch_allows_http_and_loopback_only(app, client, agent, monkeypatch):
    monkeypatch.setitem(app.config, "PUSH_ALLOW_INSECURE_ENDPOINTS", True)
    ok = client.post(URL, json=subscription("http://127.0.0.1:9/x"), headers=agent.headers)
    assert ok.status_code == 201, ok.get_json()
    private = client.post(URL, json=subscription("http://10.0.0.8/x"), headers=agent.headers)
    assert_error(private, 400, MSG_NOT_PUBLIC, field="endpoint")


def test_a_user_holds_at_most_the_configured_number_of_subscriptions(
    app, client, agent, make_account, monkeypatch
):
    monkeypatch.setitem(app.config, "PUSH_MAX_SUBSCRIPTIONS_PER_USER", 3)
    for n in range(3):
        body = subscription(f"https://push.example.com/{n}")
        assert client.post(URL, json=body, headers=agent.headers).status_code == 201
    response = client.post(
        URL, json=subscription("https://push.example.com/3"), headers=agent.headers
    )
    assert_error(response, 409, "Has alcanzado el máximo de suscripciones push permitidas")
    assert len(stored(app)) == 3
    # Registering one of them again only renews its keys.
    again = client.post(URL, json=subscription("https://push.example.com/0"), headers=agent.headers)
    assert again.status_code == 201
    # Another user's limit is their own; a browser taken over counts for its new owner.
    other = make_account("support")
    moved = client.post(URL, json=subscription("https://push.example.com/1"), headers=other.headers)
    assert moved.status_code == 201
    room = client.post(URL, json=subscription("https://push.example.com/4"), headers=agent.headers)
    assert room.status_code == 201
    assert len(stored(app)) == 4


# --- removing ---------------------------------------------------------------------------------


def test_delete_removes_the_callers_subscription(app, client, agent):
    body = subscription()
    client.post(URL, json=body, headers=agent.headers)
    response = client.delete(URL, json={"endpoint": body["endpoint"]}, headers=agent.headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "success": True,
        "data": None,
        "message": "Suscripción push eliminada exitosamente",
    }
    assert stored(app) == []


def test_delete_returns_404_when_the_subscription_is_someone_elses(
    app, client, agent, make_account
):
    body = subscription()
    client.post(URL, json=body, headers=agent.headers)
    other = make_account("support")
    response = client.delete(URL, json={"endpoint": body["endpoint"]}, headers=other.headers)
    assert_error(response, 404, MSG_NOT_FOUND)
    assert len(stored(app)) == 1


def test_delete_returns_404_for_an_unknown_endpoint(client, agent):
    response = client.delete(
        URL, json={"endpoint": "https://push.example.com/x"}, headers=agent.headers
    )
    assert_error(response, 404, MSG_NOT_FOUND)


@pytest.mark.parametrize("body", [{}, {"endpoint": ""}, {"endpoint": 7}])
def test_delete_returns_400_for_invalid_input(client, agent, body):
    assert_error(client.delete(URL, json=body, headers=agent.headers), 400, field="endpoint")


# --- the public key ---------------------------------------------------------------------------


def test_vapid_public_key_is_served_when_configured(app, client, agent, monkeypatch):
    public, _ = generate_key_pair()
    monkeypatch.setitem(app.config, "VAPID_PUBLIC_KEY", public)
    response = client.get(KEY_URL, headers=agent.headers)
    assert response.status_code == 200
    assert response.get_json()["data"] == {"publicKey": public}


def test_vapid_public_key_returns_404_when_push_is_not_configured(client, agent):
    assert_error(
        client.get(KEY_URL, headers=agent.headers),
        404,
        "Las notificaciones push no están configuradas",
    )


# --- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", URL, subscription()),
        ("delete", URL, {"endpoint": "https://push.example.com/x"}),
        ("get", KEY_URL, None),
    ],
)
def test_endpoints_need_a_token(client, method, url, body):
    response = getattr(client, method)(url, json=body)
    assert_error(response, 401, "Token inválido o expirado")
    response = getattr(client, method)(url, json=body, headers={"Authorization": "Bearer x.y.z"})
    assert_error(response, 401)


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", URL, subscription()),
        ("delete", URL, {"endpoint": "https://push.example.com/x"}),
        ("get", KEY_URL, None),
    ],
)
def test_end_users_get_403(client, make_account, method, url, body):
    user = make_account("user")
    response = getattr(client, method)(url, json=body, headers=user.headers)
    assert_error(response, 403, "No tienes permisos para realizar esta acción")


@pytest.mark.parametrize("role", ["support", "admin", "superadmin"])
def test_every_support_role_may_register(client, make_account, role):
    account = make_account(role)
    assert client.post(URL, json=subscription(), headers=account.headers).status_code == 201


def test_push_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"post", "delete"} <= set(paths[URL])
    assert "get" in paths[KEY_URL]
