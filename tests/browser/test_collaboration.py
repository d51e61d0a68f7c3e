"""Working together in the console: presence, typing both ways, internal notes that the
customer never sees, and a support agent's transfer with a note, seen by an admin."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.pages import (
    AGENT_VIEWPORT,
    agent_and_customer,
    console_login,
    messages,
    queue_item,
    screenshot,
    send,
    widget_start_chat,
)

NOTE = "Cliente VIP: ofrecer reembolso completo"


def test_typing_notes_and_transfer(people, make_agent, make_account, client):
    admin = make_account("admin", name="Admin Dos")
    ana_account, ana = make_agent(name="Ana")
    _, beto = make_agent(name="Beto")
    agent, customer = agent_and_customer(people, ana_account.email)
    session_id = widget_start_chat(customer.page, "Hola, mi factura está mal")
    queue_item(agent.page, session_id).get_by_test_id("take").click()
    expect(agent.page.get_by_test_id("conversation")).to_have_attribute(
        "data-session-id", session_id
    )

    # Typing, both ways.
    customer.page.get_by_test_id("composer").press_sequentially("Es la de", delay=50)
    expect(agent.page.get_by_test_id("typing")).to_have_text("El cliente está escribiendo…")
    agent.page.get_by_test_id("composer").press_sequentially("Lo miro", delay=50)
    expect(customer.page.get_by_test_id("typing")).to_have_text("Ana está escribiendo…")
    send(agent.page, "Lo miro ahora mismo")
    expect(customer.page.get_by_test_id("typing")).to_have_text("")

    # An internal note: shown to staff as a note, never to the customer, not even after a reload.
    agent.page.get_by_test_id("note-mode").check()
    send(agent.page, NOTE)
    note = agent.page.get_by_test_id("note")
    expect(note).to_contain_text(NOTE)
    expect(note).to_contain_text("Nota interna")
    assert agent.page.locator("[data-testid=message]", has_text=NOTE).count() == 0
    send(customer.page, "Gracias")  # something after the note, so the customer's page is current
    expect(messages(agent.page, "user").last).to_contain_text("Gracias")
    screenshot(agent.page, "console")
    customer.page.reload()
    # Once the whole history is back on screen (not just the latest message):
    expect(messages(customer.page, "support")).to_contain_text(["Lo miro ahora mismo"])
    expect(messages(customer.page, "user")).to_have_count(2)
    screenshot(customer.page, "widget")
    assert NOTE not in customer.page.content()

    # Ana (a support agent, not an admin) hands the chat to Beto with a note: the dialog offers
    # her colleagues, not herself. The customer sees Beto, never the note.
    agent.page.get_by_test_id("transfer").click()
    options = agent.page.get_by_test_id("transfer-agent").locator("option")
    expect(options).to_have_text(["Beto (0/5 · Desconectado)"])
    agent.page.get_by_test_id("transfer-agent").select_option(beto["id"])
    agent.page.get_by_test_id("transfer-note").fill("Beto lleva facturación")
    agent.page.get_by_test_id("transfer-submit").click()
    transferred = agent.page.locator("[data-testid=timeline] [data-testid=transfer]")
    expect(transferred).to_contain_text("Transferido de Ana a Beto")
    expect(transferred).to_contain_text("Beto lleva facturación")
    expect(agent.page.get_by_test_id("load")).to_have_text("0/5")
    expect(customer.page.get_by_test_id("assigned")).to_contain_text("Beto")
    assert "Beto lleva facturación" not in customer.page.content()

    # The admin's console: every chat, the transfer with its note, Ana's load in the strip.
    boss = people(viewport=AGENT_VIEWPORT)
    console_login(boss.page, admin.email)
    boss.page.get_by_test_id("tab-all").click()
    boss.page.locator(
        f"[data-testid=all-item][data-session-id='{session_id}'] button"
    ).first.click()
    expect(boss.page.locator("[data-testid=timeline] [data-testid=transfer]")).to_contain_text(
        "Beto lleva facturación"
    )
    expect(boss.page.get_by_test_id("strip-agents")).to_contain_text("Ana 0/5")
    screenshot(boss.page, "console-admin")

    details = client.get(
        f"/api/chat/session/{session_id}/details", headers=admin.headers
    ).get_json()["data"]
    assert details["session"]["supportAgentId"] == beto["id"]
    assert details["transfers"][0]["fromAgentId"] == ana["id"]
    assert agent.problems == [] and customer.problems == [] and boss.problems == []


def test_presence_switch_changes_what_the_api_says(people, make_agent, client, make_account):
    admin = make_account("admin")
    account, profile = make_agent()
    agent = people(viewport=AGENT_VIEWPORT)
    console_login(agent.page, account.email)

    def presence() -> str:
        agents = client.get("/api/support/agents", headers=admin.headers).get_json()["data"]
        return next(a["presence"] for a in agents if a["id"] == profile["id"])

    switch = agent.page.get_by_test_id("presence")
    for chosen in ("online", "away", "online"):
        if switch.input_value() != chosen:
            switch.select_option(chosen)
        # The dot follows the agent the API answered with, not the select's own value.
        expect(agent.page.locator(f".presence .dot.{chosen}")).to_be_attached()
        assert presence() == chosen
