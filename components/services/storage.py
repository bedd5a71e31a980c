"""Storage API: file buckets on the storage volume, authorised through PostgREST."""

from __future__ import annotations

from components.services.base import (
    Healthcheck,
    ProjectContext,
    ServiceSpec,
    VolumeMount,
    flag,
)

STORAGE_PATH = "/var/lib/storage"


def spec(ctx: ProjectContext) -> ServiceSpec:
    secrets = ctx.secrets
    transforms = ctx.settings.enabled("imgproxy")
    env = {
        "ANON_KEY": secrets.anon_key,
        "SERVICE_KEY": secrets.service_role_key,
        "POSTGREST_URL": "http://rest:3000",
        "PGRST_JWT_SECRET": secrets.jwt_secret,
        "DATABASE_URL": ctx.db_url("supabase_storage_admin"),
        "FILE_SIZE_LIMIT": str(ctx.settings.file_size_limit),
        "STORAGE_BACKEND": "file",
        "FILE_STORAGE_BACKEND_PATH": STORAGE_PATH,
        # Single-tenant mode still wants these names; they are not used for file storage.
        "TENANT_ID": "stub",
        "REGION": "stub",
        "GLOBAL_S3_BUCKET": "stub",
        "ENABLE_IMAGE_TRANSFORMATION": flag(transforms),
    }
    if ctx.settings.domain:
        # Resumable-upload URLs from the forwarded proto, host, port and prefix (set by the
        # edge proxy and passed on by the gateway): https://<domain>/storage/v1/upload/...
        env["REQUEST_ALLOW_X_FORWARDED_PATH"] = "true"
    if transforms:
        env["IMGPROXY_URL"] = "http://imgproxy:5001"
    return ServiceSpec(
        name="storage",
        env=env,
        healthcheck=Healthcheck(
            ("CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:5000/status")
        ),
        needs=("db", "rest", "imgproxy"),
        volumes=(VolumeMount("storage-data", STORAGE_PATH),),
    )
