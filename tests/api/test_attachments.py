"""Attachments: POST /api/chat/session/:id/attachments and GET /api/chat/attachments/:id —
sniffing, size limits, filenames, signed links, visibility, both storage backends."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import uuid
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
from sqlalchemy import func, select

from supportapp.extensions import db
from supportapp.models import AttachmentContent, ChatAttachment, ChatMessage
from supportapp.realtime.bus import EVENT_STREAM
from supportapp.services import attachment_links, attachments
from supportapp.services.storage import FilesystemStorage
from tests.conftest import assert_error
from tests.helpers import close, send
from tests.spec_shapes import ATTACHMENT_FIELDS, MESSAGE_FIELDS

MSG_SENT = "Archivo enviado exitosamente"
MSG_TOO_LARGE = "El archivo supera el tamaño máximo permitido"
MSG_UNSUPPORTED = "Tipo de archivo no permitido"
MSG_BAD_LINK = "El enlace no es válido o ha caducado"
MSG_NOT_FOUND = "Archivo adjunto no encontrado"


def png_bytes(extra: int = 0) -> bytes:
    """A real 1×1 PNG, padded with an ancillary chunk to reach a size when asked."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
    padding = chunk(b"tEXt", b"c\x00" + b"x" * extra) if extra else b""
    return b"\x89PNG\r\n\x1a\n" + header + padding + pixels + chunk(b"IEND", b"")


def png_of_size(size: int) -> bytes:
    base = len(png_bytes(1)) - 1
    data = png_bytes(size - base)
    assert len(data) == size
    return data


PNG = png_bytes()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 100
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 100


@pytest.fixture
def user(make_account):
    return make_account("user")


@pytest.fixture
def session(open_session, user):
    return open_session(user)


def upload(client, session_id, account, content: bytes, filename="file.bin", message=None):
    data = {"file": (io.BytesIO(content), filename)}
    if message is not None:
        data["message"] = message
    return client.post(
        f"/api/chat/session/{session_id}/attachments",
        data=data,
        content_type="multipart/form-data",
        headers=account.headers if account else {},
    )


def sent(response) -> dict:
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["success"] is True and body["message"] == MSG_SENT
    return body["data"]


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def stored_rows(app) -> tuple[int, int, int]:
    with app.app_context():
        counts = (
            db.session.scalar(select(func.count()).select_from(ChatAttachment)),
            db.session.scalar(select(func.count()).select_from(AttachmentContent)),
            db.session.scalar(
                select(func.count()).select_from(ChatMessage).where(ChatMessage.attachments != [])
            ),
        )
        db.session.remove()
    return counts


@pytest.fixture(params=["database", "filesystem"])
def storage(request, app, tmp_path, monkeypatch):
    """Run the test against each backend; yields the filesystem root (None for database)."""
    monkeypatch.setitem(app.config, "ATTACHMENT_STORAGE", request.param)
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path / "attachments"))
    return tmp_path / "attachments" if request.param == "filesystem" else None


