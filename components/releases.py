"""Releases: which Supabase stack a project runs, as data.

A release names the services a project runs, which of them a stack may leave out, the
gateways it offers, the host ports it publishes and the Postgres major version its data
directory belongs to. Settings validate against it; the service catalog builds from it.
Adding a release is one new ``Release`` entry (and its per-service deltas), not ``if``
branches in service modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: What every stack file without ``release`` runs: the stack all existing projects were made with.
DEFAULT_RELEASE = "2024-04"


@dataclass(frozen=True)
class Release:
    """One self-hosted Supabase stack a project can run."""

    name: str
    postgres_major: int
    services: tuple[str, ...]
    """Every service of the release, in the catalog's order."""
    optional: Mapping[str, tuple[str, ...]]
    """Services ``exclude`` may name, and what leaves with each."""
    logs_services: tuple[str, ...]
    """The log pipeline's services: present when ``logs`` is on."""
    logs_default: bool
    gateways: tuple[str, ...]
    default_gateway: str
    gateway_service: str
    """The catalog key (and container suffix) of the API gateway."""
    port_names: tuple[str, ...]
    """Host ports the release publishes, by their ``ports:`` setting name."""
    description: str = ""
    images: Mapping[str, str] = field(default_factory=dict)


RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        Release(
            name="2024-04",
            postgres_major=15,
            services=(
                "vector",
                "db",
                "analytics",
                "kong",
                "auth",
                "rest",
                "realtime",
                "imgproxy",
                "storage",
                "meta",
                "functions",
                "studio",
            ),
            optional={
                "analytics": ("analytics", "vector"),
                "imgproxy": ("imgproxy",),
                "functions": ("functions",),
                "studio": ("studio",),
            },
            logs_services=("analytics", "vector"),
            logs_default=True,
            gateways=("kong",),
            default_gateway="kong",
            gateway_service="kong",
            port_names=("kongHttp", "kongHttps", "postgres"),
            description="the spring-2024 self-hosting stack: Postgres 15, Kong 2.8, HS256 keys",
        ),
        Release(
            name="2026-09",
            postgres_major=17,
            services=(
                "vector",
                "db",
                "analytics",
                "supavisor",
                "api-gw",
                "auth",
                "rest",
                "realtime",
                "imgproxy",
                "storage",
                "meta",
                "functions",
                "studio",
            ),
            optional={
                "imgproxy": ("imgproxy",),
                "functions": ("functions",),
                "studio": ("studio",),
            },
            logs_services=("analytics", "vector"),
            logs_default=False,
            gateways=("envoy", "kong"),
            default_gateway="envoy",
            gateway_service="api-gw",
            port_names=("kongHttp", "kongHttps", "poolerSession", "poolerTransaction"),
            description=(
                "the official self-hosting stack at Studio 2026.09.07: Postgres 17, "
                "Envoy or Kong 3.9, Supavisor, asymmetric keys"
            ),
        ),
    )
}

#: Every service name any release knows.
ALL_SERVICE_NAMES: tuple[str, ...] = tuple(
    dict.fromkeys(name for release in RELEASES.values() for name in release.services)
)


def get_release(name: str) -> Release:
    """The release called ``name``; KeyError lists the known ones."""
    try:
        return RELEASES[name]
    except KeyError:
        raise KeyError(f"unknown release {name!r}; known releases: {sorted(RELEASES)}") from None
