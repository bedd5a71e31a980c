"""2026-09 init SQL: upstream's file layout, no secret inside, and it runs on a real PostgreSQL.

Debian 12 packages PostgreSQL 15 only (no 17), so the SQL runs on 15 here; it uses
nothing that differs between 15 and 17. Stubbed, because the supabase/postgres image
provides them and Debian does not: the image's roles (created below as the image's
init would) and the pg_net extension (its CREATE EXTENSION line is left out; a
stand-in ``net.http_post`` takes its place for the webhook test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from test_render_database import Cluster, run_like_the_image, started_cluster

from components.render.database import (
    INTERNAL_DATABASE,
    SERVICE_ROLES_2026,
    render_init_scripts,
    render_init_scripts_2026,
)

INIT = "/docker-entrypoint-initdb.d"
#: The files and places upstream's compose mounts at Studio 2026.09.07.
PATHS = {
    f"{INIT}/migrations/97-_supabase.sql",
    f"{INIT}/migrations/99-realtime.sql",
    f"{INIT}/migrations/99-logs.sql",
    f"{INIT}/migrations/99-pooler.sql",
    f"{INIT}/init-scripts/98-webhooks.sql",
    f"{INIT}/init-scripts/99-roles.sql",
    f"{INIT}/init-scripts/99-jwt.sql",
}
LOGIN_ROLES = {
    "supabase_admin",
    "authenticator",
    "pgbouncer",
    "supabase_auth_admin",
    "supabase_functions_admin",
    "supabase_storage_admin",
}
ENV = {
    "POSTGRES_USER": "supabase_admin",
    "POSTGRES_PASSWORD": "pa'ss\\nw\"ord $HOME `x` %s",
    "JWT_SECRET": "jwt-secret-that-must-not-reach-the-database",
    "JWT_EXP": "3600",
}
DATABASE = "project_db"
IMAGE_SETUP = """
CREATE ROLE supabase_admin SUPERUSER CREATEDB CREATEROLE LOGIN;
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN;
CREATE ROLE authenticator LOGIN NOINHERIT;
CREATE ROLE pgbouncer LOGIN;
CREATE ROLE supabase_auth_admin LOGIN;
CREATE ROLE supabase_storage_admin LOGIN;
"""


def test_files_are_where_upstream_mounts_them() -> None:
    assert set(render_init_scripts_2026()) == PATHS


def test_no_file_holds_a_secret_and_the_jwt_secret_is_not_read_at_all() -> None:
    scripts = render_init_scripts_2026(database=DATABASE)
    for sql in scripts.values():
        assert "JWT_SECRET" not in sql and "jwt_secret" not in sql
        assert "PASSWORD '" not in sql
    assert '"$POSTGRES_PASSWORD"' in scripts[f"{INIT}/init-scripts/99-roles.sql"]


def test_internal_schemas_live_in_the_internal_database() -> None:
    scripts = render_init_scripts_2026()
    for name in ("99-logs.sql", "99-pooler.sql"):
        assert f"\\connect {INTERNAL_DATABASE}\n" in scripts[f"{INIT}/migrations/{name}"]
    # The database must exist before the migrations that connect to it run.
    migrations = sorted(p for p in scripts if "/migrations/" in p)
    assert migrations[0].endswith("97-_supabase.sql")


@pytest.mark.parametrize("database", ["", "bad name", "_supabase", 'x"; DROP', "a" * 64])
def test_bad_database_names_are_refused(database: str) -> None:
    with pytest.raises(ValueError, match="database name"):
        render_init_scripts_2026(database=database)


def test_2024_release_is_unchanged() -> None:
    assert set(render_init_scripts()) == {
        f"{INIT}/migrations/99-realtime.sql",
        f"{INIT}/init-scripts/98-webhooks.sql",
        f"{INIT}/init-scripts/99-roles.sql",
        f"{INIT}/init-scripts/99-jwt.sql",
        f"{INIT}/migrations/99-logs.sql",
    }
    assert "jwt_secret" in render_init_scripts()[f"{INIT}/init-scripts/99-jwt.sql"]


# --- on a real PostgreSQL ------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with started_cluster("render-db-2026-") as found:
        found.psql(IMAGE_SETUP, database="postgres")
        found.psql(f"CREATE DATABASE {DATABASE}", database="postgres")
        found.psql("CREATE SCHEMA extensions", database=DATABASE)
        run_like_the_image(
            found, render_init_scripts_2026(database=DATABASE), database=DATABASE, env=ENV
        )
        yield found


def _psql(cluster: Cluster, sql: str, database: str = DATABASE) -> str:
    return cluster.psql(sql, database=database)


def test_internal_database_and_its_schemas(cluster: Cluster) -> None:
    owner = _psql(
        cluster,
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '_supabase'",
        database="postgres",
    )
    assert owner == "supabase_admin\n"
    schemas = _psql(
        cluster,
        "SELECT nspname || '=' || pg_get_userbyid(nspowner) FROM pg_namespace"
        " WHERE nspname IN ('_analytics', '_supavisor', '_realtime') ORDER BY 1",
        database=INTERNAL_DATABASE,
    )
    assert schemas.split() == ["_analytics=supabase_admin", "_supavisor=supabase_admin"]


def test_project_database_keeps_only_the_project_schemas(cluster: Cluster) -> None:
    schemas = _psql(
        cluster,
        "SELECT nspname || '=' || pg_get_userbyid(nspowner) FROM pg_namespace"
        " WHERE nspname IN ('_analytics', '_supavisor', '_realtime', 'supabase_functions')"
        " ORDER BY 1",
    )
    assert schemas.split() == ["_realtime=supabase_admin", "supabase_functions=supabase_admin"]


def test_only_the_jwt_expiry_is_set_in_the_database(cluster: Cluster) -> None:
    assert _psql(cluster, "SHOW app.settings.jwt_exp") == "3600\n"
    # Any role could read a secret stored here with current_setting(); it is not there.
    assert (
        _psql(cluster, "SELECT current_setting('app.settings.jwt_secret', true) IS NULL") == "t\n"
    )


def test_service_roles_log_in_with_the_postgres_password(cluster: Cluster) -> None:
    assert set(SERVICE_ROLES_2026) == LOGIN_ROLES
    hba = cluster.directory / "data" / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text("local all postgres trust\nlocal all all scram-sha-256\n")
    try:
        _psql(cluster, "SELECT pg_reload_conf()")
        for role in sorted(LOGIN_ROLES):
            check = ["psql", "-X", "-w", "-A", "-t", "-U", role, "-d", DATABASE, "-c", "SELECT 1"]
            assert cluster.run(*check, env={"PGPASSWORD": ENV["POSTGRES_PASSWORD"]}) == "1\n"
            with pytest.raises(AssertionError, match="password authentication failed"):
                cluster.run(*check, env={"PGPASSWORD": "wrong"})
    finally:
        hba.write_text(original)
        _psql(cluster, "SELECT pg_reload_conf()")


def test_webhook_trigger_queues_a_request_and_records_it(cluster: Cluster) -> None:
    _psql(
        cluster,
        "CREATE SCHEMA net;"
        " GRANT USAGE ON SCHEMA net TO supabase_functions_admin;"
        " CREATE FUNCTION net.http_post(url text, body jsonb, params jsonb, headers jsonb,"
        " timeout_milliseconds integer) RETURNS bigint LANGUAGE sql AS 'SELECT 7::bigint';"
        " CREATE TABLE public.items (id int);"
        " CREATE TRIGGER items_hook AFTER INSERT ON public.items FOR EACH ROW"
        " EXECUTE FUNCTION supabase_functions.http_request("
        "'http://functions:9000/hook', 'POST', '{}', '{}', '1000');"
        " INSERT INTO public.items VALUES (1);",
    )
    assert _psql(
        cluster, "SELECT hook_name || ':' || request_id FROM supabase_functions.hooks"
    ) == ("items_hook:7\n")


#: What a user is told about a bad database name: the value and the rule it breaks.
IDENTIFIER_RULE = (
    "must be a plain identifier: a letter or underscore, then letters, digits or "
    "underscores, at most 63 characters"
)


@pytest.mark.parametrize("render", [render_init_scripts, render_init_scripts_2026])
def test_a_bad_database_name_is_named_with_the_rule_it_breaks(
    render: Callable[..., dict[str, str]],
) -> None:
    with pytest.raises(ValueError) as refused:
        render(database="my-db")
    assert str(refused.value) == f"database name 'my-db' {IDENTIFIER_RULE}"
    # The longest name PostgreSQL keeps whole is accepted, one more character is not.
    assert render(database="d" * 63)
    with pytest.raises(ValueError, match="at most 63 characters"):
        render(database="d" * 64)


def test_the_internal_database_name_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError) as refused:
        render_init_scripts_2026(database="_supabase")
    assert str(refused.value) == "database name '_supabase' is Supabase's internal database"


def test_default_database_is_upstreams_postgres() -> None:
    # .env.example's POSTGRES_DB=postgres: the file targets it when no name is given.
    jwt_sql = render_init_scripts_2026()[f"{INIT}/init-scripts/99-jwt.sql"]
    assert 'ALTER DATABASE "postgres" SET "app.settings.jwt_exp"' in jwt_sql
