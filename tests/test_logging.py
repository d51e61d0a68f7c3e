"""The JSON log line: its fields, their order, extras and exceptions."""

from __future__ import annotations

import json
import logging
import sys

from supportapp.logging import JsonFormatter, RequestIdFilter


def _record(**extra) -> logging.LogRecord:
    record = logging.LogRecord(
        "supportapp.test", logging.WARNING, __file__, 1, "hola %s", ("ñ",), None
    )
    record.__dict__.update(extra)
    return record


def test_a_line_has_time_level_logger_message_and_request_id_in_that_order():
    line = json.loads(JsonFormatter().format(_record(request_id="req-1", created=0.25)))

    assert line == {
        "time": "1970-01-01T00:00:00.250000Z",
        "level": "WARNING",
        "logger": "supportapp.test",
        "message": "hola ñ",
        "requestId": "req-1",
    }
    assert list(line) == ["time", "level", "logger", "message", "requestId"]


def test_outside_a_request_the_request_id_is_null(app):
    record = _record()
    assert RequestIdFilter().filter(record)

    assert json.loads(JsonFormatter().format(record))["requestId"] is None


def test_request_id_of_the_current_request(app):
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "abc"
        record = _record()
        RequestIdFilter().filter(record)

    assert json.loads(JsonFormatter().format(record))["requestId"] == "abc"


def test_extra_fields_follow_and_unserialisable_values_become_text():
    line = json.loads(
        JsonFormatter().format(_record(request_id=None, sessionId="s-1", error=ValueError("x")))
    )

    assert list(line)[5:] == ["sessionId", "error"]
    assert line["sessionId"] == "s-1"
    assert line["error"] == "x"


def test_an_exception_is_written_as_its_traceback():
    try:
        raise ZeroDivisionError("boom")
    except ZeroDivisionError:
        record = _record(request_id=None, exc_info=sys.exc_info())

    line = json.loads(JsonFormatter().format(record))

    assert line["exception"].startswith("Traceback (most recent call last):")
    assert line["exception"].endswith("ZeroDivisionError: boom")
