"""Where backups land: a local directory or an S3 prefix, complete backups only, errors named."""

from __future__ import annotations

import os
from pathlib import Path

import boto3
import botocore.exceptions
import pytest
from moto import mock_aws

from automation.backups import targets
from automation.backups.manifest import MANIFEST
from automation.errors import FleetError

ID = "shop-20260101T000000Z"


def _write_backup(target, ref: str, backup_id: str, parts: dict[str, bytes]) -> None:
    staging = target.stage(ref, backup_id)
    for name, data in parts.items():
        with staging.part(name) as write:
            write(data)
    staging.commit()


def test_local_backup_exists_once_and_a_stale_partial_is_replaced(tmp_path: Path):
    target = targets.LocalTarget(tmp_path / "b")
    stale = tmp_path / "b" / "shop" / f".{ID}.partial"
    stale.mkdir(parents=True)
    (stale / "old.zst.age").write_bytes(b"left by a crash")
    _write_backup(target, "shop", ID, {"a.zst.age": b"a", MANIFEST: b"m"})
    assert sorted(os.listdir(tmp_path / "b" / "shop" / ID)) == ["a.zst.age", MANIFEST]
    assert not stale.exists()
    with pytest.raises(FleetError, match=f"backup {ID} exists already in {tmp_path / 'b'}"):
        target.stage("shop", ID)


def test_local_listing_skips_hidden_unfinished_and_stray_entries(tmp_path: Path):
    target = targets.LocalTarget(tmp_path / "b")
    assert target.backups() == []  # no directory yet
    _write_backup(target, "web", "web-20260102T000000Z", {MANIFEST: b"m"})
    _write_backup(target, "api", "api-20260101T000000Z", {MANIFEST: b"m"})
    _write_backup(target, "api", "api-20260103T000000Z", {"a.zst.age": b"no manifest"})
    root = tmp_path / "b"
    (root / ".trash" / "x").mkdir(parents=True)
    (root / ".trash" / "x" / MANIFEST).write_bytes(b"m")
    (root / "api" / ".api-20260104T000000Z.partial").mkdir()
    (root / "api" / ".api-20260104T000000Z.partial" / MANIFEST).write_bytes(b"m")
    (root / "api" / "api-20260105T000000Z").mkdir()
    (root / "api" / "api-20260105T000000Z" / MANIFEST).mkdir()  # not a file
    (root / "notes.txt").write_text("a file beside the projects")
    assert target.backups() == [("api", "api-20260101T000000Z"), ("web", "web-20260102T000000Z")]


def test_local_small_files_missing_parts_and_delete(tmp_path: Path):
    target = targets.LocalTarget(tmp_path / "b")
    _write_backup(target, "shop", ID, {MANIFEST: b"m"})
    folder = tmp_path / "b" / "shop" / ID
    assert target.get_small("shop", ID, "verify.json") is None
    target.put_small("shop", ID, "verify.json", b"{1}")
    target.put_small("shop", ID, "verify.json", b"{2}")
    assert target.get_small("shop", ID, "verify.json") == b"{2}"
    assert sorted(os.listdir(folder)) == [MANIFEST, "verify.json"]  # no temporary left
    with target.open("shop", ID, MANIFEST) as stored:
        assert stored.read() == b"m"
    with pytest.raises(targets.TargetError) as error:
        target.open("shop", ID, "db.zst.age")
    assert str(error.value) == f"{folder / 'db.zst.age'} is missing: the backup is incomplete"
    target.delete("shop", ID)
    assert not folder.exists() and target.backups() == []


def test_local_write_errors_are_target_errors_naming_the_place(tmp_path: Path):
    target = targets.LocalTarget(tmp_path / "b")
    staging = target.stage("shop", ID)
    with staging.part("a.zst.age") as write:
        write(b"a")
    with (
        pytest.raises(targets.TargetError, match=r"\.partial: File exists"),
        staging.part("a.zst.age") as write,
    ):
        write(b"again")
    (tmp_path / "b" / "shop" / ID).mkdir()
    (tmp_path / "b" / "shop" / ID / "x").write_text("in the way")
    with pytest.raises(targets.TargetError, match=f"{ID}: Directory not empty"):
        staging.commit()
    staging.abort()
    assert not staging.temp.exists()


