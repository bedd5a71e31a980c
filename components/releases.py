"""Releases: which Supabase stack a project runs, as data.

A release names the services a project runs, which of them a stack may leave out, the
gateways it offers, the host ports it publishes and the Postgres major version its data
directory belongs to. Settings validate against it; the service catalog builds from it.
Adding a release is one new ``Release`` entry here (its images, ``based_on`` the release it
changes) plus one deltas module in ``components/services/`` (``release_<name>.py``, what
each service does differently from ``based_on``), not ``if`` branches in service modules.
This module stays plain data (no Pulumi) so settings and the fleet tool can read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
    images: Mapping[str, str]
    """The pinned image of every service but the gateway."""
    gateway_images: Mapping[str, str]
    """The pinned image of each gateway the release offers."""
    based_on: str | None = None
    """The release this one changes: its service modules' deltas apply on top of it."""
    description: str = ""

    def image(self, service: str, gateway: str) -> str:
        """The pinned image of ``service`` (the gateway service runs the chosen ``gateway``)."""
        if service == self.gateway_service:
            return self.gateway_images[gateway]
        return self.images[service]


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
            images={
                "vector": "timberio/vector:0.28.1-alpine",
                "db": "supabase/postgres:15.1.1.41",
                "analytics": "supabase/logflare:1.4.0",
                "auth": "supabase/gotrue:v2.149.0",
                "rest": "postgrest/postgrest:v12.0.1",
                "realtime": "supabase/realtime:v2.28.32",
                "imgproxy": "darthsim/imgproxy:v3.8.0",
                "storage": "supabase/storage-api:v1.0.6",
                "meta": "supabase/postgres-meta:v0.80.0",
                "functions": "supabase/edge-runtime:v1.45.2",
                "studio": "supabase/studio:20240422-5cf8f30",
            },
            gateway_images={"kong": "kong:2.8.1"},
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
            # Upstream's docker/docker-compose.yml at the tag pinning Studio 2026.09.07 (the
            # logs override docker-compose.logs.yml for analytics and vector; Kong from
            # docker-compose.kong.yml).
            images={
                "vector": "timberio/vector:0.53.0-alpine",
                "db": "supabase/postgres:17.6.1.136",
                "analytics": "supabase/logflare:1.42.0",
                "supavisor": "supabase/supavisor:2.9.12",
                "auth": "supabase/gotrue:v2.196.0",
                "rest": "postgrest/postgrest:v14.17",
                "realtime": "supabase/realtime:v2.134.10",
                "imgproxy": "darthsim/imgproxy:v3.31.4",
                "storage": "supabase/storage-api:v1.74.0",
                "meta": "supabase/postgres-meta:v0.99.0",
                "functions": "supabase/edge-runtime:v1.76.2",
                "studio": "supabase/studio:2026.09.07-sha-7996410",
            },
            gateway_images={"envoy": "envoyproxy/envoy:v1.39.1", "kong": "kong/kong:3.9.3"},
            based_on="2024-04",
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


def lineage(name: str) -> tuple[Release, ...]:
    """The release and the ones it is based on, oldest first."""
    chain: list[Release] = []
    current: str | None = name
    while current is not None:
        release = get_release(current)
        chain.insert(0, release)
        current = release.based_on
    return tuple(chain)


def is_current(name: str) -> bool:
    """Whether ``name`` is the newest release (no release is based on it)."""
    return all(release.based_on != name for release in RELEASES.values())


#: The release ``create`` gives new projects.
NEWEST_RELEASE: str = next(name for name in RELEASES if is_current(name))
