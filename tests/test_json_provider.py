"""Responses encoded by orjson are the bytes Flask's standard provider writes
(supportapp/json_provider.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.json.provider import DefaultJSONProvider

from supportapp.json_provider import OrjsonProvider


class Role(enum.StrEnum):
    USER = "user"


@dataclasses.dataclass
class Point:
    x: int
    label: str


PAYLOADS = [
    None,
    {"success": True, "data": {"id": "abc", "count": 3}, "message": "Mensaje enviado"},
    {"message": "Sesión asignada, ¿algo más? Ñandú ü €", "z": 1, "a": 2},
    {"emoji": "hola 😀 👩‍💻 𝄞", "cjk": "中文"},
    {"control": '\x00\x01\x1f\x7f\n\t\b\f\r"\\/', "del": "\x7f"},
    {"nested": [[1, 2.5, -0.0, 0.1, 1 / 3, 123456.789], {"k": [None, True, False]}]},
    {"when": dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC), "day": dt.date(2026, 1, 5)},
    {"id": uuid.UUID("12345678-1234-5678-1234-567812345678"), "amount": decimal.Decimal("1.50")},
    {"role": Role.USER, "point": Point(1, "ñ"), "tuple": (1, "a")},
    {1: "int key", "ok": "x"},
    {"big": 2**70, "text": "x"},
    {"surrogate": "\ud800", "ok": "é"},
    ["a", "ü", 1],
    "plain",
    {"timestamp": "2026-12-02T10:00:00.123456+00:00", "priority": "high"},
]


@pytest.fixture
def providers() -> Iterator[tuple[DefaultJSONProvider, OrjsonProvider]]:
    app = Flask(__name__)  # providers hold a weak reference: kept alive until the test ends
    standard = DefaultJSONProvider(app)
    standard.sort_keys = False
    yield standard, OrjsonProvider(app)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_same_bytes_as_the_standard_provider(providers, payload):
    standard, fast = providers
    assert fast.response(payload).get_data() == standard.response(payload).get_data()


def test_the_common_case_is_encoded_by_orjson(providers):
    _, fast = providers
    assert fast.encode({"message": "Sesión 😀"}) == b'{"message":"Sesi\\u00f3n \\ud83d\\ude00"}'
    assert fast.encode({"big": 2**70}) is None  # the standard library's job


def test_debug_mode_keeps_the_indented_output():
    app = Flask(__name__)
    app.debug = True
    standard = DefaultJSONProvider(app)
    standard.sort_keys = False
    payload = {"b": 1, "a": "é"}
    assert OrjsonProvider(app).response(payload).get_data() == (
        standard.response(payload).get_data()
    )


def test_the_app_answers_through_it(app):
    assert isinstance(app.json, OrjsonProvider)
    assert app.json.sort_keys is False
