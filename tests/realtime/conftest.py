"""Two real gunicorn web processes shared by the real-time tests, plus per-test helpers.

The servers use the run's test database and Redis db (tests/conftest.py `test_environ`); the
autouse clean slate truncates the tables and flushes that Redis db before every test, which the
running servers tolerate (their stream reader simply follows the new stream).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.processes import serving
from tests.realtime.harness import Api, WebServer

# A budget no test reaches: these tests produce many messages per user on purpose.
SERVER_SETTINGS = {"MESSAGE_RATE_LIMIT": "100000/minute"}


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory) -> object:
    return tmp_path_factory.mktemp("realtime-logs")


@pytest.fixture(scope="session")
def server_environ(app, test_environ: dict[str, str]) -> dict[str, str]:
    """test_environ, once `app` has migrated the test database."""
    return {**test_environ, **SERVER_SETTINGS}


# Package scope: their outbox relays must not outlive these tests (tests elsewhere leave outbox
# rows behind on purpose and relay them themselves).
@pytest.fixture(scope="package")
def servers(server_environ, log_dir) -> Iterator[tuple[WebServer, WebServer]]:
    """Two web processes on different ports, one worker each."""
    with serving(
        WebServer("web-1", server_environ, log_dir), WebServer("web-2", server_environ, log_dir)
    ) as pair:
        yield pair


@pytest.fixture
def web(servers) -> WebServer:
    return servers[0]


@pytest.fixture
def api(web) -> Api:
    return Api(web)
