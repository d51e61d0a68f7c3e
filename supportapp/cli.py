"""Command-line tools: `flask --app wsgi users …` and `flask --app wsgi demo …`."""

from __future__ import annotations

import secrets

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from supportapp.analytics import counters
from supportapp.api.auth.schemas import RegisterSchema
from supportapp.errors import DomainError
from supportapp.models import Role
from supportapp.services import users as user_service

ROLE_CHOICE = click.Choice([r.value for r in Role])


def init_app(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(push_cli)
    app.cli.add_command(counters_cli)


@click.group("users", cls=AppGroup, help="Manage users.")
def users_cli() -> None:
    pass


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", required=True)
@click.option("--role", type=ROLE_CHOICE, default=Role.USER.value, show_default=True)
def create_user(email: str, password: str, name: str, role: str) -> None:
    """Create a user with the given role (same email/password/name rules as registration)."""
    problems = RegisterSchema().validate({"email": email, "password": password, "name": name})
    if problems:
        raise click.ClickException(
            "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in problems.items())
        )
    try:
        user = user_service.register_user(
            email=email, password=password, name=name, role=Role(role)
        )
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from exc
    click.echo(f"created {user.role} {user.email} id={user.id}")


@users_cli.command("set-role")
@click.option("--email", required=True)
@click.option("--role", type=ROLE_CHOICE, required=True)
def set_role(email: str, role: str) -> None:
    """Change the role of an existing user."""
    try:
        user = user_service.set_role(email=email, role=Role(role))
    except DomainError as exc:
        raise click.ClickException(_describe(exc)) from exc
    click.echo(f"{user.email} is now {user.role}")


@click.group("demo", cls=AppGroup, help="Demo data for a fresh installation.")
def demo_cli() -> None:
    pass


@demo_cli.command("ensure-superadmin")
def ensure_superadmin() -> None:
    """Create the demo superadmin once and print its credentials (only that one time)."""
    email = current_app.config["DEMO_SUPERADMIN_EMAIL"]
    if user_service.find_by_email(email) is not None:
        click.echo(f"demo superadmin {email} already exists (password printed on first run)")
        return
    password = secrets.token_urlsafe(12)
    user_service.register_user(
        email=email, password=password, name="Demo Superadmin", role=Role.SUPERADMIN
    )
    click.echo("=" * 60)
    click.echo("Demo superadmin created. Keep these credentials; they are shown once:")
    click.echo(f"  email:    {email}")
    click.echo(f"  password: {password}")
    click.echo("=" * 60)


@click.group("push", cls=AppGroup, help="Web Push set-up.")
def push_cli() -> None:
    pass


@push_cli.command("generate-vapid-keys")
def generate_vapid_keys() -> None:
    """Print a new VAPID key pair as environment lines (base64url; set VAPID_SUBJECT too)."""
    from supportapp.vapid import generate_key_pair

    public, private = generate_key_pair()
    click.echo(f"VAPID_PUBLIC_KEY={public}")
    click.echo(f"VAPID_PRIVATE_KEY={private}")


def _describe(error: DomainError) -> str:
    if error.errors:
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in error.errors.items())
    return error.message


@click.group("counters", help="Trigger-kept counters (agent load, dashboard buckets).")
def counters_cli() -> None:
    pass


@counters_cli.command("rebuild")
def rebuild() -> None:
    """Recompute every counter from the raw rows."""
    counters.rebuild_counters()
    click.echo("counters rebuilt")


@counters_cli.command("check")
def check() -> None:
    """Compare every counter with the raw rows; exit 1 when any differs."""
    mismatches = counters.check_counters()
    for name, count in mismatches.items():
        click.echo(f"{name}: {'ok' if count == 0 else f'{count} mismatching rows'}")
    if any(mismatches.values()):
        raise SystemExit(1)
