"""Realtime: websockets for database changes, broadcast and presence.

Realtime takes its tenant id from the first label of the Host header, so Kong reaches it as
``realtime-dev.supabase-realtime`` (a network alias), the tenant its seed creates.
"""

from __future__ import annotations

from components.render.kong import REALTIME_HOST
from components.services.base import (
    DB_HOST,
    DB_NAME,
    DB_PORT,
    Healthcheck,
    ProjectContext,
    ServiceSpec,
)

#: The tenant Realtime's seed creates: the first label of the host Kong calls it by.
TENANT = REALTIME_HOST.split(".", 1)[0]


def spec(ctx: ProjectContext) -> ServiceSpec:
    secrets = ctx.secrets
    return ServiceSpec(
        name="realtime",
        env={
            "PORT": "4000",
            "DB_HOST": DB_HOST,
            "DB_PORT": str(DB_PORT),
            "DB_USER": "supabase_admin",
            "DB_PASSWORD": secrets.postgres_password,
            "DB_NAME": DB_NAME,
            "DB_AFTER_CONNECT_QUERY": "SET search_path TO _realtime",
            "DB_ENC_KEY": secrets.realtime_db_enc_key,
            "API_JWT_SECRET": secrets.jwt_secret,
            "FLY_ALLOC_ID": "fly123",
            "FLY_APP_NAME": "realtime",
            "SECRET_KEY_BASE": secrets.realtime_secret_key_base,
            "ERL_AFLAGS": "-proto_dist inet_tcp",
            "ENABLE_TAILSCALE": "false",
            "DNS_NODES": "''",
            # Read by the healthcheck below, so the key is not spelled out in the check.
            "HEALTHCHECK_API_KEY": secrets.anon_key,
        },
        command=(
            "sh",
            "-c",
            "/app/bin/migrate && /app/bin/realtime eval 'Realtime.Release.seeds(Realtime.Repo)'"
            " && /app/bin/server",
        ),
        healthcheck=Healthcheck(
            (
                "CMD-SHELL",
                'curl -sSfL --head -o /dev/null -H "Authorization: Bearer $HEALTHCHECK_API_KEY" '
                f"http://localhost:4000/api/tenants/{TENANT}/health",
            )
        ),
        needs=("db", "analytics"),
        aliases=(REALTIME_HOST,),
    )
