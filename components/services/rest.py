"""PostgREST: the REST API generated from the database schema, with row-level security.

Its image has no shell or HTTP client, so it has no healthcheck: dependants wait for it to
be started, as the official stack does.
"""

from __future__ import annotations

from components.services.base import ProjectContext, ServiceSpec


def spec(ctx: ProjectContext) -> ServiceSpec:
    jwt_secret = ctx.secrets.jwt_secret
    return ServiceSpec(
        name="rest",
        env={
            "PGRST_DB_URI": ctx.db_url("authenticator"),
            "PGRST_DB_SCHEMAS": ctx.settings.rest_schemas,
            "PGRST_DB_ANON_ROLE": "anon",
            "PGRST_JWT_SECRET": jwt_secret,
            "PGRST_DB_USE_LEGACY_GUCS": "false",
            "PGRST_APP_SETTINGS_JWT_SECRET": jwt_secret,
            "PGRST_APP_SETTINGS_JWT_EXP": str(ctx.settings.jwt_expiry),
        },
        command=("postgrest",),
        needs=("db", "analytics"),
    )
