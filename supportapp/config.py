"""Settings read once from the environment (12-factor) and validated at start.

Every variable is listed in `SETTINGS`, which is also the source of the table in README.md.
A bad value stops the process with a message naming the variable, never a traceback later.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_rate_limit

ROOT_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = ROOT_DIR / "var"


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    parse: Callable[[str], Any] = str


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("must be a positive integer")
    return number


def _non_negative_int(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be zero or a positive integer")
    return number


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("must be true or false")


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def _rate_limit(value: str) -> str:
    parse_rate_limit(value)
    return value


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


_CSP_SOURCE = re.compile(
    r"\*|'self'|'none'|([a-z][a-z0-9+.-]*:(//)?)?[a-z0-9*.-]+(:[0-9*]+)?/?", re.I
)


def _csp_sources(value: str) -> str:
    """A space-separated CSP source list: one directive's value, never a second directive."""
    sources = value.split()
    bad = [source for source in sources if not _CSP_SOURCE.fullmatch(source)]
    if not sources or bad:
        raise ValueError(
            f"must be space-separated CSP sources (e.g. * or https://a.example): {bad}"
        )
    return " ".join(sources)


def _database_url(value: str) -> str:
    if not value.startswith(("postgresql://", "postgresql+psycopg2://", "postgres://")):
        raise ValueError("must be a postgresql:// URL")
    if value.startswith("postgres://"):
        value = "postgresql://" + value.removeprefix("postgres://")
    return value


def _database_urls(value: str) -> list[str]:
    urls = [_database_url(item) for item in _csv(value)]
    if not urls:
        raise ValueError("must be one or more comma-separated postgresql:// URLs")
    return urls


def _positive_seconds(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError("must be a positive number of seconds")
    return number


def replica_binds(urls: list[str] | None) -> dict[str, dict[str, str]]:
    """Flask-SQLAlchemy binds `replica-1`, `replica-2`, … of DATABASE_REPLICA_URL (they take the
    primary's engine options); supportapp/replicas.py routes reads to them."""
    return {f"replica-{n}": {"url": sqlalchemy_url(url)} for n, url in enumerate(urls or (), 1)}


def sqlalchemy_url(database_url: str) -> str:
    """SQLAlchemy 2.1 maps plain postgresql:// to psycopg 3; this project uses psycopg2."""
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg2://" + database_url.removeprefix("postgresql://")
    return database_url


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a redis:// URL")
    return value


def _log_level(value: str) -> str:
    level = value.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def _algorithm(value: str) -> str:
    allowed = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"}
    if value not in allowed:
        raise ValueError(f"must be one of {', '.join(sorted(allowed))}")
    return value


def _claim_name(value: str) -> str:
    if not value.strip() or len(value) > 100:
        raise ValueError("must be a claim name of 1 to 100 characters")
    return value.strip()


def _identity_secret(value: str) -> str:
    if len(value) < 16:
        raise ValueError("must be at least 16 characters")
    return value


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ValueError("must be an http:// or https:// URL")
    return value


def _vapid_subject(value: str) -> str:
    if not value.startswith(("mailto:", "https://")):
        raise ValueError("must be a mailto: or https:// URI")
    return value


def _vapid_private_key(value: str) -> str:
    from supportapp.vapid import normalize_private_key

    return normalize_private_key(value)


def _vapid_public_key(value: str) -> str:
    from supportapp.vapid import normalize_public_key

    return normalize_public_key(value)


# Types the attachment sniffer recognises (services/file_types.py); ATTACHMENT_TYPES picks
# among them.
KNOWN_ATTACHMENT_TYPES = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
)


def _attachment_types(value: str) -> frozenset[str]:
    types = [item.lower() for item in _csv(value)]
    unknown = [item for item in types if item not in KNOWN_ATTACHMENT_TYPES]
    if unknown or not types:
        raise ValueError(f"must be a comma-separated subset of {', '.join(KNOWN_ATTACHMENT_TYPES)}")
    return frozenset(types)


