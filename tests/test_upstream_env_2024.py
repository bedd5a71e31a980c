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
}
VERIFY = "/auth/v1/verify"
MAILER_PATHS = ("INVITE", "CONFIRMATION", "RECOVERY", "EMAIL_CHANGE")
KONG_LITERALS = {
    "KONG_DATABASE": "off",
    "KONG_DNS_ORDER": "LAST,A,CNAME",
    "KONG_NGINX_PROXY_PROXY_BUFFER_SIZE": "160k",
    "KONG_NGINX_PROXY_PROXY_BUFFERS": "64 160k",
}


@pytest.fixture(scope="module")
def project() -> Run:
    return run_main(SETTINGS, stack="upstream", secret_keys=("smtpPassword",))


def test_auth_environment(project: Run) -> None:
    env, out = env_of(project.mocks.containers()["auth"]), project.outputs
    for name, value in AUTH_LITERALS.items() | AUTH_FROM_SETTINGS.items():
        assert env[name] == value, name
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


def test_database_keeps_its_data_on_the_data_volume(project: Run) -> None:
    container = project.mocks.containers()["db"]
    targets = {m["target"] for m in reveal(container.inputs.get("mounts") or [])}
    # The image's PGDATA and pgsodium's key directory must both outlive the container.
    assert {"/var/lib/postgresql/data", "/etc/postgresql-custom"} <= targets
    command = list(reveal(container.inputs["command"]))
    assert command[:3] == ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
    assert all(arg == "-c" for arg in command[1::2])


def test_kong_environment(project: Run) -> None:
    env = env_of(project.mocks.containers()["kong"])
    for name, value in KONG_LITERALS.items():
        assert env[name] == value, name
