"""Finding, reading and checking backups on a target, and their verification records."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from pyrage import x25519

from automation.backups.archive import ArchiveError, sha256_of, unseal, unseal_bytes
from automation.backups.manifest import MANIFEST, VERIFY, Manifest, Part, parse_id
from automation.backups.targets import Target
from automation.errors import FleetError


@dataclass(frozen=True)
class Verification:
    """The last restore drill of a backup."""

    ok: bool
    checked: str
    details: str

    def describe(self) -> str:
        return f"{'verified' if self.ok else 'FAILED'} {self.checked[:16]}"


def find(target: Target, backup_id: str) -> tuple[str, str]:
    """(ref, id) of an existing backup; an unknown id names where it looked."""
    ref, _ = parse_id(backup_id)
    if (ref, backup_id) not in target.backups():
        raise FleetError(
            f"no backup {backup_id!r} in {target.description}; `supabase-fleet backups "
            f"{ref}` lists that project's backups"
        )
    return ref, backup_id


def load_manifest(target: Target, ref: str, backup_id: str, key: x25519.Identity) -> Manifest:
    """Decrypt a backup's manifest; a wrong key or a damaged manifest is a FleetError."""
    with contextlib.closing(target.open(ref, backup_id, MANIFEST)) as stored:
        try:
            return Manifest.from_json(unseal_bytes(stored, key, what=f"{backup_id}/{MANIFEST}"))
        except ArchiveError as exc:
            raise FleetError(str(exc)) from exc


def read_part(target: Target, manifest: Manifest, part: Part, key: x25519.Identity) -> bytes:
    """A small part in memory, checked against the manifest."""
    buffer = bytearray()
    with contextlib.closing(target.open(manifest.ref, manifest.id, part.file)) as stored:
        try:
            digest = unseal(stored, buffer.extend, key, what=f"{manifest.id}/{part.file}")
        except ArchiveError as exc:
            raise FleetError(str(exc)) from exc
    if digest != part.sha256:
        raise FleetError(f"{manifest.id}/{part.file}: sha256 differs from the manifest")
    return bytes(buffer)


def check_parts(target: Target, manifest: Manifest) -> list[str]:
    """Parts whose stored bytes do not match the manifest's sha256 (missing ones too)."""
    bad = []
    for part in manifest.parts:
        try:
            with contextlib.closing(target.open(manifest.ref, manifest.id, part.file)) as stored:
                digest = sha256_of(stored)
        except Exception as exc:  # a missing or unreadable part is a failed check, named
            bad.append(f"{part.file}: {exc}")
            continue
        if digest != part.sha256:
            bad.append(f"{part.file}: sha256 differs from the manifest (changed or truncated)")
    return bad


def verification(target: Target, ref: str, backup_id: str) -> Verification | None:
    raw = target.get_small(ref, backup_id, VERIFY)
    return Verification(**json.loads(raw)) if raw else None


def record_verification(
    target: Target, ref: str, backup_id: str, ok: bool, details: str
) -> Verification:
    result = Verification(ok, datetime.now(timezone.utc).isoformat(timespec="seconds"), details)
    target.put_small(ref, backup_id, VERIFY, json.dumps(result.__dict__).encode())
    return result
