"""SupabaseProject: one complete, isolated self-hosted Supabase project on one Docker engine."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.naming import (
    EDGE_NETWORK,
    SERVICE_LABEL,
    VOLUME_LABEL,
    container_name,
    network_name,
    project_labels,
    volume_name,
)
from components.provider_shapes import cpus_input, json_file_log_opts, memory_swap_mb
from components.secrets import ProjectSecrets, create_secrets
from components.services import build_specs
from components.services.base import DB_NAME, ProjectContext, ServiceSpec
from components.settings import Settings
from components.volumes import VOLUMES

TYPE_TOKEN = "supabase:index:Project"


@dataclass(frozen=True)
class SupabaseProjectArgs:
    """Inputs of a project: its validated settings (see ``components.settings``)."""

    settings: Settings


class SupabaseProject(pulumi.ComponentResource):
    """Network, volumes, images, secrets and one container per enabled service.

    With ``paused`` set the containers are left out while network, volumes, images and
    secrets stay, so resuming brings the same project back with its data. Volumes are
    retained on delete: removing the stack never removes data by accident.
    """

    api_url: pulumi.Output[str]
    studio_url: pulumi.Output[str | None]
    db_url: pulumi.Output[str]
    """Direct to Postgres (2024-04), or through the pooler's session port (2026-09)."""
    pooler_url: pulumi.Output[str] | None
    """Supavisor's session port, as ``postgres.<ref>`` (None when the release has no pooler)."""
    pooler_transaction_url: pulumi.Output[str] | None
    secrets: ProjectSecrets
    network: docker.Network
    volumes: dict[str, docker.Volume]
    images: dict[str, docker.RemoteImage]
    containers: dict[str, docker.Container]

    def __init__(
        self, name: str, args: SupabaseProjectArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        self.settings = settings
        provider = docker.Provider(
            f"{name}-docker",
            host=settings.docker_host,
            cert_path=settings.docker_cert_path,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.secrets = create_secrets(settings, prefix=name, parent=self)
        specs = build_specs(ProjectContext(settings, self.secrets))
        labels = project_labels(settings.ref)

        self.network = docker.Network(
            f"{name}-network",
            name=network_name(settings.ref),
            driver="bridge",
            labels=_labels(docker.NetworkLabelArgs, labels),
            # Docker refuses a second network of the same name: a forced replacement
            # must remove the old one first (the containers on it are replaced too).
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(delete_before_replace=True)
            ),
        )
        used_volumes = [key for key in VOLUMES if any(_mounts(spec, key) for spec in specs)]
        self.volumes = {
            key: docker.Volume(
                f"{name}-{key}",
                name=volume_name(settings.ref, key),
                labels=_labels(docker.VolumeLabelArgs, labels | {VOLUME_LABEL: key}),
                opts=pulumi.ResourceOptions.merge(
                    child, pulumi.ResourceOptions(retain_on_delete=True)
                ),
            )
            for key in used_volumes
        }
        self.images = {
            spec.name: docker.RemoteImage(
                f"{name}-{spec.name}-image",
                name=spec.image,
                # Other projects on the host may run the same image.
                keep_locally=True,
                opts=child,
            )
            for spec in specs
        }
        self.containers = {}
        if not settings.paused:
            for spec in specs:
                self.containers[spec.name] = self._container(name, spec, child)

        self.api_url = pulumi.Output.from_input(settings.api_external_url)
        self.studio_url = pulumi.Output.from_input(
            f"{settings.api_external_url}/" if settings.enabled("studio") else None
        )
        self.pooler_url = self.pooler_transaction_url = None
        if settings.ports.pooler_session is not None:
            self.pooler_url = self._postgres_url(
                f"postgres.{settings.ref}", settings.ports.pooler_session
            )
        if settings.ports.pooler_transaction is not None:
            self.pooler_transaction_url = self._postgres_url(
                f"postgres.{settings.ref}", settings.ports.pooler_transaction
            )
        self.db_url = self.pooler_url or self._postgres_url("postgres", settings.ports.postgres)
        outputs: dict[str, pulumi.Input[object]] = {
            "apiUrl": self.api_url,
            "studioUrl": self.studio_url,
            "dbUrl": self.db_url,
            "anonKey": self.secrets.anon_key,
            "serviceRoleKey": self.secrets.service_role_key,
            "jwtSecret": self.secrets.jwt_secret,
            "dashboardPassword": self.secrets.dashboard_password,
            "networkName": self.network.name,
            "containers": {key: c.name for key, c in self.containers.items()},
        }
        if self.secrets.new is not None:
            outputs |= {
                "publishableKey": self.secrets.new.publishable_key,
                "secretKey": self.secrets.new.secret_key,
                "poolerUrl": self.pooler_url,
                "poolerTransactionUrl": self.pooler_transaction_url,
            }
        self.register_outputs(outputs)

    def _postgres_url(self, user: str, port: int | None) -> pulumi.Output[str]:
        """A connection string for clients outside the Docker host's project network."""
        return pulumi.Output.secret(
            pulumi.Output.format(
                "postgresql://{0}:{1}@{2}:{3}/{4}",
                user,
                self.secrets.postgres_password,
                self.settings.public_host,
                port,
                DB_NAME,
            )
        )

    def _container(
        self, name: str, spec: ServiceSpec, child: pulumi.ResourceOptions
    ) -> docker.Container:
        """One service's container, created once everything it needs is up (and healthy)."""
        settings = self.settings
        limits = settings.resources.get(spec.name)
        check = spec.healthcheck
        mounts = [
            docker.ContainerMountArgs(
                type="volume",
                source=self.volumes[mount.volume].name,
                target=mount.target,
                read_only=mount.read_only,
            )
            for mount in spec.volumes
        ] + [
            docker.ContainerMountArgs(
                type="bind", source=bind.source, target=bind.target, read_only=bind.read_only
            )
            for bind in spec.binds
        ]
        return docker.Container(
            f"{name}-{spec.name}",
            name=container_name(settings.ref, spec.name),
            image=self.images[spec.name].image_id,
            envs=_env_list(spec.env),
            command=list(spec.command) or None,
            healthcheck=None
            if check is None
            else docker.ContainerHealthcheckArgs(
                tests=list(check.test),
                interval=check.interval,
                timeout=check.timeout,
                retries=check.retries,
                start_period=check.start_period,
            ),
            # The provider's own health wait orders start-up; no sleeps anywhere.
            wait=check is not None,
            wait_timeout=spec.wait_timeout if check is not None else None,
            must_run=True,
            restart="unless-stopped",
            destroy_grace_seconds=spec.stop_grace_seconds,
            networks_advanced=[
                docker.ContainerNetworksAdvancedArgs(
                    name=self.network.name, aliases=[spec.name, *spec.aliases]
                ),
                # Behind the edge only the gateway joins the shared edge network, where the
                # proxy reaches it by container name; every other service stays private.
                *(
                    [docker.ContainerNetworksAdvancedArgs(name=EDGE_NETWORK)]
                    if settings.domain and spec.name == settings.gateway_service
                    else []
                ),
            ],
            ports=[
                docker.ContainerPortArgs(
                    internal=port.internal, external=port.external, ip=port.ip, protocol="tcp"
                )
                for port in spec.publish
            ]
            or None,
            mounts=mounts or None,
            uploads=[
                docker.ContainerUploadArgs(file=upload.path, content=upload.content)
                for upload in spec.uploads
            ]
            or None,
            labels=_labels(
                docker.ContainerLabelArgs,
                project_labels(settings.ref) | {SERVICE_LABEL: spec.name},
            ),
            # Each container rotates its own log, so a busy project cannot fill the disk;
            # every json-file option is named so the daemon's log-opts never merge in.
            log_driver="json-file",
            log_opts=json_file_log_opts(settings.log_max_size, settings.log_max_files),
            memory=limits.memory_mb if limits else None,
            memory_swap=memory_swap_mb(limits.memory_mb) if limits and limits.memory_mb else None,
            cpus=cpus_input(limits.cpus) if limits and limits.cpus else None,
            opts=pulumi.ResourceOptions.merge(
                child,
                pulumi.ResourceOptions(depends_on=[self.containers[need] for need in spec.needs]),
            ),
        )


def _mounts(spec: ServiceSpec, volume: str) -> bool:
    return any(mount.volume == volume for mount in spec.volumes)


def _labels(kind: type, labels: Mapping[str, str]) -> list:
    """Docker labels as the provider's list of label/value args, in a stable order."""
    return [kind(label=key, value=value) for key, value in sorted(labels.items())]


def _env_list(env: Mapping[str, pulumi.Input[str]]) -> pulumi.Output[list[str]]:
    """``KEY=value`` strings, sorted so the same settings always give the same input.

    Secret values keep the whole list secret.
    """
    return pulumi.Output.all(**env).apply(
        lambda values: [f"{key}={values[key]}" for key in sorted(values)]
    )