def _attachment_storage(value: str) -> str:
    if value not in {"database", "filesystem"}:
        raise ValueError("must be database or filesystem")
    return value


def _directory(value: str) -> str:
    return str(Path(value).expanduser().resolve())


def _environment(value: str) -> str:
    if value not in {"development", "production", "testing"}:
        raise ValueError("must be development, production or testing")
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting("APP_ENV", "development", "development, production or testing", _environment),
    Setting(
        "DATABASE_URL",
        None,
        "PostgreSQL URL (required; `make` starts one when unset)",
        _database_url,
    ),
    Setting(
        "DATABASE_REPLICA_URL",
        None,
        "comma-separated URLs of streaming replicas for dashboard, stats, metrics, search, "
        "history and audit reads (unset = every read on the primary)",
        _database_urls,
    ),
    Setting(
        "DATABASE_REPLICA_MAX_LAG_SECONDS",
        "5",
        "a replica whose replay is further behind than this is skipped (read on the primary)",
        _positive_seconds,
    ),
    Setting("REDIS_URL", None, "Redis URL (required; `make` starts one when unset)", _redis_url),
    Setting(
        "JWT_SECRET_KEY",
        None,
        "HMAC secret for tokens; required in production, read from ./var/jwt_secret otherwise",
    ),
    Setting("JWT_ACCESS_TTL", "900", "access token lifetime in seconds", _positive_int),
    Setting("JWT_REFRESH_TTL", "2592000", "refresh token lifetime in seconds", _positive_int),
    Setting("JWT_ALGORITHM", "HS256", "signing algorithm of accepted tokens", _algorithm),
    Setting(
        "JWT_PUBLIC_KEY",
        None,
        "PEM public key to verify tokens of an external issuer (RS*/ES* algorithms)",
    ),
    Setting("JWT_ISSUER", None, "required `iss` claim of accepted tokens (optional)"),
    Setting("JWT_AUDIENCE", None, "required `aud` claim of accepted tokens (optional)"),
    Setting("JWT_ROLE_CLAIM", "role", "name of the claim that carries the role"),
    Setting(
        "JWT_EMAIL_CLAIM",
        "email",
        "claim of an external issuer's token read as the email of a provisioned user",
        _claim_name,
    ),
    Setting(
        "JWT_NAME_CLAIM",
        "name",
        "claim of an external issuer's token read as the name of a provisioned user",
        _claim_name,
    ),
    Setting(
        "IDENTITY_SECRET",
        None,
        "HMAC-SHA256 key of POST /api/auth/identify's userHash (unset = identify answers 403)",
        _identity_secret,
    ),
    Setting("CORS_ORIGINS", "*", "comma-separated origins allowed by CORS", _csv),
    Setting("LOG_LEVEL", "INFO", "log level of the JSON log lines", _log_level),
    Setting("STATS_TIMEZONE", "UTC", "time zone for today/week/month in stats", _timezone),
    Setting(
        "MESSAGE_RATE_LIMIT", "20/minute", "messages per user (user and support sides)", _rate_limit
    ),
    Setting("LOGIN_RATE_LIMIT", "10/minute", "login attempts per IP and per email", _rate_limit),
    Setting("REGISTER_RATE_LIMIT", "10/minute", "registrations per IP", _rate_limit),
    Setting(
        "GUEST_RATE_LIMIT", "10/hour", "guest accounts created per client address", _rate_limit
    ),
    Setting(
        "GUEST_RETENTION_DAYS",
        "30",
        "guests inactive this long with no open session are deleted (0 = keep)",
        _non_negative_int,
    ),
    Setting(
        "RETENTION_DAYS",
        "0",
        "closed sessions' content older than this is erased (0 = keep)",
        _non_negative_int,
    ),
    Setting(
        "SESSION_OPEN_RATE_LIMIT",
        "5/minute",
        "chat sessions a user may open (POST /api/chat/sessions)",
        _rate_limit,
    ),
    Setting(
        "MAX_OPEN_SESSIONS_PER_USER",
        "3",
        "sessions a user may hold that are not closed",
        _positive_int,
    ),
    Setting(
        "TRUSTED_PROXY_HOPS",
        "0",
        "proxies in front whose X-Forwarded-For/-Proto are trusted (1 on Heroku-style routers)",
        _non_negative_int,
    ),
    Setting("MAX_CONTENT_LENGTH", "65536", "largest accepted request body in bytes", _positive_int),
    Setting(
        "EVENT_STREAM_MAXLEN", "100000", "events kept in the Redis stream for replay", _positive_int
    ),
    Setting(
        "WS_PING_INTERVAL", "25", "seconds between server pings on each WebSocket", _positive_int
    ),
    Setting(
        "WS_MAX_SOCKETS_PER_USER",
        "20",
        "open WebSockets per user across all web processes (the next is closed with 4429)",
        _positive_int,
    ),
    Setting(
        "WS_SEND_TIMEOUT",
        "10",
        "seconds a WebSocket send may take before the socket is closed",
        _positive_int,
    ),
    Setting("AUTO_ASSIGN_ENABLED", "true", "assign pending sessions automatically", _bool),
    Setting(
        "AUTO_ASSIGN_INTERVAL_SECONDS", "10", "period of the auto-assignment sweep", _positive_int
    ),
    Setting(
        "ASSIGN_ONLY_ONLINE",
        "true",
        "automatic assignment only to agents whose presence is online",
        _bool,
    ),
    Setting(
        "PRESENCE_GRACE_SECONDS",
        "30",
        "an agent without an open staff WebSocket this long is offline",
        _positive_int,
    ),
    Setting(
        "OFFLINE_REQUEUE_SECONDS",
        "300",
        "requeue the active chats of an agent offline this long (0 = off)",
        _non_negative_int,
    ),
    Setting(
        "UNANSWERED_REQUEUE_MINUTES",
        "0",
        "requeue an assigned session whose user waited this long (0 = off)",
        _non_negative_int,
    ),
    Setting(
        "AUTO_CLOSE_AFTER_HOURS", "24", "close sessions idle this long (0 = off)", _non_negative_int
    ),
    Setting(
        "TEAM_FALLBACK_MINUTES",
        "0",
        "minutes after which any agent may take a team's waiting chat (0 = never)",
        _non_negative_int,
    ),
    Setting(
        "SLA_SWEEP_INTERVAL_SECONDS",
        "15",
        "period of the task that announces SLA warnings/breaches and opening-time pushes",
        _positive_int,
    ),
    Setting(
        "METRICS_EXACT_UP_TO",
        "20000",
        "time values up to which medians/p90s are exact; above, from histograms (within 2 %)",
        _non_negative_int,
    ),
    Setting(
        "ROLLUP_INTERVAL_SECONDS", "300", "period of the daily stats rollup task", _positive_int
    ),
    Setting(
        "ROLLUP_RECENT_DAYS",
        "3",
        "finished days the rollup task recomputes on every run (plus days marked dirty)",
        _positive_int,
    ),
    Setting(
        "VAPID_PUBLIC_KEY",
        None,
        "Web Push public key, base64url (derived from the private key when unset)",
        _vapid_public_key,
    ),
    Setting(
        "VAPID_PRIVATE_KEY",
        None,
        "Web Push private key, base64url raw or PEM (unset = no Web Push)",
        _vapid_private_key,
    ),
    Setting(
        "VAPID_SUBJECT", None, "contact of the push sender, mailto: or https:// URI", _vapid_subject
    ),
    Setting(
        "NOTIFY_WEBHOOK_URL", None, "URL that receives new-chat events (unset = off)", _http_url
    ),
    Setting("NOTIFY_WEBHOOK_SECRET", None, "HMAC-SHA256 key of the webhook's X-Signature"),
    Setting(
        "WIDGET_FRAME_ANCESTORS",
        "*",
        "sites allowed to frame /widget (CSP frame-ancestors sources, space-separated)",
        _csp_sources,
    ),
    Setting("METRICS_ENABLED", "true", "serve Prometheus metrics at GET /metrics", _bool),
    Setting(
        "METRICS_PORT",
        None,
        "serve /metrics on this internal port instead of the public one (web processes)",
        _positive_int,
    ),
    Setting(
        "PUSH_MAX_SUBSCRIPTIONS_PER_USER",
        "10",
        "Web Push subscriptions one user may hold (409 beyond)",
        _positive_int,
    ),
    Setting(
        "PUSH_ALLOW_INSECURE_ENDPOINTS",
        "false",
        "test only (APP_ENV=testing): accept http:// and loopback push endpoints",
        _bool,
    ),
    Setting(
        "FAULT_EXIT_AFTER_COMMIT",
        "false",
        "test only (APP_ENV=testing): exit the process right after a COMMIT that has events",
        _bool,
    ),
    Setting(
        "ATTACHMENT_MAX_BYTES",
        str(10 * 1024 * 1024),
        "largest accepted attachment, in bytes (a larger upload is refused with 413)",
        _positive_int,
    ),
    Setting(
        "ATTACHMENT_TYPES",
        ",".join(KNOWN_ATTACHMENT_TYPES),
        "content types accepted as attachments, decided by sniffing the content",
        _attachment_types,
    ),
    Setting(
        "ATTACHMENT_STORAGE",
        "database",
        "where attachment bytes are kept: database (PostgreSQL) or filesystem",
        _attachment_storage,
    ),
    Setting(
        "ATTACHMENT_DIR",
        str(VAR_DIR / "attachments"),
        "directory of the filesystem attachment storage",
        _directory,
    ),
    Setting(
        "ATTACHMENT_URL_TTL",
        "3600",
        "seconds a signed attachment link stays valid",
        _positive_int,
    ),
    Setting(
        "DEMO_SUPERADMIN_EMAIL",
        "admin@supportapp.local",
        "email of the demo superadmin created by `make run`",
    ),
)


