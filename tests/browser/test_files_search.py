"""Files and finding things: an image sent from the widget shows as a thumbnail on both sides;
the sidebar lists the customer's previous conversations and searches every conversation."""

from __future__ import annotations

import base64

from playwright.sync_api import expect

from tests.browser.pages import (
    AGENT_VIEWPORT,
    agent_and_customer,
    console_login,
    queue_item,
    widget_start_chat,
)
from tests.helpers import close

# A 2×2 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg=="
)


def test_image_attachment_shows_as_a_thumbnail(people, make_agent):
    account, _ = make_agent()
    agent, customer = agent_and_customer(people, account.email)
    session_id = widget_start_chat(customer.page, "Te mando una captura")
    queue_item(agent.page, session_id).get_by_test_id("take").click()

    customer.page.get_by_test_id("composer").fill("Aquí está el error")
    customer.page.get_by_test_id("file-input").set_input_files(
        files=[{"name": "captura.png", "mimeType": "image/png", "buffer": PNG}]
    )

    for page in (customer.page, agent.page):
        thumb = page.locator("[data-testid=message] [data-testid=thumbnail]").last
        expect(thumb).to_be_visible()
        expect(thumb).to_have_attribute("alt", "captura.png")
        page.wait_for_function(
            "img => img.complete && img.naturalWidth === 2", arg=thumb.element_handle()
        )
    expect(
        agent.page.locator("[data-testid=message]", has_text="Aquí está el error")
    ).to_be_visible()
    assert agent.problems == [] and customer.problems == []


def test_sidebar_history_and_search(people, make_agent, make_account, open_session, client):
    account, _ = make_agent()
    customer = make_account(name="Dora Díaz")
    old = open_session(customer, "Quiero devolver el pedido, el reembolso no llegó")
    close(client, old["id"], customer, expect=200)
    current = open_session(customer, "Hola otra vez")
    agent = people(viewport=AGENT_VIEWPORT)
    console_login(agent.page, account.email)

    queue_item(agent.page, current["id"]).locator(".item-main").click()
    expect(agent.page.get_by_test_id("customer-name")).to_contain_text("Dora Díaz")
    expect(agent.page.get_by_test_id("customer-email")).to_have_text(customer.email)
    expect(agent.page.get_by_test_id("previous")).to_contain_text("reembolso")

    agent.page.get_by_test_id("search").fill("REEMBOLSÓ")
    agent.page.get_by_test_id("search").press("Enter")
    result = agent.page.get_by_test_id("search-results").locator("li").first
    expect(result.locator("mark")).to_have_text("reembolso")
    result.locator("button").click()
    expect(agent.page.get_by_test_id("conversation")).to_have_attribute(
        "data-session-id", old["id"]
    )
