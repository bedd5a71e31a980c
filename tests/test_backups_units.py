"""Sealed parts, targets (a real directory, a real tmpfs, moto's S3 server) and retention."""

from __future__ import annotations

import io
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from backup_harness import s3_bucket
from pyrage import x25519

from automation.backups import archive, retention, targets
from automation.backups.manifest import MANIFEST, new_id, parse_id
from automation.errors import FleetError

DATA = [os.urandom(4096) + b"sql " * 50_000 for _ in range(20)]


def sealed(key) -> bytes:
    buffer = bytearray()
    archive.seal(DATA, buffer.extend, key)
    return bytes(buffer)


@pytest.fixture
def key(tmp_path: Path):
    return archive.ensure_key(tmp_path)


def test_seal_round_trip_and_key_file(tmp_path: Path, key):
    data = sealed(key)
    assert archive.unseal_bytes(io.BytesIO(data), key, what="p") == b"".join(DATA)
    assert len(data) < len(b"".join(DATA)) / 3  # compressed before encryption
    assert (tmp_path / "backup.key").stat().st_mode & 0o777 == 0o600
    assert str(archive.ensure_key(tmp_path).to_public()) == str(key.to_public())  # kept


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[: len(d) // 2],  # truncated
        lambda d: d[:-1],
        lambda d: d[:200] + bytes([d[200] ^ 1]) + d[201:],  # one bit flipped
        lambda d: d[:-70000] + bytes([d[-70000] ^ 1]) + d[-69999:],
    ],
)
def test_damaged_part_is_refused(key, damage):
    with pytest.raises(archive.ArchiveError, match="truncated or was changed|damaged"):
        archive.unseal_bytes(io.BytesIO(damage(sealed(key))), key, what="p")


def test_wrong_key_is_named(key):
    with pytest.raises(archive.ArchiveError, match="wrong backup key"):
        archive.unseal_bytes(io.BytesIO(sealed(key)), x25519.Identity.generate(), what="p")


def test_key_readable_by_others_is_refused(tmp_path: Path, key):
    (tmp_path / "backup.key").chmod(0o644)
    with pytest.raises(FleetError, match="chmod 600"):
        archive.load_key(tmp_path / "backup.key")


def test_local_target_commits_whole_or_nothing(tmp_path: Path, key):
    target = targets.LocalTarget(tmp_path / "b")
    staging = target.stage("shop", "shop-20260101T000000Z")
    with staging.part("a.zst.age") as write:
        archive.seal(DATA, write, key)
    assert target.backups() == []  # not visible before the manifest and the rename
    with staging.part(MANIFEST) as write:
        write(b"m")
    staging.commit()
    assert target.backups() == [("shop", "shop-20260101T000000Z")]
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o700

    failing = target.stage("shop", "shop-20260102T000000Z")
    with pytest.raises(RuntimeError), failing.part("a.zst.age") as write:
        write(b"half")
        raise RuntimeError("source broke")
    failing.abort()
    assert sorted(os.listdir(tmp_path / "b" / "shop")) == ["shop-20260101T000000Z"]


def test_target_directory_disappearing_mid_write_is_an_error(tmp_path: Path, key):
    target = targets.LocalTarget(tmp_path / "b")
    staging = target.stage("shop", "shop-20260101T000000Z")

    def chunks():
        yield DATA[0]
        subprocess.run(["rm", "-rf", str(tmp_path / "b")], check=True)
        yield from DATA[1:]

    with pytest.raises(targets.TargetError):
        with staging.part("a.zst.age") as write:
            archive.seal(chunks(), write, key)
        staging.commit()
    staging.abort()
    assert target.backups() == []


@pytest.fixture
def small_disk(tmp_path: Path):
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI runs as root to mount a tmpfs", pytrace=False)
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_is_named_and_leaves_nothing(small_disk: Path, key):
    target = targets.LocalTarget(small_disk / "b")
    staging = target.stage("shop", "shop-20260101T000000Z")
    big = [os.urandom(1 << 16) for _ in range(16)]  # incompressible, 1 MiB
    with (
        pytest.raises(targets.TargetError, match="disk is full"),
        staging.part("a.zst.age") as write,
    ):
        archive.seal(big, write, key)
    staging.abort()
    assert os.listdir(small_disk / "b" / "shop") == []


