"""imgproxy: resizes and converts images that Storage serves, reading the storage volume."""

from __future__ import annotations

from components.services.base import Healthcheck, ProjectContext, ServiceSpec, VolumeMount, flag


def spec(ctx: ProjectContext) -> ServiceSpec:
    return ServiceSpec(
        name="imgproxy",
        env={
            "IMGPROXY_BIND": ":5001",
            "IMGPROXY_LOCAL_FILESYSTEM_ROOT": "/",
            "IMGPROXY_USE_ETAG": "true",
            "IMGPROXY_ENABLE_WEBP_DETECTION": flag(ctx.settings.imgproxy_webp_detection),
        },
        healthcheck=Healthcheck(("CMD", "imgproxy", "health")),
        volumes=(VolumeMount("storage-data", "/var/lib/storage"),),
    )
