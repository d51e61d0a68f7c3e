"""A customer in the widget and an agent in the console, each in their own browser context."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.pages import (
    AGENT_VIEWPORT,
    CUSTOMER_VIEWPORT,
    agent_and_customer,
    connection,
    console_login,
    messages,
    queue_item,
    send,
    widget_register,
    widget_start_chat,
)
from tests.helpers import set_priority

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def test_chat_from_queue_to_rating(people, make_agent):
    agent_account, _ = make_agent(name="Ana Soporte")
    agent, customer = agent_and_customer(people, agent_account.email)

    started = time.monotonic()
    session_id = widget_start_chat(customer.page, f"Necesito ayuda con mi pedido {XSS}")

    # The chat reaches the agent's queue live, without a reload, within 2 s.
    item = queue_item(agent.page, session_id)
    expect(item).to_be_visible(timeout=2_000)
    assert time.monotonic() - started < 2.5
    expect(item.get_by_test_id("preview")).to_contain_text("Necesito ayuda con mi pedido")
    item.get_by_test_id("take").click()

    conversation = agent.page.get_by_test_id("conversation")
    expect(conversation).to_have_attribute("data-session-id", session_id)
    expect(conversation.get_by_test_id("conv-status")).to_have_text("Activo")
    expect(agent.page.get_by_test_id("load")).to_have_text("1/5")
    expect(customer.page.get_by_test_id("assigned")).to_contain_text("Ana Soporte")

    # Messages both ways, with Enter; the agent's reply becomes "Leído" once the customer sees it.
    send(agent.page, "Hola, soy Ana. ¿Qué número de pedido?")
    expect(messages(customer.page, "support").last).to_contain_text("¿Qué número de pedido?")
    send(customer.page, "Es el 4521")
    expect(messages(agent.page, "user").last).to_contain_text("Es el 4521")
    expect(messages(agent.page, "support").last.get_by_test_id("read-state")).to_have_text("Leído")

    # The XSS payload is shown as text on both sides; nothing of it ran or became an element.
    for page in (agent.page, customer.page):
        first = messages(page, "user").first.get_by_test_id("message-text")
        expect(first).to_contain_text(XSS)
        assert first.locator("img, script").count() == 0
        assert page.evaluate("window.__xss") is None

    # The agent closes; the customer rates; the agent sees the rating.
    agent.page.once("dialog", lambda dialog: dialog.accept())
    conversation.get_by_test_id("close").click()
    expect(conversation.get_by_test_id("conv-status")).to_have_text("Cerrado")
    expect(agent.page.get_by_test_id("load")).to_have_text("0/5")
    customer.page.get_by_test_id("star-4").click()
    customer.page.get_by_test_id("rating-comment").fill("Rápido y amable")
    customer.page.get_by_test_id("send-rating").click()
    expect(customer.page.get_by_test_id("rating-thanks")).to_be_visible()
    expect(conversation.get_by_test_id("conv-rating")).to_contain_text("4/5")

    assert agent.problems == [] and customer.problems == []


def test_widget_continues_the_same_conversation_after_a_reload(people):
    customer = people(viewport=CUSTOMER_VIEWPORT)
    widget_register(customer.page)
    session_id = widget_start_chat(customer.page, "Primera pregunta")
    send(customer.page, "Segunda línea")

    customer.page.reload()

    chat = customer.page.get_by_test_id("widget-chat")
    expect(chat).to_have_attribute("data-session-id", session_id)
    expect(messages(customer.page, "user")).to_have_count(2)
    expect(customer.page.get_by_test_id("queue-position")).to_contain_text("posición 1")
    expect(connection(customer.page, "connected")).to_be_attached()


def test_queue_by_priority_then_taken_and_answered_with_the_keyboard(
    people, make_agent, make_account, open_session, client
):
    agent_account, _ = make_agent()
    admin = make_account("admin")
    low = open_session(make_account(), "Pregunta sin prisa")
    urgent = open_session(make_account(), "¡No puedo pagar!")
    set_priority(client, urgent["id"], "high", admin, expect=200)
    agent = people(viewport=AGENT_VIEWPORT)
    console_login(agent.page, agent_account.email)

    items = agent.page.get_by_test_id("queue-item")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_have_attribute("data-session-id", urgent["id"])
    expect(items.nth(1)).to_have_attribute("data-session-id", low["id"])
    expect(items.nth(0)).to_contain_text("Alta")
    expect(items.nth(0).get_by_test_id("wait")).to_contain_text("espera")

    # Keyboard only: Enter on "Tomar" opens the chat with the cursor in the composer.
    items.nth(0).get_by_test_id("take").focus()
    agent.page.keyboard.press("Enter")
    expect(agent.page.get_by_test_id("composer")).to_be_focused()
    agent.page.keyboard.type("Ya lo reviso")
    agent.page.keyboard.press("Enter")
    expect(messages(agent.page, "support").last).to_contain_text("Ya lo reviso")
    expect(items).to_have_count(1)