def files_under(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root and root.exists() else []


# --- sending ---------------------------------------------------------------------------------


def test_user_sends_a_png_named_pdf_and_it_is_a_png(client, user, session):
    data = sent(upload(client, session["id"], user, PNG, "factura.pdf", "Mi captura"))

    assert set(data) == MESSAGE_FIELDS
    assert data["sender"] == "user"
    assert data["message"] == "Mi captura"
    (attachment,) = data["attachments"]
    assert set(attachment) == ATTACHMENT_FIELDS
    assert attachment["contentType"] == "image/png"
    assert attachment["filename"] == "factura.pdf"
    assert attachment["size"] == len(PNG)
    assert urlsplit(attachment["url"]).path == f"/api/chat/attachments/{attachment['id']}"

    download = client.get(relative(attachment["url"]))
    assert download.status_code == 200
    assert download.data == PNG
    assert download.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (JPEG, "photo.png", "image/jpeg"),
        (GIF, "anim.txt", "image/gif"),
        (WEBP, "img", "image/webp"),
        (PDF, "doc.png", "application/pdf"),
        ("Hola, adjunto el número de pedido: 1234\n".encode(), "nota.exe", "text/plain"),
        ("\ufeffcon BOM y tildes: canción".encode(), "bom.txt", "text/plain"),
    ],
)
def test_the_type_comes_from_the_content_not_the_name(
    client, user, session, content, filename, expected
):
    (attachment,) = sent(upload(client, session["id"], user, content, filename))["attachments"]

    assert attachment["contentType"] == expected
    assert attachment["filename"] == filename


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>", "cat.png"),
        (b"  \n<html><body>hola</body></html>", "notes.txt"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "logo.png"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "logo.txt"),
        (b"Todo normal\nhasta que <script>alert(1)</script>\n", "log.txt"),
        (ELF, "photo.png"),
        (PE, "invoice.pdf"),
        (b"#!/bin/sh\nrm -rf /\n", "script.txt"),
        (b"\x00\x01\x02\x03binary", "data.txt"),
        ("texto en latin-1: canción".encode("latin-1"), "latin1.txt"),
        (b"GIF88a not really a gif \x00", "fake.gif"),
    ],
    ids=[
        "html",
        "html-after-space",
        "svg",
        "xml-svg",
        "script-inside",
        "elf",
        "pe",
        "shebang",
        "binary",
        "latin1",
        "bad-magic",
    ],
)
def test_html_svg_executables_and_unknown_types_are_415_and_nothing_is_kept(
    app, client, user, session, storage, content, filename
):
    response = upload(client, session["id"], user, content, filename)

    assert_error(response, 415, MSG_UNSUPPORTED)
    assert stored_rows(app) == (0, 0, 0)
    assert files_under(storage) == []


def test_attachment_types_limits_the_accepted_types(client, user, session, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_TYPES", frozenset({"image/png"}))

    assert_error(upload(client, session["id"], user, PDF, "a.pdf"), 415, MSG_UNSUPPORTED)
    sent(upload(client, session["id"], user, PNG, "a.png"))


# --- size ------------------------------------------------------------------------------------


def test_a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413(
    app, client, user, session, monkeypatch
):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 4096)

    data = sent(upload(client, session["id"], user, png_of_size(4096), "max.png"))
    assert data["attachments"][0]["size"] == 4096

    response = upload(client, session["id"], user, png_of_size(4097), "max.png")
    assert_error(response, 413, MSG_TOO_LARGE)
    assert stored_rows(app)[0] == 1


def test_the_default_limit_is_10_mib(app, client, user, session):
    limit = 10 * 1024 * 1024
    assert app.config["ATTACHMENT_MAX_BYTES"] == limit

    assert sent(upload(client, session["id"], user, png_of_size(limit), "big.png"))
    assert_error(upload(client, session["id"], user, png_of_size(limit + 1)), 413, MSG_TOO_LARGE)


def test_a_body_far_past_the_limit_is_refused_before_it_is_read(
    app, client, user, session, monkeypatch
):
    """The declared Content-Length alone decides: 413 in the envelope, nothing parsed."""
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024)

    response = upload(client, session["id"], user, png_of_size(200_000), "huge.png")

    assert_error(response, 413, MSG_TOO_LARGE)
    assert stored_rows(app) == (0, 0, 0)


def test_other_routes_keep_max_content_length(client, user, session):
    response = client.post(
        f"/api/chat/session/{session['id']}/message",
        data=json.dumps({"message": "x" * 70_000}),
        content_type="application/json",
        headers=user.headers,
    )

    assert_error(response, 413)


# --- form errors -----------------------------------------------------------------------------


def test_missing_file_is_400_on_file(client, user, session):
    response = client.post(
        f"/api/chat/session/{session['id']}/attachments",
        data={"message": "sin archivo"},
        content_type="multipart/form-data",
        headers=user.headers,
    )

    assert_error(response, 400, "El archivo es obligatorio", field="file")


def test_empty_file_is_400_on_file(client, user, session):
    response = upload(client, session["id"], user, b"", "empty.txt")

    assert_error(response, 400, "El archivo está vacío", field="file")


def test_caption_is_trimmed_may_be_empty_and_at_most_1000_characters(client, user, session):
    assert sent(upload(client, session["id"], user, PNG, "a.png"))["message"] == ""
    assert sent(upload(client, session["id"], user, PNG, "a.png", "  hola  "))["message"] == "hola"
    assert sent(upload(client, session["id"], user, PNG, "a.png", "x" * 1000))

    response = upload(client, session["id"], user, PNG, "a.png", "x" * 1001)
    assert_error(response, 400, "El mensaje no puede superar los 1000 caracteres", field="message")


