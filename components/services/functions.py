"""Edge runtime: serves the project's Deno functions from the functions volume.

The runtime needs a main service to start: the router ``main`` and the example ``hello`` are
written into the volume whenever the container is created; user functions beside them (under
other names) are left alone. The image has no
HTTP client, so dependants wait for it to be started.
"""

from __future__ import annotations

from components.render.functions import render_default_functions
from components.services.base import (
    KONG_URL,
    ProjectContext,
    ServiceSpec,
    Upload,
    VolumeMount,
    flag,
)

FUNCTIONS_PATH = "/home/deno/functions"


def spec(ctx: ProjectContext) -> ServiceSpec:
    secrets = ctx.secrets
    return ServiceSpec(
        name="functions",
        env={
            "JWT_SECRET": secrets.jwt_secret,
            "SUPABASE_URL": KONG_URL,
            "SUPABASE_ANON_KEY": secrets.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": secrets.service_role_key,
            "SUPABASE_DB_URL": ctx.db_url("postgres", scheme="postgresql"),
            "VERIFY_JWT": flag(ctx.settings.functions_verify_jwt),
        },
        command=("start", "--main-service", f"{FUNCTIONS_PATH}/main"),
        needs=("db", "analytics"),
        volumes=(VolumeMount("functions-data", FUNCTIONS_PATH),),
        uploads=tuple(
            Upload(f"{FUNCTIONS_PATH}/{path}", source)
            for path, source in render_default_functions().items()
        ),
    )
