"""The pooler container (2026-09) gets what upstream's Supavisor service is given.

Expected values come from supabase/supabase ``docker/docker-compose.yml`` (service
``supavisor``: its ``environment``, ``command``, healthcheck and ports) and ``.env.example``
(POOLER_DEFAULT_POOL_SIZE=20, POOLER_MAX_CLIENT_CONN=100, POOLER_DB_POOL_SIZE=5,
POSTGRES_HOST=db, POSTGRES_PORT=5432, POSTGRES_DB=postgres), with each ``${VAR}`` replaced by
what this project generates for it. Where the project differs on purpose (a metrics secret
of its own instead of reusing the JWT secret) the test says so.
"""

from __future__ import annotations

import pytest
from pulumi_harness import Run, env_of, reveal
from test_release_2026 import build, uploads_of

from components.render.pooler import POOLER_ENV_NAMES

#: Upstream's literal values (no ``${...}``) in the supavisor service's environment.
UPSTREAM_LITERALS = {
    "PORT": "4000",
    "CLUSTER_POSTGRES": "true",
    "REGION": "local",
    "ERL_AFLAGS": "-proto_dist inet_tcp",
    "POOLER_POOL_MODE": "transaction",
}
#: .env.example's values for the variables upstream passes through.
ENV_EXAMPLE = {
    "POSTGRES_HOST": "db",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "postgres",
    "POOLER_DEFAULT_POOL_SIZE": "20",
    "POOLER_MAX_CLIENT_CONN": "100",
    "DB_POOL_SIZE": "5",  # upstream: DB_POOL_SIZE: ${POOLER_DB_POOL_SIZE}
}
#: Upstream's command: migrate, evaluate the tenant script, serve.
UPSTREAM_COMMAND = (
    '/app/bin/migrate && /app/bin/supavisor eval "$(cat /etc/pooler/pooler.exs)" && /app/bin/server'
)


@pytest.fixture(scope="module")
def pooler() -> tuple[Run, object]:
    result = build({"portSlot": "6"}, stack="pool")
    return result, result.mocks.containers()["supavisor"]


def test_every_variable_pooler_exs_reads_is_set(pooler) -> None:
    """pooler.exs stops Supavisor (System.fetch_env!) when one of its variables is unset."""
    _, container = pooler
    env = env_of(container)
    assert [name for name in POOLER_ENV_NAMES if not env.get(name)] == []


def test_environment_is_upstreams_with_the_projects_secrets(pooler) -> None:
    result, container = pooler
    env, out = env_of(container), result.outputs
    for name, value in (UPSTREAM_LITERALS | ENV_EXAMPLE).items():
        assert env[name] == value, name
    password = out["postgresPassword"]
    assert env["POSTGRES_PASSWORD"] == password
    assert env["DATABASE_URL"] == f"ecto://supabase_admin:{password}@db:5432/_supabase"
    assert env["API_JWT_SECRET"] == out["jwtSecret"]
    assert env["SECRET_KEY_BASE"] == out["supavisorSecretKeyBase"]
    assert env["VAULT_ENC_KEY"] == out["vaultEncKey"]
    # Upstream reuses JWT_SECRET for metrics; a leaked metrics token must not sign sessions.
    assert env["METRICS_JWT_SECRET"] == out["metricsJwtSecret"] != out["jwtSecret"]
    assert env["POOLER_TENANT_ID"] == "pool"
    assert set(env) == set(UPSTREAM_LITERALS) | set(ENV_EXAMPLE) | {
        "POSTGRES_PASSWORD",
        "DATABASE_URL",
        "API_JWT_SECRET",
        "SECRET_KEY_BASE",
        "VAULT_ENC_KEY",
        "METRICS_JWT_SECRET",
        "POOLER_TENANT_ID",
    }


def test_command_evaluates_the_uploaded_tenant_script(pooler) -> None:
    _, container = pooler
    command = list(reveal(container.inputs["command"]))
    assert command == ["/bin/sh", "-c", UPSTREAM_COMMAND]
    assert "/etc/pooler/pooler.exs" in uploads_of(container)
    assert '"pool"' in uploads_of(container)["/etc/pooler/pooler.exs"]


def test_healthcheck_asks_the_api_on_port_4000(pooler) -> None:
    _, container = pooler
    check = reveal(container.inputs["healthcheck"])
    assert list(check["tests"]) == [
        "CMD",
        "curl",
        "-sSfL",
        "--head",
        "-o",
        "/dev/null",
        "http://127.0.0.1:4000/api/health",
    ]
    assert check["interval"] == "10s"
    assert check["retries"] == 5


def test_session_and_transaction_ports_are_published_on_the_slots_ports(pooler) -> None:
    result, container = pooler
    published = {
        (int(p["internal"]), int(p["external"]), p.get("ip"))
        for p in reveal(container.inputs["ports"])
    }
    internal = {internal for internal, _, _ in published}
    assert internal == {5432, 6543}
    by_internal = {internal: external for internal, external, _ in published}
    # The project's pooler URLs name the same host ports as the container publishes.
    assert f":{by_internal[5432]}/" in result.outputs["poolerUrl"]
    assert f":{by_internal[6543]}/" in result.outputs["poolerTransactionUrl"]
    assert by_internal[5432] != by_internal[6543]
