"""Responses encoded by orjson, byte for byte what Flask's own provider writes.

Every JSON response goes through `app.json.response` (jsonify, flask-smorest). Flask's
DefaultJSONProvider encodes with the standard library; orjson does the same work several times
faster. Output stays identical: compact separators, keys in insertion order, non-ASCII (and
DEL) escaped as `\\uXXXX` with lowercase hex and surrogate pairs, dates and datetimes as HTTP
dates, UUIDs and Decimals as strings, dataclasses through `asdict`. What orjson cannot encode
exactly — a lone surrogate, an integer beyond 64 bits, a value only `default` knows, debug mode's
indentation, sorted keys — goes to the standard library as before. Known difference: a float
written with an exponent loses the standard library's `+`/leading zero (`1e+16` → `1e16`,
`1e-07` → `1e-7`) and NaN/Infinity become `null`; no response carries such values.
Requests are still parsed by the standard library (its error messages and limits stay).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import Flask, Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# What json.dumps(ensure_ascii=True) escapes beyond what orjson already does: every character
# outside printable ASCII that can only appear inside a string (control characters are
# escaped by both alike).
_NOT_ASCII = re.compile("[\x7f-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | (code >> 10):04x}\\u{0xDC00 | (code & 0x3FF):04x}"


class OrjsonProvider(DefaultJSONProvider):
    """Flask's JSON provider with orjson doing the common case of `response`."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app)
        self.sort_keys = False  # responses keep the order the schemas give

    def encode(self, obj: Any) -> bytes | None:
        """Compact JSON of `obj` as the standard provider writes it, or None when only the
        standard library can say it exactly."""
        if self.sort_keys or not self.ensure_ascii:
            return None
        try:
            data = orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError):
            return None
        if data.isascii() and b"\x7f" not in data:
            return data
        return _NOT_ASCII.sub(_escape, data.decode()).encode("ascii")

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        data = self.encode(obj)
        if data is None:
            return super().response(obj)
        return self._app.response_class(data + b"\n", mimetype=self.mimetype)