# --- filenames -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\evil.txt", "evil.txt"),
        ("/var/www/.htaccess", "htaccess"),
        ("C:\\fakepath\\captura.png", "captura.png"),
        ("..", "archivo"),
        ("", "archivo"),
        (None, "archivo"),
        ('a"b;c<d>e|f?.png', "a_b_c_d_e_f_.png"),
        ("línea\r\nSet-Cookie: x=1.png", "línea__Set-Cookie_ x=1.png"),
        ("factura de enero.pdf", "factura de enero.pdf"),
        ("a" * 300 + ".png", "a" * 251 + ".png"),
    ],
)
def test_safe_filename_keeps_only_a_base_name(raw, expected):
    assert attachments.safe_filename(raw) == expected


def test_path_tricks_in_the_uploaded_filename_never_reach_storage(
    app, client, user, session, storage
):
    data = sent(upload(client, session["id"], user, PNG, "../../../../tmp/owned.png"))

    (attachment,) = data["attachments"]
    assert attachment["filename"] == "owned.png"
    if storage is not None:
        (path,) = files_under(storage)
        assert path.name == uuid.UUID(attachment["id"]).hex
        assert storage in path.parents
    download = client.get(relative(attachment["url"]))
    assert download.headers["Content-Disposition"] == "inline; filename=owned.png"


# --- who may send ----------------------------------------------------------------------------


def unsigned(attachment: dict) -> dict:
    """An attachment as shown, with its link's path instead of the signed link."""
    return {**attachment, "url": urlsplit(attachment["url"]).path}


def test_staff_send_as_support_and_it_counts_as_the_first_reply(app, client, make_agent, session):
    agent_account, agent = make_agent()

    data = sent(upload(client, session["id"], agent_account, PDF, "guia.pdf", "Mira esto"))

    assert data["sender"] == "support"
    details = client.get(
        f"/api/chat/session/{session['id']}/details", headers=agent_account.headers
    ).get_json()["data"]
    assert details["session"]["status"] == "active"
    assert details["session"]["supportAgentId"] == agent["id"]
    # The same files; each read signs its links anew, with an expiry in whole seconds.
    listed = details["session"]["messages"][-1]["attachments"]
    assert [unsigned(a) for a in listed] == [unsigned(a) for a in data["attachments"]]
    with app.app_context():
        first = db.session.scalar(
            select(ChatMessage.first_response_seconds).where(ChatMessage.id == data["id"])
        )
        db.session.remove()
    assert first is not None


def test_strangers_get_404_and_unknown_sessions_404(client, make_account, session):
    stranger = make_account("user")

    assert_error(
        upload(client, session["id"], stranger, PNG, "a.png"), 404, "Sesión de chat no encontrada"
    )
    assert_error(
        upload(client, str(uuid.uuid4()), stranger, PNG, "a.png"),
        404,
        "Sesión de chat no encontrada",
    )
    assert_error(upload(client, "not-a-uuid", stranger, PNG, "a.png"), 404)


def test_without_a_token_it_is_401(client, session):
    assert_error(upload(client, session["id"], None, PNG, "a.png"), 401)


def test_a_closed_session_is_409(client, user, session):
    close(client, session["id"], user, expect=200)

    assert_error(upload(client, session["id"], user, PNG, "a.png"), 409)


