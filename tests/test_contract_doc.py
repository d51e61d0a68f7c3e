"""docs/contract.md keeps up with the code: every endpoint of the OpenAPI document, every
WebSocket event the code can send and every MSG_* message of the application is in it, it
documents no API endpoint that does not exist, and no file points to a document or an issue that
is not in the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "contract.md"
METHODS = ("get", "post", "put", "patch", "delete")
# Served as HTML or the document itself, outside the OpenAPI paths.
DOCUMENT_PAGES = {"/api/docs", "/api/redoc", "/api/openapi.json"}


def _normalized(path: str) -> str:
    """`/session/{session_id}` and `/session/:id` both become `/session/:param`."""
    return re.sub(r"\{[^}]+\}|:\w+", ":param", path)


def _documented_endpoints() -> set[tuple[str, str]]:
    text = CONTRACT.read_text()
    found = re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`\s]*)`", text)
    return {(method, _normalized(path)) for method, path in found}


def _openapi_endpoints(client) -> set[tuple[str, str]]:
    document = client.get("/api/openapi.json").get_json()
    return {
        (method.upper(), _normalized(path))
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }


def test_every_openapi_endpoint_is_in_the_contract(client):
    missing = _openapi_endpoints(client) - _documented_endpoints()
    assert not missing, f"docs/contract.md lacks: {sorted(missing)}"


def test_the_contract_documents_no_api_endpoint_that_does_not_exist(client):
    documented = {
        (method, path)
        for method, path in _documented_endpoints()
        if path.startswith("/api/") and path not in DOCUMENT_PAGES
    }
    unknown = documented - _openapi_endpoints(client)
    assert not unknown, f"docs/contract.md documents unknown endpoints: {sorted(unknown)}"


def _stored_event_names() -> set[str]:
    """The names the event builders of supportapp/realtime/events.py can give an Event."""
    tree = ast.parse((ROOT / "supportapp" / "realtime" / "events.py").read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        if node.func.id == "_for_session":
            values = [node.args[0]]
        elif node.func.id == "Event":
            values = [k.value for k in node.keywords if k.arg == "name"]
        else:
            continue
        for value in values:
            parts = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            names.update(p.value for p in parts if isinstance(p, ast.Constant))
    return names


def _frame_names() -> set[str]:
    """Frames the WebSocket sends that are not stored events (`{"event": "pong", …}`)."""
    names: set[str] = set()
    for module in (ROOT / "supportapp" / "realtime").glob("*.py"):
        names.update(re.findall(r'"event": "(\w+)"', module.read_text()))
    return names


def test_every_websocket_event_is_in_the_contract():
    events = CONTRACT.read_text().split("## WebSocket events", 1)[1]
    names = _stored_event_names() | _frame_names()
    assert {"chat_created", "sla_breached", "sla_warning", "pong", "typing"} <= names
    missing = {name for name in names if f"`{name}`" not in events}
    assert not missing, f"docs/contract.md's events lack: {sorted(missing)}"


# `MSG_X = "…"` (or split over lines in parentheses): the messages clients show people.
MESSAGE_CONSTANT = re.compile(r'^MSG_\w+\s*=\s*\(?\s*((?:"[^"]*"\s*)+)\)?', re.MULTILINE)


def _message_constants() -> dict[str, str]:
    """Every MSG_* text of the application (up to a `{placeholder}`), by where it is."""
    found = {}
    for path in (ROOT / "supportapp").rglob("*.py"):
        for match in MESSAGE_CONSTANT.finditer(path.read_text()):
            text = "".join(re.findall(r'"([^"]*)"', match[1]))
            found[f"{path.relative_to(ROOT)}: {text}"] = text.split("{")[0].strip()
    return found


def test_every_message_of_the_application_is_in_the_contract():
    contract = " ".join(CONTRACT.read_text().split())
    messages = _message_constants()
    assert len(messages) > 50  # the pattern still finds them
    missing = sorted(where for where, text in messages.items() if text not in contract)
    assert not missing, "docs/contract.md lacks these messages:\n" + "\n".join(missing)


# Built from parts so that this file does not match itself.
OUTSIDE_REFERENCE = re.compile(
    r"\b(?:SPEC|DESIGN)\.md\b|\bissues? #?\d+|/work/" + "shared", re.IGNORECASE
)
SKIPPED_DIRS = {".git", ".venv", "var", "node_modules", "__pycache__", "results"}
TEXT_SUFFIXES = {".py", ".md", ".js", ".html", ".css", ".txt", ".toml", ".cfg", ".ini", ".yml"}


def _repository_text_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        if any(part in SKIPPED_DIRS for part in path.relative_to(ROOT).parts):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name in {"Makefile"}):
            files.append(path)
    return files


def test_no_file_points_outside_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _repository_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE_REFERENCE.search(line)
    ]
    assert not found, "point to docs/contract.md or docs/decisions.md instead:\n" + "\n".join(found)
