"""The API gateway of 2026-09 (service ``api-gw``): Envoy by default, Kong 3.9 on request.

Whichever gateway runs, the container is ``supabase-<ref>-api-gw`` with the network aliases
``kong`` and ``envoy``, so every service and config that calls either name keeps working
(upstream's compose does the same). Both listen on 8000 inside; Kong adds HTTPS on 8443.
The gateway's config, with the project's keys and dashboard credentials in it, is rendered
here (``components.render.envoy`` / ``kong3``: the same route table) and uploaded as a
secret, so no entrypoint has to template it from the environment.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import pulumi

from components.render import envoy, kong3
from components.render.envoy import render_envoy_config
from components.render.gateway import GatewayKeys
from components.render.kong3 import render_kong3_config
from components.services.base import (
    Healthcheck,
    ProjectContext,
    Publish,
    ServiceSpec,
    Upload,
)
from components.services.kong import BEHIND_EDGE_ENV

HTTP_PORT = 8000
HTTPS_PORT = 8443
Renderer = Callable[..., dict[str, str]]


@dataclass(frozen=True)
class Gateway:
    """What differs between the two gateways, as data."""

    render: Renderer
    files: tuple[str, ...]
    """The paths ``render`` returns (they do not depend on the keys)."""
    env: Mapping[str, str]
    command: tuple[str, ...]
    healthcheck: Healthcheck
    https: bool


GATEWAYS: dict[str, Gateway] = {
    "envoy": Gateway(
        render=render_envoy_config,
        files=(envoy.BOOTSTRAP_PATH, envoy.LDS_PATH, envoy.CDS_PATH),
        env={},
        command=envoy.ENVOY_COMMAND,
        # The image has bash but no HTTP client, and the admin port listens on loopback
        # only: a TCP connect to the API listener, which exists once LDS has loaded.
        healthcheck=Healthcheck(
            ("CMD", "bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{HTTP_PORT}"), interval="10s"
        ),
        https=False,
    ),
    "kong": Gateway(
        render=render_kong3_config,
        files=(kong3.CONFIG_PATH,),
        env=kong3.KONG_ENV,
        command=(),  # the image's own entrypoint: the rendered file needs no expansion
        healthcheck=Healthcheck(("CMD", "kong", "health"), retries=5),
        https=True,
    ),
}


def spec(ctx: ProjectContext) -> ServiceSpec:
    settings = ctx.settings
    gateway = GATEWAYS[settings.gateway]
    enabled = settings.enabled_services
    publish = [Publish(HTTP_PORT, settings.ports.kong_http, settings.kong_bind_address)]
    if gateway.https and settings.ports.kong_https is not None:
        publish.append(Publish(HTTPS_PORT, settings.ports.kong_https, settings.kong_bind_address))
    env = dict(gateway.env)
    if settings.domain and settings.gateway == "kong":
        # As for 2024-04's Kong: pass the edge proxy's X-Forwarded-* on.
        env |= BEHIND_EDGE_ENV
    return ServiceSpec(
        name="api-gw",
        env=env,
        command=gateway.command,
        healthcheck=gateway.healthcheck,
        needs=("studio",),
        uploads=_config_uploads(
            gateway, gateway_keys(ctx), enabled, behind_edge=bool(settings.domain)
        ),
        publish=tuple(publish),
        aliases=("kong", "envoy"),
    )


def gateway_keys(ctx: ProjectContext) -> pulumi.Output[GatewayKeys]:
    """Every key and credential the gateway checks, as one secret value."""
    secrets, new = ctx.secrets, ctx.secrets.require_new()
    return pulumi.Output.secret(
        pulumi.Output.all(
            anon_key=secrets.anon_key,
            service_role_key=secrets.service_role_key,
            publishable_key=new.publishable_key,
            secret_key=new.secret_key,
            anon_key_asymmetric=new.anon_key_asymmetric,
            service_role_key_asymmetric=new.service_role_key_asymmetric,
            dashboard_username=ctx.settings.dashboard_username,
            dashboard_password=secrets.dashboard_password,
            project_ref=ctx.settings.ref,
            jwt_issuer=ctx.settings.api_external_url,
            public_url=ctx.settings.api_external_url,
        ).apply(lambda values: GatewayKeys(**values))
    )


def _config_uploads(
    gateway: Gateway,
    keys: pulumi.Output[GatewayKeys],
    enabled: Collection[str],
    *,
    behind_edge: bool = False,
) -> tuple[Upload, ...]:
    """One secret upload per rendered file."""
    # Behind the edge Envoy trusts one hop (the proxy) for X-Forwarded-Proto; Kong's
    # counterpart is KONG_TRUSTED_IPS in its env.
    options = {"trusted_hops": 1} if behind_edge and gateway.render is render_envoy_config else {}
    rendered = keys.apply(
        lambda resolved: gateway.render(resolved, enabled_services=enabled, **options)
    )
    return tuple(
        Upload(path, pulumi.Output.secret(rendered.apply(lambda files, p=path: files[p])))
        for path in gateway.files
    )
