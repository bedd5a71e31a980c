"""Supavisor: the connection pooler, the project's only way into Postgres from outside (2026-09).

One tenant, whose id is the project ref, so clients connect as ``postgres.<ref>``. The
tenant is created by ``pooler.exs`` (rendered, uploaded, evaluated after the migrations);
Supavisor keeps its own metadata in the ``_supabase`` database that the init SQL creates.
It publishes the session port (5432 inside) and the transaction port (6543 inside).
"""

from __future__ import annotations

from components.render.pooler import POOLER_CONFIG_PATH, render_pooler_config
from components.services.base import (
    DB_HOST,
    DB_NAME,
    DB_PORT,
    Healthcheck,
    ProjectContext,
    Publish,
    ServiceSpec,
    Upload,
)

SESSION_PORT = 5432
TRANSACTION_PORT = 6543
#: Upstream's .env.example defaults: pool size per tenant, client connections per pool,
#: and the pooler's own metadata pool.
DEFAULT_POOL_SIZE = 20
MAX_CLIENT_CONN = 100
METADATA_POOL_SIZE = 5


def spec(ctx: ProjectContext) -> ServiceSpec:
    settings, secrets = ctx.settings, ctx.secrets
    new = secrets.require_new()
    metadata_url = ctx.db_url("supabase_admin", scheme="ecto", database="_supabase")
    return ServiceSpec(
        name="supavisor",
        env={
            "PORT": "4000",
            "POSTGRES_HOST": DB_HOST,
            "POSTGRES_PORT": str(DB_PORT),
            "POSTGRES_DB": DB_NAME,
            "POSTGRES_PASSWORD": secrets.postgres_password,
            "DATABASE_URL": metadata_url,
            "CLUSTER_POSTGRES": "true",
            "SECRET_KEY_BASE": new.supavisor_secret_key_base,
            "VAULT_ENC_KEY": new.vault_enc_key,
            "API_JWT_SECRET": secrets.jwt_secret,
            "METRICS_JWT_SECRET": new.metrics_jwt_secret,
            "REGION": "local",
            "ERL_AFLAGS": "-proto_dist inet_tcp",
            "POOLER_TENANT_ID": settings.ref,
            "POOLER_DEFAULT_POOL_SIZE": str(DEFAULT_POOL_SIZE),
            "POOLER_MAX_CLIENT_CONN": str(MAX_CLIENT_CONN),
            "POOLER_POOL_MODE": "transaction",
            "DB_POOL_SIZE": str(METADATA_POOL_SIZE),
        },
        command=(
            "/bin/sh",
            "-c",
            f'/app/bin/migrate && /app/bin/supavisor eval "$(cat {POOLER_CONFIG_PATH})"'
            " && /app/bin/server",
        ),
        healthcheck=Healthcheck(
            (
                "CMD",
                "curl",
                "-sSfL",
                "--head",
                "-o",
                "/dev/null",
                "http://127.0.0.1:4000/api/health",
            ),
            interval="10s",
            retries=5,
        ),
        needs=("db",),
        uploads=(Upload(POOLER_CONFIG_PATH, render_pooler_config(tenant_id=settings.ref)),),
        publish=(
            Publish(
                SESSION_PORT, _port(settings.ports.pooler_session), settings.postgres_bind_address
            ),
            Publish(
                TRANSACTION_PORT,
                _port(settings.ports.pooler_transaction),
                settings.postgres_bind_address,
            ),
        ),
        wait_timeout=300,  # migrations of its metadata database run before it answers
    )


def _port(port: int | None) -> int:
    if port is None:
        raise ValueError("the release publishes the pooler ports, but the port plan has none")
    return port