def test_an_attachment_spends_the_message_budget(app, client, user, session, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", "3/minute")
    send(client, session["id"], user, "uno", expect=201)
    sent(upload(client, session["id"], user, PNG, "a.png"))
    sent(upload(client, session["id"], user, PNG, "a.png"))

    response = upload(client, session["id"], user, PNG, "a.png")

    assert_error(response, 429, "Demasiados mensajes enviados. Intenta de nuevo en unos minutos")


def test_the_message_appears_with_its_attachments_everywhere(
    client, redis_url, user, make_account, session
):
    data = sent(upload(client, session["id"], user, PNG, "a.png", "captura"))
    staff = make_account("support")

    listed = client.get("/api/chat/sessions", headers=user.headers).get_json()["data"]
    assert (
        listed["sessions"][0]["messages"][0]["attachments"][0]["id"]
        == (data["attachments"][0]["id"])
    )
    all_sessions = client.get("/api/chat/sessions/all", headers=staff.headers).get_json()["data"]
    assert all_sessions["sessions"][0]["messages"][0]["attachments"][0]["contentType"] == (
        "image/png"
    )
    history = client.get(
        f"/api/chat/session/{session['id']}/messages", headers=user.headers
    ).get_json()["data"]
    assert history[0]["attachments"] == []  # the opening text message
    assert history[-1]["attachments"][0]["filename"] == "a.png"

    entries = redis.Redis.from_url(redis_url, decode_responses=True).xrange(EVENT_STREAM)
    received = [
        json.loads(fields["data"])
        for _id, fields in entries
        if fields["event"] == "chat_message_received"
    ]
    event = received[-1]
    assert event["message"]["id"] == data["id"]
    assert event["message"]["attachments"][0]["id"] == data["attachments"][0]["id"]
    assert set(event["message"]["attachments"][0]) == ATTACHMENT_FIELDS
    assert event["session"]["messages"][0]["attachments"][0]["filename"] == "a.png"
    assert received[0]["message"]["attachments"] == []


# --- downloading -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "disposition", "content_type"),
    [
        (PNG, "inline", "image/png"),
        (PDF, "attachment", "application/pdf"),
        (b"solo texto\n", "attachment", "text/plain; charset=utf-8"),
    ],
)
def test_download_with_the_bearer_token_carries_safe_headers(
    client, user, session, content, disposition, content_type
):
    (attachment,) = sent(upload(client, session["id"], user, content, "f"))["attachments"]

    response = client.get(f"/api/chat/attachments/{attachment['id']}", headers=user.headers)

    assert response.status_code == 200
    assert response.data == content
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == f"{disposition}; filename=f"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert response.headers["ETag"] == f'"{hashlib.sha256(content).hexdigest()}"'


def test_who_may_download_with_a_token(client, user, make_account, session):
    (attachment,) = sent(upload(client, session["id"], user, PNG, "a.png"))["attachments"]
    path = f"/api/chat/attachments/{attachment['id']}"

    assert client.get(path, headers=make_account("support").headers).status_code == 200
    assert client.get(path, headers=make_account("admin").headers).status_code == 200
    assert_error(client.get(path, headers=make_account("user").headers), 404, MSG_NOT_FOUND)
    assert_error(client.get(path), 401)
    unknown = f"/api/chat/attachments/{uuid.uuid4()}"
    assert_error(client.get(unknown, headers=user.headers), 404, MSG_NOT_FOUND)
    assert_error(client.get("/api/chat/attachments/nope", headers=user.headers), 404)


def test_a_signed_link_works_without_a_header_until_it_expires(app, client, user, session):
    (attachment,) = sent(upload(client, session["id"], user, PNG, "a.png"))["attachments"]
    query = parse_qs(urlsplit(attachment["url"]).query)
    expires = int(query["expires"][0])
    assert expires - app.config["ATTACHMENT_URL_TTL"] <= __import__("time").time() + 1

    assert client.get(relative(attachment["url"])).data == PNG

    with app.test_request_context():
        expired = attachment_links.signed_url(attachment["id"], now=1_000_000)
    assert_error(client.get(relative(expired)), 403, MSG_BAD_LINK)


