"""The restore drill: load a backup into a scratch Postgres and compare it with its manifest.

The scratch container runs the backup's own db image on the project's engine, with no
network and no volume of any project, and is removed afterwards. The drill passes when
every part matches its sha256 and decrypts, every role is back, and every table holds the
rows the manifest counted in the dump's snapshot. The result is stored beside the backup
(``verify.json``) and shown by ``backups``.
"""

from __future__ import annotations

import contextlib

import docker
from pyrage import x25519

from automation.backups import dump
from automation.backups.archive import ArchiveError, unseal
from automation.backups.backup import Report
from automation.backups.catalog import Verification, check_parts, record_verification
from automation.backups.manifest import Manifest
from automation.backups.restore import count_differences, load_cluster
from automation.backups.targets import Target
from automation.errors import FleetError


def _problems(
    client: docker.DockerClient,
    target: Target,
    manifest: Manifest,
    key: x25519.Identity,
    report: Report,
) -> list[str]:
    problems = check_parts(target, manifest)
    if problems:
        return problems
    for part in manifest.parts:
        if part.kind in ("database", "globals"):
            continue  # the load below decrypts these
        with contextlib.closing(target.open(manifest.ref, manifest.id, part.file)) as stored:
            try:
                unseal(stored, lambda _: None, key, what=part.file)
            except ArchiveError as exc:
                problems.append(str(exc))
    try:
        client.images.get(manifest.db_image)
    except docker.errors.ImageNotFound:
        return [*problems, f"the backup's db image {manifest.db_image} is not on this engine"]
    report("loading into a scratch Postgres")
    with dump.scratch_db(
        client,
        manifest.db_image,
        manifest.db_command,
        ref=f"{manifest.ref}-drill",
        volumes={},
        fresh=True,
    ) as conn:
        try:
            counts = load_cluster(client, conn, target, manifest, key, report)
        except (FleetError, dump.DumpError) as exc:
            return [*problems, f"the dump does not load: {exc}"]
        roles = set(dump.query(client, conn, "SELECT rolname FROM pg_roles"))
    missing = sorted(set(manifest.roles) - roles)
    if missing:
        problems.append(f"roles missing after the load: {', '.join(missing)}")
    return problems + count_differences(manifest, counts)


def drill(
    client: docker.DockerClient,
    target: Target,
    manifest: Manifest,
    key: x25519.Identity,
    report: Report,
) -> Verification:
    """Run the drill and record its result; never raises for a failed check."""
    problems = _problems(client, target, manifest, key, report)
    tables = sum(len(t) for t in manifest.row_counts.values())
    details = (
        "; ".join(problems)
        if problems
        else (f"{len(manifest.parts)} parts, {len(manifest.roles)} roles, {tables} tables match")
    )
    return record_verification(target, manifest.ref, manifest.id, not problems, details)
