"""Response templates (/api/support/templates): who sees and changes which template, shortcut
uniqueness, variables, search, the audit trail, and sending a template as a support message."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from supportapp.extensions import db
from supportapp.models import AuditLog, ChatMessage
from tests.conftest import assert_error
from tests.helpers import close, reply
from tests.spec_shapes import MSG_FORBIDDEN, TEMPLATE_FIELDS

URL = "/api/support/templates"
MSG_NOT_FOUND = "Plantilla no encontrada"
MSG_TAKEN = "Ya existe una plantilla con ese atajo"


def create(client, account, **fields) -> dict:
    body = {"title": "Saludo", "content": "Hola, ¿en qué puedo ayudarte?", "shortcut": "hola"}
    body |= fields
    response = client.post(URL, json=body, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def listed(client, account, **query) -> list[str]:
    response = client.get(URL, query_string=query, headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return [t["shortcut"] for t in response.get_json()["data"]["templates"]]


def audit_actions(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditLog.action, AuditLog.target_id)
            .where(AuditLog.target_type == "response_template")
            .order_by(AuditLog.id)
        ).all()
        return [tuple(row) for row in rows]


# --- create and read ---------------------------------------------------------------------------


def test_support_creates_a_private_template_and_it_is_audited(app, client, support):
    response = client.post(
        URL,
        json={
            "title": "  Saludo  ",
            "content": " Hola {{user.name}} ",
            "shortcut": "saludo-1",
            "category": "general",
        },
        headers=support.headers,
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["message"] == "Plantilla creada exitosamente"
    data = body["data"]
    assert set(data) == TEMPLATE_FIELDS
    assert data["title"] == "Saludo"
    assert data["content"] == "Hola {{user.name}}"
    assert data["shortcut"] == "saludo-1"
    assert data["category"] == "general"
    assert data["isShared"] is False
    assert data["createdBy"] == support.id
    assert data["createdAt"].endswith("Z")
    assert audit_actions(app) == [("template.created", data["id"])]


def test_a_user_cannot_use_templates(client, make_account):
    user = make_account("user")

    assert_error(client.get(URL, headers=user.headers), 403, MSG_FORBIDDEN)
    assert_error(
        client.post(
            URL, json={"title": "a", "content": "b", "shortcut": "c"}, headers=user.headers
        ),
        403,
        MSG_FORBIDDEN,
    )


def test_templates_require_a_token(client):
    assert_error(client.get(URL), 401)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", ""),
        ("title", "t" * 101),
        ("content", "   "),
        ("content", "c" * 1001),
        ("shortcut", "Hola"),
        ("shortcut", "con espacio"),
        ("shortcut", "x" * 33),
        ("shortcut", ""),
        ("shortcut", "acento-á"),
        ("category", "c" * 51),
        ("isShared", "quizás"),
    ],
)
def test_invalid_fields_return_400_with_the_field(client, support, field, value):
    body = {"title": "Saludo", "content": "Hola", "shortcut": "hola", field: value}

    assert_error(client.post(URL, json=body, headers=support.headers), 400, field=field)


@pytest.mark.parametrize("missing", ["title", "content", "shortcut"])
def test_required_fields(client, support, missing):
    body = {"title": "Saludo", "content": "Hola", "shortcut": "hola"}
    del body[missing]

    assert_error(client.post(URL, json=body, headers=support.headers), 400, field=missing)


def test_shortcut_edges_are_accepted(client, support):
    assert create(client, support, shortcut="a")["shortcut"] == "a"
    assert create(client, support, shortcut="z_9-" + "x" * 28)["shortcut"] == "z_9-" + "x" * 28


# --- shortcut uniqueness -----------------------------------------------------------------------


def test_duplicate_shortcut_returns_409_even_across_authors(client, support, other_support):
    create(client, support, shortcut="hola")

    response = client.post(
        URL, json={"title": "Otro", "content": "Hola", "shortcut": "hola"}, headers=support.headers
    )
    assert_error(response, 409, MSG_TAKEN)
    response = client.post(
        URL,
        json={"title": "Otro", "content": "Hola", "shortcut": "hola"},
        headers=other_support.headers,
    )
    assert_error(response, 409, MSG_TAKEN)


def test_renaming_to_a_taken_shortcut_returns_409_and_keeping_it_is_fine(client, support):
    create(client, support, shortcut="hola")
    second = create(client, support, shortcut="adios")

    response = client.patch(
        f"{URL}/{second['id']}", json={"shortcut": "hola"}, headers=support.headers
    )
    assert_error(response, 409, MSG_TAKEN)
    response = client.patch(
        f"{URL}/{second['id']}",
        json={"shortcut": "adios", "title": "Adiós"},
        headers=support.headers,
    )
    assert response.status_code == 200
    assert response.get_json()["data"]["title"] == "Adiós"


# --- variables ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "Hola {{user.nombre}}",
        "Hola {{usuario}}",
        "{{agent.email}}",
        "{{session.status}} {{user.name}}",
        "{{}}",
        "{{User.Name}}",
    ],
)
def test_unknown_variables_are_rejected_on_create(client, support, content):
    body = {"title": "Saludo", "content": content, "shortcut": "hola"}

    response = client.post(URL, json=body, headers=support.headers)

    body = assert_error(response, 400, field="content")
    assert "{{user.name}}" in body["errors"]["content"][0]  # the message lists the allowed ones


def test_unknown_variables_are_rejected_on_update(client, support):
    template = create(client, support)

    response = client.patch(
        f"{URL}/{template['id']}", json={"content": "Hola {{cliente}}"}, headers=support.headers
    )

    body = assert_error(response, 400, field="content")
    assert "{{cliente}}" in body["errors"]["content"][0]


def test_every_known_variable_is_accepted(client, support):
    content = "{{user.name}} {{user.email}} {{agent.name}} {{session.id}} {{ user.name }}"

    assert create(client, support, content=content)["content"] == content


# --- visibility and permissions ----------------------------------------------------------------


@pytest.fixture
def three_templates(client, support, other_support):
    """support: `mio` (private) and `compartido` (shared); other_support: `ajeno` (private)."""
    return {
        "mio": create(client, support, shortcut="mio", title="B mío"),
        "compartido": create(
            client, support, shortcut="compartido", title="A compartido", isShared=True
        ),
        "ajeno": create(client, other_support, shortcut="ajeno", title="C ajeno"),
    }


def test_support_sees_shared_templates_and_their_own(
    client, support, other_support, admin, three_templates
):
    assert listed(client, support) == ["compartido", "mio"]
    assert listed(client, other_support) == ["compartido", "ajeno"]
    assert listed(client, admin) == ["compartido", "mio", "ajeno"]


def test_a_private_template_of_someone_else_is_a_404(client, other_support, three_templates):
    response = client.get(f"{URL}/{three_templates['mio']['id']}", headers=other_support.headers)
    assert_error(response, 404, MSG_NOT_FOUND)
    response = client.patch(
        f"{URL}/{three_templates['mio']['id']}", json={"title": "X"}, headers=other_support.headers
    )
    assert_error(response, 404, MSG_NOT_FOUND)
    response = client.delete(f"{URL}/{three_templates['mio']['id']}", headers=other_support.headers)
    assert_error(response, 404, MSG_NOT_FOUND)


def test_a_shared_template_of_someone_else_can_be_read_but_not_changed(
    client, other_support, three_templates
):
    shared = three_templates["compartido"]

    response = client.get(f"{URL}/{shared['id']}", headers=other_support.headers)
    assert response.status_code == 200
    assert response.get_json()["data"] == shared
    response = client.patch(
        f"{URL}/{shared['id']}", json={"title": "Mío ahora"}, headers=other_support.headers
    )
    assert_error(response, 403, MSG_FORBIDDEN)
    assert_error(client.delete(f"{URL}/{shared['id']}", headers=other_support.headers), 403)


def test_the_author_updates_and_deletes_their_template(app, client, support, three_templates):
    mine = three_templates["mio"]

    response = client.patch(
        f"{URL}/{mine['id']}",
        json={"title": "Nuevo", "isShared": True, "category": "ventas"},
        headers=support.headers,
    )
    assert response.status_code == 200
    assert response.get_json()["message"] == "Plantilla actualizada exitosamente"
    data = response.get_json()["data"]
    assert (data["title"], data["isShared"], data["category"]) == ("Nuevo", True, "ventas")
    assert data["updatedAt"] >= mine["updatedAt"]

    response = client.delete(f"{URL}/{mine['id']}", headers=support.headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "success": True,
        "data": None,
        "message": "Plantilla eliminada exitosamente",
    }
    assert_error(client.get(f"{URL}/{mine['id']}", headers=support.headers), 404)
    assert audit_actions(app)[-2:] == [
        ("template.updated", mine["id"]),
        ("template.deleted", mine["id"]),
    ]


def test_an_update_records_what_changed(app, client, support, three_templates):
    mine = three_templates["mio"]
    client.patch(f"{URL}/{mine['id']}", json={"title": "Nuevo"}, headers=support.headers)

    with app.app_context():
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "template.updated")
        ).one()
        assert (entry.before, entry.after) == ({"title": "B mío"}, {"title": "Nuevo"})
        assert str(entry.actor_id) == support.id


def test_admins_change_and_delete_any_template(client, make_account, three_templates):
    for role in ("admin", "superadmin"):
        admin = make_account(role)
        private = three_templates["ajeno"]
        response = client.patch(
            f"{URL}/{private['id']}", json={"title": f"Por {role}"}, headers=admin.headers
        )
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["data"]["createdBy"] == private["createdBy"]
    response = client.delete(f"{URL}/{three_templates['ajeno']['id']}", headers=admin.headers)
    assert response.status_code == 200


@pytest.mark.parametrize("template_id", [str(uuid.uuid4()), "no-es-un-id"])
def test_unknown_template_is_a_404(client, support, template_id):
    assert_error(client.get(f"{URL}/{template_id}", headers=support.headers), 404, MSG_NOT_FOUND)


# --- search ------------------------------------------------------------------------------------


def test_q_searches_title_shortcut_and_content_and_category_filters(client, support):
    create(client, support, title="Devoluciones", content="Plazo de 30 días", shortcut="dev")
    create(
        client, support, title="Envío", content="Llega en 48h", shortcut="envio", category="Ventas"
    )
    create(client, support, title="Cierre 100%", content="Gracias por escribir", shortcut="cierre")

    assert listed(client, support, q="devol") == ["dev"]  # title, any case
    assert listed(client, support, q="ENVIO") == ["envio"]  # shortcut
    assert listed(client, support, q="48H") == ["envio"]  # content
    assert listed(client, support, q="%") == ["cierre"]  # LIKE wildcards are literal
    assert listed(client, support, q="_") == []
    assert listed(client, support, category="ventas") == ["envio"]
    assert listed(client, support, q="e", category="VENTAS") == ["envio"]
    assert listed(client, support, q="nada") == []


def test_list_is_paginated(client, support):
    for n in range(3):
        create(client, support, shortcut=f"t{n}", title=f"T{n}")

    response = client.get(URL, query_string={"limit": 2, "page": 2}, headers=support.headers)

    data = response.get_json()["data"]
    assert [t["shortcut"] for t in data["templates"]] == ["t2"]
    assert data["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2}


# --- sending a template ------------------------------------------------------------------------


def test_template_message_renders_every_variable(
    app, client, make_account, make_agent, open_session
):
    user = make_account("user", name="Ana Pérez")
    agent_account, agent = make_agent(name="Bruno Soporte")
    session = open_session(user)
    template = create(
        client,
        agent_account,
        content="Hola {{user.name}} ({{user.email}}), soy {{agent.name}}. "
        "Caso {{session.id}}. {{ user.name }}",
    )

    response = reply(client, session["id"], agent_account, template_id=template["id"])

    assert response.status_code == 201, response.get_json()
    expected = f"Hola Ana Pérez ({user.email}), soy Bruno Soporte. Caso {session['id']}. Ana Pérez"
    data = response.get_json()["data"]
    assert data["message"] == expected
    assert data["sender"] == "support"
    with app.app_context():
        stored = db.session.get(ChatMessage, uuid.UUID(data["id"]))
        assert stored.message == expected
        assert str(stored.agent_id) == agent["id"]
        entry = db.session.scalars(
            select(AuditLog).where(AuditLog.action == "session.support_message")
        ).one()
        assert entry.after["templateId"] == template["id"]


def test_agent_name_is_the_senders_user_name_without_an_agent_profile(
    client, make_account, open_session
):
    admin = make_account("admin", name="Carla Admin")
    session = open_session(make_account("user"))
    template = create(client, admin, content="Soy {{agent.name}}")

    response = reply(client, session["id"], admin, template_id=template["id"])

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["data"]["message"] == "Soy Carla Admin"


def test_a_shared_template_of_another_agent_can_be_sent(
    client, make_account, open_session, support, other_support
):
    session = open_session(make_account("user"))
    shared = create(client, support, content="Compartida", isShared=True)

    response = reply(client, session["id"], other_support, template_id=shared["id"])

    assert response.status_code == 201
    assert response.get_json()["data"]["message"] == "Compartida"


@pytest.mark.parametrize("which", ["unknown", "private-of-other", "malformed"])
def test_unknown_or_invisible_template_returns_400_template_id(
    app, client, make_account, open_session, support, other_support, which
):
    session = open_session(make_account("user"))
    template_id = {
        "unknown": str(uuid.uuid4()),
        "private-of-other": create(client, support)["id"],
        "malformed": "plantilla",
    }[which]

    response = reply(client, session["id"], other_support, template_id=template_id)

    assert_error(response, 400, "La plantilla no existe", field="templateId")
    with app.app_context():
        assert (
            db.session.scalar(
                select(db.func.count())
                .select_from(ChatMessage)
                .where(ChatMessage.sender == "support")
            )
            == 0
        )


def test_message_and_template_together_return_400(client, make_account, open_session, support):
    session = open_session(make_account("user"))
    template = create(client, support)

    response = reply(client, session["id"], support, message="Hola", template_id=template["id"])

    assert_error(response, 400, field="templateId")


def test_rendered_text_over_1000_characters_returns_400_message(
    client, make_account, open_session, support
):
    user = make_account("user")
    session = open_session(user)
    content = "x" * (1000 - len("{{user.email}}")) + "{{user.email}}"
    template = create(client, support, content=content)
    assert len(content) == 1000

    response = reply(client, session["id"], support, template_id=template["id"])

    assert_error(response, 400, "El mensaje no puede superar los 1000 caracteres", field="message")


def test_template_message_to_a_missing_or_closed_session(
    client, make_account, open_session, support
):
    template = create(client, support)
    user = make_account("user")
    session = open_session(user)
    close(client, session["id"], user, expect=200)

    assert_error(reply(client, str(uuid.uuid4()), support, template_id=template["id"]), 404)
    assert_error(reply(client, session["id"], support, template_id=template["id"]), 409)


def test_template_messages_share_the_message_rate_limit(
    app, client, make_account, open_session, support, monkeypatch
):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", "2/minute")
    session = open_session(make_account("user"))
    template = create(client, support)

    assert reply(client, session["id"], support, template_id=template["id"]).status_code == 201
    assert reply(client, session["id"], support, message="Hola").status_code == 201
    response = reply(client, session["id"], support, template_id=template["id"])

    assert_error(response, 429, "Demasiados mensajes enviados. Intenta de nuevo en unos minutos")
    assert int(response.headers["Retry-After"]) >= 1
