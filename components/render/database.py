"""SQL the supabase/postgres image runs once, when it creates a project's database.

The image runs ``init-scripts/*.sql`` as ``postgres`` (still a superuser then) and
``migrations/*.sql`` as ``supabase_admin``, in file-name order, with psql and with
``PGDATABASE`` set to ``POSTGRES_DB``. No secret is written into these files: psql reads
the password and the JWT settings from the container's environment, so the files are
the same for every project and do not change when a secret is rotated.
"""

from __future__ import annotations

import re

INIT_DIR = "/docker-entrypoint-initdb.d"

#: Roles the services log in as; they are created by the image without a password.
SERVICE_ROLES = (
    "authenticator",
    "pgbouncer",
    "supabase_auth_admin",
    "supabase_functions_admin",
    "supabase_storage_admin",
)

#: A database name that needs no escaping anywhere (psql, URLs, env files).
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _env(variable: str, env_var: str) -> str:
    """A psql line that reads ``env_var`` into the psql variable ``variable``.

    ``printf '%s'`` rather than ``echo``: the image's /bin/sh echo would expand
    backslashes in the value; psql strips the command's trailing newline itself.
    """
    return f"\\set {variable} `printf '%s' \"${env_var}\"`"


def _owned_schema(schema: str) -> str:
    """A schema owned by the image's admin user (``POSTGRES_USER``, supabase_admin)."""
    return "\n".join(
        (
            _env("pguser", "POSTGRES_USER"),
            "",
            f"CREATE SCHEMA IF NOT EXISTS {schema};",
            f'ALTER SCHEMA {schema} OWNER TO :"pguser";',
            "",
        )
    )


def _roles() -> str:
    lines = [_env("pgpass", "POSTGRES_PASSWORD"), ""]
    lines += [f"ALTER ROLE {role} WITH PASSWORD :'pgpass';" for role in SERVICE_ROLES]
    return "\n".join((*lines, ""))


def _jwt(database: str) -> str:
    # PostgREST and the SQL helpers (auth.jwt() and friends) read these settings.
    return "\n".join(
        (
            _env("jwt_secret", "JWT_SECRET"),
            _env("jwt_exp", "JWT_EXP"),
            "",
            f'ALTER DATABASE "{database}" SET "app.settings.jwt_secret" TO :\'jwt_secret\';',
            f'ALTER DATABASE "{database}" SET "app.settings.jwt_exp" TO :\'jwt_exp\';',
            "",
        )
    )


#: The net.http_get / net.http_post signatures of pg_net 0.7, as the grants name them.
_NET_FUNCTIONS = (
    "net.http_get(url text, params jsonb, headers jsonb, timeout_milliseconds integer)",
    "net.http_post(url text, body jsonb, params jsonb, headers jsonb,"
    " timeout_milliseconds integer)",
)
_NET_USERS = "supabase_functions_admin, postgres, anon, authenticated, service_role"


def _net_grants(indent: str) -> str:
    """Lock pg_net's functions down to the API roles (run where pg_net exists)."""
    lines = [f"GRANT USAGE ON SCHEMA net TO {_NET_USERS};"]
    for function in _NET_FUNCTIONS:
        lines += [
            f"ALTER FUNCTION {function} SECURITY DEFINER;",
            f"ALTER FUNCTION {function} SET search_path = net;",
            f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC;",
            f"GRANT EXECUTE ON FUNCTION {function} TO {_NET_USERS};",
        ]
    return "\n".join(indent + line for line in lines)


