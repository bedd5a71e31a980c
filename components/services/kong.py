"""Kong: the project's single HTTP entry point, routing by path to every API and Studio."""

from __future__ import annotations

import pulumi

from components.render.kong import KONG_PLUGINS, render_kong_config
from components.services.base import (
    Healthcheck,
    ProjectContext,
    Publish,
    ServiceSpec,
    Upload,
)

CONFIG_PATH = "/home/kong/kong.yml"
#: Behind the edge proxy Kong passes the proxy's X-Forwarded-Proto/Host/Port on (instead of
#: its own http/8000), so Storage's upload URLs and GoTrue's links carry the public https
#: host; it adds X-Forwarded-Prefix for the stripped route path. Only the proxy reaches Kong
#: when its host ports are not published (the default behind the edge).
BEHIND_EDGE_ENV = {"KONG_TRUSTED_IPS": "0.0.0.0/0,::/0"}


def spec(ctx: ProjectContext) -> ServiceSpec:
    settings, secrets = ctx.settings, ctx.secrets
    config = pulumi.Output.all(
        secrets.anon_key, secrets.service_role_key, secrets.dashboard_password
    ).apply(
        lambda keys: render_kong_config(
            anon_key=keys[0],
            service_role_key=keys[1],
            dashboard_username=settings.dashboard_username,
            dashboard_password=keys[2],
            enabled_services=settings.enabled_services,
        )
    )
    env = {
        "KONG_DATABASE": "off",
        "KONG_DECLARATIVE_CONFIG": CONFIG_PATH,
        # Prefer the project network's DNS answers (service names) over search domains.
        "KONG_DNS_ORDER": "LAST,A,CNAME",
        "KONG_PLUGINS": KONG_PLUGINS,
        "KONG_NGINX_PROXY_PROXY_BUFFER_SIZE": "160k",
        "KONG_NGINX_PROXY_PROXY_BUFFERS": "64 160k",
    }
    if settings.domain:
        env |= BEHIND_EDGE_ENV
    return ServiceSpec(
        name="kong",
        env=env,
        healthcheck=Healthcheck(("CMD", "kong", "health")),
        needs=("analytics",),
        uploads=(Upload(CONFIG_PATH, pulumi.Output.secret(config)),),
        publish=(
            Publish(8000, settings.ports.kong_http, settings.kong_bind_address),
            Publish(8443, settings.ports.kong_https, settings.kong_bind_address),
        ),
    )
