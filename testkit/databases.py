"""Throwaway PostgreSQL databases for the tests and the benchmarks."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg2
from sqlalchemy.engine import make_url


def admin_connection(database_url: str):
    """An autocommit connection to the `postgres` database of `database_url`'s server."""
    url = make_url(database_url).set(database="postgres")
    conn = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres"
    )
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database `<prefix>_<random>` on `server_url`'s server; yields its
    postgresql:// URL and drops it (WITH FORCE) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = admin_connection(server_url)
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        yield url.replace("postgresql+psycopg2://", "postgresql://")
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
