"""The landing page and the API documentation render offline under the strict CSP."""

from __future__ import annotations

from playwright.sync_api import expect


def test_landing_page_links_the_console_and_widget(people):
    page = people().page
    page.goto("/")

    expect(page.get_by_role("link", name="Consola de agentes")).to_have_attribute(
        "href", "/console"
    )
    page.get_by_role("link", name="Demostración del widget").click()
    page.get_by_role("button", name="Soporte").click()
    widget = page.frame_locator("iframe[title=Soporte]")
    expect(widget.get_by_test_id("widget-start")).to_be_visible()


def test_swagger_ui_and_redoc_render_the_openapi_document(people, web):
    person = people(viewport={"width": 1200, "height": 800})
    outside: list[str] = []
    person.page.on(
        "request",
        lambda request: (
            not request.url.startswith((web.url, "data:", "blob:")) and outside.append(request.url)
        ),
    )

    person.page.goto("/api/docs")
    expect(person.page.locator(".opblock-summary-path").first).to_be_visible()
    expect(person.page.get_by_text("/api/chat/sessions/all").first).to_be_visible()

    person.page.goto("/api/redoc")
    expect(person.page.locator("h1").first).to_contain_text("supportapp")
    expect(person.page.get_by_text("/api/chat/sessions/all").first).to_be_attached()

    # Nothing is requested from elsewhere (ReDoc's CDN logo is patched out of the bundle).
    assert outside == []
    assert person.problems == []