def development_secret_file() -> Path:
    return VAR_DIR / "jwt_secret"


NO_DEVELOPMENT_SECRET = (
    "JWT_SECRET_KEY is not set and there is no development secret: set it, or create "
    "./var/jwt_secret with `python scripts/dev_secret.py` (`make run` does)"
)


def ensure_development_secret() -> Path:
    """Create the development secret under ./var unless it exists (scripts/dev_secret.py, run
    by `make run`): a random value kept across restarts, so sessions stay valid. Loading the
    configuration only reads it."""
    path = development_secret_file()
    if not path.exists():
        write_secret_file(path, secrets.token_urlsafe(48))
    return path


def _development_secret(problems: list[str]) -> str | None:
    try:
        secret = development_secret_file().read_text().strip()
    except FileNotFoundError:
        secret = ""
    if not secret:
        problems.append(NO_DEVELOPMENT_SECRET)
    return secret or None


def write_secret_file(path: Path, secret: str) -> None:
    """Create `path` holding `secret`, readable by its owner only from the first byte on.

    The secret goes to a private temporary file (mode 0600 at creation, never widened by the
    umask) that is then hard-linked into place: the file appears whole or not at all, and when
    several processes start at once the first link wins and every process reads that one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secret)
            handle.flush()
            os.fsync(handle.fileno())
        # Another process may have created it first: its secret is then the one.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


# Settings whose values are never shown back, not even in a configuration error.
SECRET_SETTINGS = frozenset(
    {
        "JWT_SECRET_KEY",
        "JWT_PUBLIC_KEY",
        "VAPID_PRIVATE_KEY",
        "VAPID_PUBLIC_KEY",
        "NOTIFY_WEBHOOK_SECRET",
    }
)
_URL_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


def masked(name: str, raw: str) -> str:
    """How a configuration error shows a value: secrets, keys and PEMs not at all, URLs
    without their password."""
    if name in SECRET_SETTINGS or "-----BEGIN" in raw or "SECRET" in name or "KEY" in name:
        return "<hidden>"
    return _URL_PASSWORD.sub(r"\1***@", raw)


def _problem(name: str, raw: str, exc: Exception) -> str:
    shown = masked(name, raw)
    reason = str(exc).replace(raw, shown)  # a parser may quote the value it refused
    if shown == "<hidden>":
        return f"{name} (value hidden): {reason}"
    return f"{name}={shown!r}: {reason}"


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read and validate every setting; raise ConfigError naming each bad one."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for setting in SETTINGS:
        raw = environ.get(setting.name) or setting.default  # set-but-empty means the default
        if raw is None or raw == "":
            values[setting.name] = None
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            problems.append(_problem(setting.name, raw, exc))
    for required in ("DATABASE_URL", "REDIS_URL"):
        if values.get(required) is None:
            problems.append(f"{required} is required")
    _settle_jwt_secret(values, problems)
    _settle_link_secret(values, problems)
    _settle_notifications(values, problems)
    _settle_test_switches(values, problems)
    if problems:
        raise ConfigError("Invalid configuration:\n  " + "\n  ".join(problems))
    return values


def _settle_jwt_secret(values: dict[str, Any], problems: list[str]) -> None:
    algorithm = values.get("JWT_ALGORITHM")
    if algorithm is None or "APP_ENV" not in values:
        return  # already reported as malformed
    if algorithm.startswith(("RS", "ES")):
        if not values.get("JWT_PUBLIC_KEY"):
            problems.append(f"JWT_PUBLIC_KEY is required with JWT_ALGORITHM={algorithm}")
        return
    secret = values.get("JWT_SECRET_KEY")
    if values["APP_ENV"] == "production":
        if not secret or len(secret) < 32:
            problems.append("JWT_SECRET_KEY must be set to at least 32 characters in production")
    elif not secret:
        values["JWT_SECRET_KEY"] = _development_secret(problems)


def _settle_link_secret(values: dict[str, Any], problems: list[str]) -> None:
    """JWT_SECRET_KEY also signs attachment links, so it is needed even when tokens are
    verified with an external issuer's public key (RS*/ES*)."""
    algorithm = values.get("JWT_ALGORITHM")
    if algorithm is None or "APP_ENV" not in values or not algorithm.startswith(("RS", "ES")):
        return  # malformed (already reported), or HS*: settled by _settle_jwt_secret
    secret = values.get("JWT_SECRET_KEY")
    if values["APP_ENV"] == "production":
        if not secret or len(secret) < 32:
            problems.append(
                "JWT_SECRET_KEY must be set to at least 32 characters in production "
                "(it signs attachment links)"
            )
    elif not secret:
        values["JWT_SECRET_KEY"] = _development_secret(problems)


