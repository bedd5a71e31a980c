"""2024-04 containers get the variables upstream's compose gives them, with the values the
project's settings and secrets say.

Expectations are upstream's, from supabase/supabase ``docker/docker-compose.yml`` (services
``auth``, ``db`` and ``kong``) and ``.env.example`` (POSTGRES_HOST=db, POSTGRES_PORT=5432,
POSTGRES_DB=postgres, MAILER_URLPATHS_*=/auth/v1/verify): literal values as written there,
``${VAR}`` values as this stack's settings below set them.
"""

from __future__ import annotations

import pytest
from pulumi_harness import Run, env_of, reveal, run_main

SETTINGS = {
    "portSlot": 13,
    "siteUrl": "https://app.example.org",
    "jwtExpiry": 7200,
    "smtp": {
        "host": "mail.example.org",
        "port": 2525,
        "user": "mailer",
        "adminEmail": "admin@example.org",
        "senderName": "Example Org",
    },
    "smtpPassword": "smtp-password-1",
    "auth": {"phoneSignup": True, "phoneAutoconfirm": True, "emailAutoconfirm": False},
}
AUTH_LITERALS = {
    "GOTRUE_API_HOST": "0.0.0.0",
    "GOTRUE_API_PORT": "9999",
    "GOTRUE_DB_DRIVER": "postgres",
    "GOTRUE_JWT_ADMIN_ROLES": "service_role",
    "GOTRUE_JWT_AUD": "authenticated",
    "GOTRUE_JWT_DEFAULT_GROUP_NAME": "authenticated",
}
#: GoTrue's own names for the settings above.
AUTH_FROM_SETTINGS = {
    "GOTRUE_SITE_URL": "https://app.example.org",
    "GOTRUE_JWT_EXP": "7200",
    "GOTRUE_SMTP_ADMIN_EMAIL": "admin@example.org",
    "GOTRUE_SMTP_HOST": "mail.example.org",
    "GOTRUE_SMTP_PORT": "2525",
    "GOTRUE_SMTP_USER": "mailer",
    "GOTRUE_SMTP_PASS": "smtp-password-1",
    "GOTRUE_SMTP_SENDER_NAME": "Example Org",
    "GOTRUE_EXTERNAL_PHONE_ENABLED": "true",
    "GOTRUE_SMS_AUTOCONFIRM": "true",
    "GOTRUE_MAILER_AUTOCONFIRM": "false",
    # .env.example's defaults, which the stack leaves alone.
    "GOTRUE_DISABLE_SIGNUP": "false",
    "GOTRUE_EXTERNAL_EMAIL_ENABLED": "true",
    "GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED": "false",
    "GOTRUE_URI_ALLOW_LIST": "",
}
#: Set from the project's own secrets and address (checked one by one below).
AUTH_FROM_PROJECT = {"API_EXTERNAL_URL", "GOTRUE_DB_DATABASE_URL", "GOTRUE_JWT_SECRET"}
VERIFY = "/auth/v1/verify"
MAILER_PATHS = ("INVITE", "CONFIRMATION", "RECOVERY", "EMAIL_CHANGE")
KONG_LITERALS = {
    "KONG_DATABASE": "off",
    "KONG_DNS_ORDER": "LAST,A,CNAME",
    "KONG_NGINX_PROXY_PROXY_BUFFER_SIZE": "160k",
    "KONG_NGINX_PROXY_PROXY_BUFFERS": "64 160k",
    "KONG_DECLARATIVE_CONFIG": "/home/kong/kong.yml",
    # 2024-04's kong.yml uses only these plugins (request-termination, ip-restriction came later).
    "KONG_PLUGINS": "request-transformer,cors,key-auth,acl,basic-auth",
}


@pytest.fixture(scope="module")
def project() -> Run:
    return run_main(SETTINGS, stack="upstream", secret_keys=("smtpPassword",))


