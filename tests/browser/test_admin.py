"""The admin's view: the strip's figures are the API's, and they follow live events."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import AGENT_VIEWPORT, console_login, queue_item
from tests.helpers import assign


def test_admin_strip_numbers_match_the_api(people, make_agent, make_account, open_session, client):
    admin = make_account("admin", name="Admin Uno")
    busy_account, busy = make_agent(max_chats=3, name="Berta")
    _, idle = make_agent(max_chats=2, name="Ciro")
    first = open_session(make_account(), "Primero en llegar")
    taken = open_session(make_account(), "Este lo toma Berta")
    open_session(make_account(), "Tercero")
    assign(client, taken["id"], busy["id"], busy_account, expect=200)

    page = people(viewport=AGENT_VIEWPORT).page
    console_login(page, admin.email)

    def api(path):
        response = client.get(path, headers=admin.headers)
        assert response.status_code == 200
        return response.get_json()["data"]

    stats = api("/api/chat/stats")
    agents = api("/api/support/agents")
    online = [a for a in agents if a.get("presence", "online") == "online" and a["isActive"]]
    expect(page.get_by_test_id("strip-waiting")).to_have_text(str(stats["pendingSessions"]))
    expect(page.get_by_test_id("strip-online")).to_have_text(str(len(online)))
    for agent in online:
        load = page.locator(f"[data-testid=strip-agents] [data-agent-id='{agent['id']}']")
        expect(load).to_have_text(
            f"{agent['name']} {agent['currentActiveChats']}/{agent['maxConcurrentChats']}"
        )
    assert {a["id"] for a in online} >= {busy["id"], idle["id"]} or "presence" in agents[0]
    queue = api("/api/chat/queue")["sessions"]
    assert min(s["createdAt"] for s in queue) == first["createdAt"]
    expect(page.get_by_test_id("strip-longest")).to_contain_text(" s")

    # A new chat moves the figures live, still equal to the API's.
    open_session(make_account(), "Llega uno más")
    expect(page.get_by_test_id("strip-waiting")).to_have_text(str(stats["pendingSessions"] + 1))
    assert api("/api/chat/stats")["pendingSessions"] == stats["pendingSessions"] + 1


def test_an_admin_without_agent_profile_can_start_taking_chats(people, make_account, open_session):
    admin = make_account("superadmin", name="Demo Admin")
    waiting = open_session(make_account(), "¿Alguien por aquí?")
    page = people(viewport=AGENT_VIEWPORT).page
    console_login(page, admin.email)
    item = queue_item(page, waiting["id"])
    expect(item).to_be_visible()
    expect(item.get_by_test_id("take")).to_have_count(0)

    page.get_by_test_id("become-agent").click()

    expect(page.get_by_test_id("load")).to_have_text("0/5")
    item.get_by_test_id("take").click()
    expect(page.get_by_test_id("load")).to_have_text("1/5")
    expect(page.get_by_test_id("conv-status")).to_have_text("Activo")
