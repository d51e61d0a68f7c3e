"""README's configuration table documents exactly the settings declared in supportapp/config.py
(SETTINGS), each with its default."""

from __future__ import annotations

import re

import pytest

from supportapp.config import ROOT_DIR, SETTINGS

pytestmark = pytest.mark.no_clean_state  # reads files only

NO_DEFAULT = "—"
ROW = re.compile(r"^\|\s*`(?P<name>[A-Z][A-Z0-9_]*)`\s*\|\s*(?P<default>[^|]*?)\s*\|")


def readme_rows() -> dict[str, str]:
    """Variable → default cell (backticks removed) of every row of README's configuration table."""
    text = (ROOT_DIR / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            rows[match["name"]] = match["default"].strip("`").strip()
    return rows


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


def test_the_table_parser_sees_the_table():
    # Guards the test above against a README reshaped so that no row matches at all.
    rows = readme_rows()
    assert "DATABASE_URL" in rows and rows["DATABASE_URL"] == NO_DEFAULT
    assert rows["JWT_ACCESS_TTL"] == "900"