def test_a_link_past_its_ttl_is_refused(app, client, user, session, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_URL_TTL", 60)
    (attachment,) = sent(upload(client, session["id"], user, PNG, "a.png"))["attachments"]
    query = parse_qs(urlsplit(attachment["url"]).query)
    expires, signature = query["expires"][0], query["signature"][0]

    with app.app_context():
        attachment_links.verify(attachment["id"], expires, signature, now=int(expires) - 1)
        with pytest.raises(attachment_links.Forbidden):
            attachment_links.verify(attachment["id"], expires, signature, now=int(expires))


def test_tampered_links_are_403(client, user, session):
    first, second = (
        sent(upload(client, session["id"], user, PNG, "a.png"))["attachments"][0] for _ in range(2)
    )
    path = urlsplit(first["url"]).path
    query = parse_qs(urlsplit(first["url"]).query)
    expires, signature = query["expires"][0], query["signature"][0]
    other_query = urlsplit(second["url"]).query

    bad = [
        f"{path}?expires={expires}&signature={signature[:-1]}0",
        f"{path}?expires={int(expires) + 3600}&signature={signature}",
        f"{path}?expires={expires}",
        f"{path}?signature={signature}",
        f"{path}?expires=abc&signature={signature}",
        f"{urlsplit(second['url']).path}?expires={expires}&signature={signature}",
        f"{path}?{other_query}",
    ]
    for url in bad:
        assert_error(client.get(url), 403, MSG_BAD_LINK)
    # A bad signature is refused even with a valid token: the link is what is being used.
    assert_error(client.get(bad[0], headers=user.headers), 403, MSG_BAD_LINK)


# --- storage ---------------------------------------------------------------------------------


def test_both_backends_store_and_serve_the_bytes_with_their_sha256(
    app, client, user, session, storage
):
    content = png_of_size(300_000)  # past the multipart parser's in-memory spool

    (attachment,) = sent(upload(client, session["id"], user, content, "big.png"))["attachments"]

    assert client.get(relative(attachment["url"])).data == content
    with app.app_context():
        row = db.session.get(ChatAttachment, uuid.UUID(attachment["id"]))
        assert row.sha256 == hashlib.sha256(content).hexdigest()
        assert row.storage == ("filesystem" if storage else "database")
        in_database = db.session.get(AttachmentContent, row.id)
        db.session.remove()
    if storage is None:
        assert in_database.data == content
    else:
        assert in_database is None
        (path,) = files_under(storage)
        assert path.read_bytes() == content


def test_a_failed_transaction_keeps_no_file(app, client, make_agent, session, storage, monkeypatch):
    agent_account, _agent = make_agent()

    def broken(*args, **kwargs):
        raise RuntimeError("audit is down")

    monkeypatch.setattr("supportapp.services.messages.audit.record", broken)
    response = upload(client, session["id"], agent_account, PNG, "a.png")

    assert_error(response, 500)
    assert stored_rows(app) == (0, 0, 0)
    assert files_under(storage) == []


def test_files_stay_readable_after_the_configured_backend_changes(
    app, client, user, session, tmp_path, monkeypatch
):
    monkeypatch.setitem(app.config, "ATTACHMENT_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "ATTACHMENT_STORAGE", "filesystem")
    on_disk = sent(upload(client, session["id"], user, PNG, "a.png"))["attachments"][0]
    monkeypatch.setitem(app.config, "ATTACHMENT_STORAGE", "database")
    in_db = sent(upload(client, session["id"], user, PDF, "a.pdf"))["attachments"][0]

    assert client.get(relative(on_disk["url"])).data == PNG
    assert client.get(relative(in_db["url"])).data == PDF


def test_deleting_a_sessions_attachments_deletes_their_files(
    app, client, make_account, user, session, storage
):
    other_user = make_account("user")
    other = client.post(
        "/api/chat/sessions", json={"message": "otra"}, headers=other_user.headers
    ).get_json()["data"]
    kept = sent(upload(client, other["id"], other_user, PDF, "keep.pdf"))["attachments"][0]
    gone = [
        sent(upload(client, session["id"], user, PNG, "a.png"))["attachments"][0] for _ in range(2)
    ]
    from supportapp.services.unit_of_work import unit_of_work

    with app.app_context():
        with unit_of_work() as uow:
            assert attachments.delete_user_attachments(uow, uuid.UUID(user.id)) == 2
        db.session.remove()

    assert stored_rows(app)[0] == 1
    for attachment in gone:
        assert_error(client.get(relative(attachment["url"])), 404, MSG_NOT_FOUND)
    assert client.get(relative(kept["url"])).data == PDF
    if storage is not None:
        assert [p.name for p in files_under(storage)] == [uuid.UUID(kept["id"]).hex]
    history = client.get(
        f"/api/chat/session/{session['id']}/messages", headers=user.headers
    ).get_json()["data"]
    assert all(m["attachments"] == [] for m in history)


def test_filesystem_paths_are_named_by_id_only(tmp_path):
    backend = FilesystemStorage(tmp_path)
    attachment_id = uuid.uuid4()

    backend.save(attachment_id, io.BytesIO(b"data"))

    assert backend.path_of(attachment_id) == tmp_path / attachment_id.hex[:2] / attachment_id.hex
    assert backend.open(attachment_id).read() == b"data"
    backend.remove([attachment_id, uuid.uuid4()])
    assert backend.open(attachment_id) is None
