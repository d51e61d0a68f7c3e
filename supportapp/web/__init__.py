"""The pages a person opens in a browser: `/`, the agent console, the customer widget and the
API documentation. They are clients of the public REST/WebSocket API only, served as templates
and static ES modules (no build step); every library is vendored under static/vendor at a
pinned version (static/vendor/README.md), never loaded from a CDN.

Every page is sent with a strict Content-Security-Policy: scripts and styles only from this
origin, plus one per-response nonce for the few inline elements a page needs (the import map,
which browsers cannot load from a file, and ReDoc's generated style sheets).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import flask_swagger_ui
from flask import Blueprint, Response, current_app, g, render_template, request, send_from_directory

from supportapp.config import ROOT_DIR

bp = Blueprint("web", __name__)

SWAGGER_UI_DIR = Path(flask_swagger_ui.__file__).resolve().parent / "dist"
REALTIME_GUIDE = ROOT_DIR / "docs" / "realtime.md"
# The two style elements the pinned ReDoc bundle (2.5.1) inserts while it loads, before it can
# be handed the nonce: an empty one and its scrollbar sheet. Allowed by hash, on its page only;
# a new ReDoc version prints its hashes in the browser console if they change.
REDOC_STYLE_HASHES = (
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
    "'sha256-QMIg+bpjm3JdElJ388KYke01izlUW0UoNOeKjpMxdgc='",
)


def csp_nonce() -> str:
    """One nonce per response, shared by every inline element of the page."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def content_security_policy(
    nonce: str, frame_ancestors: str, style_hashes: tuple[str, ...] = ()
) -> str:
    # connect-src names the WebSocket origin explicitly: older browsers do not count ws(s):
    # as 'self'. Images may be data:/blob: (thumbnails of files picked for upload).
    host = request.host
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            " ".join(["style-src 'self'", f"'nonce-{nonce}'", *style_hashes]),
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "worker-src 'self' blob:",
            "media-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _page(
    template: str,
    *,
    frame_ancestors: str = "'self'",
    style_hashes: tuple[str, ...] = (),
    **context,
) -> Response:
    nonce = csp_nonce()
    response = Response(render_template(template, csp_nonce=nonce, **context), mimetype="text/html")
    response.headers["Content-Security-Policy"] = content_security_policy(
        nonce, frame_ancestors, style_hashes
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def show_index():
    return _page("index.html")


@bp.get("/console")
def show_console():
    return _page("console.html")


@bp.get("/widget")
def show_widget():
    # The widget is meant to be framed by the host sites that embed the snippet.
    return _page("widget.html", frame_ancestors=current_app.config["WIDGET_FRAME_ANCESTORS"])


@bp.get("/widget/demo")
def show_widget_demo():
    """A stand-in for an integrator's page, carrying the README's snippet."""
    return _page("widget_demo.html")


@bp.get("/api/docs")
def show_swagger_ui():
    return _page("swagger.html", spec_url="/api/openapi.json")


@bp.get("/api/redoc")
def show_redoc():
    return _page("redoc.html", spec_url="/api/openapi.json", style_hashes=REDOC_STYLE_HASHES)


@bp.get("/docs/realtime.md")
def show_realtime_guide():
    text = REALTIME_GUIDE.read_text(encoding="utf-8")
    response = Response(text, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/static/vendor/swagger-ui/<path:filename>")
def swagger_ui_asset(filename: str):
    """Swagger UI's files as the pinned flask-swagger-ui package ships them."""
    return send_from_directory(SWAGGER_UI_DIR, filename)
