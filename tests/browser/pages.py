"""What a person does on the pages, as small steps the tests compose."""

from __future__ import annotations

import os
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD

AGENT_VIEWPORT = {"width": 1280, "height": 800}
CUSTOMER_VIEWPORT = {"width": 420, "height": 720}


def agent_and_customer(people, agent_email: str) -> tuple:
    """An agent signed in to the console and a customer registered in the widget, each in a
    browser of their own: (agent, customer)."""
    agent = people(viewport=AGENT_VIEWPORT)
    customer = people(viewport=CUSTOMER_VIEWPORT)
    console_login(agent.page, agent_email)
    widget_register(customer.page)
    return agent, customer


def queue_item(page: Page, session_id: str):
    return page.locator(f"[data-testid=queue-item][data-session-id='{session_id}']")


def console_login(page: Page, email: str, password: str = PASSWORD) -> None:
    page.goto("/console")
    page.get_by_label("Correo electrónico").fill(email)
    page.get_by_label("Contraseña").fill(password)
    page.get_by_label("Contraseña").press("Enter")
    expect(connection(page, "connected")).to_be_visible()


def connection(page: Page, status: str):
    return page.locator(f"[data-testid=connection][data-status={status}]")


def widget_register(page: Page, name: str = "Carla Cliente") -> str:
    """Opens the widget and creates an account from it; returns the email."""
    email = f"cliente-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/widget")
    page.get_by_test_id("mode-register").click()
    page.locator("input[name=name]").fill(name)
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_test_id("start-submit").click()
    expect(page.get_by_test_id("widget-new-chat")).to_be_visible()
    return email


def widget_start_chat(page: Page, text: str) -> str:
    page.get_by_test_id("first-message").fill(text)
    page.get_by_test_id("start-chat").click()
    chat = page.get_by_test_id("widget-chat")
    expect(chat).to_be_visible()
    return chat.get_attribute("data-session-id")


def send(page: Page, text: str) -> None:
    """Types into the composer and sends with Enter (the keyboard way)."""
    composer = page.get_by_test_id("composer")
    composer.fill(text)
    composer.press("Enter")
    expect(composer).to_have_value("")


def messages(page: Page, sender: str):
    return page.locator(f"[data-testid=timeline] [data-testid=message][data-sender={sender}]")


def screenshot(page: Page, name: str) -> None:
    """Saves a screenshot for the README when SCREENSHOTS_DIR is set (docs/img is made with
    `SCREENSHOTS_DIR=docs/img make test PYTEST_ARGS=tests/browser`)."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        page.screenshot(path=f"{folder}/{name}.png")
