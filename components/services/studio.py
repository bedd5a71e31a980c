"""Studio: the dashboard, served behind Kong's basic-auth on the catch-all route."""

from __future__ import annotations

from components.services.base import (
    KONG_URL,
    Healthcheck,
    ProjectContext,
    ServiceSpec,
    flag,
)

PROFILE_CHECK = (
    "require('http').get('http://localhost:3000/api/profile', (r) => "
    "{if (r.statusCode !== 200) throw new Error(r.statusCode)})"
)


def spec(ctx: ProjectContext) -> ServiceSpec:
    settings, secrets = ctx.settings, ctx.secrets
    logs = ctx.settings.enabled("analytics")
    return ServiceSpec(
        name="studio",
        env={
            "STUDIO_PG_META_URL": "http://meta:8080",
            "POSTGRES_PASSWORD": secrets.postgres_password,
            "DEFAULT_ORGANIZATION_NAME": settings.studio_organization,
            "DEFAULT_PROJECT_NAME": settings.studio_project,
            "SUPABASE_URL": KONG_URL,
            "SUPABASE_PUBLIC_URL": settings.api_external_url,
            "SUPABASE_ANON_KEY": secrets.anon_key,
            "SUPABASE_SERVICE_KEY": secrets.service_role_key,
            "LOGFLARE_API_KEY": secrets.logflare_api_key,
            "LOGFLARE_URL": "http://analytics:4000",
            "NEXT_PUBLIC_ENABLE_LOGS": flag(logs),
            "NEXT_ANALYTICS_BACKEND_PROVIDER": "postgres",
        },
        healthcheck=Healthcheck(("CMD", "node", "-e", PROFILE_CHECK)),
        needs=("analytics", "meta"),
    )
