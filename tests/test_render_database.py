"""Init SQL: the right files, no secret inside, and (where PostgreSQL is installed) it runs."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.render.database import SERVICE_ROLES, render_init_scripts

INIT = "/docker-entrypoint-initdb.d"
PATHS = {
    f"{INIT}/migrations/99-realtime.sql",
    f"{INIT}/init-scripts/98-webhooks.sql",
    f"{INIT}/init-scripts/99-roles.sql",
    f"{INIT}/init-scripts/99-jwt.sql",
    f"{INIT}/migrations/99-logs.sql",
}
ROLES = {
    "authenticator",
    "pgbouncer",
    "supabase_auth_admin",
    "supabase_functions_admin",
    "supabase_storage_admin",
}
#: The one statement the test database cannot run: Debian's PostgreSQL has no pg_net.
PG_NET = "CREATE EXTENSION IF NOT EXISTS pg_net SCHEMA extensions;\n"


def test_every_file_is_rendered() -> None:
    assert set(render_init_scripts()) == PATHS


def test_roles_file_sets_all_five_passwords_from_the_environment() -> None:
    roles = render_init_scripts()[f"{INIT}/init-scripts/99-roles.sql"]
    assert set(SERVICE_ROLES) == ROLES
    assert '"$POSTGRES_PASSWORD"' in roles
    for role in ROLES:
        assert f"ALTER ROLE {role} WITH PASSWORD :'pgpass';" in roles
    assert "PASSWORD '" not in roles  # no literal password


def test_jwt_file_targets_the_given_database() -> None:
    jwt = render_init_scripts(database="tenant_db")[f"{INIT}/init-scripts/99-jwt.sql"]
    assert '"$JWT_SECRET"' in jwt
    assert '"$JWT_EXP"' in jwt
    assert 'ALTER DATABASE "tenant_db" SET "app.settings.jwt_secret" TO :\'jwt_secret\';' in jwt
    assert 'ALTER DATABASE "tenant_db" SET "app.settings.jwt_exp" TO :\'jwt_exp\';' in jwt


def test_default_database_is_postgres() -> None:
    jwt = render_init_scripts()[f"{INIT}/init-scripts/99-jwt.sql"]
    assert jwt.count('ALTER DATABASE "postgres" ') == 2


def test_only_the_jwt_file_depends_on_the_database() -> None:
    default, other = render_init_scripts(), render_init_scripts(database="other")
    assert {path for path in PATHS if default[path] != other[path]} == {
        f"{INIT}/init-scripts/99-jwt.sql"
    }


def test_service_schemas_belong_to_the_admin_user() -> None:
    scripts = render_init_scripts()
    for path, schema in (
        ("migrations/99-realtime.sql", "_realtime"),
        ("migrations/99-logs.sql", "_analytics"),
    ):
        sql = scripts[f"{INIT}/{path}"]
        assert '"$POSTGRES_USER"' in sql
        assert f"CREATE SCHEMA IF NOT EXISTS {schema};" in sql
        assert f'ALTER SCHEMA {schema} OWNER TO :"pguser";' in sql


def test_webhooks_file_is_one_transaction_with_pg_net() -> None:
    webhooks = render_init_scripts()[f"{INIT}/init-scripts/98-webhooks.sql"]
    assert webhooks.startswith("BEGIN;\n")
    assert webhooks.rstrip().endswith("COMMIT;")
    assert webhooks.count(PG_NET) == 1
    assert "CREATE OR REPLACE FUNCTION supabase_functions.http_request()" in webhooks


@pytest.mark.parametrize(
    "database",
    ["", "bad name", 'x"; DROP DATABASE postgres; --', "1st", "my-db", "naïve", "a" * 64],
)
def test_bad_database_identifiers_are_refused(database: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        render_init_scripts(database=database)


def test_output_is_deterministic() -> None:
    assert render_init_scripts(database="tenant_db") == render_init_scripts(database="tenant_db")


# --- Running the SQL against a real PostgreSQL ----------------------------------------

#: Values with characters a careless shell or SQL quoting would mangle.
ENV = {
    "POSTGRES_USER": "supabase_admin",
    "POSTGRES_PASSWORD": "pa'ss\\nw\"ord $HOME `x` %s",
    "JWT_SECRET": "jwt-secret-with-'quote'-and-\\backslash",
    "JWT_EXP": "3600",
}
DATABASE = "tenant_db"

#: Roles the supabase/postgres image has before the scripts run.
IMAGE_SETUP = """
CREATE ROLE supabase_admin SUPERUSER LOGIN;
CREATE ROLE anon NOLOGIN;
CREATE ROLE authenticated NOLOGIN;
CREATE ROLE service_role NOLOGIN;
CREATE ROLE authenticator LOGIN NOINHERIT;
CREATE ROLE pgbouncer LOGIN;
CREATE ROLE supabase_auth_admin LOGIN;
CREATE ROLE supabase_storage_admin LOGIN;
"""


def _pg_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


@dataclass
class Cluster:
    """A throwaway PostgreSQL cluster listening on a Unix socket in ``directory`` only."""

    directory: Path
    tools: Mapping[str, str]
    user: pwd.struct_passwd | None

    def run(self, *args: str, env: Mapping[str, str] | None = None, check: bool = True) -> str:
        """Run a PostgreSQL tool as the cluster's (non-root) owner."""
        command = [self.tools[args[0]], *args[1:]]
        if self.user is not None:
            command = [
                "setpriv",
                f"--reuid={self.user.pw_uid}",
                f"--regid={self.user.pw_gid}",
                "--clear-groups",
                *command,
            ]
        full_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PGHOST": str(self.directory),
            "LC_ALL": "C",
            **(env or {}),
        }
        done = subprocess.run(
            command, env=full_env, capture_output=True, text=True, timeout=120, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{args} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def psql(self, sql: str, *, database: str = DATABASE) -> str:
        """Run ``sql`` as the bootstrap superuser; its unaligned, tuples-only output."""
        return self.run(
            "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-U", "postgres", "-d", database, "-c", sql,
        )  # fmt: skip


@contextlib.contextmanager
def started_cluster(prefix: str) -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster on a unix socket in a new directory, stopped after.

    Fails under CI (skips elsewhere) when the PostgreSQL tools are missing; as root it runs
    the cluster as the ``postgres`` user, since initdb refuses to run as root.
    """
    tools = {name: _pg_tool(name) for name in ("initdb", "pg_ctl", "psql")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        reason = f"PostgreSQL tools not installed: {', '.join(missing)}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; scripts/test.sh installs them when run as root")
        pytest.skip(reason)
    user: pwd.struct_passwd | None = None
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv to drop privileges")
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run the cluster")
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    if user is not None:
        os.chown(directory, user.pw_uid, user.pw_gid)
    found = Cluster(directory, {name: path for name, path in tools.items() if path}, user)
    data = directory / "data"
    found.run("initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    found.run(
        "pg_ctl", "-D", str(data), "-l", str(directory / "log"), "-w", "-t", "60",
        "-o", f"-c listen_addresses='' -k {directory}", "start",
    )  # fmt: skip
    try:
        yield found
    finally:
        found.run("pg_ctl", "-D", str(data), "-m", "immediate", "stop", check=False)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with started_cluster("render-db-") as found:
        found.psql(IMAGE_SETUP, database="postgres")
        found.psql(f"CREATE DATABASE {DATABASE}", database="postgres")
        found.psql("CREATE SCHEMA extensions")
        run_like_the_image(
            found, render_init_scripts(database=DATABASE), database=DATABASE, env=ENV
        )
        yield found


def run_like_the_image(
    cluster: Cluster, scripts: Mapping[str, str], *, database: str, env: Mapping[str, str]
) -> None:
    """Init scripts as postgres, then migrations as supabase_admin, each in name order
    (without pg_net, which Debian's PostgreSQL lacks)."""
    for folder, user in (("init-scripts", "postgres"), ("migrations", "supabase_admin")):
        for path in sorted(p for p in scripts if p.startswith(f"{INIT}/{folder}/")):
            local = cluster.directory / Path(path).name
            local.write_text(scripts[path].replace(PG_NET, ""))
            local.chmod(0o644)
            cluster.run(
                "psql", "-X", "-v", "ON_ERROR_STOP=1", "--no-password",
                "-U", user, "-d", database, "-f", str(local), env=dict(env),
            )  # fmt: skip


def test_sql_creates_the_service_schemas(cluster: Cluster) -> None:
    owners = cluster.psql(
        "SELECT nspname || '=' || pg_get_userbyid(nspowner) FROM pg_namespace"
        " WHERE nspname IN ('_realtime', '_analytics', 'supabase_functions') ORDER BY 1"
    )
    assert owners.split() == [
        "_analytics=supabase_admin",
        "_realtime=supabase_admin",
        "supabase_functions=supabase_admin",
    ]


def test_sql_sets_the_jwt_settings_from_the_environment(cluster: Cluster) -> None:
    assert cluster.psql("SHOW app.settings.jwt_secret") == ENV["JWT_SECRET"] + "\n"
    assert cluster.psql("SHOW app.settings.jwt_exp") == "3600\n"


def test_sql_gives_the_service_roles_the_postgres_password(cluster: Cluster) -> None:
    data = cluster.directory / "data"
    hba = data / "pg_hba.conf"
    original = hba.read_text()
    hba.write_text("local all postgres trust\nlocal all all scram-sha-256\n")
    try:
        cluster.psql("SELECT pg_reload_conf()")
        for role in sorted(ROLES):
            check = ["psql", "-X", "-w", "-A", "-t", "-U", role, "-d", DATABASE, "-c", "SELECT 1"]
            assert cluster.run(*check, env={"PGPASSWORD": ENV["POSTGRES_PASSWORD"]}) == "1\n"
            with pytest.raises(AssertionError, match="password authentication failed"):
                cluster.run(*check, env={"PGPASSWORD": "wrong"})
    finally:
        hba.write_text(original)
        cluster.psql("SELECT pg_reload_conf()")


def test_webhook_trigger_queues_a_request_and_records_it(cluster: Cluster) -> None:
    # A stand-in for pg_net's net.http_post that returns a request id; the real pg_net
    # gets its grant from the file's event trigger, which fires on CREATE EXTENSION only.
    cluster.psql(
        "CREATE SCHEMA net;"
        " GRANT USAGE ON SCHEMA net TO supabase_functions_admin;"
        " CREATE FUNCTION net.http_post(url text, body jsonb, params jsonb, headers jsonb,"
        " timeout_milliseconds integer) RETURNS bigint LANGUAGE sql AS 'SELECT 42::bigint';"
        " CREATE TABLE public.items (id int);"
        " CREATE TRIGGER items_hook AFTER INSERT ON public.items FOR EACH ROW"
        " EXECUTE FUNCTION supabase_functions.http_request("
        "'http://functions:9000/hook', 'POST', '{}', '{}', '1000');"
        " INSERT INTO public.items VALUES (1);"
    )
    hooks = cluster.psql("SELECT hook_name || ':' || request_id FROM supabase_functions.hooks")
    assert hooks == "items_hook:42\n"
    definer = cluster.psql(
        "SELECT prosecdef, pg_get_userbyid(proowner) FROM pg_proc"
        " WHERE oid = 'supabase_functions.http_request'::regproc"
    )
    assert definer == "t|supabase_functions_admin\n"