def test_auth_environment(project: Run) -> None:
    env, out = env_of(project.mocks.containers()["auth"]), project.outputs
    mailer = {f"GOTRUE_MAILER_URLPATHS_{path}" for path in MAILER_PATHS}
    assert set(env) == {*AUTH_LITERALS, *AUTH_FROM_SETTINGS, *AUTH_FROM_PROJECT, *mailer}
    for name, value in AUTH_LITERALS.items() | AUTH_FROM_SETTINGS.items():
        assert env[name] == value, name
    assert env["API_EXTERNAL_URL"] == out["apiUrl"] == "http://localhost:20130"
    for path in MAILER_PATHS:
        assert env[f"GOTRUE_MAILER_URLPATHS_{path}"] == VERIFY, path
    assert env["GOTRUE_JWT_SECRET"] == out["jwtSecret"]
    password = project.outputs["dbUrl"].split(":")[2].split("@")[0]
    assert env["GOTRUE_DB_DATABASE_URL"] == (
        f"postgres://supabase_auth_admin:{password}@db:5432/postgres"
    )


def test_auth_switches_follow_the_settings_both_ways() -> None:
    off = run_main(
        SETTINGS | {"auth": {"phoneSignup": False, "phoneAutoconfirm": False}},
        stack="upoff",
        secret_keys=("smtpPassword",),
    )
    env = env_of(off.mocks.containers()["auth"])
    assert env["GOTRUE_SMS_AUTOCONFIRM"] == env["GOTRUE_EXTERNAL_PHONE_ENABLED"] == "false"


def test_database_environment(project: Run) -> None:
    env, out = env_of(project.mocks.containers()["db"]), project.outputs
    password = out["dbUrl"].split(":")[2].split("@")[0]
    assert env["POSTGRES_HOST"] == "/var/run/postgresql"
    assert env["PGPORT"] == env["POSTGRES_PORT"] == "5432"
    assert env["PGPASSWORD"] == env["POSTGRES_PASSWORD"] == password
    assert env["PGDATABASE"] == env["POSTGRES_DB"] == "postgres"
    assert env["JWT_SECRET"] == out["jwtSecret"]
    assert env["JWT_EXP"] == "7200"
    assert len(env) == 9  # exactly upstream's nine variables: the ones checked above


def test_database_keeps_its_data_on_the_data_volume(project: Run) -> None:
    container = project.mocks.containers()["db"]
    targets = {m["target"] for m in reveal(container.inputs.get("mounts") or [])}
    # The image's PGDATA and pgsodium's key directory must both outlive the container.
    assert {"/var/lib/postgresql/data", "/etc/postgresql-custom"} <= targets
    command = list(reveal(container.inputs["command"]))
    # Upstream's command: its config file, and only fatal messages logged (Realtime polls).
    assert command == [
        "postgres",
        "-c",
        "config_file=/etc/postgresql/postgresql.conf",
        "-c",
        "log_min_messages=fatal",
    ]


def test_kong_environment(project: Run) -> None:
    env = env_of(project.mocks.containers()["kong"])
    assert env == KONG_LITERALS  # no trusted proxies without the edge in front


