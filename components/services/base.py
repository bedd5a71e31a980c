"""What a service is, as data: the component turns a ``ServiceSpec`` into Docker resources.

Service modules only describe (env, command, healthcheck, what they wait for, files,
volumes, ports); the code that makes containers exists once, in the component. A release
that changes a service says so with a ``Delta`` (see ``components.services`` and
``release_<name>.py``); images come from the release's table in ``components.releases``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pulumi

from components.releases import Release
from components.secrets import ProjectSecrets
from components.settings import Settings

DB_HOST = "db"
DB_PORT = 5432
DB_NAME = "postgres"
#: Kong's address inside the project network, for services that call the API themselves.
KONG_URL = "http://kong:8000"


@dataclass(frozen=True)
class Healthcheck:
    """A Docker healthcheck; the component waits on it before starting dependants."""

    test: tuple[str, ...]
    interval: str = "5s"
    timeout: str = "5s"
    retries: int = 3
    start_period: str = "0s"


@dataclass(frozen=True)
class VolumeMount:
    """One of the project's named volumes (see ``components.volumes``) mounted in."""

    volume: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class HostBind:
    """A path of the Docker host mounted in (only the Docker socket, for the log collector)."""

    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class Upload:
    """A file written into the container before it starts (no file needed on the host)."""

    path: str
    content: pulumi.Input[str]


@dataclass(frozen=True)
class Publish:
    """A container port published on the Docker host."""

    internal: int
    external: int
    ip: str


@dataclass(frozen=True)
class ServiceSpec:
    """Everything the component needs to run one service of one project."""

    name: str
    env: Mapping[str, pulumi.Input[str]]
    image: str = ""
    """Filled in by the catalog from the release's image table (or the stack's override)."""
    command: tuple[str, ...] = ()
    healthcheck: Healthcheck | None = None
    needs: tuple[...] = ()
    volumes: tuple[VolumeMount, ...] = ()
    binds: tuple[HostBind, ...] = ()
    uploads: tuple[Upload, ...] = ()
    publish: tuple[Publish, ...] = ()
    aliases: tuple[str, ...] = ()
    wait_timeout: int = 120
    """Seconds the provider waits for the healthcheck to pass after start."""
    stop_grace_seconds: int = 10
    """Seconds a container gets to stop cleanly before it is killed."""


@dataclass(frozen=True)
class ProjectContext:
    """What a service module builds its spec from: settings and secrets."""

    settings: Settings
    secrets: ProjectSecrets

    @property
    def release(self) -> Release:
        """The release the project runs."""
        return self.settings.release_info

    @property
    def logs(self) -> bool:
        """Whether the log pipeline (analytics and vector) runs."""
        return self.settings.enabled("analytics")

    def db_url(
        self, user: str, scheme: str = "postgres", database: str = DB_NAME
    ) -> pulumi.Output[str]:
        """A connection URL to the project's ``database`` as ``user`` (a secret)."""
        return pulumi.Output.format(
            "{0}://{1}:{2}@{3}:{4}/{5}",
            scheme,
            user,
            self.secrets.postgres_password,
            DB_HOST,
            DB_PORT,
            database,
        )


@dataclass(frozen=True)
class Delta:
    """How a release changes a service it inherits: env patched, other fields replaced."""

    env: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)
    """Variables to set; ``None`` removes the variable."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """``ServiceSpec`` fields replaced outright (needs, healthcheck, volumes, uploads, ...)."""

    def apply(self, spec: ServiceSpec) -> ServiceSpec:
        env = {key: value for key, value in spec.env.items() if key not in self.env}
        env |= {key: value for key, value in self.env.items() if value is not None}
        return replace(spec, env=env, **self.fields)


def flag(value: bool) -> str:
    """A boolean as the services' env vars spell it."""
    return "true" if value else "false"
