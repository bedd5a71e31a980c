"""Logflare: stores the project's logs in its own database (schema _analytics) for Studio."""

from __future__ import annotations

from components.services.base import (
    DB_HOST,
    DB_NAME,
    DB_PORT,
    Healthcheck,
    ProjectContext,
    ServiceSpec,
)


def spec(ctx: ProjectContext) -> ServiceSpec:
    password = ctx.secrets.postgres_password
    return ServiceSpec(
        name="analytics",
        env={
            "LOGFLARE_NODE_HOST": "127.0.0.1",
            "DB_USERNAME": "supabase_admin",
            "DB_DATABASE": DB_NAME,
            "DB_HOSTNAME": DB_HOST,
            "DB_PORT": str(DB_PORT),
            "DB_PASSWORD": password,
            "DB_SCHEMA": "_analytics",
            "LOGFLARE_API_KEY": ctx.secrets.logflare_api_key,
            "LOGFLARE_SINGLE_TENANT": "true",
            "LOGFLARE_SUPABASE_MODE": "true",
            "LOGFLARE_MIN_CLUSTER_SIZE": "1",
            "POSTGRES_BACKEND_URL": ctx.db_url("supabase_admin", scheme="postgresql"),
            "POSTGRES_BACKEND_SCHEMA": "_analytics",
            "LOGFLARE_FEATURE_FLAG_OVERRIDE": "multibackend=true",
        },
        healthcheck=Healthcheck(("CMD", "curl", "http://localhost:4000/health"), retries=10),
        needs=("db",),
        # Not published on the host: Studio and Vector reach it on the project network, and a
        # fixed host port 4000 would collide between projects.
        wait_timeout=300,  # runs its migrations before it answers
    )