#: The rest of the 2024-04 services as upstream's compose sets them (literal values, and
#: ``.env.example``'s defaults for PGRST_DB_SCHEMAS, STUDIO_DEFAULT_ORGANIZATION/PROJECT,
#: IMGPROXY_ENABLE_WEBP_DETECTION and FUNCTIONS_VERIFY_JWT). ``{name}`` stands for a value
#: of this project: its secrets and settings (see ``project_values``).
UPSTREAM_ENV = {
    "analytics": {
        "LOGFLARE_NODE_HOST": "127.0.0.1",
        "DB_USERNAME": "supabase_admin",
        "DB_DATABASE": "postgres",
        "DB_HOSTNAME": "db",
        "DB_PORT": "5432",
        "DB_PASSWORD": "{password}",
        "DB_SCHEMA": "_analytics",
        "LOGFLARE_API_KEY": "{logflare}",
        "LOGFLARE_SINGLE_TENANT": "true",
        "LOGFLARE_SUPABASE_MODE": "true",
        "LOGFLARE_MIN_CLUSTER_SIZE": "1",
        "POSTGRES_BACKEND_URL": "postgresql://supabase_admin:{password}@db:5432/postgres",
        "POSTGRES_BACKEND_SCHEMA": "_analytics",
        "LOGFLARE_FEATURE_FLAG_OVERRIDE": "multibackend=true",
    },
    "rest": {
        "PGRST_DB_URI": "postgres://authenticator:{password}@db:5432/postgres",
        "PGRST_DB_SCHEMAS": "public,storage,graphql_public",
        "PGRST_DB_ANON_ROLE": "anon",
        "PGRST_JWT_SECRET": "{jwt}",
        "PGRST_DB_USE_LEGACY_GUCS": "false",
        "PGRST_APP_SETTINGS_JWT_SECRET": "{jwt}",
        "PGRST_APP_SETTINGS_JWT_EXP": "7200",
    },
    "realtime": {
        "PORT": "4000",
        "DB_HOST": "db",
        "DB_PORT": "5432",
        "DB_USER": "supabase_admin",
        "DB_PASSWORD": "{password}",
        "DB_NAME": "postgres",
        "DB_AFTER_CONNECT_QUERY": "SET search_path TO _realtime",
        "DB_ENC_KEY": "{generated}",
        "API_JWT_SECRET": "{jwt}",
        "FLY_ALLOC_ID": "fly123",
        "FLY_APP_NAME": "realtime",
        "SECRET_KEY_BASE": "{generated}",
        "ERL_AFLAGS": "-proto_dist inet_tcp",
        "ENABLE_TAILSCALE": "false",
        "DNS_NODES": "''",
        # Ours: the healthcheck reads the key from here instead of spelling it out.
        "HEALTHCHECK_API_KEY": "{anon}",
    },
    "storage": {
        "ANON_KEY": "{anon}",
        "SERVICE_KEY": "{service}",
        "POSTGREST_URL": "http://rest:3000",
        "PGRST_JWT_SECRET": "{jwt}",
        "DATABASE_URL": "postgres://supabase_storage_admin:{password}@db:5432/postgres",
        "FILE_SIZE_LIMIT": "52428800",
        "STORAGE_BACKEND": "file",
        "FILE_STORAGE_BACKEND_PATH": "/var/lib/storage",
        "TENANT_ID": "stub",
        "REGION": "stub",
        "GLOBAL_S3_BUCKET": "stub",
        "ENABLE_IMAGE_TRANSFORMATION": "true",
        "IMGPROXY_URL": "http://imgproxy:5001",
    },
    "imgproxy": {
        "IMGPROXY_BIND": ":5001",
        "IMGPROXY_LOCAL_FILESYSTEM_ROOT": "/",
        "IMGPROXY_USE_ETAG": "true",
        "IMGPROXY_ENABLE_WEBP_DETECTION": "true",
    },
    "meta": {
        "PG_META_PORT": "8080",
        "PG_META_DB_HOST": "db",
        "PG_META_DB_PORT": "5432",
        "PG_META_DB_NAME": "postgres",
        "PG_META_DB_USER": "supabase_admin",
        "PG_META_DB_PASSWORD": "{password}",
    },
    "functions": {
        "JWT_SECRET": "{jwt}",
        "SUPABASE_URL": "http://kong:8000",
        "SUPABASE_ANON_KEY": "{anon}",
        "SUPABASE_SERVICE_ROLE_KEY": "{service}",
        "SUPABASE_DB_URL": "postgresql://postgres:{password}@db:5432/postgres",
        "VERIFY_JWT": "false",
    },
    "studio": {
        "STUDIO_PG_META_URL": "http://meta:8080",
        "POSTGRES_PASSWORD": "{password}",
        "DEFAULT_ORGANIZATION_NAME": "Default Organization",
        "DEFAULT_PROJECT_NAME": "Default Project",
        "SUPABASE_URL": "http://kong:8000",
        "SUPABASE_PUBLIC_URL": "{api_url}",
        "SUPABASE_ANON_KEY": "{anon}",
        "SUPABASE_SERVICE_KEY": "{service}",
        "LOGFLARE_API_KEY": "{logflare}",
        "LOGFLARE_URL": "http://analytics:4000",
        "NEXT_PUBLIC_ENABLE_LOGS": "true",
        "NEXT_ANALYTICS_BACKEND_PROVIDER": "postgres",
    },
    "vector": {"LOGFLARE_API_KEY": "{logflare}"},
}
#: Upstream's demo values where this stack generates a secret of the length the image needs
#: (Realtime's AES-128 key is 16 characters; Phoenix wants 64 for its key base).
GENERATED = {
    ("realtime", "DB_ENC_KEY"): ("supabaserealtime", 16),
    (
        "realtime",
        "SECRET_KEY_BASE",
    ): ("UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq", 64),
}


