"""The browser pages as HTTP: each is served with a strict CSP and loads only local assets."""

from __future__ import annotations

import re

import pytest

PAGES = ["/", "/console", "/widget", "/widget/demo", "/api/docs", "/api/redoc"]


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    directives = {}
    for part in policy.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.mark.parametrize("path", PAGES)
def test_page_is_html_with_a_strict_csp(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = csp_directives(response)
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in csp[directive]
        assert "'unsafe-eval'" not in csp[directive]
        assert csp[directive][0] == "'self'"
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_nothing_from_another_origin(client, path):
    page = client.get(path).get_data(as_text=True)

    for tag in re.findall(r"<[a-z]+\b[^>]*>", page):
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", tag), tag


@pytest.mark.parametrize("path", PAGES)
def test_every_inline_script_carries_this_responses_nonce(client, path):
    response = client.get(path)
    page = response.get_data(as_text=True)
    nonce = next(v for v in csp_directives(response)["script-src"] if v.startswith("'nonce-"))

    for tag in re.findall(r"<script\b[^>]*>", page):
        if "src=" not in tag:
            assert f'nonce="{nonce[7:-1]}"' in tag


def test_nonce_changes_on_every_response(client):
    first = csp_directives(client.get("/console"))["script-src"]
    second = csp_directives(client.get("/console"))["script-src"]

    assert first != second


def test_landing_page_links_console_widget_docs_and_realtime_guide(client):
    page = client.get("/").get_data(as_text=True)

    for link in (
        "/console",
        "/widget",
        "/widget/demo",
        "/api/docs",
        "/api/redoc",
        "/docs/realtime.md",
    ):
        assert f'href="{link}"' in page


def test_realtime_guide_is_served_as_text(client):
    response = client.get("/docs/realtime.md")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "resync_required" in response.get_data(as_text=True)


def test_swagger_ui_assets_are_served_from_the_pinned_package(client):
    page = client.get("/api/docs").get_data(as_text=True)
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', page).group(1)

    response = client.get(bundle)

    assert response.status_code == 200
    assert b"SwaggerUIBundle" in response.get_data()


def test_redoc_bundle_is_vendored(client):
    page = client.get("/api/redoc").get_data(as_text=True)
    bundle = re.search(r'src="([^"]*redoc\.standalone\.js)"', page).group(1)

    assert client.get(bundle).status_code == 200


def test_console_is_framed_only_by_itself_and_the_widget_by_configured_sites(app, client):
    console = csp_directives(client.get("/console"))
    widget = csp_directives(client.get("/widget"))

    assert console["frame-ancestors"] == ["'self'"]
    assert widget["frame-ancestors"] == app.config["WIDGET_FRAME_ANCESTORS"].split()


def test_unknown_static_file_is_a_json_404(client):
    response = client.get("/static/app/nothing.js")

    assert response.status_code == 404
    assert response.get_json() == {"success": False, "message": "Recurso no encontrado"}


CDN_HOSTS = re.compile(r"cdn\.|unpkg\.com|jsdelivr|cdnjs|fonts\.googleapis|gstatic")


def test_no_served_file_names_a_cdn(app):
    """The pages' own scripts, the vendored libraries (ReDoc's attribution logo patched out,
    static/vendor/README.md) and the templates never point the browser at a CDN."""
    from pathlib import Path

    package = Path(app.root_path)
    served = [
        path
        for folder in (package / "static", package / "templates")
        for path in folder.rglob("*")
        if path.is_file() and path.suffix in {".js", ".css", ".html", ".svg", ".json"}
    ]
    assert any(path.name == "redoc.standalone.js" for path in served)
    offenders = [
        str(path.relative_to(package))
        for path in served
        if CDN_HOSTS.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []
