"""Vector: collects this project's container logs from the Docker socket for analytics.

Starts first, so the database's first log lines are already collected.
"""

from __future__ import annotations

from components.render.vector import render_vector_config
from components.services.base import Healthcheck, HostBind, ProjectContext, ServiceSpec, Upload

CONFIG_PATH = "/etc/vector/vector.yml"


def spec(ctx: ProjectContext) -> ServiceSpec:
    config = render_vector_config(
        project_ref=ctx.settings.ref, enabled_services=ctx.settings.enabled_services
    )
    return ServiceSpec(
        name="vector",
        env={"LOGFLARE_API_KEY": ctx.secrets.logflare_api_key},
        command=("--config", CONFIG_PATH),
        healthcheck=Healthcheck(
            ("CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://vector:9001/health")
        ),
        binds=(HostBind(ctx.settings.docker_socket, "/var/run/docker.sock"),),
        uploads=(Upload(CONFIG_PATH, config),),
    )