def project_values(project: Run) -> dict[str, str]:
    out = project.outputs
    return {
        "password": out["dbUrl"].split(":")[2].split("@")[0],
        "jwt": out["jwtSecret"],
        "anon": out["anonKey"],
        "service": out["serviceRoleKey"],
        "logflare": env_of(project.mocks.containers()["vector"])["LOGFLARE_API_KEY"],
        "api_url": out["apiUrl"],
    }


@pytest.mark.parametrize("service", sorted(UPSTREAM_ENV))
def test_service_environment_is_upstreams(project: Run, service: str) -> None:
    env = env_of(project.mocks.containers()[service])
    values = project_values(project)
    assert set(env) == set(UPSTREAM_ENV[service])
    for name, expected in UPSTREAM_ENV[service].items():
        if expected == "{generated}":
            demo, length = GENERATED[service, name]
            assert env[name] != demo and len(env[name]) == length, name
        else:
            assert env[name] == expected.format(**values), name


def test_logflares_key_is_generated_and_not_another_secret(project: Run) -> None:
    """Vector ships with the key Logflare was started with (read from Vector's env above)."""
    values = project_values(project)
    assert len(values["logflare"]) >= 32
    others = {name: value for name, value in values.items() if name != "logflare"}
    assert values["logflare"] not in others.values()


#: Upstream's 2024-04 healthchecks (test, interval, timeout, retries); Kong has none there,
#: and Realtime's probes Kong's tenant route here (see test_release_2026's checks).
UPSTREAM_HEALTHCHECKS = {
    "vector": (
        ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://vector:9001/health"],
        3,
    ),
    "db": (["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"], 10),
    "analytics": (["CMD", "curl", "http://localhost:4000/health"], 10),
    "auth": (
        ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:9999/health"],
        3,
    ),
    "storage": (
        ["CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:5000/status"],
        3,
    ),
    "imgproxy": (["CMD", "imgproxy", "health"], 3),
    "studio": (
        [
            "CMD",
            "node",
            "-e",
            "require('http').get('http://localhost:3000/api/profile', (r) => "
            "{if (r.statusCode !== 200) throw new Error(r.statusCode)})",
        ],
        3,
    ),
}


@pytest.mark.parametrize("service", sorted(UPSTREAM_HEALTHCHECKS))
def test_healthcheck_is_upstreams(project: Run, service: str) -> None:
    check = reveal(project.mocks.containers()[service].inputs["healthcheck"])
    test, retries = UPSTREAM_HEALTHCHECKS[service]
    assert check["tests"] == test
    assert (check["interval"], check["timeout"], check["retries"]) == ("5s", "5s", retries)
    assert check["startPeriod"] == "0s"


def test_realtime_runs_its_migrations_and_seeds_its_tenant(project: Run) -> None:
    container = project.mocks.containers()["realtime"]
    shell, flag, script = reveal(container.inputs["command"])
    assert (shell, flag) == ("sh", "-c")
    steps = [step.strip() for step in script.split("&&")]
    assert steps == [
        "/app/bin/migrate",
        "/app/bin/realtime eval 'Realtime.Release.seeds(Realtime.Repo)'",
        "/app/bin/server",
    ]
    (test_form, probe) = reveal(container.inputs["healthcheck"])["tests"]
    assert test_form == "CMD-SHELL"
    assert probe.startswith("curl -sSfL --head -o /dev/null ")
    assert '-H "Authorization: Bearer $HEALTHCHECK_API_KEY"' in probe
    assert probe.endswith(" http://localhost:4000/api/tenants/realtime-dev/health")


def test_vector_reads_its_config_from_the_upload(project: Run) -> None:
    container = project.mocks.containers()["vector"]
    assert reveal(container.inputs["command"]) == ["--config", "/etc/vector/vector.yml"]
    files = [u["file"] for u in reveal(container.inputs["uploads"])]
    assert files == ["/etc/vector/vector.yml"]


def test_rest_starts_the_postgrest_binary(project: Run) -> None:
    """Upstream's compose gives the container ``command: "postgrest"``; ours says the same."""
    container = project.mocks.containers()["rest"]
    assert reveal(container.inputs["command"]) == ["postgrest"]