#: Database webhooks: Studio's "Database Webhooks" create triggers that call
#: supabase_functions.http_request(), which queues the HTTP call with pg_net.
_WEBHOOKS = f"""\
BEGIN;

CREATE EXTENSION IF NOT EXISTS pg_net SCHEMA extensions;

CREATE SCHEMA IF NOT EXISTS supabase_functions AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA supabase_functions TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA supabase_functions
  GRANT ALL ON TABLES TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA supabase_functions
  GRANT ALL ON FUNCTIONS TO postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA supabase_functions
  GRANT ALL ON SEQUENCES TO postgres, anon, authenticated, service_role;

-- Which of these scripts' versions have run (Studio reads it).
CREATE TABLE IF NOT EXISTS supabase_functions.migrations (
  version text PRIMARY KEY,
  inserted_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO supabase_functions.migrations (version) VALUES ('initial')
  ON CONFLICT (version) DO NOTHING;

-- Audit trail: one row per webhook call, with pg_net's request id.
CREATE TABLE IF NOT EXISTS supabase_functions.hooks (
  id bigserial PRIMARY KEY,
  hook_table_id integer NOT NULL,
  hook_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  request_id bigint
);
CREATE INDEX IF NOT EXISTS supabase_functions_hooks_request_id_idx
  ON supabase_functions.hooks USING btree (request_id);
CREATE INDEX IF NOT EXISTS supabase_functions_hooks_h_table_id_h_name_idx
  ON supabase_functions.hooks USING btree (hook_table_id, hook_name);
COMMENT ON TABLE supabase_functions.hooks
  IS 'Supabase Functions Hooks: Audit trail for triggered hooks.';

-- Trigger arguments: url, method (GET or POST), headers, params, timeout in ms.
CREATE OR REPLACE FUNCTION supabase_functions.http_request()
  RETURNS trigger
  LANGUAGE plpgsql
AS $function$
DECLARE
  request_id bigint;
  payload jsonb;
  url text := TG_ARGV[0]::text;
  method text := TG_ARGV[1]::text;
  headers jsonb DEFAULT '{{"Content-Type": "application/json"}}'::jsonb;
  params jsonb DEFAULT '{{}}'::jsonb;
  timeout_ms integer DEFAULT 1000;
BEGIN
  IF url IS NULL OR url = 'null' THEN
    RAISE EXCEPTION 'url argument is missing';
  END IF;
  IF method IS NULL OR method = 'null' THEN
    RAISE EXCEPTION 'method argument is missing';
  END IF;
  IF TG_ARGV[2] IS NOT NULL AND TG_ARGV[2] <> 'null' THEN
    headers := TG_ARGV[2]::jsonb;
  END IF;
  IF TG_ARGV[3] IS NOT NULL AND TG_ARGV[3] <> 'null' THEN
    params := TG_ARGV[3]::jsonb;
  END IF;
  IF TG_ARGV[4] IS NOT NULL AND TG_ARGV[4] <> 'null' THEN
    timeout_ms := TG_ARGV[4]::integer;
  END IF;

  CASE method
    WHEN 'GET' THEN
      SELECT http_get INTO request_id FROM net.http_get(url, params, headers, timeout_ms);
    WHEN 'POST' THEN
      payload := jsonb_build_object(
        'old_record', OLD,
        'record', NEW,
        'type', TG_OP,
        'table', TG_TABLE_NAME,
        'schema', TG_TABLE_SCHEMA
      );
      SELECT http_post INTO request_id
        FROM net.http_post(url, payload, params, headers, timeout_ms);
    ELSE
      RAISE EXCEPTION 'method argument % is invalid', method;
  END CASE;

  INSERT INTO supabase_functions.hooks (hook_table_id, hook_name, request_id)
    VALUES (TG_RELID, TG_NAME, request_id);
  RETURN NEW;
END
$function$;

-- The owner of everything above; 99-roles.sql gives it its password.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_functions_admin') THEN
    CREATE USER supabase_functions_admin NOINHERIT CREATEROLE LOGIN NOREPLICATION;
  END IF;
END
$$;
GRANT ALL PRIVILEGES ON SCHEMA supabase_functions TO supabase_functions_admin;
GRANT ALL PRIVILEGES ON ALL TABLES IN SCHEMA supabase_functions TO supabase_functions_admin;
GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA supabase_functions TO supabase_functions_admin;
ALTER ROLE supabase_functions_admin SET search_path = supabase_functions;
ALTER TABLE supabase_functions.migrations OWNER TO supabase_functions_admin;
ALTER TABLE supabase_functions.hooks OWNER TO supabase_functions_admin;
ALTER FUNCTION supabase_functions.http_request() OWNER TO supabase_functions_admin;
GRANT supabase_functions_admin TO postgres;

-- An older image's role for pg_net, no longer used.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supabase_pg_net_admin') THEN
    REASSIGN OWNED BY supabase_pg_net_admin TO supabase_admin;
    DROP OWNED BY supabase_pg_net_admin;
    DROP ROLE supabase_pg_net_admin;
  END IF;
END
$$;

-- pg_net's grants: now if it is there, and again whenever it is (re)created.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_net') THEN
{_net_grants("    ")}
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION extensions.grant_pg_net_access()
  RETURNS event_trigger
  LANGUAGE plpgsql
AS $$
BEGIN
  IF EXISTS (
    SELECT 1
    FROM pg_event_trigger_ddl_commands() AS ev
    JOIN pg_extension AS ext ON ev.objid = ext.oid
    WHERE ext.extname = 'pg_net'
  ) THEN
{_net_grants("    ")}
  END IF;
END;
$$;
COMMENT ON FUNCTION extensions.grant_pg_net_access IS 'Grants access to pg_net';

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'issue_pg_net_access') THEN
    CREATE EVENT TRIGGER issue_pg_net_access ON ddl_command_end
      WHEN TAG IN ('CREATE EXTENSION')
      EXECUTE PROCEDURE extensions.grant_pg_net_access();
  END IF;
END
$$;

INSERT INTO supabase_functions.migrations (version) VALUES ('20210809183423_update_grants')
  ON CONFLICT (version) DO NOTHING;
ALTER FUNCTION supabase_functions.http_request() SECURITY DEFINER;
ALTER FUNCTION supabase_functions.http_request() SET search_path = supabase_functions;
REVOKE ALL ON FUNCTION supabase_functions.http_request() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION supabase_functions.http_request()
  TO postgres, anon, authenticated, service_role;

COMMIT;
"""


