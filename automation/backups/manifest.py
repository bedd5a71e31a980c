"""The manifest: what one backup holds, enough to check and restore it without the project.

It is sealed like every other part (it names tables and carries row counts), written last:
a backup without a manifest is unfinished and never listed.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

from automation.errors import FleetError

MANIFEST = "manifest.json.zst.age"
VERIFY = "verify.json"
FORMAT = 1
_ID = re.compile(r"^(?P<ref>[a-z0-9][a-z0-9-]*)-(?P<stamp>\d{8}T\d{6}Z)$")


@dataclass(frozen=True)
class Part:
    """One stored part: what it holds and how to check it."""

    name: str
    kind: str
    """``globals`` (roles), ``database``, ``volume``, ``stack``, ``state`` or ``secrets``."""
    size: int
    stored: int
    sha256: str
    target: str = ""
    """The database name or volume key the part restores into."""

    @property
    def file(self) -> str:
        return f"{self.name}.zst.age"


@dataclass
class Manifest:
    """Everything about one backup."""

    id: str
    ref: str
    created: str
    release: str
    postgres_major: int
    postgres_version: str
    db_image: str
    db_command: list[str]
    images: dict[str, str]
    databases: list[str]
    roles: list[str]
    row_counts: dict[str, dict[str, int]]
    parts: list[Part] = field(default_factory=list)
    offline: bool = False
    format: int = FORMAT

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        if raw.get("format") != FORMAT:
            raise FleetError(f"backup format {raw.get('format')} is not supported (want {FORMAT})")
        raw["parts"] = [Part(**part) for part in raw["parts"]]
        return cls(**raw)

    def part(self, kind: str, target: str = "") -> Part | None:
        return next((p for p in self.parts if p.kind == kind and p.target == target), None)

    @property
    def total_stored(self) -> int:
        return sum(part.stored for part in self.parts)


def new_id(ref: str, now: datetime | None = None) -> str:
    """``<ref>-<UTC time>``: sortable, unique per project and second."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return f"{ref}-{moment.strftime('%Y%m%dT%H%M%SZ')}"


def parse_id(backup_id: str) -> tuple[str, datetime]:
    """The ref and time of a backup id; a malformed id is a FleetError."""
    match = _ID.match(backup_id)
    if not match:
        raise FleetError(
            f"{backup_id!r} is not a backup id (<ref>-YYYYMMDDTHHMMSSZ); "
            f"`supabase-fleet backups` lists them"
        )
    stamp = datetime.strptime(match["stamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    return match["ref"], stamp
