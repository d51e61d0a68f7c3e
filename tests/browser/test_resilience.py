"""The console survives its web process restarting: the banner shows while it reconnects, and
the messages written meanwhile (through another web process) appear once it is back."""

from __future__ import annotations

import signal

import pytest
from playwright.sync_api import expect

from testkit.processes import serving
from tests.browser.pages import AGENT_VIEWPORT, connection, console_login, messages, send
from tests.realtime.harness import Api, WebServer


@pytest.fixture
def two_servers(browser_environ, browser_log_dir):
    """Two web processes of their own: `first` is restarted by the test, `second` stays up."""
    with serving(
        WebServer("restart-web-1", browser_environ, browser_log_dir),
        WebServer("restart-web-2", browser_environ, browser_log_dir),
        sig=signal.SIGQUIT,
    ) as pair:
        yield pair


def test_missed_messages_appear_after_the_server_restarts(
    people, make_agent, make_account, two_servers
):
    first, second = two_servers
    agent_account, agent_profile = make_agent()
    customer = make_account()
    api = Api(second)
    session = api.open_session(customer.token, "Hola, ¿hay alguien?")
    api.assign(agent_account.token, session["id"], agent_profile["id"])

    agent = people(first, viewport=AGENT_VIEWPORT)
    console_login(agent.page, agent_account.email)
    agent.page.get_by_test_id("tab-mine").click()
    agent.page.locator(f"[data-testid=mine-item][data-session-id='{session['id']}']").click()
    send(agent.page, "Te leo, dime")

    first.stop(signal.SIGQUIT)
    expect(connection(agent.page, "reconnecting")).to_be_visible()
    missed = [f"Mensaje perdido {n}" for n in range(3)]
    for text in missed:
        api.user_message(customer.token, session["id"], text)
    first.start().wait_healthy()

    expect(connection(agent.page, "connected")).to_be_visible(timeout=20_000)
    user_messages = messages(agent.page, "user")
    expect(user_messages).to_have_count(4)
    for index, text in enumerate(missed, start=1):
        expect(user_messages.nth(index)).to_contain_text(text)
    assert agent.problems == []


def test_resync_required_refetches_what_the_console_shows(
    people, make_agent, make_account, open_session
):
    account, _ = make_agent()
    agent = people(viewport=AGENT_VIEWPORT)
    console_login(agent.page, account.email)
    waiting = open_session(make_account(), "Llegué mientras tanto")
    expect(agent.page.get_by_test_id("queue-item")).to_have_count(1)

    # A resume point the server cannot honour (malformed): it answers resync_required, and
    # the page must load its state over REST, as on a fresh connection.
    agent.page.evaluate("sessionStorage.setItem('supportapp.console.lastEventId', 'no-es-un-id')")
    agent.page.reload()

    item = agent.page.get_by_test_id("queue-item")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-session-id", waiting["id"])
    expect(connection(agent.page, "connected")).to_be_visible()
