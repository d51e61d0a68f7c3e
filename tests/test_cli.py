"""`flask users create|set-role` and `flask demo ensure-superadmin`."""

from __future__ import annotations

import re

import pytest

from supportapp.extensions import db


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args: str):
        result = runner.invoke(args=list(args))
        with app.app_context():
            db.session.remove()
        return result

    return invoke


def stored_user(app, email: str):
    from supportapp.services import users

    with app.app_context():
        user = users.find_by_email(email)
        found = None if user is None else {"email": user.email, "role": str(user.role)}
        db.session.remove()
    return found


def login(client, email: str, password: str):
    return client.post("/api/auth/login", json={"email": email, "password": password})


def test_users_create_makes_an_account_that_can_log_in(cli, app, client):
    result = cli(
        "users",
        "create",
        "--email",
        "agente@example.com",
        "--password",
        "contraseña-segura",
        "--name",
        "Agente Uno",
        "--role",
        "support",
    )

    assert result.exit_code == 0, result.output
    assert "agente@example.com" in result.output
    assert stored_user(app, "agente@example.com") == {
        "email": "agente@example.com",
        "role": "support",
    }
    response = login(client, "agente@example.com", "contraseña-segura")
    assert response.status_code == 200
    assert response.get_json()["data"]["user"]["role"] == "support"


def test_users_create_defaults_to_role_user(cli, app):
    result = cli(
        "users", "create", "--email", "u@example.com", "--password", "x" * 8, "--name", "U"
    )

    assert result.exit_code == 0, result.output
    assert stored_user(app, "u@example.com")["role"] == "user"


def test_users_create_with_a_taken_email_fails_with_a_message(cli, app):
    args = ("--password", "password123", "--name", "Ana")
    assert cli("users", "create", "--email", "ana@example.com", *args).exit_code == 0

    result = cli("users", "create", "--email", "ANA@example.com", *args, "--role", "admin")

    assert result.exit_code != 0
    assert "El email ya está registrado" in result.output
    assert stored_user(app, "ana@example.com")["role"] == "user"


def test_users_create_rejects_an_unknown_role(cli, app):
    result = cli(
        "users", "create", "--email", "r@example.com", "--password", "x" * 8, "--name", "R",
        "--role", "root",
    )  # fmt: skip

    assert result.exit_code != 0
    assert "root" in result.output
    assert stored_user(app, "r@example.com") is None


def test_users_set_role_changes_the_role(cli, app, make_account):
    account = make_account("user")

    result = cli("users", "set-role", "--email", account.email.upper(), "--role", "admin")

    assert result.exit_code == 0, result.output
    assert "admin" in result.output
    assert stored_user(app, account.email)["role"] == "admin"


def test_users_set_role_for_an_unknown_email_fails_with_a_message(cli):
    result = cli("users", "set-role", "--email", "nadie@example.com", "--role", "admin")

    assert result.exit_code != 0
    assert "Usuario no encontrado" in result.output


def test_demo_superadmin_is_created_once_and_its_password_printed_once(cli, app, client):
    email = app.config["DEMO_SUPERADMIN_EMAIL"]

    first = cli("demo", "ensure-superadmin")

    assert first.exit_code == 0, first.output
    password = re.search(r"password:\s*(\S+)", first.output).group(1)
    assert email in first.output
    response = login(client, email, password)
    assert response.status_code == 200
    assert response.get_json()["data"]["user"]["role"] == "superadmin"

    second = cli("demo", "ensure-superadmin")

    assert second.exit_code == 0, second.output
    assert password not in second.output
    assert "already exists" in second.output
    # The original credentials still work: the second run changed nothing.
    assert login(client, email, password).status_code == 200


@pytest.mark.parametrize(
    ("email", "password", "name", "field"),
    [
        ("no-es-un-email", "password123", "Ana", "email"),
        ("ana@example.com", "corta", "Ana", "password"),
        ("ana@example.com", "p" * 129, "Ana", "password"),
        ("ana@example.com", "password123", "   ", "name"),
    ],
    ids=["bad-email", "short-password", "long-password", "blank-name"],
)
def test_users_create_applies_the_registration_rules(cli, app, email, password, name, field):
    result = cli("users", "create", "--email", email, "--password", password, "--name", name)

    assert result.exit_code != 0
    assert field in result.output
    assert stored_user(app, email) is None
