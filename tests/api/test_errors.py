"""Every failure in the error envelope (docs/contract.md, Errors), the request id, the docs."""

from __future__ import annotations

import json
import logging
import re

import pytest

from tests.conftest import assert_error

MSG_INTERNAL = "Error interno del servidor"
CONSOLE_ENDPOINTS = {
    ("get", "/api/chat/sessions/all"),
    ("get", "/api/chat/sessions/status/{status}"),
    ("patch", "/api/chat/session/{session_id}/assign"),
    ("post", "/api/chat/session/{session_id}/support-message"),
    ("get", "/api/chat/stats"),
    ("get", "/api/chat/session/{session_id}/details"),
    ("patch", "/api/chat/session/{session_id}/priority"),
    ("get", "/api/support/agents"),
    ("post", "/api/support/agents"),
    ("get", "/api/chat/session/{session_id}/messages"),
}
ACCOUNT_AND_USER_ENDPOINTS = {
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("post", "/api/auth/refresh"),
    ("post", "/api/auth/logout"),
    ("get", "/api/auth/me"),
    ("post", "/api/chat/sessions"),
    ("get", "/api/chat/sessions"),
    ("post", "/api/chat/session/{session_id}/message"),
    ("patch", "/api/chat/session/{session_id}/close"),
    ("patch", "/api/chat/session/{session_id}/read"),
}
DOC_ENDPOINTS = {"/api/openapi.json", "/api/docs", "/api/redoc"}


def assert_json_envelope(response, status: int, message) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    assert response.get_json() == {"success": False, "message": message}


# --- 404 / 405 / 413 --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/nothing-here", "/nothing-here", "/api/chat/sessionz"])
def test_unknown_route_returns_a_404_envelope(client, path):
    assert_json_envelope(client.get(path), 404, "Recurso no encontrado")


def test_wrong_method_returns_a_405_envelope_with_allow_header(client):
    response = client.delete("/api/chat/sessions")

    assert_json_envelope(response, 405, "Método no permitido")
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_wrong_method_on_a_single_method_route_lists_it_in_allow(client):
    response = client.get("/api/auth/login")

    assert_json_envelope(response, 405, "Método no permitido")
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize("path", ["/api/auth/register", "/api/auth/login"])
def test_body_larger_than_max_content_length_returns_a_413_envelope(client, app, path):
    limit = app.config["MAX_CONTENT_LENGTH"]
    assert limit == 64 * 1024
    body = {"email": "a@example.com", "password": "password123", "name": "x" * (limit + 1)}

    response = client.post(path, json=body)

    assert_json_envelope(response, 413, "El cuerpo de la solicitud es demasiado grande")


def test_body_just_under_the_limit_is_not_a_413(client):
    body = {"email": "a@example.com", "password": "password123", "name": "x" * 60_000}

    response = client.post("/api/auth/register", json=body)

    assert_error(response, 400, field="name")


# --- bodies that are not a JSON object ----------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["{not json", '{"email": "a@example.com",}', b"\xff\xfe{}"],
    ids=["text", "comma", "utf8"],
)
def test_broken_json_is_a_400_on_body_in_spanish(client, data):
    response = client.post("/api/auth/login", data=data, content_type="application/json")

    body = assert_error(response, 400, field="body")
    assert body["errors"] == {"body": ["El cuerpo de la solicitud no es un JSON válido."]}
    assert body["message"] == ["El cuerpo de la solicitud no es un JSON válido."]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{not json", "application/json"),
        ("", "application/json"),
        ("email=a@example.com&password=password123", "application/x-www-form-urlencoded"),
        ("hola", "text/plain"),
    ],
    ids=["broken-json", "empty-json", "form", "text"],
)
def test_body_that_is_not_json_returns_a_400_envelope(client, data, content_type):
    response = client.post("/api/auth/login", data=data, content_type=content_type)

    body = assert_error(response, 400)
    assert body["message"] and all(isinstance(m, str) for m in body["message"])
    assert body["errors"]


@pytest.mark.parametrize("payload", [[1, 2], ["a@example.com", "password123"], "texto", 7, None])
def test_json_that_is_not_an_object_returns_a_400_envelope(client, payload):
    response = client.post(
        "/api/auth/register", data=json.dumps(payload), content_type="application/json"
    )

    body = assert_error(response, 400)
    assert body["errors"]