def _settle_notifications(values: dict[str, Any], problems: list[str]) -> None:
    """Web Push needs a consistent VAPID pair and a subject; a webhook needs its secret."""
    from supportapp.vapid import public_key_of

    private = values.get("VAPID_PRIVATE_KEY")
    if private:
        derived = public_key_of(private)
        if values.get("VAPID_PUBLIC_KEY") is None:
            values["VAPID_PUBLIC_KEY"] = derived
        elif values["VAPID_PUBLIC_KEY"] != derived:
            problems.append("VAPID_PUBLIC_KEY does not belong to VAPID_PRIVATE_KEY")
        if not values.get("VAPID_SUBJECT"):
            problems.append("VAPID_SUBJECT is required with VAPID_PRIVATE_KEY")
    if values.get("NOTIFY_WEBHOOK_URL") and not values.get("NOTIFY_WEBHOOK_SECRET"):
        problems.append("NOTIFY_WEBHOOK_SECRET is required with NOTIFY_WEBHOOK_URL")


DATABASE_CONNECT_TIMEOUT = 3
DATABASE_POOL_TIMEOUT = 5


def _settle_test_switches(values: dict[str, Any], problems: list[str]) -> None:
    """Switches that weaken a guard exist for the project's own tests only."""
    if values.get("APP_ENV") == "testing":
        return
    for name in ("PUSH_ALLOW_INSECURE_ENDPOINTS", "FAULT_EXIT_AFTER_COMMIT"):
        if values.get(name):
            problems.append(f"{name} is only allowed with APP_ENV=testing")


