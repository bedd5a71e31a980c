"""Release 2026-09: what upstream's self-hosting stack at Studio 2026.09.07 changes in the
services it shares with 2024-04 (``components.releases`` holds its images; ``supavisor`` and
``api-gw`` are new modules of their own).

Read from supabase/supabase ``docker/docker-compose.yml`` at that tag, with
``docker-compose.logs.yml`` (analytics and vector are opt-in) and the asymmetric-key lines
``utils/add-new-auth-keys.sh`` enables (GOTRUE_JWT_KEYS, PGRST_JWT_SECRET=JWKS,
API_JWT_JWKS, JWT_JWKS, SUPABASE_JWKS), which here are always on. Where upstream ships a
demo value (Realtime's DB_ENC_KEY "supabaserealtime", Storage's "stub" tenant) the project
gets a generated secret or its own ref instead. Each entry is ``ctx -> Delta``: env set or
removed (None), other spec fields replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from components.render.database import render_init_scripts_2026
from components.render.functions import render_default_functions_2026
from components.services.base import (
    DB_NAME,
    Delta,
    Healthcheck,
    ProjectContext,
    Upload,
    VolumeMount,
)
from components.services.functions import FUNCTIONS_PATH
from components.services.realtime import TENANT

#: Where Studio keeps saved SQL snippets and the edge functions it manages.
SNIPPETS_PATH = "/app/snippets"
STUDIO_FUNCTIONS_PATH = "/app/edge-functions"
DENO_CACHE_PATH = "/root/.cache/deno"
#: Upstream's default cap on rows PostgREST returns, and the search path it adds.
REST_MAX_ROWS = "1000"
REST_EXTRA_SEARCH_PATH = "public"
PLATFORM_PROFILE_CHECK = (
    "fetch('http://localhost:3000/api/platform/profile').then((r) => "
    "{if (r.status !== 200) throw new Error(r.status)})"
)


def db(ctx: ProjectContext) -> Delta:
    """Postgres 17; reached from outside only through Supavisor, so it publishes nothing.

    Without the log pipeline nothing runs before it (upstream's logs override starts
    Vector after analytics, not before the database). The init SQL no longer stores the
    JWT secret in the database (any role could read it there), so the container does not
    get it either.
    """
    scripts = render_init_scripts_2026(database=DB_NAME)
    return Delta(
        env={"JWT_SECRET": None},
        fields={
            "needs": (),
            "publish": (),
            "uploads": tuple(Upload(path, sql) for path, sql in scripts.items()),
        },
    )


def analytics(ctx: ProjectContext) -> Delta:
    """Logflare keeps its data in the ``_supabase`` database, with public/private tokens."""
    new = ctx.secrets.require_new()
    return Delta(
        env={
            "DB_DATABASE": "_supabase",
            "POSTGRES_BACKEND_URL": ctx.db_url(
                "supabase_admin", scheme="postgresql", database="_supabase"
            ),
            "LOGFLARE_API_KEY": None,
            "LOGFLARE_MIN_CLUSTER_SIZE": None,
            "LOGFLARE_PUBLIC_ACCESS_TOKEN": ctx.secrets.logflare_api_key,
            "LOGFLARE_PRIVATE_ACCESS_TOKEN": new.logflare_private_token,
        },
        fields={
            "healthcheck": Healthcheck(
                ("CMD-SHELL", "curl -sSfL -o /dev/null http://localhost:4000/health"),
                retries=10,
                start_period="30s",
            ),
        },
    )


def vector(ctx: ProjectContext) -> Delta:
    """Vector starts after analytics, which it ships to (the logs override's order).

    Its config reads the ingest token as ``LOGFLARE_API_KEY`` (``components.render.vector``);
    upstream's ``LOGFLARE_PUBLIC_ACCESS_TOKEN`` is the same token.
    """
    return Delta(
        env={"LOGFLARE_PUBLIC_ACCESS_TOKEN": ctx.secrets.logflare_api_key},
        fields={
            "needs": ("analytics",),
            "healthcheck": Healthcheck(
                ("CMD-SHELL", "wget --no-verbose --tries=1 --spider http://vector:9001/health")
            ),
        },
    )


def auth(ctx: ProjectContext) -> Delta:
    """GoTrue signs users' tokens with the ES256 key (JWT_KEYS), verifying HS256 still."""
    return Delta(
        env={"GOTRUE_JWT_KEYS": ctx.secrets.require_new().jwt_keys},
        fields={"needs": ("db",)},
    )


def rest(ctx: ProjectContext) -> Delta:
    """PostgREST verifies tokens against the JWKS (ES256 and the legacy HS256 secret)."""
    return Delta(
        env={
            "PGRST_JWT_SECRET": ctx.secrets.require_new().jwt_jwks,
            "PGRST_DB_MAX_ROWS": REST_MAX_ROWS,
            "PGRST_DB_EXTRA_SEARCH_PATH": REST_EXTRA_SEARCH_PATH,
        },
        fields={"needs": ("db",)},
    )


def realtime(ctx: ProjectContext) -> Delta:
    """Realtime seeds its tenant itself (SEED_SELF_HOST) and verifies against the JWKS."""
    new = ctx.secrets.require_new()
    return Delta(
        env={
            "API_JWT_JWKS": new.jwt_jwks,
            "METRICS_JWT_SECRET": new.metrics_jwt_secret,
            "RLIMIT_NOFILE": "10000",
            "APP_NAME": "realtime",
            "SEED_SELF_HOST": "true",
            "RUN_JANITOR": "true",
            "DISABLE_HEALTHCHECK_LOGGING": "true",
            "FLY_ALLOC_ID": None,
            "FLY_APP_NAME": None,
            "ENABLE_TAILSCALE": None,
        },
        fields={
            "command": (),
            "needs": ("db",),
            "healthcheck": Healthcheck(
                (
                    "CMD-SHELL",
                    'curl -sSfL --head -o /dev/null -H "Authorization: Bearer '
                    '$HEALTHCHECK_API_KEY" '
                    f"http://localhost:4000/api/tenants/{TENANT}/health",
                ),
                interval="30s",
                start_period="10s",
            ),
        },
    )


def storage(ctx: ProjectContext) -> Delta:
    """Storage serves the S3 protocol with generated keys and verifies against the JWKS."""
    new = ctx.secrets.require_new()
    return Delta(
        env={
            "JWT_JWKS": new.jwt_jwks,
            "STORAGE_PUBLIC_URL": ctx.settings.api_external_url,
            "REQUEST_ALLOW_X_FORWARDED_PATH": "true",
            # Upstream: "equivalent to project_ref" (S3 session tokens name it).
            "TENANT_ID": ctx.settings.ref,
            "S3_PROTOCOL_ACCESS_KEY_ID": new.s3_access_key_id,
            "S3_PROTOCOL_ACCESS_KEY_SECRET": new.s3_access_key_secret,
        },
        fields={
            "healthcheck": Healthcheck(
                (
                    "CMD",
                    "wget",
                    "--no-verbose",
                    "--tries=1",
                    "--spider",
                    "http://localhost:5000/status",
                ),
                start_period="10s",
            ),
        },
    )


def imgproxy(ctx: ProjectContext) -> Delta:
    """imgproxy caps source images at 16.8 megapixels, as upstream does."""
    return Delta(env={"IMGPROXY_MAX_SRC_RESOLUTION": "16.8"})


def meta(ctx: ProjectContext) -> Delta:
    """postgres-meta connects as ``postgres`` (no longer the superuser) and decrypts the
    connection strings Studio encrypts with the crypto key."""
    return Delta(
        env={
            "PG_META_DB_USER": "postgres",
            "CRYPTO_KEY": ctx.secrets.require_new().pg_meta_crypto_key,
        },
        fields={"needs": ("db",)},
    )


def functions(ctx: ProjectContext) -> Delta:
    """The edge runtime caches Deno modules on a volume and starts after the gateway."""
    new = ctx.secrets.require_new()
    return Delta(
        env={
            "SUPABASE_PUBLIC_URL": ctx.settings.api_external_url,
            "SUPABASE_PUBLISHABLE_KEY": new.publishable_key,
            "SUPABASE_SECRET_KEY": new.secret_key,
            "SUPABASE_JWKS": new.jwt_jwks,
        },
        fields={
            "needs": ("api-gw",),
            # The router verifies ES256 sessions against SUPABASE_JWKS too.
            "uploads": tuple(
                Upload(f"{FUNCTIONS_PATH}/{path}", source)
                for path, source in render_default_functions_2026().items()
            ),
            "volumes": (
                VolumeMount("functions-data", FUNCTIONS_PATH),
                VolumeMount("deno-cache", DENO_CACHE_PATH),
            ),
        },
    )


def studio(ctx: ProjectContext) -> Delta:
    """Studio keeps snippets on its own volume and edits the functions the runtime serves.

    Upstream mounts one host folder into both Studio and the edge runtime; here that is the
    ``functions-data`` volume, so a function saved in Studio is the one that gets served.
    """
    settings, secrets, new = ctx.settings, ctx.secrets, ctx.secrets.require_new()
    logs = ctx.logs
    return Delta(
        env={
            "HOSTNAME": "0.0.0.0",
            "POSTGRES_HOST": "db",
            "POSTGRES_PORT": "5432",
            "POSTGRES_DB": DB_NAME,
            "PG_META_CRYPTO_KEY": new.pg_meta_crypto_key,
            "PGRST_DB_SCHEMAS": settings.rest_schemas,
            "PGRST_DB_MAX_ROWS": REST_MAX_ROWS,
            "PGRST_DB_EXTRA_SEARCH_PATH": REST_EXTRA_SEARCH_PATH,
            "AUTH_JWT_SECRET": secrets.jwt_secret,
            "SNIPPETS_MANAGEMENT_FOLDER": SNIPPETS_PATH,
            "EDGE_FUNCTIONS_MANAGEMENT_FOLDER": STUDIO_FUNCTIONS_PATH,
            "LOGFLARE_API_KEY": None,
            "LOGFLARE_URL": "http://analytics:4000" if logs else None,
            "LOGFLARE_PRIVATE_ACCESS_TOKEN": new.logflare_private_token if logs else None,
            "ENABLED_FEATURES_LOGS_ALL": "true" if logs else None,
        },
        fields={
            "healthcheck": Healthcheck(
                ("CMD", "node", "-e", PLATFORM_PROFILE_CHECK),
                timeout="10s",
            ),
            "volumes": (
                VolumeMount("studio-snippets", SNIPPETS_PATH),
                VolumeMount("functions-data", STUDIO_FUNCTIONS_PATH),
            ),
        },
    )


DELTAS: Mapping[str, Callable[[ProjectContext], Delta]] = {
    "db": db,
    "analytics": analytics,
    "vector": vector,
    "auth": auth,
    "rest": rest,
    "realtime": realtime,
    "storage": storage,
    "imgproxy": imgproxy,
    "meta": meta,
    "functions": functions,
    "studio": studio,
}
