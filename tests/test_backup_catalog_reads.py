"""Reading backups back: manifests, parts, checksums and verification records on a target."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pyrage import x25519

from automation.backups import archive, catalog, retention, targets
from automation.backups.manifest import FORMAT, MANIFEST, Manifest, Part, new_id, parse_id
from automation.errors import FleetError

REF = "shop"
ID = "shop-20260102T030405Z"


@pytest.fixture
def key(tmp_path: Path) -> x25519.Identity:
    return archive.ensure_key(tmp_path / "home")


def _manifest(parts: list[Part]) -> Manifest:
    return Manifest(
        id=ID,
        ref=REF,
        created="2026-01-02T03:04:05+00:00",
        release="2024-04",
        postgres_major=15,
        postgres_version="15.6",
        db_image="supabase/postgres:15",
        db_command=["postgres", "-c", "x=1"],
        images={"db": "supabase/postgres:15"},
        databases=["postgres"],
        roles=["anon"],
        row_counts={"postgres": {"public.t": 3}},
        parts=parts,
    )


def _store(tmp_path: Path, key, payloads: dict[str, tuple[str, str, bytes]]):
    """A committed backup holding ``payloads`` (file name -> (kind, target, data))."""
    target = targets.LocalTarget(tmp_path / "backups")
    staging = target.stage(REF, ID)
    parts = []
    for name, (kind, where, data) in payloads.items():
        with staging.part(f"{name}.zst.age") as write:
            sealed = archive.seal([data], write, key)
        parts.append(Part(name, kind, sealed.size, sealed.stored, sealed.sha256, where))
    manifest = _manifest(parts)
    with staging.part(MANIFEST) as write:
        archive.seal([manifest.to_json()], write, key)
    staging.commit()
    return target, manifest


def test_manifest_round_trips_and_finds_parts_by_kind_and_target():
    parts = [
        Part("globals", "globals", 10, 7, "a" * 64),
        Part("db-postgres", "database", 100, 40, "b" * 64, "postgres"),
        Part("vol-storage", "volume", 50, 20, "c" * 64, "storage"),
    ]
    manifest = _manifest(parts)
    again = Manifest.from_json(manifest.to_json())
    assert again == manifest
    assert again.parts[1].file == "db-postgres.zst.age"
    assert again.part("database", "postgres") is again.parts[1]
    assert again.part("globals") is again.parts[0]
    assert again.part("database") is None  # a database part always names its database
    assert again.part("volume", "postgres") is None
    assert again.total_stored == 67
    assert again.offline is False and again.format == FORMAT


def test_manifest_of_another_format_is_refused_with_both_versions():
    raw = json.loads(_manifest([]).to_json())
    raw["format"] = FORMAT + 1
    with pytest.raises(FleetError, match=f"format {FORMAT + 1} is not supported.*want {FORMAT}"):
        Manifest.from_json(json.dumps(raw).encode())
    del raw["format"]
    with pytest.raises(FleetError, match="format None"):
        Manifest.from_json(json.dumps(raw).encode())


@pytest.fixture
def tokyo_clock(monkeypatch):
    """The machine's zone set to UTC+9, so a local time cannot pass for UTC."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_backup_ids_are_utc_whatever_the_clock_zone(tokyo_clock):
    local = datetime(2026, 3, 4, 1, 2, 3, tzinfo=timezone(timedelta(hours=2)))
    assert new_id("app", local) == "app-20260303T230203Z"
    ref, moment = parse_id(new_id("my-app-2"))
    assert ref == "my-app-2"
    assert abs(datetime.now(timezone.utc) - moment) < timedelta(minutes=5)
    assert moment.tzinfo == timezone.utc


@pytest.mark.parametrize(
    "bad",
    [
        "Shop-20260101T000000Z",
        "-20260101T000000Z",
        "shop-20260101T000000",
        "x shop-20260101T000000Z",
    ],
)
def test_malformed_backup_ids_are_named_with_the_listing_command(bad):
    with pytest.raises(FleetError) as error:
        parse_id(bad)
    assert repr(bad) in str(error.value)
    assert "<ref>-YYYYMMDDTHHMMSSZ" in str(error.value)
    assert "supabase-fleet backups" in str(error.value)


