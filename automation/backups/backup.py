"""Taking one project's backup: database cluster, volumes, stack file, state, secrets."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone

import docker.errors
from pyrage import x25519

from automation.backups import dump
from automation.backups.archive import seal
from automation.backups.manifest import MANIFEST, Manifest, Part, new_id
from automation.backups.project import Project
from automation.backups.targets import Target
from automation.errors import FleetError
from components.naming import PROJECT_LABEL, SERVICE_LABEL, volume_name
from components.volumes import VOLUMES

Report = Callable[[str], None]
#: How the db service starts Postgres (components/services/db.py); a paused project's
#: database is read by a scratch container started the same way.
DB_COMMAND = ("postgres", "-c", "config_file=/etc/postgresql/postgresql.conf")
#: Where the db service mounts its volumes (components/services/db.py).
DB_MOUNTS = {"db-data": dump.PGDATA, "db-config": "/etc/postgresql-custom"}
#: Volumes not copied as files: the data directory is taken logically (pg_dump, never the
#: files of a running server), and the Deno module cache is rebuilt when missing.
NOT_FILES = ("db-data", "deno-cache")
FILE_VOLUMES = tuple(key for key in VOLUMES if key not in NOT_FILES)


def human_size(count: int) -> str:
    """Bytes as ``1.5 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)


class _Writer:
    """Seals parts into a staging area and records them."""

    def __init__(self, staging, key: x25519.Identity, report: Report):
        self.staging = staging
        self.key = key
        self.report = report
        self.parts: list[Part] = []

    def add(self, name: str, kind: str, chunks: Iterable[bytes], target: str = "") -> Part:
        self.report(f"writing {name}")
        part_file = f"{name}.zst.age"
        with self.staging.part(part_file) as write:
            sealed = seal(chunks, write, self.key)
        part = Part(name, kind, sealed.size, sealed.stored, sealed.sha256, target)
        self.parts.append(part)
        self.report(f"{name}: {human_size(sealed.size)} -> {human_size(sealed.stored)}")
        return part


@contextlib.contextmanager
def _database(
    project: Project, *, offline: bool, report: Report
) -> Iterator[tuple[dump.Conn, str, list[str], bool]]:
    """A connection to the project's database, its image and command."""
    client = project.engine.docker
    container = project.db_container()
    if container is not None:
        info = client.api.inspect_container(container)
        yield (
            dump.project_conn(container),
            info["Config"]["Image"],
            list(info["Config"]["Cmd"]),
            False,
        )
        return
    if not offline:
        raise FleetError(
            f"project {project.ref} is paused (its database is not running): pass --offline "
            f"to read the database from a temporary db container on its volume, or resume it"
        )
    image = project.offline_db_image()
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound as exc:
        raise FleetError(
            f"image {image} is not on the engine of {project.ref}; resume the project once "
            f"(which pulls it) or set images.db"
        ) from exc
    report("starting a temporary db container on the data volume")
    volumes = {volume_name(project.ref, key): path for key, path in DB_MOUNTS.items()}
    with dump.scratch_db(
        client, image, DB_COMMAND, ref=project.ref, volumes=volumes, fresh=False
    ) as conn:
        yield conn, image, list(DB_COMMAND), True


def take_backup(
    project: Project, target: Target, key: x25519.Identity, report: Report, *, offline: bool
) -> Manifest:
    """Write one complete backup of ``project`` to ``target``, or nothing at all."""
    engine = project.engine
    with engine.errors():
        client = engine.docker
        images = {
            entry["Labels"].get(SERVICE_LABEL, "?"): entry["Image"]
            for entry in client.api.containers(
                all=True, filters={"label": f"{PROJECT_LABEL}={project.ref}"}
            )
        }
        present = set(engine.project_volumes(project.ref))
    if volume_name(project.ref, "db-data") not in present:
        raise FleetError(f"project {project.ref} has no data volume on {engine.spec.name}")
    stack_text = project.stack.path.read_bytes()
    secrets = project.secrets()
    state = project.export_state()
    backup_id = new_id(project.ref)
    staging = target.stage(project.ref, backup_id)
    writer = _Writer(staging, key, report)
    try:
        with (
            engine.errors(),
            _database(project, offline=offline, report=report) as (conn, image, command, scratch),
        ):
            facts = dump.cluster_facts(client, conn)
            writer.add("globals.sql", "globals", dump.dump_globals(client, conn))
            counts: dict[str, dict[str, int]] = {}
            for database in facts.databases:
                with dump.snapshot(client, conn, database) as (snapshot_id, rows):
                    counts[database] = rows
                    writer.add(
                        f"db-{database}.sql",
                        "database",
                        dump.dump_database(client, conn, database, snapshot_id),
                        database,
                    )
            volumes = {
                key: volume_name(project.ref, key)
                for key in FILE_VOLUMES
                if volume_name(project.ref, key) in present
            }
            with dump.volume_helper(client, image, project.ref, volumes, running=False) as helper:
                for volume_key in volumes:
                    writer.add(
                        f"volume-{volume_key}.tar",
                        "volume",
                        dump.volume_archive(client, helper, volume_key),
                        volume_key,
                    )
        writer.add("stack.yaml", "stack", [stack_text])
        writer.add("state.json", "state", [state])
        writer.add("secrets.json", "secrets", [_json(secrets)])
        manifest = Manifest(
            id=backup_id,
            ref=project.ref,
            created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            release=project.release,
            postgres_major=facts.major,
            postgres_version=facts.version,
            db_image=image,
            db_command=command,
            images=images,
            databases=facts.databases,
            roles=facts.roles,
            row_counts=counts,
            parts=writer.parts,
            offline=scratch,
        )
        with staging.part(MANIFEST) as write:
            seal([manifest.to_json()], write, key)
        staging.commit()
    except BaseException:
        staging.abort()
        raise
    return manifest


def _json(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True).encode()


def summary(manifest: Manifest) -> str:
    """One line for the summary."""
    rows = sum(sum(tables.values()) for tables in manifest.row_counts.values())
    return (
        f"{manifest.id}: {len(manifest.parts)} parts, {human_size(manifest.total_stored)} "
        f"stored, {rows} rows in {len(manifest.databases)} databases"
    )
