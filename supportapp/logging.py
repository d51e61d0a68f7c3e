"""JSON log lines (python-json-logger), each carrying the request id of the request that wrote
it: `time` (UTC, ISO 8601 with `Z`), `level`, `logger`, `message`, `requestId`, then any
`extra={...}` fields and `exception` when there is one."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

from flask import g, has_request_context
from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


class JsonFormatter(BaseJsonFormatter):
    def __init__(self) -> None:
        super().__init__(
            ["levelname", "name", "message", "request_id"],
            rename_fields={
                "levelname": "level",
                "name": "logger",
                "request_id": "requestId",
                "exc_info": "exception",
            },
            json_default=str,
            json_ensure_ascii=False,
        )

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        # First in the line, as a string: the library's own timestamp would come last.
        log_data["time"] = (
            datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z")
        )
        super().add_fields(log_data, record, message_dict)


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
