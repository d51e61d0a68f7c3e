"""`flask db upgrade` and `flask db downgrade base` on a fresh database of their own: the
migrated schema is exactly the models' schema, and going down leaves nothing behind.

Each test starts from whatever the previous one left and brings the database to the state it
needs first (upgrade and downgrade are idempotent at head and base)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import Migrate
from flask_migrate.cli import db as db_cli
from sqlalchemy import create_engine, text

import supportapp.models  # noqa: F401 - registers every model on the metadata
from supportapp.config import sqlalchemy_url
from supportapp.extensions import db
from testkit.databases import throwaway_database

ROOT = Path(__file__).resolve().parents[1]
TRIGGER_FUNCTIONS = {
    "chat_sessions_counters",
    "chat_messages_response_stats",
    "chat_sessions_response_stats",
}


@pytest.fixture(scope="module")
def fresh_database_url(database_url: str) -> Iterator[str]:
    """An empty database on the test server, next to the suite's own, dropped afterwards."""
    with throwaway_database(database_url, "supportapp_migrations") as url:
        yield sqlalchemy_url(url)


@pytest.fixture(scope="module")
def migrations_app(fresh_database_url) -> Flask:
    """An app with only the database and Flask-Migrate, bound to the fresh database, so the
    suite's app (and its extensions) is left alone."""
    app = Flask("migrations_test")
    app.config["SQLALCHEMY_DATABASE_URI"] = fresh_database_url
    db.init_app(app)
    Migrate(app, db, directory=str(ROOT / "migrations"))
    return app


@pytest.fixture
def flask_db(migrations_app):
    """flask_db("upgrade") runs `flask db upgrade` against the fresh database."""
    runner = migrations_app.test_cli_runner()

    def run(*args: str) -> str:
        result = runner.invoke(db_cli, list(args))
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output

    yield run
    with migrations_app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def engine(fresh_database_url):
    engine = create_engine(fresh_database_url)
    yield engine
    engine.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, db.metadata)


def leftovers(engine) -> dict[str, set[str]]:
    """Everything in the public schema that is not alembic's own bookkeeping."""
    queries = {
        "relations": "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
        "AND c.relname NOT IN ('alembic_version', 'alembic_version_pkc')",
        "types": "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'c', 'd') "
        "AND t.typname <> 'alembic_version'",
        "functions": "SELECT p.proname FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
        "triggers": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
    }
    with engine.connect() as connection:
        return {kind: set(connection.scalars(text(query))) for kind, query in queries.items()}


def current_revision(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    script = ScriptDirectory(str(ROOT / "migrations"))
    heads = script.get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def test_upgrade_builds_exactly_the_models_schema(flask_db, engine):
    flask_db("upgrade")

    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []
    assert leftovers(engine)["functions"] >= TRIGGER_FUNCTIONS
    flask_db("check")  # exits 1 when autogenerate finds operations to add


def test_downgrade_base_leaves_nothing_behind(flask_db, engine):
    flask_db("upgrade")

    flask_db("downgrade", "base")

    assert current_revision(engine) is None
    assert leftovers(engine) == {
        "relations": set(),
        "types": set(),
        "functions": set(),
        "triggers": set(),
    }


def test_upgrade_after_downgrade_works_and_the_triggers_run(flask_db, engine):
    flask_db("upgrade")
    flask_db("downgrade", "base")
    flask_db("upgrade")

    assert schema_differences(engine) == []
    with engine.begin() as connection:
        user = connection.scalar(
            text(
                "INSERT INTO users (id, email, name) VALUES (gen_random_uuid(), 'a@b.c', 'A') "
                "RETURNING id"
            )
        )
        agent = connection.scalar(
            text(
                "INSERT INTO support_agents (id, user_id, name, email, max_concurrent_chats) "
                "VALUES (gen_random_uuid(), :user, 'A', 'a@b.c', 1) RETURNING id"
            ),
            {"user": user},
        )
        connection.execute(
            text(
                "INSERT INTO chat_sessions (id, user_id, support_agent_id, status) "
                "VALUES (gen_random_uuid(), :user, :agent, 'active')"
            ),
            {"user": user, "agent": agent},
        )
        counters = connection.execute(
            text(
                "SELECT (SELECT current_active_chats FROM support_agents), "
                "(SELECT sum(sessions) FROM session_stats_hourly)"
            )
        ).one()
    assert tuple(counters) == (1, 1)
    flask_db("downgrade", "base")


def counters_function_source(engine) -> str:
    with engine.connect() as connection:
        return connection.scalar(
            text("SELECT prosrc FROM pg_proc WHERE proname = 'chat_sessions_counters'")
        )


def test_0005_counter_function_and_its_downgrade_to_the_0001_version(flask_db, engine):
    flask_db("upgrade")
    assert "EXECUTE format" not in counters_function_source(engine)
    assert "IF NOT FOUND THEN" in counters_function_source(engine)

    flask_db("downgrade", "0004")
    assert "EXECUTE format" in counters_function_source(engine)

    flask_db("upgrade")
    assert "EXECUTE format" not in counters_function_source(engine)


def _guests_revision() -> tuple[str, str]:
    """(revision, down_revision) of the guests/identity/data-rights migration."""
    script = ScriptDirectory(str(ROOT / "migrations"))
    [found] = [r for r in script.walk_revisions() if "guests_identity" in r.path]
    return found.revision, found.down_revision


def test_guests_migration_downgrade_keeps_password_accounts_and_its_upgrade_reruns(
    flask_db, engine
):
    revision, below = _guests_revision()
    flask_db("upgrade", revision)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, name, password_hash, is_guest) VALUES "
                "(gen_random_uuid(), 'Ana@example.com', 'Ana', 'hash', false),"
                "(gen_random_uuid(), 'ana@example.com', 'Invitada', NULL, true),"
                "(gen_random_uuid(), NULL, 'Visitante', NULL, true),"
                "(gen_random_uuid(), 'solo@example.com', 'Solo', NULL, true)"
            )
        )

    flask_db("downgrade", below)

    with engine.connect() as connection:
        names = set(connection.scalars(text("SELECT name FROM users")))
    assert names == {"Ana", "Solo"}
    flask_db("upgrade")
    assert schema_differences(engine) == []
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM users"))
