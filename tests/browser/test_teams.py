"""Teams in the pages: the widget's team picker with availability and the offline notice, and
the team on the chat in the agent's queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.pages import (
    agent_and_customer,
    queue_item,
    widget_start_chat,
)

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def create_team(client, admin, name, business_hours=None):
    body = {"name": name, "isPublic": True, "businessHours": business_hours}
    response = client.post("/api/support/teams", json=body, headers=admin.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def test_widget_team_picker_offline_notice_and_team_in_queue(
    people, make_agent, make_account, client
):
    admin = make_account("admin")
    account, agent_profile = make_agent(name="Fede")
    billing = create_team(client, admin, "Facturación")
    # Open only three days from now: closed today, with a next opening to announce.
    later = WEEKDAYS[(datetime.now(UTC) + timedelta(days=3)).weekday()]
    closed = create_team(
        client, admin, "Técnico", {"timezone": "UTC", "weekly": {later: [["09:00", "18:00"]]}}
    )
    members = client.put(
        f"/api/support/teams/{billing['id']}/members",
        json={"agentIds": [agent_profile["id"]]},
        headers=admin.headers,
    )
    assert members.status_code == 200, members.get_json()
    agent, customer = agent_and_customer(people, account.email)

    team = customer.page.get_by_test_id("team")
    expect(team.locator("option")).to_have_count(3)
    team.select_option(closed["id"])
    expect(customer.page.get_by_test_id("offline")).to_contain_text("Abrimos")
    team.select_option(billing["id"])
    expect(customer.page.get_by_test_id("offline")).to_have_count(0)
    session_id = widget_start_chat(customer.page, "Tengo una duda con una factura")

    item = queue_item(agent.page, session_id)
    expect(item).to_contain_text("Facturación")
