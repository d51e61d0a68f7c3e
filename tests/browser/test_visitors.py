"""How customers arrive at the widget: as a guest, or identified by the host site's snippet."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.server
import threading

from playwright.sync_api import expect

from tests.browser.conftest import IDENTITY_SECRET
from tests.browser.pages import CUSTOMER_VIEWPORT, messages, widget_start_chat


def test_guest_starts_a_chat_without_an_account(people, make_agent, client, make_account):
    customer = people(viewport=CUSTOMER_VIEWPORT)
    customer.page.goto("/widget")
    customer.page.locator("input[name=name]").fill("Eva")
    customer.page.get_by_test_id("start-submit").click()

    session_id = widget_start_chat(customer.page, "¿Hacéis envíos a Canarias?")

    expect(messages(customer.page, "user")).to_have_count(1)
    admin = make_account("admin")
    details = client.get(f"/api/chat/session/{session_id}/details", headers=admin.headers)
    user = details.get_json()["data"]["user"]
    assert user["name"] == "Eva"
    assert user["isGuest"] is True


@contextlib.contextmanager
def host_site(page_html: str):
    """The integrator's site: a page with the snippet, on another origin (localhost and its own
    port) than the widget's server."""
    body = page_html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_snippet_on_a_host_page_arrives_identified(people, web, make_account, client):
    external_id = "cliente-4521"
    user_hash = hmac.new(IDENTITY_SECRET.encode(), external_id.encode(), hashlib.sha256).hexdigest()
    host = people(viewport={"width": 1000, "height": 800})
    snippet = f"""<!doctype html><html><body><h1>Tienda</h1>
      <script src="{web.url}/static/app/widget/embed.js" data-external-id="{external_id}"
        data-name="Carla Gómez" data-email="carla@tienda.example"
        data-user-hash="{user_hash}"></script>
    </body></html>"""
    with host_site(snippet) as shop:
        host.page.goto(shop)

        host.page.get_by_role("button", name="Soporte").click()
        widget = host.page.frame_locator("iframe[title=Soporte]")
        expect(widget.get_by_test_id("widget-new-chat")).to_be_visible()
        expect(widget.locator(".w-head .sub")).to_have_text("Carla Gómez")
        widget.get_by_test_id("first-message").fill("Hola desde la tienda")
        widget.get_by_test_id("start-chat").click()
        expect(widget.get_by_test_id("widget-chat")).to_be_visible()

    admin = make_account("admin")
    page = client.get("/api/chat/sessions/all", headers=admin.headers).get_json()["data"]
    [session] = page["sessions"]
    details = client.get(f"/api/chat/session/{session['id']}/details", headers=admin.headers)
    user = details.get_json()["data"]["user"]
    assert (user["name"], user["email"]) == ("Carla Gómez", "carla@tienda.example")
