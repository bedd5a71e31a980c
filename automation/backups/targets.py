"""Where backups are kept: a local directory (default) or S3-compatible object storage.

A backup is a folder ``<ref>/<id>/`` of sealed parts. Writing goes through a ``Staging``
that either commits whole or leaves nothing: locally the parts go to a hidden temporary
folder renamed into place at the end; on S3 every part is a multipart upload (aborted on
failure, finished parts deleted) and the manifest is written last, so a backup without a
manifest is never listed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

import boto3
import botocore.client
import botocore.exceptions

from automation.backups.manifest import MANIFEST
from automation.errors import FleetError

TARGET_ENV = "SUPABASE_FLEET_BACKUP_TARGET"
S3_ENDPOINT_ENV = "SUPABASE_FLEET_S3_ENDPOINT"
#: S3 multipart parts must be at least 5 MiB (except the last).
PART_SIZE = 16 << 20


class TargetError(Exception):
    """The target failed (disk full, endpoint unreachable...); the message says which."""


class Staging(Protocol):
    """One backup being written."""

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[Callable[[bytes], object]]:
        """A write function for one part; the part is kept only if the block succeeds."""
        ...

    def commit(self) -> None:
        """Make the backup visible, whole."""
        ...

    def abort(self) -> None:
        """Remove everything written so far."""
        ...


class Target(Protocol):
    """A place that keeps backups."""

    description: str

    def stage(self, ref: str, backup_id: str) -> Staging: ...

    def backups(self) -> list[tuple[str, str]]:
        """(ref, id) of every complete backup."""
        ...

    def open(self, ref: str, backup_id: str, name: str) -> BinaryIO: ...

    def put_small(self, ref: str, backup_id: str, name: str, data: bytes) -> None: ...

    def get_small(self, ref: str, backup_id: str, name: str) -> bytes | None: ...

    def delete(self, ref: str, backup_id: str) -> None: ...


def _disk_errors(where: str):
    @contextlib.contextmanager
    def guard() -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise TargetError(
                    f"{where}: the disk is full; free space or use another target"
                ) from exc
            raise TargetError(f"{where}: {exc.strerror or exc}") from exc

    return guard()


@dataclass
class LocalStaging:
    final: Path
    temp: Path

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[Callable[[bytes], object]]:
        with _disk_errors(str(self.temp)), open(self.temp / name, "xb") as handle:
            yield handle.write
            handle.flush()
            os.fsync(handle.fileno())

    def commit(self) -> None:
        with _disk_errors(str(self.final)):
            os.replace(self.temp, self.final)

    def abort(self) -> None:
        shutil.rmtree(self.temp, ignore_errors=True)


class LocalTarget:
    """Backups in a directory: ``<root>/<ref>/<id>/``, owner-only."""

    def __init__(self, root: Path):
        self.root = root
        self.description = str(root)

    def _dir(self, ref: str, backup_id: str) -> Path:
        return self.root / ref / backup_id

    def stage(self, ref: str, backup_id: str) -> LocalStaging:
        final = self._dir(ref, backup_id)
        if final.exists():
            raise FleetError(f"backup {backup_id} exists already in {self.root}")
        temp = final.with_name(f".{backup_id}.partial")
        with _disk_errors(str(self.root)):
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            shutil.rmtree(temp, ignore_errors=True)
            temp.mkdir(mode=0o700)
        return LocalStaging(final, temp)

    def backups(self) -> list[tuple[str, str]]:
        if not self.root.is_dir():
            return []
        return sorted(
            (ref_dir.name, entry.name)
            for ref_dir in self.root.iterdir()
            if ref_dir.is_dir() and not ref_dir.name.startswith(".")
            for entry in ref_dir.iterdir()
            if not entry.name.startswith(".") and (entry / MANIFEST).is_file()
        )

    def open(self, ref: str, backup_id: str, name: str) -> BinaryIO:
        path = self._dir(ref, backup_id) / name
        try:
            return open(path, "rb")
        except FileNotFoundError as exc:
            raise TargetError(f"{path} is missing: the backup is incomplete") from exc

    def put_small(self, ref: str, backup_id: str, name: str, data: bytes) -> None:
        path = self._dir(ref, backup_id) / name
        temp = path.with_name(f".{name}.tmp")
        with _disk_errors(str(path)):
            temp.write_bytes(data)
            os.replace(temp, path)

    def get_small(self, ref: str, backup_id: str, name: str) -> bytes | None:
        path = self._dir(ref, backup_id) / name
        return path.read_bytes() if path.is_file() else None

    def delete(self, ref: str, backup_id: str) -> None:
        shutil.rmtree(self._dir(ref, backup_id))


class _S3Staging:
    def __init__(self, target: S3Target, prefix: str):
        self._target = target
        self._prefix = prefix
        self._written: list[str] = []
        self._uploads: list[tuple[str, str]] = []

    @contextlib.contextmanager
    def part(self, name: str) -> Iterator[Callable[[bytes], object]]:
        s3, bucket = self._target.s3, self._target.bucket
        key = f"{self._prefix}{name}"
        with self._target.errors():
            upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self._uploads.append((key, upload))
        done: list[dict] = []
        buffer = bytearray()

        def flush() -> None:
            number = len(done) + 1
            with self._target.errors():
                answer = s3.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=bytes(buffer)
                )
            done.append({"PartNumber": number, "ETag": answer["ETag"]})
            buffer.clear()

        def write(data: bytes) -> None:
            buffer.extend(data)
            if len(buffer) >= PART_SIZE:
                flush()

        yield write
        if buffer or not done:
            flush()
        with self._target.errors():
            s3.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": done}
            )
        self._uploads.remove((key, upload))
        self._written.append(key)

    def commit(self) -> None:
        """The manifest, written last by the caller, is what makes the backup complete."""

    def abort(self) -> None:
        s3, bucket = self._target.s3, self._target.bucket
        for key, upload in self._uploads:
            with contextlib.suppress(
                botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError
            ):
                s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
        for key in self._written:
            with contextlib.suppress(
                botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError
            ):
                s3.delete_object(Bucket=bucket, Key=key)


class S3Target:
    """Backups in a bucket under ``<prefix>/<ref>/<id>/``; credentials from boto3's chain."""

    def __init__(self, bucket: str, prefix: str, endpoint: str | None):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = endpoint
        self.description = f"s3://{bucket}/{self.prefix}" + (f" at {endpoint}" if endpoint else "")
        config = botocore.client.Config(retries={"max_attempts": 3}, connect_timeout=5)
        self.s3 = boto3.client("s3", endpoint_url=endpoint, config=config)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        try:
            yield
        except botocore.exceptions.EndpointConnectionError as exc:
            raise TargetError(
                f"S3 endpoint of {self.description} is unreachable ({exc}); check "
                f"{S3_ENDPOINT_ENV} and the network"
            ) from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise TargetError(
                f"no S3 credentials for {self.description}: set AWS_ACCESS_KEY_ID and "
                f"AWS_SECRET_ACCESS_KEY (or an AWS profile)"
            ) from exc
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise TargetError(f"{self.description}: {exc}") from exc

    def _key(self, ref: str, backup_id: str, name: str = "") -> str:
        return f"{self.prefix}{ref}/{backup_id}/{name}"

    def stage(self, ref: str, backup_id: str) -> _S3Staging:
        with self.errors():
            self.s3.head_bucket(Bucket=self.bucket)
        return _S3Staging(self, self._key(ref, backup_id))

    def backups(self) -> list[tuple[str, str]]:
        found = []
        with self.errors():
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    parts = item["Key"][len(self.prefix) :].split("/")
                    if len(parts) == 3 and parts[2] == MANIFEST:
                        found.append((parts[0], parts[1]))
        return sorted(found)

    def open(self, ref: str, backup_id: str, name: str) -> BinaryIO:
        with self.errors():
            return self.s3.get_object(Bucket=self.bucket, Key=self._key(ref, backup_id, name))[
                "Body"
            ]

    def put_small(self, ref: str, backup_id: str, name: str, data: bytes) -> None:
        with self.errors():
            self.s3.put_object(Bucket=self.bucket, Key=self._key(ref, backup_id, name), Body=data)

    def get_small(self, ref: str, backup_id: str, name: str) -> bytes | None:
        try:
            with self.errors():
                answer = self.s3.get_object(Bucket=self.bucket, Key=self._key(ref, backup_id, name))
                return answer["Body"].read()
        except TargetError as exc:
            if isinstance(
                exc.__cause__, botocore.exceptions.ClientError
            ) and exc.__cause__.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def delete(self, ref: str, backup_id: str) -> None:
        with self.errors():
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(ref, backup_id)
            )
            for page in pages:
                for item in page.get("Contents", []):
                    self.s3.delete_object(Bucket=self.bucket, Key=item["Key"])


def target_from(
    spec: str | None, home: Path, environ: Mapping[str, str] | None = None
) -> LocalTarget | S3Target:
    """``--target`` (or $SUPABASE_FLEET_BACKUP_TARGET): a directory or ``s3://bucket/prefix``."""
    env = os.environ if environ is None else environ
    spec = spec or env.get(TARGET_ENV)
    if not spec:
        return LocalTarget(home / "backups")
    parsed = urlparse(spec)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise FleetError(f"backup target {spec!r} names no bucket: use s3://BUCKET/PREFIX")
        return S3Target(parsed.netloc, parsed.path, env.get(S3_ENDPOINT_ENV) or None)
    if parsed.scheme not in ("", "file"):
        raise FleetError(f"backup target {spec!r}: use a directory or s3://BUCKET/PREFIX")
    return LocalTarget(Path(parsed.path if parsed.scheme else spec).expanduser().absolute())
