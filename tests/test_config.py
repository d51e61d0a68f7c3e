"""Settings from the environment, validated at start with a message naming the variable
load_settings reads only the mapping it is given."""

from __future__ import annotations

import pytest

from supportapp import config
from supportapp.config import Config, ConfigError, load_settings

BASE = {
    "DATABASE_URL": "postgresql://app@db.internal:5432/supportapp",
    "REDIS_URL": "redis://cache.internal:6379/0",
    "JWT_SECRET_KEY": "s" * 48,
}


@pytest.fixture(autouse=True)
def var_dir(tmp_path, monkeypatch):
    """Never touch the project's ./var: a development secret lands in tmp_path."""
    monkeypatch.setattr(config, "VAR_DIR", tmp_path / "var")
    return tmp_path / "var"


def settings(**changes: str | None) -> dict:
    environ = {**BASE, **changes}
    return load_settings({k: v for k, v in environ.items() if v is not None})


def config_error(**changes: str | None) -> str:
    with pytest.raises(ConfigError) as raised:
        settings(**changes)
    return str(raised.value)


def test_defaults_are_the_documented_ones():
    values = settings()

    assert values["APP_ENV"] == "development"
    assert values["MESSAGE_RATE_LIMIT"] == "20/minute"
    assert values["LOGIN_RATE_LIMIT"] == "10/minute"
    assert values["REGISTER_RATE_LIMIT"] == "10/minute"
    assert values["STATS_TIMEZONE"] == "UTC"
    assert values["LOG_LEVEL"] == "INFO"
    assert values["JWT_ALGORITHM"] == "HS256"
    assert values["JWT_ROLE_CLAIM"] == "role"
    assert values["JWT_ACCESS_TTL"] == 900
    assert values["CORS_ORIGINS"] == ["*"]
    assert values["WIDGET_FRAME_ANCESTORS"] == "*"


def test_values_are_parsed():
    values = settings(
        JWT_ACCESS_TTL="60",
        CORS_ORIGINS="https://a.example, https://b.example",
        LOG_LEVEL="debug",
        STATS_TIMEZONE="America/Bogota",
        DATABASE_URL="postgres://app@db/supportapp",
        WIDGET_FRAME_ANCESTORS="  'self'   https://*.shop.example ",
    )

    assert values["JWT_ACCESS_TTL"] == 60
    assert values["CORS_ORIGINS"] == ["https://a.example", "https://b.example"]
    assert values["LOG_LEVEL"] == "DEBUG"
    assert values["STATS_TIMEZONE"] == "America/Bogota"
    assert values["DATABASE_URL"] == "postgresql://app@db/supportapp"
    assert values["WIDGET_FRAME_ANCESTORS"] == "'self' https://*.shop.example"


@pytest.mark.parametrize(
    ("name", "default"),
    [
        ("LOG_LEVEL", "INFO"),
        ("JWT_ACCESS_TTL", 900),
        ("JWT_ALGORITHM", "HS256"),
        ("APP_ENV", "development"),
        ("MESSAGE_RATE_LIMIT", "20/minute"),
    ],
)
def test_a_variable_set_but_empty_takes_its_default(name, default):
    assert settings(**{name: ""})[name] == default


@pytest.mark.parametrize("name", ["DATABASE_URL", "REDIS_URL"])
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_missing_required_url_is_a_config_error_naming_it(name, value):
    assert name in config_error(**{name: value})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://app@db/supportapp"),
        ("DATABASE_URL", "sqlite:///app.db"),
        ("REDIS_URL", "http://cache:6379"),
        ("STATS_TIMEZONE", "Mars/Olympus_Mons"),
        ("STATS_TIMEZONE", "../etc/passwd"),
        ("MESSAGE_RATE_LIMIT", "veinte por minuto"),
        ("MESSAGE_RATE_LIMIT", "20/fortnight"),
        ("LOGIN_RATE_LIMIT", "ten"),
        ("REGISTER_RATE_LIMIT", "/minute"),
        ("LOG_LEVEL", "LOUD"),
        ("JWT_ACCESS_TTL", "0"),
        ("JWT_ACCESS_TTL", "fifteen"),
        ("JWT_REFRESH_TTL", "-5"),
        ("JWT_ALGORITHM", "none"),
        ("APP_ENV", "staging"),
        ("MAX_CONTENT_LENGTH", "big"),
        ("AUTO_ASSIGN_ENABLED", "maybe"),
        ("WIDGET_FRAME_ANCESTORS", "'self'; script-src *"),
        ("WIDGET_FRAME_ANCESTORS", "https://a.example,https://b.example"),
    ],
)
def test_malformed_value_is_a_config_error_naming_the_variable(name, value):
    message = config_error(**{name: value})

    assert name in message
    assert value in message


