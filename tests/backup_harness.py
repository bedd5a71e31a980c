"""A project on a real engine with a fake Pulumi side, for the backup tests.

``EngineWorkspace`` plays the ``Workspace`` protocol the way the Pulumi program behaves
for what backups rely on: ``up`` of a paused stack removes the containers and keeps the
network and volumes; ``up`` of a running stack creates the labelled volumes and network
once and starts the db (the local Postgres stand-in, initialised with the stack's
password and JWT secret on an empty volume) and the other services (busybox, healthy),
waiting for health like the provider's ``wait``. Secrets are generated once per stack,
unless set with ``set_secret`` first, as the random resources and ``--secret`` config do.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import boto3
import docker
import docker.types
import yaml
from engines import IMAGE as BUSYBOX
from engines import KINDS, SECOND_NS, wait_until
from moto.server import ThreadedMotoServer

from automation.context import FleetContext
from automation.engine import Engine, EngineSpec
from automation.settings import FleetConfig
from automation.status import UpdateRecord, enabled_services
from automation.workspace import Output
from components.naming import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    VOLUME_LABEL,
    container_name,
    network_name,
    volume_name,
)
from components.volumes import VOLUMES

#: Volumes the stand-in services mount, as the real services do.
MOUNTS = {
    "db": {"db-data": "/var/lib/postgresql/data", "db-config": "/etc/postgresql-custom"},
    "storage": {"storage-data": "/var/lib/storage"},
    "functions": {"functions-data": "/home/deno/functions"},
}
EXCLUDE = ["analytics", "imgproxy", "studio"]


class EngineWorkspace:
    """The Workspace protocol over stack files, acting on a real engine."""

    def __init__(self, stacks_dir: Path, client: docker.DockerClient, db_image: str):
        self.stacks_dir = stacks_dir
        self.client = client
        self.db_image = db_image
        self.secrets: dict[str, dict[str, str]] = {}
        self.set_secrets: dict[str, dict[str, str]] = {}
        self.ups: list[tuple[str, bool]] = []
        self._history: dict[str, list[UpdateRecord]] = {}

    def _config(self, ref: str) -> dict:
        data = yaml.safe_load((self.stacks_dir / f"Pulumi.{ref}.yaml").read_text())
        return {k.partition(":")[2]: v for k, v in (data.get("config") or {}).items()}

    def _secrets(self, ref: str) -> dict[str, str]:
        if ref not in self.secrets:
            given = self.set_secrets.get(ref, {})
            self.secrets[ref] = {
                "postgresPassword": given.get("postgresPassword", secrets.token_hex(12)),
                "jwtSecret": given.get("jwtSecret", secrets.token_hex(20)),
                "dashboardPassword": given.get("dashboardPassword", secrets.token_hex(8)),
            }
        return self.secrets[ref]

    def list_stacks(self) -> list[str]:
        return list(self._history)

    backend_url = "file:///fake"

    def up(self, ref: str, on_output, replace=()) -> dict[str, Output]:
        config = self._config(ref)
        paused = bool(config.get("paused"))
        self.ups.append((ref, paused))
        labels = {PROJECT_LABEL: ref, MANAGED_BY_LABEL: MANAGED_BY}
        if not self.client.networks.list(names=[network_name(ref)]):
            self.client.networks.create(network_name(ref), labels=labels)
        for key in VOLUMES:
            if not self.client.volumes.list(filters={"name": volume_name(ref, key)}):
                self.client.volumes.create(
                    volume_name(ref, key), labels=labels | {VOLUME_LABEL: key}
                )
        for container in self.client.containers.list(
            all=True, filters={"label": f"{PROJECT_LABEL}={ref}"}
        ):
            if paused:
                container.remove(force=True)
        if not paused:
            self._start(ref, config, labels)
        self._history.setdefault(ref, []).insert(0, UpdateRecord(kind="update", result="succeeded"))
        return self.outputs(ref)

    def _start(self, ref: str, config: dict, labels: dict[str, str]) -> None:
        secret = self._secrets(ref)
        created = []
        for service in enabled_services(config.get("exclude") or []):
            name = container_name(ref, service)
            if self.client.containers.list(all=True, filters={"name": f"^{name}$"}):
                continue
            mounts = {
                volume_name(ref, key): {"bind": path, "mode": "rw"}
                for key, path in MOUNTS.get(service, {}).items()
            }
            common = dict(
                name=name,
                labels=labels | {SERVICE_LABEL: service},
                volumes=mounts,
                network=network_name(ref),
                detach=True,
            )
            if service == "db":
                container = self.client.containers.run(
                    self.db_image,
                    environment={
                        "POSTGRES_PASSWORD": secret["postgresPassword"],
                        "JWT_SECRET": secret["jwtSecret"],
                    },
                    healthcheck=docker.types.Healthcheck(
                        test=["CMD", "pg_isready", "-q", "-h", "localhost"],
                        interval=SECOND_NS // 2,
                        timeout=2 * SECOND_NS,
                        retries=120,
                    ),
                    **common,
                )
            else:
                spec = KINDS["healthy"]
                container = self.client.containers.run(
                    BUSYBOX,
                    spec["command"],
                    healthcheck=docker.types.Healthcheck(
                        **spec["healthcheck"],
                        interval=SECOND_NS // 5,
                        timeout=2 * SECOND_NS,
                        retries=1,
                    ),
                    **common,
                )
            created.append(container)
        for container in created:

            def healthy(container=container) -> bool:
                container.reload()
                return container.attrs["State"].get("Health", {}).get("Status") == "healthy"

            wait_until(f"{container.name} healthy", healthy, 120)

    def outputs(self, ref: str) -> dict[str, Output]:
        secret = self._secrets(ref)
        return {
            "dbUrl": Output(
                f"postgresql://postgres:{secret['postgresPassword']}@db:5432/postgres", True
            ),
            "jwtSecret": Output(secret["jwtSecret"], True),
            "dashboardPassword": Output(secret["dashboardPassword"], True),
            "apiUrl": Output(f"http://localhost/{ref}", False),
        }

    def containers(self, ref: str) -> dict[str, str]:
        return {}  # no state: nothing to replace

    def history(self, ref: str) -> list[UpdateRecord]:
        return list(self._history.get(ref, []))

    def export_state(self, ref: str) -> dict:
        return {"version": 3, "deployment": {"resources": [{"urn": f"urn:pulumi:{ref}"}]}}

    def set_secret(self, ref: str, key: str, value: str) -> None:
        self.set_secrets.setdefault(ref, {})[key] = value

    def preview(self, ref, on_output):  # the backup commands never preview
        raise AssertionError("unexpected preview")

    def refresh(self, ref, on_output):
        raise AssertionError("unexpected refresh")

    def destroy(self, ref, on_output):
        raise AssertionError("unexpected destroy")

    def remove_stack(self, ref):
        raise AssertionError("unexpected remove_stack")


def make_fleet(
    tmp: Path, engine_url: str, workspace_factory, out
) -> tuple[FleetContext, EngineWorkspace]:
    """A Fleet whose home, stacks and inventory live in ``tmp``; confirmation says yes."""
    (tmp / "project").mkdir()
    (tmp / "project" / "Pulumi.yaml").write_text("name: supabase\nruntime: python\n")
    config = FleetConfig(
        home=tmp / "home",
        project_dir=tmp / "project",
        backend_url=f"file://{tmp}/state",
        secrets_provider=None,
        inventory_path=tmp / "hosts.yaml",
    )
    workspace = workspace_factory(config.stacks_dir)
    fleet = FleetContext(
        config,
        workspace,
        Engine,
        inventory=[EngineSpec("a", engine_url, 20)],
        out=out,
        confirm=lambda _: True,
        live=False,
    )
    return fleet, workspace


def write_stack(fleet: FleetContext, ref: str, slot: int, engine_url: str, db_image: str) -> None:
    """A stack file as ``create`` writes it, running the stand-in db image."""
    fleet.config.stacks_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "portSlot": slot,
        "dockerHost": engine_url,
        "exclude": EXCLUDE,
        "images": {"db": db_image},
    }
    data = {"config": {f"supabase:{key}": value for key, value in settings.items()}}
    (fleet.config.stacks_dir / f"Pulumi.{ref}.yaml").write_text(yaml.safe_dump(data))


@contextlib.contextmanager
def s3_bucket(monkeypatch) -> Iterator[tuple[str, str]]:
    """moto's S3 server on loopback with a fresh bucket: (endpoint, bucket)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
            monkeypatch.setenv(name, value)
        bucket = f"b{secrets.token_hex(4)}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
        yield endpoint, bucket
    finally:
        server.stop()
