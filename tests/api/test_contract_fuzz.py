"""Contract fuzzing: schemathesis generates requests for every operation of the app's own
OpenAPI document — valid data, invalid data, and valid data aimed at ids that exist — and checks
that no response is a 5xx, that every status code is documented and that every body matches
its documented schema.

It runs in-process over WSGI against the suite's real PostgreSQL and Redis, once with a
superadmin's token and once with a plain user's. Examples are bounded and derandomized, so
the run is reproducible and stays within a few minutes.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass

import pytest
import schemathesis
from flask_jwt_extended import create_access_token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from supportapp import create_app
from supportapp.auth.actor import Actor
from supportapp.config import Config
from supportapp.extensions import db
from supportapp.models import Role, User
from supportapp.services import agents, sessions

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

FUZZ_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def _load_schema():
    """The OpenAPI document of an app built only to render it (nothing connects until a request
    needs it). Requests go to the suite's `app`, on the per-run database."""
    redis_server = (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0").rstrip("/")
    if redis_server.count("/") >= 3:
        redis_server = redis_server.rsplit("/", 1)[0]
    environ = {
        **os.environ,
        "APP_ENV": "testing",
        "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgresql://127.0.0.1/unused",
        # the suite's Redis db, as in conftest (this app never uses it, but binds to it)
        "REDIS_URL": f"{redis_server}/{os.environ.get('TEST_REDIS_DB', '13')}",
        "JWT_SECRET_KEY": "openapi-document-only-secret-0123456789-abcdefgh",
        "LOG_LEVEL": "WARNING",
    }
    return schemathesis.openapi.from_wsgi("/api/openapi.json", create_app(Config(environ)))


# One pytest test per operation and role (so each starts from a clean database and Redis, and
# a failure names its operation). schemathesis' fixture-based loader does not run on pytest 9,
# so the document is loaded at import and each test drives hypothesis itself.
SCHEMA = _load_schema()
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    path_ids: dict[str, str]


@pytest.fixture
def world(app) -> World:
    """A superadmin who is also an agent, a plain user with an open session, and a token each
    (minted directly: the login endpoint is rate limited and fuzzed on its own)."""
    with app.app_context():
        people = {
            role: User(
                email=f"fuzz-{role}-{uuid.uuid4().hex[:8]}@example.com",
                name=f"Fuzz {role}",
                role=Role(role),
            )
            for role in ("superadmin", "user")
        }
        db.session.add_all(people.values())
        db.session.commit()
        admin, user = people["superadmin"], people["user"]
        agent = agents.create_agent(
            Actor(admin.id, Role.SUPERADMIN), user_id=admin.id, name="Fuzz agent"
        )
        session, _ = sessions.open_session(
            Actor(user.id, Role.USER), "Hola, necesito ayuda", max_open=3
        )
        world = World(
            headers={
                role: {"Authorization": f"Bearer {create_access_token(identity=person)}"}
                for role, person in people.items()
            },
            path_ids={"session_id": str(session.id), "agent_id": str(agent.id)},
        )
        db.session.remove()
    return world


def _strategy(label: str, world: World):
    operation = OPERATIONS[label]
    strategies = [
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    ]
    known = {
        name: world.path_ids[name]
        for name in re.findall(r"{(\w+)}", operation.path)
        if name in world.path_ids
    }
    if known:
        strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
    return st.one_of(strategies)


@pytest.mark.parametrize("role", ["superadmin", "user"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_keeps_its_contract(label, role, app, world):
    headers = world.headers[role]

    @FUZZ_SETTINGS
    @given(case=_strategy(label, world))
    def fuzz(case):
        case.call_and_validate(app=app, headers=headers, checks=CHECKS)

    fuzz()


# --- what the fuzzer found ------------------------------------------------------------------


def test_nul_characters_are_refused_as_invalid_input(client, make_account):
    """PostgreSQL text cannot hold U+0000; it used to surface as a 500 from the database."""
    user = make_account("user")
    opened = client.post("/api/chat/sessions", json={"message": "hola\u0000"}, headers=user.headers)
    assert opened.status_code == 400, opened.get_json()
    assert "message" in opened.get_json()["errors"]

    login = client.post("/api/auth/login", json={"email": "a\u0000@example.com", "password": "x"})
    assert login.status_code == 400, login.get_json()
    assert "email" in login.get_json()["errors"]

    admin = make_account("admin")
    logs = client.get("/api/support/logs?action=%00", headers=admin.headers)
    assert logs.status_code == 400, logs.get_json()
    assert "action" in logs.get_json()["errors"]
