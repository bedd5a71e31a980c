"""Putting a project back from a backup, in place or as a clone.

A restore never starts by deleting the only copy: the backup's manifest must decrypt,
every part must match its sha256, its last drill must not have failed, and the user must
confirm, before the project is stopped and its volumes are emptied and refilled.

Secrets: the dump carries the role passwords (as hashes) and the JWT secret (a database
setting); db-config carries the pgsodium/Vault root key. An in-place restore keeps the
stack, whose secrets are the ones the backup was taken with. A clone's stack gets the
source's ``postgresPassword``, ``jwtSecret`` and ``dashboardPassword`` as Pulumi secrets
(from the backup's sealed ``secrets`` part), so every service logs in to the restored
database and the anon/service_role keys it signs are accepted by it. Rewriting the
restored database to new secrets instead would also need the Vault root key rotated and
every encrypted value re-encrypted, which pgsodium cannot do in place.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import TYPE_CHECKING

import docker
import docker.errors
import yaml
from pyrage import x25519

from automation.backups import dump
from automation.backups.archive import ArchiveError, unseal
from automation.backups.backup import DB_MOUNTS, Report
from automation.backups.catalog import check_parts, read_part, verification
from automation.backups.manifest import Manifest, Part
from automation.backups.project import SECRET_KEYS, Project, clone_settings
from automation.backups.targets import Target
from automation.errors import FleetError
from automation.placement import place
from components.naming import volume_name
from components.releases import DEFAULT_RELEASE, RELEASES

if TYPE_CHECKING:
    from automation.context import FleetContext


def _feed(
    process: dump.Exec,
    target: Target,
    manifest: Manifest,
    part: Part,
    key: x25519.Identity,
    *,
    tail: bytes = b"",
) -> None:
    """Stream one part into a process's stdin, then check the exit and the sha256."""
    with contextlib.closing(target.open(manifest.ref, manifest.id, part.file)) as stored:
        try:
            digest = unseal(stored, process.send, key, what=f"{manifest.id}/{part.file}")
        except ArchiveError as exc:
            process.close()
            raise FleetError(str(exc)) from exc
    if tail:
        process.send(tail)
    process.finish()
    if digest != part.sha256:
        raise FleetError(f"{manifest.id}/{part.file} changed while it was restored")


def load_cluster(
    client: docker.DockerClient,
    conn: dump.Conn,
    target: Target,
    manifest: Manifest,
    key: x25519.Identity,
    report: Report,
) -> dict[str, dict[str, int]]:
    """Roles, then every database, into a fresh cluster; returns the row counts found."""
    globals_part = manifest.part("globals")
    if globals_part is None:
        raise FleetError(f"{manifest.id} has no roles part")
    sql = read_part(target, manifest, globals_part, key).decode()
    # The fresh cluster's bootstrap superuser exists already; the ALTER ROLE after this
    # line still gives it the backed-up attributes and password.
    sql = sql.replace(f"CREATE ROLE {dump.SUPERUSER};\n", "")
    psql = dump.feed_sql(client, conn, "template1")
    psql.send(sql.encode() + b"\n\\q\n")
    psql.finish()
    counts = {}
    for database in manifest.databases:
        part = manifest.part("database", database)
        if part is None:
            raise FleetError(f"{manifest.id} has no dump of database {database}")
        report(f"loading database {database}")
        _feed(
            dump.feed_sql(client, conn, "template1"), target, manifest, part, key, tail=b"\n\\q\n"
        )
        counts[database] = dump.parse_counts(dump.query(client, conn, dump.COUNT_ROWS, database))
    return counts


def count_differences(manifest: Manifest, counts: dict[str, dict[str, int]]) -> list[str]:
    """Tables whose restored row count differs from the manifest's."""
    problems = []
    for database, tables in manifest.row_counts.items():
        found = counts.get(database, {})
        for table, rows in tables.items():
            if found.get(table) != rows:
                problems.append(f"{database}.{table}: {found.get(table)} rows, backup had {rows}")
    return problems


def _db_image(client: docker.DockerClient, manifest: Manifest, project: Project) -> str:
    for image in (manifest.db_image, project.offline_db_image()):
        with contextlib.suppress(docker.errors.ImageNotFound):
            client.images.get(image)
            return image
    raise FleetError(
        f"neither {manifest.db_image} nor {project.offline_db_image()} is on the engine of "
        f"{project.ref}; resume a project there once (which pulls it)"
    )


def preflight(target: Target, manifest: Manifest, project: Project) -> None:
    """Everything that must hold before a project is touched."""
    if manifest.postgres_major != project.postgres_major:
        raise FleetError(
            f"{manifest.id} holds Postgres {manifest.postgres_major} data but project "
            f"{project.ref} runs release {project.release} with Postgres "
            f"{project.postgres_major}; a dump restores only into the same major version "
            f"(upgrade by restoring into a clone on the old release, then upgrading it)"
        )
    bad = check_parts(target, manifest)
    if bad:
        raise FleetError(
            f"{manifest.id} fails verification, nothing was changed: " + "; ".join(bad)
        )
    drill = verification(target, manifest.ref, manifest.id)
    if drill is not None and not drill.ok:
        raise FleetError(
            f"{manifest.id}'s last restore drill failed ({drill.details}); nothing was changed"
        )


