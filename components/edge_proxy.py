"""EdgeProxy: the one HTTPS entry of a Docker engine, routing each project's names to its gateway.

Objects (all on the engine the settings name):

- the shared edge network ``supabase-edge`` that project gateways join;
- the data volume (certificates, ACME account keys, autosaved config), retained on delete so a
  replaced or removed proxy never re-issues certificates (and hits CA rate limits);
- the proxy container: Caddy on host ports ``httpPort``/``httpsPort``, started from a
  bootstrap config with no routes and ``--resume`` (after a replacement it comes back with the
  last loaded config from the volume);
- a one-shot loader container in the proxy's network namespace that writes the rendered
  config (and certificate files) and calls ``caddy reload`` on the proxy's admin API, which
  listens on localhost only. Route changes replace only the loader, so the proxy reloads
  gracefully and open connections (websockets) survive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.edge_settings import CertificateFile, EdgeSettings
from components.naming import (
    EDGE_LABEL,
    EDGE_LOADER,
    EDGE_NETWORK,
    EDGE_PROXY,
    EDGE_VOLUME,
    MANAGED_BY,
    MANAGED_BY_LABEL,
)
from components.render.caddy import (
    ADMIN_LISTEN,
    CA_ROOT_PATH,
    DATA_DIR,
    HTTP_PORT,
    HTTPS_PORT,
    cert_file_paths,
    render_caddy_config,
)

TYPE_TOKEN = "supabase:index:EdgeProxy"
BOOTSTRAP_PATH = "/etc/caddy/bootstrap.json"
LOAD_PATH = "/load/caddy.json"
#: Caddy keeps its autosave (the last loaded config) under XDG_CONFIG_HOME: on the volume.
PROXY_ENV = {"XDG_CONFIG_HOME": f"{DATA_DIR}/config", "XDG_DATA_HOME": DATA_DIR}
PROXY_COMMAND = ("caddy", "run", "--resume", "--config", BOOTSTRAP_PATH)
LOADER_COMMAND = ("caddy", "reload", "--force", "--config", LOAD_PATH, "--address", ADMIN_LISTEN)
#: The admin API answers once the proxy has loaded a config (the official image has wget).
PROXY_HEALTHCHECK = ("CMD", "wget", "-q", "-O", "/dev/null", f"http://{ADMIN_LISTEN}/config/")


@dataclass(frozen=True)
class EdgeProxyArgs:
    """The validated edge settings and the user-supplied certificates (mode ``files``)."""

    settings: EdgeSettings
    cert_files: tuple[CertificateFile, ...] = ()


def config_json(settings: EdgeSettings, cert_files: int, *, bootstrap: bool = False) -> str:
    """The rendered Caddy config as the file the proxy reads (stable key order)."""
    return json.dumps(
        render_caddy_config(settings, cert_files=cert_files, bootstrap=bootstrap),
        indent=1,
        sort_keys=True,
    )


def loader_files(
    settings: EdgeSettings, cert_files: tuple[CertificateFile, ...]
) -> dict[str, tuple[str, bool]]:
    """Every file the loader writes: path -> (content, is secret)."""
    files = {LOAD_PATH: (config_json(settings, len(cert_files)), False)}
    if settings.certificates.ca_root:
        files[CA_ROOT_PATH] = (settings.certificates.ca_root, False)
    for index, cert in enumerate(cert_files):
        cert_path, key_path = cert_file_paths(index)
        files[cert_path] = (cert.certificate, False)
        files[key_path] = (cert.key, True)
    return files


class EdgeProxy(pulumi.ComponentResource):
    """Network, volume, image, proxy container and config loader of one engine's edge."""

    network: docker.Network
    volume: docker.Volume
    proxy: docker.Container
    loader: docker.Container

    def __init__(
        self, name: str, args: EdgeProxyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_TOKEN, name, None, opts)
        settings = args.settings
        provider = docker.Provider(
            f"{name}-docker",
            host=settings.docker_host,
            cert_path=settings.docker_cert_path,
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.network = docker.Network(
            f"{name}-network",
            name=EDGE_NETWORK,
            driver="bridge",
            labels=_labels(docker.NetworkLabelArgs, "network"),
            opts=child,
        )
        self.volume = docker.Volume(
            f"{name}-data",
            name=EDGE_VOLUME,
            labels=_labels(docker.VolumeLabelArgs, "data"),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(retain_on_delete=True)),
        )
        image = docker.RemoteImage(
            f"{name}-image", name=settings.image, keep_locally=True, opts=child
        )
        data_mount = docker.ContainerMountArgs(
            type="volume", source=self.volume.name, target=DATA_DIR
        )
        self.proxy = docker.Container(
            f"{name}-proxy",
            name=EDGE_PROXY,
            image=image.image_id,
            command=list(PROXY_COMMAND),
            envs=[f"{key}={value}" for key, value in sorted(PROXY_ENV.items())],
            uploads=[
                docker.ContainerUploadArgs(
                    file=BOOTSTRAP_PATH,
                    content=config_json(settings, 0, bootstrap=True),
                )
            ],
            mounts=[data_mount],
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=self.network.name)],
            ports=[
                docker.ContainerPortArgs(
                    internal=internal, external=external, ip=settings.bind_address, protocol="tcp"
                )
                for internal, external in (
                    (HTTP_PORT, settings.http_port),
                    (HTTPS_PORT, settings.https_port),
                )
            ],
            healthcheck=docker.ContainerHealthcheckArgs(
                tests=list(PROXY_HEALTHCHECK), interval="2s", timeout="2s", retries=15
            ),
            wait=True,
            must_run=True,
            restart="unless-stopped",
            # Lets in-flight requests finish when the proxy itself is replaced.
            destroy_grace_seconds=30,
            labels=_labels(docker.ContainerLabelArgs, "proxy"),
            opts=child,
        )
        self.loader = docker.Container(
            f"{name}-config",
            name=EDGE_LOADER,
            image=image.image_id,
            command=list(LOADER_COMMAND),
            # The proxy's namespace: its admin API on localhost, unreachable from gateways.
            # A replaced proxy has a new id, so the loader runs again against it.
            network_mode=self.proxy.id.apply(lambda proxy_id: f"container:{proxy_id}"),
            mounts=[data_mount],
            uploads=[
                docker.ContainerUploadArgs(
                    file=path, content=pulumi.Output.secret(content) if secret else content
                )
                for path, (content, secret) in loader_files(settings, args.cert_files).items()
            ],
            must_run=False,
            attach=True,
            logs=True,
            labels=_labels(docker.ContainerLabelArgs, "config"),
            opts=child,
        )
        self.register_outputs(
            {
                "networkName": self.network.name,
                "proxyName": self.proxy.name,
                "routes": {route.ref: list(route.hosts) for route in settings.routes},
                "loaderExitCode": self.loader.exit_code,
            }
        )


def _labels(kind: type, role: str) -> list:
    return [
        kind(label=key, value=value)
        for key, value in sorted({EDGE_LABEL: role, MANAGED_BY_LABEL: MANAGED_BY}.items())
    ]