def test_every_problem_is_reported_at_once():
    message = config_error(DATABASE_URL=None, LOG_LEVEL="LOUD", STATS_TIMEZONE="Nowhere/Land")

    for name in ("DATABASE_URL", "LOG_LEVEL", "STATS_TIMEZONE"):
        assert name in message


@pytest.mark.parametrize("secret", [None, "", "short-secret"], ids=["unset", "empty", "short"])
def test_production_without_a_real_jwt_secret_is_a_config_error(var_dir, secret):
    message = config_error(APP_ENV="production", JWT_SECRET_KEY=secret)

    assert "JWT_SECRET_KEY" in message
    assert not var_dir.exists()


def test_production_with_a_long_secret_starts():
    assert settings(APP_ENV="production")["JWT_SECRET_KEY"] == BASE["JWT_SECRET_KEY"]


def test_asymmetric_algorithm_requires_a_public_key():
    message = config_error(JWT_ALGORITHM="RS256", JWT_SECRET_KEY=None)

    assert "JWT_PUBLIC_KEY" in message


def test_development_without_a_secret_reads_the_one_dev_secret_created(var_dir):
    config.ensure_development_secret()
    config.ensure_development_secret()  # a second run keeps the first secret
    first = settings(APP_ENV="development", JWT_SECRET_KEY=None)["JWT_SECRET_KEY"]
    second = settings(APP_ENV="development", JWT_SECRET_KEY=None)["JWT_SECRET_KEY"]

    assert len(first) >= 32
    assert second == first
    secret_file = var_dir / "jwt_secret"
    assert secret_file.read_text().strip() == first
    assert secret_file.stat().st_mode & 0o077 == 0


def test_loading_the_configuration_writes_nothing(var_dir):
    message = config_error(APP_ENV="development", JWT_SECRET_KEY=None)

    assert "JWT_SECRET_KEY" in message and "scripts/dev_secret.py" in message
    assert not var_dir.exists()


def test_the_dev_secret_script_creates_the_file_the_configuration_reads(var_dir, monkeypatch):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "dev_secret.py"
    spec = importlib.util.spec_from_file_location("dev_secret", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)

    assert script.main() == 0
    assert settings(JWT_SECRET_KEY=None)["JWT_SECRET_KEY"] == (
        (var_dir / "jwt_secret").read_text().strip()
    )


def test_development_secret_file_is_per_installation(var_dir, tmp_path, monkeypatch):
    config.ensure_development_secret()
    first = settings(JWT_SECRET_KEY=None)["JWT_SECRET_KEY"]
    monkeypatch.setattr(config, "VAR_DIR", tmp_path / "elsewhere")
    config.ensure_development_secret()

    assert settings(JWT_SECRET_KEY=None)["JWT_SECRET_KEY"] != first


def test_an_explicit_secret_is_used_and_nothing_is_written(var_dir):
    assert settings(JWT_SECRET_KEY="explicit-" + "k" * 40)["JWT_SECRET_KEY"].startswith("explicit")
    assert not var_dir.exists()


def test_config_maps_settings_to_flask_keys():
    flask_config = Config({**BASE, "APP_ENV": "testing", "JWT_ACCESS_TTL": "120"}).to_flask()

    assert flask_config["TESTING"] is True
    assert flask_config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg2://")
    assert flask_config["JWT_ACCESS_TOKEN_EXPIRES"] == 120
    assert flask_config["JWT_DECODE_ALGORITHMS"] == ["HS256"]
    assert flask_config["MAX_CONTENT_LENGTH"] == 65536


def test_push_settings_and_test_switches_default_off():
    values = settings()
    assert values["PUSH_MAX_SUBSCRIPTIONS_PER_USER"] == 10
    assert values["PUSH_ALLOW_INSECURE_ENDPOINTS"] is False
    assert values["FAULT_EXIT_AFTER_COMMIT"] is False


