"""The database init scripts hold together as psql reads them: every variable used is set,
each statement stands on its own line, every file ends its last statement, and, expanded
as psql expands them (backquoted ``\\set`` commands run by a real shell), each file runs
the statements the release needs with the container's values in place."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping

import pytest

from components.render.database import (
    SERVICE_ROLES,
    SERVICE_ROLES_2026,
    render_init_scripts,
    render_init_scripts_2026,
)

INIT = "/docker-entrypoint-initdb.d"
RENDERERS: dict[str, Callable[..., dict[str, str]]] = {
    "2024-04": render_init_scripts,
    "2026-09": render_init_scripts_2026,
}
#: (release, file name) pairs only: the SQL is rendered inside each test, so the mutation
#: run credits the renderers' calls to the tests that check them (not to module import).
FILES = [(release, path) for release, render in RENDERERS.items() for path in sorted(render())]
#: psql's interpolation of a variable as a literal (:'name') or an identifier (:"name").
USED = re.compile(r""":(['"])([a-z_]+)\1""")
SET = re.compile(r"^\\set ([a-z_]+) ", re.MULTILINE)
#: The container's environment (POSTGRES_USER is the image's own default), with values a
#: careless shell or SQL quoting would mangle.
ENV = {
    "POSTGRES_USER": "supabase_admin",
    "POSTGRES_PASSWORD": "pa'ss\\nw\"ord $HOME `x` %s",
    "JWT_SECRET": "jwt-secret-with-'quote'",
    "JWT_EXP": "3600",
}
DATABASE = "shop_db"


@pytest.mark.parametrize(("release", "path"), FILES)
def test_every_psql_variable_used_is_set_in_the_same_file(release: str, path: str) -> None:
    text = RENDERERS[release](database=DATABASE)[path]
    used = {name for _, name in USED.findall(text)}
    assert used <= set(SET.findall(text)), path


@pytest.mark.parametrize(("release", "path"), FILES)
def test_every_file_ends_with_a_complete_line(release: str, path: str) -> None:
    text = RENDERERS[release](database=DATABASE)[path]
    last = text.rstrip("\n").splitlines()[-1]
    assert text.endswith("\n")
    assert last.endswith(";") or last.startswith("\\"), (path, last)


@pytest.mark.parametrize(
    ("release", "roles"), [("2024-04", SERVICE_ROLES), ("2026-09", SERVICE_ROLES_2026)]
)
def test_the_roles_file_is_one_password_statement_per_service_role(
    release: str, roles: tuple[str, ...]
) -> None:
    scripts = RENDERERS[release](database=DATABASE)
    (roles_sql,) = [text for path, text in scripts.items() if path.endswith("99-roles.sql")]
    statements = [line for line in roles_sql.splitlines() if line and not line.startswith("\\")]
    assert statements == [f"ALTER ROLE {role} WITH PASSWORD :'pgpass';" for role in roles]


# --- What psql runs ------------------------------------------------------------------


def _sql_literal(value: str) -> str:
    """psql's :'name' (PQescapeLiteral): quotes doubled; E'' with backslashes doubled."""
    quoted = "'" + value.replace("'", "''").replace("\\", "\\\\") + "'"
    return f" E{quoted}" if "\\" in value else quoted


def _sql_identifier(value: str) -> str:
    """psql's :"name" (PQescapeIdentifier)."""
    return '"' + value.replace('"', '""') + '"'


def psql_run(text: str, env: Mapping[str, str], database: str) -> list[tuple[str, str]]:
    """(database, statement) for each statement psql sends, in order.

    The subset of psql these files use: ``\\set name `command``` (the command run by
    /bin/sh, its trailing newline dropped), ``\\connect db``, and :'name' / :"name"
    interpolation; a variable that is not set fails here (psql would send it as typed).
    """
    variables: dict[str, str] = {}
    sent: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if line.startswith("\\set "):
            name, command = re.fullmatch(r"\\set (\w+) `(.*)`", line).groups()  # type: ignore[union-attr]
            output = subprocess.run(
                ["/bin/sh", "-c", command],
                env={"PATH": os.environ["PATH"], **env},
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            variables[name] = output.removesuffix("\n")
        elif line.startswith("\\connect "):
            database = line.split(" ", 1)[1]
        elif line.strip():
            pending += line + "\n"
            if line.endswith(";"):
                statement = USED.sub(
                    lambda m: (_sql_literal if m[1] == "'" else _sql_identifier)(variables[m[2]]),
                    pending.strip().removesuffix(";"),
                )
                sent.append((database, statement))
                pending = ""
    assert not pending.strip(), f"unterminated statement: {pending!r}"
    return sent


def _ran(release: str, name: str) -> list[tuple[str, str]]:
    (path,) = [p for p in RENDERERS[release](database=DATABASE) if p.endswith(f"/{name}")]
    return psql_run(RENDERERS[release](database=DATABASE)[path], ENV, DATABASE)


def _schema(database: str, schema: str) -> list[tuple[str, str]]:
    return [
        (database, f"CREATE SCHEMA IF NOT EXISTS {schema}"),
        (database, f'ALTER SCHEMA {schema} OWNER TO "supabase_admin"'),
    ]


#: The password as psql sends it: an E'' literal (leading space included), quotes and
#: backslashes doubled.
PASSWORD_SQL = " E'pa''ss\\\\nw\"ord $HOME `x` %s'"


@pytest.mark.parametrize(
    ("release", "roles"), [("2024-04", SERVICE_ROLES), ("2026-09", SERVICE_ROLES_2026)]
)
def test_every_service_role_gets_the_containers_password_byte_for_byte(
    release: str, roles: tuple[str, ...]
) -> None:
    assert _ran(release, "99-roles.sql") == [
        (DATABASE, f"ALTER ROLE {role} WITH PASSWORD {PASSWORD_SQL}") for role in roles
    ]


def test_2024_stores_the_jwt_settings_in_the_project_database() -> None:
    assert _ran("2024-04", "99-jwt.sql") == [
        (DATABASE, f'ALTER DATABASE "{DATABASE}" SET "app.settings.jwt_secret" TO '
         "'jwt-secret-with-''quote'''"),
        (DATABASE, f'ALTER DATABASE "{DATABASE}" SET "app.settings.jwt_exp" TO \'3600\''),
    ]  # fmt: skip


def test_2026_stores_only_the_jwt_expiry() -> None:
    assert _ran("2026-09", "99-jwt.sql") == [
        (DATABASE, f'ALTER DATABASE "{DATABASE}" SET "app.settings.jwt_exp" TO \'3600\''),
    ]


@pytest.mark.parametrize("release", RENDERERS)
def test_realtime_schema_is_in_the_project_database(release: str) -> None:
    assert _ran(release, "99-realtime.sql") == _schema(DATABASE, "_realtime")


def test_2024_keeps_analytics_in_the_project_database() -> None:
    assert _ran("2024-04", "99-logs.sql") == _schema(DATABASE, "_analytics")


def test_2026_keeps_supabases_own_data_in_the_internal_database() -> None:
    assert _ran("2026-09", "97-_supabase.sql") == [
        (DATABASE, 'CREATE DATABASE _supabase WITH OWNER "supabase_admin"')
    ]
    assert _ran("2026-09", "99-logs.sql") == _schema("_supabase", "_analytics")
    assert _ran("2026-09", "99-pooler.sql") == _schema("_supabase", "_supavisor")