def load_data(
    project: Project, target: Target, manifest: Manifest, key: x25519.Identity, report: Report
) -> None:
    """Replace the (stopped) project's volumes and database with the backup's."""
    client = project.engine.docker
    image = _db_image(client, manifest, project)
    volumes = {
        part.target: volume_name(project.ref, part.target)
        for part in manifest.parts
        if part.kind == "volume"
    }
    with project.engine.errors():
        with dump.volume_helper(client, image, project.ref, volumes, running=True) as helper:
            for part in manifest.parts:
                if part.kind == "volume":
                    report(f"restoring volume {part.target}")
                    _feed(
                        dump.replace_volume(client, helper, part.target),
                        target,
                        manifest,
                        part,
                        key,
                    )
        mounts = {volume_name(project.ref, k): path for k, path in DB_MOUNTS.items()}
        report("initialising a fresh database cluster")
        with dump.scratch_db(
            client, image, manifest.db_command, ref=project.ref, volumes=mounts, fresh=True
        ) as conn:
            counts = load_cluster(client, conn, target, manifest, key, report)
    problems = count_differences(manifest, counts)
    if problems:
        raise FleetError("restored row counts differ from the backup: " + "; ".join(problems[:5]))


def restore(
    project: Project,
    target: Target,
    manifest: Manifest,
    key: x25519.Identity,
    report: Report,
    confirm: Callable[[str], bool],
    *,
    checked: bool = False,
) -> str:
    """Put ``project`` back as it was at ``manifest`` (``checked``: preflight already ran).

    A running project is stopped for the load and started again; a paused one stays paused.
    """
    if not checked:
        preflight(target, manifest, project)
    if not confirm(f"Replace the database and volumes of {project.ref} with {manifest.id}? [y/N] "):
        raise FleetError("nothing restored (confirm, or pass --yes)")
    was_paused = project.stack.paused
    if not was_paused:
        report("stopping the project")
        project.set_paused(True, report)
    try:
        load_data(project, target, manifest, key, report)
    except Exception as exc:
        raise RuntimeError(
            f"{exc}; the project stays paused with its data partly replaced: run the same "
            f"restore again (the backup is unchanged)"
        ) from exc
    if was_paused:
        return (
            f"restored from {manifest.id}; PAUSED as before "
            f"(`supabase-fleet resume {project.ref}` starts it)"
        )
    report("starting the project")
    project.set_paused(False, report)
    project.wait_active()
    return f"restored from {manifest.id}; ACTIVE"


def clone(
    ctx: FleetContext,
    new_ref: str,
    target: Target,
    manifest: Manifest,
    key: x25519.Identity,
    report: Report,
    *,
    host: str | None,
) -> str:
    """A new project ``new_ref`` (own slot, ports, names) from another project's backup."""
    bad = check_parts(target, manifest)
    if bad:
        raise FleetError(f"{manifest.id} fails verification, nothing was made: " + "; ".join(bad))
    secrets_part, stack_part = manifest.part("secrets"), manifest.part("stack")
    if secrets_part is None or stack_part is None:
        raise FleetError(f"{manifest.id} lacks the stack file or secrets a clone needs")
    secrets = json.loads(read_part(target, manifest, secrets_part, key))
    missing = [name for name in SECRET_KEYS[:2] if name not in secrets]
    if missing:
        raise FleetError(f"{manifest.id} does not hold {', '.join(missing)}; it cannot be cloned")
    source = yaml.safe_load(read_part(target, manifest, stack_part, key)) or {}
    settings = {**clone_settings(source), "paused": True}
    release = RELEASES.get(str(settings.get("release", DEFAULT_RELEASE)))
    if release is None or release.postgres_major != manifest.postgres_major:
        raise FleetError(
            f"{manifest.id} holds Postgres {manifest.postgres_major} data, which "
            f"its stack's release does not run; it cannot be cloned as it is"
        )
    drill = verification(target, manifest.ref, manifest.id)
    if drill is not None and not drill.ok:
        raise FleetError(f"{manifest.id}'s last restore drill failed ({drill.details})")
    backend = set(ctx.workspace.list_stacks())
    plan = place(ctx, [new_ref], count=1, host=host, extra=settings, backend=backend)[0]
    project = Project(ctx, new_ref)
    for name in SECRET_KEYS:
        if name in secrets:
            ctx.workspace.set_secret(project.stack.name, name, secrets[name])
    report(f"creating {new_ref} (paused) on {plan.spec.name}, slot {plan.slot}")
    try:
        project.set_paused(True, report)
        load_data(project, target, manifest, key, report)
        report("starting the clone")
        project.set_paused(False, report)
        project.wait_active()
    except Exception as exc:
        raise RuntimeError(
            f"{exc}; the clone is incomplete: remove it with `supabase-fleet delete {new_ref} "
            f"--delete-data --yes` and clone again"
        ) from exc
    return f"cloned {manifest.id} into {new_ref} (slot {plan.slot}); ACTIVE"