@pytest.mark.parametrize("name", ["PUSH_ALLOW_INSECURE_ENDPOINTS", "FAULT_EXIT_AFTER_COMMIT"])
@pytest.mark.parametrize("environment", ["development", "production"])
def test_test_only_switches_are_refused_outside_tests(name, environment):
    message = config_error(**{name: "true", "APP_ENV": environment})
    assert f"{name} is only allowed with APP_ENV=testing" in message
    assert settings(**{name: "true", "APP_ENV": "testing"})[name] is True


# --- no secret in an error, the secret file born private -----------------


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("DATABASE_URL", "mysql://app:hunter2pass@db/supportapp", "hunter2pass"),
        ("REDIS_URL", "http://:r3d1s-pass@cache:6379/0", "r3d1s-pass"),
        ("NOTIFY_WEBHOOK_URL", "ftp://hook:w3bh00k@example.com/x", "w3bh00k"),
        (
            "VAPID_PRIVATE_KEY",
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAsecretbits\n-----END",
            "MIGHAgEA",
        ),
        ("VAPID_PUBLIC_KEY", "not-a-key-but-maybe-private-material", "private-material"),
        ("JWT_ACCESS_TTL", "fifteen", None),
    ],
)
def test_a_config_error_names_the_variable_and_never_echoes_a_secret(name, value, secret):
    message = config_error(**{name: value})

    assert name in message
    if secret is not None:
        assert secret not in message
    else:
        assert value in message  # nothing secret about a number


def test_a_url_is_shown_without_its_password():
    message = config_error(DATABASE_URL="mysql://app:hunter2pass@db.internal/supportapp")

    assert "mysql://app:***@db.internal/supportapp" in message


def test_the_development_secret_file_is_created_atomically_with_mode_0600(var_dir, monkeypatch):
    import os

    created_modes = []
    real_open = os.open

    def spying_open(path, flags, mode=0o777, *args, **kwargs):
        if flags & os.O_CREAT:
            created_modes.append((str(path), flags, mode))
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", spying_open)
    os.umask(0o000)  # even with a permissive umask
    try:
        config.ensure_development_secret()
    finally:
        os.umask(0o022)
    secret = settings(JWT_SECRET_KEY=None)["JWT_SECRET_KEY"]

    path = var_dir / "jwt_secret"
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == secret
    # Created with O_EXCL and 0600 from the start (never a moment with wider permissions),
    # under a temporary name, then linked into place whole.
    assert created_modes and all(
        mode == 0o600 and flags & os.O_EXCL for _, flags, mode in created_modes
    )
    assert all(not p.endswith("/jwt_secret") for p, _, _ in created_modes)
    assert sorted(p.name for p in var_dir.iterdir()) == ["jwt_secret"]


def test_concurrent_starts_agree_on_one_development_secret(var_dir):
    from concurrent.futures import ThreadPoolExecutor

    def start(_):
        config.ensure_development_secret()
        return settings(JWT_SECRET_KEY=None)["JWT_SECRET_KEY"]

    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(start, range(16)))

    assert len(secrets) == 1


def test_replica_urls_become_binds_and_are_validated():
    assert Config(BASE).to_flask()["SQLALCHEMY_BINDS"] == {}
    replicas = "postgres://app@r1.internal/supportapp, postgresql://app:pw@r2.internal/supportapp"
    flask = Config({**BASE, "DATABASE_REPLICA_URL": replicas}).to_flask()
    assert flask["SQLALCHEMY_BINDS"] == {
        "replica-1": {"url": "postgresql+psycopg2://app@r1.internal/supportapp"},
        "replica-2": {"url": "postgresql+psycopg2://app:pw@r2.internal/supportapp"},
    }
    assert flask["DATABASE_REPLICA_MAX_LAG_SECONDS"] == 5.0
    assert (
        settings(DATABASE_REPLICA_MAX_LAG_SECONDS="0.5")["DATABASE_REPLICA_MAX_LAG_SECONDS"] == 0.5
    )
    problem = config_error(DATABASE_REPLICA_URL="mysql://x:secret@h/db")
    assert "DATABASE_REPLICA_URL" in problem and "secret" not in problem
    assert "DATABASE_REPLICA_MAX_LAG_SECONDS" in config_error(DATABASE_REPLICA_MAX_LAG_SECONDS="0")
    assert "DATABASE_REPLICA_MAX_LAG_SECONDS" in config_error(
        DATABASE_REPLICA_MAX_LAG_SECONDS="nan"
    )