def test_target_spec_from_option_environment_or_home(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.chdir(tmp_path)
    env = {targets.TARGET_ENV: str(tmp_path / "from-env")}
    assert targets.target_from(None, tmp_path, env).root == tmp_path / "from-env"
    assert targets.target_from("rel/dir", tmp_path, env).root == tmp_path / "rel" / "dir"
    assert targets.target_from("~/bk", tmp_path, {}).root == tmp_path / "user" / "bk"
    assert targets.target_from("file:///srv/bk", tmp_path, {}).root == Path("/srv/bk")
    assert targets.target_from("", tmp_path, {targets.TARGET_ENV: ""}).root == tmp_path / "backups"
    monkeypatch.setenv(targets.TARGET_ENV, str(tmp_path / "process-env"))
    assert targets.target_from(None, tmp_path).root == tmp_path / "process-env"


def test_s3_spec_gives_bucket_prefix_and_endpoint(tmp_path: Path):
    with mock_aws():
        s3 = targets.target_from("s3://bkt/a/b/", tmp_path, {targets.S3_ENDPOINT_ENV: ""})
        assert (s3.bucket, s3.prefix, s3.endpoint) == ("bkt", "a/b/", None)
        assert s3.description == "s3://bkt/a/b/"
        bare = targets.target_from("s3://bkt", tmp_path, {targets.S3_ENDPOINT_ENV: "http://h:1"})
        assert (bare.prefix, bare.endpoint) == ("", "http://h:1")
        assert bare.description == "s3://bkt/ at http://h:1"
        assert targets.S3Target("bkt", "/", None).prefix == ""


@pytest.fixture
def bucket(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="bkt")
        yield client


def test_s3_listing_needs_the_manifest_at_the_backup_level(bucket):
    target = targets.S3Target("bkt", "fleet", None)
    for key in (
        f"fleet/shop/{ID}/{MANIFEST}",
        f"fleet/shop/{ID}/a.zst.age",
        "fleet/web/web-20260101T000000Z/a.zst.age",
        f"fleet/deep/x/y/{MANIFEST}",
        f"other/api/api-20260101T000000Z/{MANIFEST}",
    ):
        bucket.put_object(Bucket="bkt", Key=key, Body=b"x")
    assert target.backups() == [("shop", ID)]


def test_s3_parts_are_split_at_the_part_size_and_empty_parts_exist(bucket, monkeypatch):
    monkeypatch.setattr(targets, "PART_SIZE", 5 << 20)
    target = targets.S3Target("bkt", "p", None)
    staging = target.stage("shop", ID)
    exact = os.urandom(5 << 20)
    with staging.part("exact.zst.age") as write:
        write(exact[:100])
        write(exact[100:])
    with staging.part("empty.zst.age"):
        pass
    with staging.part(MANIFEST) as write:
        write(b"m")
    staging.commit()
    with target.open("shop", ID, "exact.zst.age") as stored:
        assert stored.read() == exact
    head = bucket.head_object(Bucket="bkt", Key=f"p/shop/{ID}/exact.zst.age", PartNumber=1)
    assert head["PartsCount"] == 1  # exactly one part: no empty second part
    assert target.get_small("shop", ID, "empty.zst.age") == b""
    assert target.backups() == [("shop", ID)]


def test_s3_abort_removes_finished_parts_and_open_uploads(bucket):
    target = targets.S3Target("bkt", "p", None)
    staging = target.stage("shop", ID)
    with staging.part("a.zst.age") as write:
        write(b"done")
    with pytest.raises(RuntimeError), staging.part("b.zst.age") as write:
        write(b"half")
        raise RuntimeError("source broke")
    assert len(bucket.list_multipart_uploads(Bucket="bkt").get("Uploads", [])) == 1
    staging.abort()
    assert not bucket.list_multipart_uploads(Bucket="bkt").get("Uploads")
    assert bucket.list_objects_v2(Bucket="bkt").get("KeyCount") == 0


def test_s3_errors_name_the_target(bucket):
    missing = targets.S3Target("nobucket", "p", None)
    with pytest.raises(targets.TargetError, match=r"^s3://nobucket/p/: "):
        missing.stage("shop", ID)
    with pytest.raises(targets.TargetError, match="NoSuchBucket"):
        missing.get_small("shop", ID, "verify.json")  # not "absent": the bucket is gone
    target = targets.S3Target("bkt", "p", None)
    target.put_small("shop", ID, "verify.json", b"{}")
    target.put_small("web", ID, "verify.json", b"{}")
    target.delete("shop", ID)
    keys = [item["Key"] for item in bucket.list_objects_v2(Bucket="bkt")["Contents"]]
    assert keys == [f"p/web/{ID}/verify.json"]


def test_missing_s3_credentials_name_the_variables(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches earlier tests' credentials
    target = targets.S3Target("bkt", "", "http://127.0.0.1:9")
    with pytest.raises(targets.TargetError) as error:
        target.stage("shop", ID)
    assert str(error.value) == (
        "no S3 credentials for s3://bkt/ at http://127.0.0.1:9: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (or an AWS profile)"
    )


@pytest.fixture
def open_umask():
    """A umask that takes nothing away, so the modes seen are the ones the code asks for."""
    before = os.umask(0)
    yield
    os.umask(before)


def test_local_folders_are_the_owners_only_whatever_the_umask(tmp_path: Path, open_umask):
    target = targets.LocalTarget(tmp_path / "b")
    staging = target.stage("shop", ID)
    modes = {
        path.name: path.stat().st_mode & 0o777
        for path in (tmp_path / "b", tmp_path / "b" / "shop", staging.temp)
    }
    assert modes == {"b": 0o700, "shop": 0o700, f".{ID}.partial": 0o700}


class _Unreachable:
    """An S3 client whose every call fails as an unreachable endpoint does."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def _fail(self, call: str, key: str) -> None:
        self.asked.append((call, key))
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9")

    def abort_multipart_upload(self, Bucket: str, Key: str, UploadId: str) -> None:
        self._fail("abort", Key)

    def delete_object(self, Bucket: str, Key: str) -> None:
        self._fail("delete", Key)


def test_s3_abort_tries_every_part_even_when_the_endpoint_is_gone(bucket):
    target = targets.S3Target("bkt", "p", None)
    staging = target.stage("shop", ID)
    with staging.part("a.zst.age") as write:
        write(b"done")
    with pytest.raises(RuntimeError), staging.part("b.zst.age") as write:
        raise RuntimeError("source broke")
    target.s3 = _Unreachable()
    staging.abort()  # the backup already failed: cleaning up must not hide why
    assert target.s3.asked == [
        ("abort", f"p/shop/{ID}/b.zst.age"),
        ("delete", f"p/shop/{ID}/a.zst.age"),
    ]


def test_an_unreachable_endpoint_is_tried_a_few_times_then_named(monkeypatch):
    for name, value in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):  # fmt: skip
        monkeypatch.setenv(name, value)
    target = targets.S3Target("bkt", "p", "http://127.0.0.1:9")
    tries: list[str] = []
    target.s3.meta.events.register("before-send", lambda request, **_: tries.append(request.url))
    with pytest.raises(targets.TargetError, match="is unreachable"):
        target.stage("shop", ID)
    assert tries == ["http://127.0.0.1:9/bkt"] * 4  # the first try and 3 retries
    assert target.s3.meta.config.connect_timeout == 5  # a dead host fails in seconds
