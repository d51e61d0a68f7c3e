"""Attachments and a customer's data rights: the export lists their files, erasure deletes
them — rows, bytes and files — in both storage backends."""

from __future__ import annotations

import hashlib

from tests.api.test_attachments import PDF, PNG, files_under, relative, sent, stored_rows, upload
from tests.api.test_attachments import storage as storage  # the fixture, for this module too
from tests.conftest import assert_error


def test_the_export_lists_the_customers_attachments(client, make_account, open_session):
    admin, customer = make_account("admin"), make_account("user")
    session = open_session(customer, "hola")
    message = sent(upload(client, session["id"], customer, PNG, "captura.png"))
    other = make_account("user")
    sent(upload(client, open_session(other, "otra")["id"], other, PDF, "ajeno.pdf"))

    export = client.get(f"/api/support/users/{customer.id}/export", headers=admin.headers)

    assert export.status_code == 200, export.get_json()
    (row,) = export.get_json()["data"]["attachments"]
    assert row["id"] == message["attachments"][0]["id"]
    assert row["messageId"] == message["id"] and row["sessionId"] == session["id"]
    assert row["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert row["filename"] == "captura.png" and row["contentType"] == "image/png"
    assert client.get(relative(row["url"])).data == PNG


def test_erasing_a_customer_deletes_their_files(
    app,
    client,
    make_account,
    open_session,
    storage,
):
    admin, customer, other = make_account("admin"), make_account("user"), make_account("user")
    mine = sent(upload(client, open_session(customer, "hola")["id"], customer, PNG, "a.png"))
    kept = sent(upload(client, open_session(other, "hola")["id"], other, PDF, "b.pdf"))

    response = client.delete(f"/api/support/users/{customer.id}", headers=admin.headers)

    assert response.status_code == 200, response.get_json()
    assert stored_rows(app)[0] == 1
    assert_error(client.get(relative(mine["attachments"][0]["url"])), 404)
    assert client.get(relative(kept["attachments"][0]["url"])).data == PDF
    if storage is not None:
        assert len(files_under(storage)) == 1