class Config:
    """Flask configuration built from validated settings."""

    def __init__(self, environ: Mapping[str, str] | None = None, **overrides: Any) -> None:
        settings = load_settings(environ)
        settings.update(overrides)
        self.settings = settings

    def to_flask(self) -> dict[str, Any]:
        from supportapp.db_pool import POOL_RECYCLE_SECONDS
        from supportapp.extensions import rate_limit_storage_options

        s = self.settings
        algorithm = s["JWT_ALGORITHM"]
        asymmetric = algorithm.startswith(("RS", "ES"))
        return {
            **s,
            "TESTING": s["APP_ENV"] == "testing",
            "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(s["DATABASE_URL"]),
            "SQLALCHEMY_ENGINE_OPTIONS": {
                # No pre-ping round trip per checkout: supportapp/db_pool.py checks the socket.
                "pool_pre_ping": False,
                "pool_recycle": POOL_RECYCLE_SECONDS,
                # An unreachable server fails the request at once (503) instead of hanging.
                "connect_args": {"connect_timeout": DATABASE_CONNECT_TIMEOUT},
                "pool_timeout": DATABASE_POOL_TIMEOUT,
                "pool_size": 10,
                "max_overflow": 20,
            },
            "SQLALCHEMY_BINDS": replica_binds(s["DATABASE_REPLICA_URL"]),
            "SQLALCHEMY_TRACK_MODIFICATIONS": False,
            "JWT_SECRET_KEY": s["JWT_SECRET_KEY"],
            "JWT_PUBLIC_KEY": s["JWT_PUBLIC_KEY"],
            "JWT_ALGORITHM": algorithm,
            "JWT_DECODE_ALGORITHMS": [algorithm],
            "JWT_DECODE_ISSUER": s["JWT_ISSUER"],
            "JWT_ENCODE_ISSUER": s["JWT_ISSUER"],
            "JWT_DECODE_AUDIENCE": s["JWT_AUDIENCE"],
            "JWT_ENCODE_AUDIENCE": s["JWT_AUDIENCE"],
            "JWT_ACCESS_TOKEN_EXPIRES": s["JWT_ACCESS_TTL"],
            "JWT_REFRESH_TOKEN_EXPIRES": s["JWT_REFRESH_TTL"],
            "JWT_TOKEN_LOCATION": ["headers"],
            "JWT_CAN_ISSUE_TOKENS": not asymmetric,
            "RATELIMIT_STORAGE_URI": s["REDIS_URL"],
            "RATELIMIT_STORAGE_OPTIONS": rate_limit_storage_options(s["REDIS_URL"]),
            "RATELIMIT_STRATEGY": "moving-window",
            "RATELIMIT_KEY_PREFIX": "supportapp-rl",
            # Fail open: without Redis, login and register are served unlimited (and logged),
            # like the per-user limits (auth/blocklist.py). An unresponsive Redis costs at most
            # about a second before that.
            "RATELIMIT_SWALLOW_ERRORS": True,
            "API_TITLE": "supportapp",
            "API_VERSION": "1.0.0",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api",
            "OPENAPI_JSON_PATH": "openapi.json",
            # /api/docs and /api/redoc are served by supportapp.web from pinned local assets.
        }