@pytest.fixture
def s3(monkeypatch):
    with s3_bucket(monkeypatch) as (endpoint, bucket):
        target = targets.target_from(
            f"s3://{bucket}/fleet/", Path("/nonexistent"), {targets.S3_ENDPOINT_ENV: endpoint}
        )
        yield boto3.client("s3", endpoint_url=endpoint), bucket, target


def test_s3_target_round_trip(s3, key, monkeypatch):
    client, bucket, target = s3
    monkeypatch.setattr(targets, "PART_SIZE", 5 << 20)  # several multipart parts
    big = [os.urandom(1 << 20) for _ in range(12)]
    staging = target.stage("shop", "shop-20260101T000000Z")
    with staging.part("a.zst.age") as write:
        result = archive.seal(big, write, key)
    assert target.backups() == []
    with staging.part(MANIFEST) as write:
        write(b"m")
    staging.commit()
    assert target.backups() == [("shop", "shop-20260101T000000Z")]
    stored = target.open("shop", "shop-20260101T000000Z", "a.zst.age")
    assert archive.sha256_of(stored) == result.sha256
    stored = target.open("shop", "shop-20260101T000000Z", "a.zst.age")
    assert archive.unseal_bytes(stored, key, what="a") == b"".join(big)
    target.put_small("shop", "shop-20260101T000000Z", "verify.json", b"{}")
    assert target.get_small("shop", "shop-20260101T000000Z", "verify.json") == b"{}"
    assert target.get_small("shop", "shop-20260101T000000Z", "nothing.json") is None
    target.delete("shop", "shop-20260101T000000Z")
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_s3_failure_mid_write_aborts_the_upload(s3, key, monkeypatch):
    client, bucket, target = s3
    monkeypatch.setattr(targets, "PART_SIZE", 5 << 20)
    staging = target.stage("shop", "shop-20260101T000000Z")
    with staging.part("done.zst.age") as write:
        write(b"finished part")

    def chunks():
        yield from (os.urandom(1 << 20) for _ in range(7))
        raise OSError("engine went away")

    with pytest.raises(OSError), staging.part("a.zst.age") as write:
        archive.seal(chunks(), write, key)
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads")  # one was open
    staging.abort()
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_unreachable_s3_endpoint_is_named(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    target = targets.S3Target("bucket", "p", "http://127.0.0.1:9")
    with pytest.raises(targets.TargetError, match="unreachable"):
        target.stage("shop", "shop-20260101T000000Z")


def test_bad_target_spec_is_refused(tmp_path: Path):
    with pytest.raises(FleetError, match="names no bucket"):
        targets.target_from("s3:///x", tmp_path, {})
    with pytest.raises(FleetError, match="s3://BUCKET"):
        targets.target_from("ftp://host/x", tmp_path, {})
    assert targets.target_from(None, tmp_path, {}).root == tmp_path / "backups"


def test_ids_round_trip_and_bad_ids_are_named():
    moment = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert parse_id(new_id("my-shop", moment)) == ("my-shop", moment)
    with pytest.raises(FleetError, match="not a backup id"):
        parse_id("shop-yesterday")


def _series(days: int, per_day: int) -> list[tuple[str, datetime]]:
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)  # a Thursday
    return [
        (f"b{d:02d}{h}", start + timedelta(days=d, hours=6 * h))
        for d in range(days)
        for h in range(per_day)
    ]


def test_retention_keeps_last_daily_weekly():
    backups = _series(30, 2)
    newest = sorted(backups, key=lambda b: b[1])[-1][0]
    assert set(retention.to_keep(backups, retention.Policy(keep_last=3))) == {
        "b291", "b290", "b281"}  # fmt: skip
    daily = retention.to_keep(backups, retention.Policy(keep_daily=7))
    assert daily == {f"b{d:02d}1" for d in range(23, 30)}  # newest of each of the last 7 days
    weekly = retention.to_keep(backups, retention.Policy(keep_weekly=2))
    # 2026-01-30 (Fri) is in ISO week 5; week 4 ends on Sunday 2026-01-25 (day index 24).
    assert weekly == {newest, "b241"}
    both = retention.Policy(keep_last=1, keep_weekly=2)
    assert retention.to_keep(backups, both) == weekly
    deleted = retention.to_delete(backups, both)
    assert len(deleted) == len(backups) - 2 and newest not in deleted
    assert retention.to_delete(backups, retention.Policy()) == []
