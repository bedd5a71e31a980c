"""The database init scripts hold together as psql reads them: every variable used is set,
each statement stands on its own line, every file ends its last statement."""

from __future__ import annotations

import re

import pytest

from components.render.database import SERVICE_ROLES, render_init_scripts

#: File names only: the SQL is rendered inside each test, so the mutation run credits the
#: renderer's calls to the tests that check them (not to test-module import).
PATHS = sorted(render_init_scripts(database="shop_db"))
#: psql's interpolation of a variable as a literal (:'name') or an identifier (:"name").
USED = re.compile(r""":(['"])([a-z_]+)\1""")
SET = re.compile(r"^\\set ([a-z_]+) ", re.MULTILINE)


@pytest.mark.parametrize("path", PATHS)
def test_every_psql_variable_used_is_set_in_the_same_file(path: str) -> None:
    text = render_init_scripts(database="shop_db")[path]
    used = {name for _, name in USED.findall(text)}
    assert used <= set(SET.findall(text)), path


@pytest.mark.parametrize("path", PATHS)
def test_every_file_ends_with_a_complete_line(path: str) -> None:
    text = render_init_scripts(database="shop_db")[path]
    last = text.rstrip("\n").splitlines()[-1]
    assert text.endswith("\n")
    assert last.endswith(";") or last.startswith("\\"), (path, last)


def test_the_roles_file_is_one_password_statement_per_service_role() -> None:
    scripts = render_init_scripts(database="shop_db")
    (roles,) = [text for path, text in scripts.items() if path.endswith("99-roles.sql")]
    statements = [line for line in roles.splitlines() if line and not line.startswith("\\")]
    assert statements == [f"ALTER ROLE {role} WITH PASSWORD :'pgpass';" for role in SERVICE_ROLES]
