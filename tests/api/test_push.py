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


def test_plain_http_endpoints_are_refused_in_production(app, client, agent, monkeypatch):
    monkeypatch.setitem(app.config, "APP_ENV", "production")
    response = client.post(
        URL, json=subscription("http://push.example.com/x"), headers=agent.headers
    )
    assert_error(response, 400, "Debe ser una URL https válida", field="endpoint")


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