def test_find_names_the_target_and_the_listing_for_unknown_ids(tmp_path: Path, key):
    target, _ = _store(tmp_path, key, {})
    assert catalog.find(target, ID) == (REF, ID)
    other = "shop-20260102T030406Z"
    with pytest.raises(FleetError) as error:
        catalog.find(target, other)
    message = str(error.value)
    assert repr(other) in message and target.description in message
    assert f"supabase-fleet backups {REF}" in message


def test_manifest_and_parts_read_back_with_the_key(tmp_path: Path, key):
    target, manifest = _store(tmp_path, key, {"globals": ("globals", "", b"CREATE ROLE x;")})
    loaded = catalog.load_manifest(target, REF, ID, key)
    assert loaded == manifest
    assert catalog.read_part(target, loaded, loaded.parts[0], key) == b"CREATE ROLE x;"
    assert catalog.check_parts(target, loaded) == []


def test_wrong_key_for_the_manifest_is_a_fleet_error(tmp_path: Path, key):
    target, _ = _store(tmp_path, key, {})
    with pytest.raises(FleetError, match="wrong backup key"):
        catalog.load_manifest(target, REF, ID, x25519.Identity.generate())


def test_part_differing_from_the_manifest_is_refused_and_reported(tmp_path: Path, key):
    target, manifest = _store(
        tmp_path, key, {"globals": ("globals", "", b"roles"), "db": ("database", "postgres", b"d")}
    )
    forged = Part("globals", "globals", 5, manifest.parts[0].stored, "0" * 64)
    with pytest.raises(FleetError, match=f"{ID}/globals.zst.age: sha256 differs"):
        catalog.read_part(target, manifest, forged, key)
    with pytest.raises(FleetError, match="wrong backup key"):
        catalog.read_part(target, manifest, manifest.parts[0], x25519.Identity.generate())

    stored = tmp_path / "backups" / REF / ID
    (stored / "db.zst.age").write_bytes(b"truncated")
    (stored / "globals.zst.age").unlink()
    bad = catalog.check_parts(target, manifest)
    assert len(bad) == 2
    assert bad[0].startswith("globals.zst.age: ")
    assert bad[1] == "db.zst.age: sha256 differs from the manifest (changed or truncated)"


def test_verification_is_recorded_and_read_back(tmp_path: Path, key):
    target, _ = _store(tmp_path, key, {})
    assert catalog.verification(target, REF, ID) is None
    before = datetime.now(timezone.utc).replace(microsecond=0)
    recorded = catalog.record_verification(target, REF, ID, False, "rows differ")
    assert catalog.verification(target, REF, ID) == recorded
    assert recorded.ok is False and recorded.details == "rows differ"
    assert datetime.fromisoformat(recorded.checked) >= before
    assert recorded.describe() == f"FAILED {recorded.checked[:16]}"
    assert len(recorded.checked[:16]) == 16 and "." not in recorded.checked
    good = catalog.Verification(True, "2026-01-02T03:04:05+00:00", "")
    assert good.describe() == "verified 2026-01-02T03:04"


def test_retention_deletes_oldest_first_whatever_the_ids():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    backups = [("z", start), ("a", start + timedelta(days=1)), ("m", start + timedelta(days=2))]
    assert retention.to_delete(backups, retention.Policy(keep_last=1)) == ["z", "a"]


def test_a_manifest_opened_by_hand_is_indented_sorted_json():
    """`age -d -i backup.key manifest... | zstd -d` shows one field per line, sorted."""
    text = _manifest([Part("globals", "globals", 10, 7, "a" * 64)]).to_json().decode()
    lines = text.splitlines()
    top = [line for line in lines if line.startswith(' "')]  # one space: the first level
    names = [line.split('"')[1] for line in top]
    assert names == sorted(names) and "db_image" in names and "row_counts" in names
    assert lines[0] == "{" and lines[-1] == "}"
    assert '  "postgres": {' in lines  # the second level is indented again, one space more


def test_unreadable_manifests_and_parts_are_named_by_backup_and_file(tmp_path: Path, key):
    target, manifest = _store(tmp_path, key, {"globals": ("globals", "", b"roles")})
    wrong = x25519.Identity.generate()
    with pytest.raises(FleetError, match=rf"^{ID}/{MANIFEST}: cannot decrypt"):
        catalog.load_manifest(target, REF, ID, wrong)
    with pytest.raises(FleetError, match=rf"^{ID}/globals\.zst\.age: cannot decrypt"):
        catalog.read_part(target, manifest, manifest.parts[0], wrong)
