"""What a service is, as data: the component turns a ``ServiceSpec`` into Docker resources.

Service modules only describe (image, env, command, healthcheck, what they wait for, files,
volumes, ports); the code that makes containers exists once, in the component.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi

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
    image: str
    env: Mapping[str, pulumi.Input[str]]
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

    def db_url(self, user: str, scheme: str = "postgres") -> pulumi.Output[str]:
        """A connection URL to the project's database as ``user`` (a secret)."""
        return pulumi.Output.format(
            "{0}://{1}:{2}@{3}:{4}/{5}",
            scheme,
            user,
            self.secrets.postgres_password,
            DB_HOST,
            DB_PORT,
            DB_NAME,
        )


def flag(value: bool) -> str:
    """A boolean as the services' env vars spell it."""
    return "true" if value else "false"