def test_validation_400_lists_every_failing_field(client):
    response = client.post(
        "/api/auth/register", json={"email": "bad", "password": "short", "name": ""}
    )

    body = assert_error(response, 400)
    assert set(body["errors"]) == {"email", "password", "name"}
    assert sorted(body["message"]) == sorted(m for ms in body["errors"].values() for m in ms)


# --- 500 --------------------------------------------------------------------------------------


def test_unexpected_error_returns_only_the_generic_500_envelope(
    client, monkeypatch, make_account, caplog
):
    from supportapp.services import users

    account = make_account("user")

    def explode(*_args, **_kwargs):
        raise RuntimeError("secret internals: password=hunter2")

    monkeypatch.setattr(users, "get_signed_in_user", explode)

    with caplog.at_level(logging.ERROR):
        response = client.get("/api/auth/me", headers=account.headers)

    assert response.status_code == 500
    assert response.get_json() == {"success": False, "message": MSG_INTERNAL}
    assert "hunter2" not in response.get_data(as_text=True)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert any(isinstance(r.exc_info[1], RuntimeError) for r in errors)


MSG_UNAVAILABLE = "Servicio no disponible temporalmente. Intenta de nuevo en unos segundos"


@pytest.mark.parametrize(
    ("error", "status", "message"),
    [
        # Unreachable, restarting, connection lost: worth a retry.
        ("OperationalError", 503, MSG_UNAVAILABLE),
        # A faulty statement is a bug: the generic 500.
        ("ProgrammingError", 500, MSG_INTERNAL),
    ],
)
def test_database_errors_map_to_503_or_500(
    client, monkeypatch, make_account, error, status, message
):
    from sqlalchemy import exc

    from supportapp.services import users

    account = make_account("user")

    def failing(*_args, **_kwargs):
        raise getattr(exc, error)("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(users, "get_signed_in_user", failing)

    response = client.get("/api/auth/me", headers=account.headers)

    assert response.status_code == status
    assert response.get_json() == {"success": False, "message": message}
    assert response.headers.get("Retry-After") == ("5" if status == 503 else None)


# --- X-Request-ID -----------------------------------------------------------------------------


def test_request_id_is_echoed_when_given(client):
    response = client.get("/healthz", headers={"X-Request-ID": "req-abc-123"})

    assert response.headers["X-Request-ID"] == "req-abc-123"


def test_request_id_is_generated_when_absent_and_differs_per_request(client):
    first = client.get("/healthz").headers.get("X-Request-ID")
    second = client.get("/healthz").headers.get("X-Request-ID")

    assert first and re.fullmatch(r"[0-9a-f]{32}", first)
    assert second and second != first


def test_request_id_is_on_error_responses_too(client):
    response = client.get("/api/nothing-here", headers={"X-Request-ID": "trace-404"})

    assert response.status_code == 404
    assert response.headers["X-Request-ID"] == "trace-404"
    unauthenticated = client.get("/api/auth/me", headers={"X-Request-ID": "trace-401"})
    assert unauthenticated.headers["X-Request-ID"] == "trace-401"


def test_overlong_request_id_is_cut_to_64_characters(client):
    response = client.get("/healthz", headers={"X-Request-ID": "r" * 200})

    assert response.headers["X-Request-ID"] == "r" * 64


# --- API docs ---------------------------------------------------------------------------------


def _api_routes(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every API route the app serves, docs excluded."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in DOC_ENDPOINTS:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            routes.add((method.lower(), path))
    return routes


def test_openapi_document_lists_every_api_route(client, app):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    documented = {
        (method, path)
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = _api_routes(app)
    assert served >= CONSOLE_ENDPOINTS | ACCOUNT_AND_USER_ENDPOINTS
    assert served <= documented, served - documented


def test_openapi_document_declares_bearer_auth_on_protected_routes(client):
    spec = client.get("/api/openapi.json").get_json()

    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/chat/sessions/all"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/api/auth/login"]["post"]


def test_swagger_ui_is_served_at_api_docs(client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "swagger-ui" in page.lower()
    assert "/api/openapi.json" in page