def render_init_scripts(*, database: str = "postgres") -> dict[str, str]:
    """Absolute path in the db container -> SQL, for the image's first start.

    ``database`` is the project database (the container's ``POSTGRES_DB``); it must be a
    plain identifier, else ``ValueError``.
    """
    if not _IDENTIFIER.match(database):
        raise ValueError(
            f"database name {database!r} must be a plain identifier: a letter or underscore, "
            "then letters, digits or underscores, at most 63 characters"
        )
    return {
        # Realtime keeps its tenants and its own migrations here.
        f"{INIT_DIR}/migrations/99-realtime.sql": _owned_schema("_realtime"),
        # Needs a superuser (extension, event trigger), hence an init script.
        f"{INIT_DIR}/init-scripts/98-webhooks.sql": _WEBHOOKS,
        f"{INIT_DIR}/init-scripts/99-roles.sql": _roles(),
        f"{INIT_DIR}/init-scripts/99-jwt.sql": _jwt(database),
        # Logflare (analytics) keeps its sources and settings here.
        f"{INIT_DIR}/migrations/99-logs.sql": _owned_schema("_analytics"),
    }


# --- 2026-09: supabase/postgres 17 ---------------------------------------------------

#: Supabase's own data (Logflare's ``_analytics``, Supavisor's ``_supavisor``) lives in
#: a database of its own, so the project's database holds only the user's data.
INTERNAL_DATABASE = "_supabase"

#: The service roles of 2026-09: the image creates them without a password.
SERVICE_ROLES_2026 = ("supabase_admin", *SERVICE_ROLES)


def _internal_database() -> str:
    return "\n".join(
        (
            _env("pguser", "POSTGRES_USER"),
            "",
            f'CREATE DATABASE {INTERNAL_DATABASE} WITH OWNER :"pguser";',
            "",
        )
    )


def _internal_schema(schema: str) -> str:
    """A schema in the internal database, owned by the image's admin user."""
    return "\n".join(
        (
            _env("pguser", "POSTGRES_USER"),
            "",
            f"\\connect {INTERNAL_DATABASE}",
            f"CREATE SCHEMA IF NOT EXISTS {schema};",
            f'ALTER SCHEMA {schema} OWNER TO :"pguser";',
            "",
        )
    )


def _roles_2026() -> str:
    lines = [_env("pgpass", "POSTGRES_PASSWORD"), ""]
    lines += [f"ALTER ROLE {role} WITH PASSWORD :'pgpass';" for role in SERVICE_ROLES_2026]
    return "\n".join((*lines, ""))


def _jwt_2026(database: str) -> str:
    # Only the expiry: the JWT secret is no longer stored in the database, where every
    # role could read it with current_setting(); PostgREST gets its keys from its env.
    return "\n".join(
        (
            _env("jwt_exp", "JWT_EXP"),
            "",
            f'ALTER DATABASE "{database}" SET "app.settings.jwt_exp" TO :\'jwt_exp\';',
            "",
        )
    )


def _check_identifier(database: str) -> None:
    if not _IDENTIFIER.match(database):
        raise ValueError(
            f"database name {database!r} must be a plain identifier: a letter or underscore, "
            "then letters, digits or underscores, at most 63 characters"
        )
    if database == INTERNAL_DATABASE:
        raise ValueError(f"database name {INTERNAL_DATABASE!r} is Supabase's internal database")


def render_init_scripts_2026(*, database: str = "postgres") -> dict[str, str]:
    """Absolute path in the 2026-09 db container -> SQL, for the image's first start.

    The same layout as upstream's compose mounts (``volumes/db/*.sql``); ``database`` is
    the project database (``POSTGRES_DB``), a plain identifier other than ``_supabase``.
    """
    _check_identifier(database)
    return {
        # The internal database first: the two 99- migrations connect to it.
        f"{INIT_DIR}/migrations/97-_supabase.sql": _internal_database(),
        f"{INIT_DIR}/migrations/99-realtime.sql": _owned_schema("_realtime"),
        f"{INIT_DIR}/migrations/99-logs.sql": _internal_schema("_analytics"),
        f"{INIT_DIR}/migrations/99-pooler.sql": _internal_schema("_supavisor"),
        f"{INIT_DIR}/init-scripts/98-webhooks.sql": _WEBHOOKS,
        f"{INIT_DIR}/init-scripts/99-roles.sql": _roles_2026(),
        f"{INIT_DIR}/init-scripts/99-jwt.sql": _jwt_2026(database),
    }
