"""postgres-meta: the schema API Studio uses to browse and change the database.

The official stack gives it no healthcheck; dependants wait for it to be started.
"""

from __future__ import annotations

from components.services.base import (
    DB_HOST,
    DB_NAME,
    DB_PORT,
    ProjectContext,
    ServiceSpec,
)


def spec(ctx: ProjectContext) -> ServiceSpec:
    return ServiceSpec(
        name="meta",
        env={
            "PG_META_PORT": "8080",
            "PG_META_DB_HOST": DB_HOST,
            "PG_META_DB_PORT": str(DB_PORT),
            "PG_META_DB_NAME": DB_NAME,
            "PG_META_DB_USER": "supabase_admin",
            "PG_META_DB_PASSWORD": ctx.secrets.postgres_password,
        },
        needs=("db", "analytics"),
    )
