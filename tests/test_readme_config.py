"""README's configuration table documents exactly the settings declared in supportapp/config.py
(SETTINGS), each once and with its default, and the section names every other environment
variable the processes read (gunicorn.conf.py, the Procfile, the code outside config.py)."""

from __future__ import annotations

import re

import pytest

from supportapp.config import ROOT_DIR, SETTINGS

pytestmark = pytest.mark.no_clean_state  # reads files only

NO_DEFAULT = "—"
ROW = re.compile(r"^\|\s*`(?P<name>[A-Z][A-Z0-9_]*)`\s*\|\s*(?P<default>[^|]*?)\s*\|")
TABLE_FRAME = ("| Variable |", "|---")
# Where the processes read the environment other than through config.SETTINGS.
ENV_READ = re.compile(
    r"""os\.(?:environ\.get\(|environ\[|getenv\()\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"|\$\{([A-Z][A-Z0-9_]+)[:}]"
)
PROCESS_FILES = ("gunicorn.conf.py", "Procfile", "celery_app.py", "wsgi.py")


def configuration_section() -> str:
    text = (ROOT_DIR / "README.md").read_text(encoding="utf-8")
    return text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]


def table_lines() -> list[str]:
    return [
        line
        for line in configuration_section().splitlines()
        if line.startswith("|") and not line.startswith(TABLE_FRAME)
    ]


def readme_rows() -> dict[str, str]:
    """Variable → default cell (backticks removed) of every row of README's configuration table."""
    rows: dict[str, str] = {}
    for line in table_lines():
        match = ROW.match(line)
        if match:
            rows[match["name"]] = match["default"].strip("`").strip()
    return rows


def variables_read_elsewhere() -> set[str]:
    """Environment variables named where the processes read them outside config.SETTINGS."""
    paths = [ROOT_DIR / name for name in PROCESS_FILES]
    paths += [p for p in (ROOT_DIR / "supportapp").rglob("*.py") if p.name != "config.py"]
    paths += list((ROOT_DIR / "workers").rglob("*.py"))
    found: set[str] = set()
    for path in paths:
        for match in ENV_READ.finditer(path.read_text(encoding="utf-8")):
            found.add(match[1] or match[2])
    return found


def declared() -> dict[str, str]:
    """Variable → default; a default under the repository is written relative to it (`./var`)."""
    root = f"{ROOT_DIR}/"
    return {
        s.name: NO_DEFAULT if s.default is None else s.default.replace(root, "./") for s in SETTINGS
    }


def test_readme_configuration_table_matches_the_settings_declaration():
    documented, settings = readme_rows(), declared()
    problems = [
        f"missing row: | `{name}` | `{default}` | … |"
        for name, default in settings.items()
        if name not in documented
    ]
    problems += [
        f"extra row (not in config.SETTINGS): `{name}`"
        for name in documented
        if name not in settings
    ]
    problems += [
        f"wrong default for `{name}`: README says {documented[name]!r}, config.py {default!r}"
        for name, default in settings.items()
        if name in documented and documented[name] != default
    ]
    assert not problems, "README.md configuration table vs supportapp/config.py:\n" + "\n".join(
        problems
    )


def test_every_row_of_the_table_is_one_variable_listed_once():
    unparsed = [line for line in table_lines() if not ROW.match(line)]
    names = [ROW.match(line)["name"] for line in table_lines() if ROW.match(line)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert not unparsed, f"rows the table check cannot read: {unparsed}"
    assert not repeated, f"variables listed more than once: {repeated}"


def test_every_other_variable_the_processes_read_is_named_in_the_section():
    read = variables_read_elsewhere()
    assert {"WEB_CONCURRENCY", "CELERY_BEAT_SCHEDULE", "PROMETHEUS_MULTIPROC_DIR"} <= read
    section = configuration_section()
    missing = sorted(name for name in read if f"`{name}`" not in section)
    assert not missing, f"README's Configuration section does not name: {missing}"


def test_the_table_parser_sees_the_table():
    # Guards the test above against a README reshaped so that no row matches at all.
    rows = readme_rows()
    assert "DATABASE_URL" in rows and rows["DATABASE_URL"] == NO_DEFAULT
    assert rows["JWT_ACCESS_TTL"] == "900"
