"""Domain errors and the single place that turns any error into the error envelope
(docs/contract.md, Errors)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

MSG_UNAUTHORIZED = "Token inválido o expirado"
MSG_FORBIDDEN = "No tienes permisos para realizar esta acción"
MSG_SESSION_NOT_FOUND = "Sesión de chat no encontrada"
MSG_AGENT_AT_CAPACITY = "El agente de soporte ha alcanzado su límite de chats concurrentes"
MSG_TOO_MANY_MESSAGES = "Demasiados mensajes enviados. Intenta de nuevo en unos minutos"
MSG_TOO_MANY_REQUESTS = "Demasiadas solicitudes. Intenta de nuevo en unos minutos"
MSG_TOO_MANY_SESSIONS = (
    "Demasiadas sesiones abiertas en poco tiempo. Intenta de nuevo en unos minutos"
)
MSG_INTERNAL = "Error interno del servidor"
MSG_VALIDATION = "Error de validación"
MSG_UNAVAILABLE = "Servicio no disponible temporalmente. Intenta de nuevo en unos segundos"
UNAVAILABLE_RETRY_AFTER = 5
CAPACITY_SQLSTATE = "SA409"


class DomainError(Exception):
    """Base of the errors services raise; each maps to one HTTP status."""

    status = 400

    def __init__(self, message: str, *, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors


class ValidationFailed(DomainError):
    status = 400

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(MSG_VALIDATION, errors=errors)

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls({name: [message]})


class Unauthorized(DomainError):
    status = 401

    def __init__(self, message: str = MSG_UNAUTHORIZED) -> None:
        super().__init__(message)


class Forbidden(DomainError):
    status = 403

    def __init__(self, message: str = MSG_FORBIDDEN) -> None:
        super().__init__(message)


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    status = 409


class PayloadTooLarge(DomainError):
    status = 413


class UnsupportedMediaType(DomainError):
    status = 415


class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def envelope_error(status: int, message: str, errors: dict[str, list[str]] | None = None):
    """Build the error envelope. A 400 carries `errors` and a list `message`."""
    body: dict[str, Any] = {"success": False}
    if errors:
        body["message"] = [msg for messages in errors.values() for msg in _flatten(messages)]
        body["errors"] = {field: list(_flatten(msgs)) for field, msgs in errors.items()}
    else:
        body["message"] = message
    response = jsonify(body)
    response.status_code = status
    return response


def _flatten(value: Any):
    """Marshmallow nests errors (lists in dicts for nested fields); the envelope wants strings."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _flatten(item)
    else:
        for item in value:
            yield from _flatten(item)


_HTTP_MESSAGES = {
    400: "Solicitud inválida",
    401: MSG_UNAUTHORIZED,
    403: MSG_FORBIDDEN,
    404: "Recurso no encontrado",
    405: "Método no permitido",
    413: "El cuerpo de la solicitud es demasiado grande",
    415: "El cuerpo debe ser JSON",
    429: MSG_TOO_MANY_REQUESTS,
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError) -> ResponseReturnValue:
        response = envelope_error(error.status, error.message, error.errors)
        if isinstance(error, RateLimited):
            response.headers["Retry-After"] = str(error.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        if status == 422 or (status == 400 and _validation_messages(error)):
            errors = _validation_messages(error) or {"body": ["Solicitud inválida"]}
            return envelope_error(400, MSG_VALIDATION, errors)
        if status >= 500:
            return _internal_error(error)
        message = _HTTP_MESSAGES.get(status, error.description or "Error")
        if isinstance(error, RateLimitExceeded):
            message = error.description or message
        response = envelope_error(status, message)
        if status == 405 and getattr(error, "valid_methods", None):
            response.headers["Allow"] = ", ".join(error.valid_methods)
        retry_after = getattr(error, "retry_after", None)
        if isinstance(error, RateLimitExceeded):
            retry_after = _retry_after_of_breach()
        if retry_after:
            response.headers["Retry-After"] = str(retry_after)
        return response

    @app.errorhandler(DBAPIError)
    def handle_database_error(error: DBAPIError) -> ResponseReturnValue:
        # The capacity trigger's SQLSTATE: a race the service's row lock should already prevent.
        if getattr(error.orig, "pgcode", None) == CAPACITY_SQLSTATE:
            return envelope_error(409, MSG_AGENT_AT_CAPACITY)
        if database_unavailable(error):
            return _unavailable(error)
        return _internal_error(error)

    @app.errorhandler(PoolTimeout)
    def handle_pool_timeout(error: PoolTimeout) -> ResponseReturnValue:
        return _unavailable(error)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception) -> ResponseReturnValue:
        return _internal_error(error)


# SQLSTATE classes that say "the server is not there right now" (08: connection exception;
# 57P01-57P03: shutting down, crashed, starting up) or "try again" (40: deadlock, serialization).
_TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40")


def database_unavailable(error: DBAPIError) -> bool:
    """PostgreSQL is unreachable, restarting or dropped the connection: worth a retry."""
    # OperationalError: what the server or the network did, not the statement (cannot connect,
    # connection lost, shutting down, timeouts); psycopg2 gives it no code when connecting fails.
    if error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError)):
        return True
    code = getattr(error.orig, "pgcode", None)
    return bool(code) and code.startswith(_TRANSIENT_SQLSTATES)


def _unavailable(error: BaseException) -> ResponseReturnValue:
    log.warning("database unavailable on %s %s: %s", request.method, request.path, error)
    response = envelope_error(503, MSG_UNAVAILABLE)
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER)
    return response


def _retry_after_of_breach() -> int:
    """Seconds until flask-limiter's breached limit lets a request through again."""
    from supportapp.extensions import limiter

    try:
        limit = limiter.current_limit
        if not limit:
            return 1
        # reset_at is a whole second, rounded up: never answer more than the limit's window.
        wait = math.ceil(limit.reset_at - time.time())
        return max(1, min(wait, limit.limit.get_expiry()))
    except Exception:  # the storage went away between the hit and this read
        log.warning("could not read the breached limit's reset time", exc_info=True)
        return 1


def _validation_messages(error: HTTPException) -> dict[str, list[str]] | None:
    """Pull field messages out of webargs/flask-smorest errors: {"json": {"field": [...]}}."""
    data = getattr(error, "data", None) or {}
    messages = data.get("messages") if isinstance(data, dict) else None
    if not messages:
        return None
    merged: dict[str, list[str]] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, msgs in fields.items():
                name = "body" if field == "_schema" else field
                merged.setdefault(name, []).extend(_flatten(msgs))
        else:
            merged.setdefault(location, []).extend(_flatten(fields))
    return merged


def _internal_error(error: BaseException) -> ResponseReturnValue:
    log.error(
        "unhandled error on %s %s",
        request.method,
        request.path,
        exc_info=(type(error), error, error.__traceback__),
    )
    return envelope_error(500, MSG_INTERNAL)
