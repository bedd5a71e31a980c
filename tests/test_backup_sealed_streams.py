"""Sealed parts are plain age + zstd streams, with sizes and checksums that match the bytes."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pyrage
import pytest
import zstandard
from pyrage import x25519

from automation.backups import archive
from automation.errors import FleetError


@pytest.fixture
def key(tmp_path: Path) -> x25519.Identity:
    return archive.ensure_key(tmp_path / "home")


def _seal(chunks, key) -> tuple[archive.Sealed, bytes]:
    buffer = bytearray()
    sealed = archive.seal(chunks, buffer.extend, key)
    return sealed, bytes(buffer)


def test_a_part_opens_with_age_and_zstd_alone(key):
    chunks = [
        b"",
        b"COPY t FROM stdin;\n" * 1000,
        b"",
        os.urandom(3 * archive.CHUNK + 17),
        b"\\.\n",
    ]
    sealed, stored = _seal(iter(chunks), key)
    plain = b"".join(chunks)
    assert sealed.size == len(plain)
    assert sealed.stored == len(stored)
    assert sealed.sha256 == hashlib.sha256(stored).hexdigest()
    # `age -d -i backup.key part | zstd -d`: no tool of ours needed to open it.
    compressed = pyrage.decrypt(stored, [key])
    assert zstandard.ZstdDecompressor().stream_reader(io.BytesIO(compressed)).read() == plain


def test_unseal_streams_the_plain_bytes_and_returns_the_stored_checksum(key):
    plain = os.urandom(archive.CHUNK * 2 + 5)
    sealed, stored = _seal([plain], key)
    received: list[bytes] = []
    digest = archive.unseal(io.BytesIO(stored), received.append, key, what="p")
    assert digest == sealed.sha256
    assert all(isinstance(piece, bytes) for piece in received)
    assert b"".join(received) == plain
    assert archive.sha256_of(io.BytesIO(stored)) == sealed.sha256
    assert archive.sha256_of(io.BytesIO(b"")) == hashlib.sha256(b"").hexdigest()


def test_empty_source_seals_to_an_empty_part(key):
    sealed, stored = _seal([], key)
    assert sealed.size == 0 and sealed.stored == len(stored) > 0
    assert archive.unseal_bytes(io.BytesIO(stored), key, what="p") == b""


def test_source_failure_is_raised_as_itself(key):
    class EngineGone(Exception):
        pass

    def source():
        yield b"x" * 100
        raise EngineGone("docker went away")

    with pytest.raises(EngineGone, match="docker went away"):
        archive.seal(source(), bytearray().extend, key)


def test_sink_failure_is_raised_as_itself_on_both_ways(key):
    def full_disk(_data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        archive.seal([b"data" * 1000], full_disk, key)

    _, stored = _seal([b"data" * 1000], key)
    with pytest.raises(OSError, match="No space left") as error:
        archive.unseal(io.BytesIO(stored), full_disk, key, what="p")
    assert not isinstance(error.value, archive.ArchiveError)


def test_damage_messages_name_the_part(key):
    _, stored = _seal([b"data" * 1000], key)
    with pytest.raises(archive.ArchiveError) as error:
        archive.unseal(
            io.BytesIO(stored), bytearray().extend, x25519.Identity.generate(), what="db"
        )
    assert str(error.value).startswith("db: cannot decrypt (")
    assert "wrong backup key, or the file is truncated or was changed" in str(error.value)
    not_zstd = pyrage.encrypt(b"plain, not compressed", [key.to_public()])
    with pytest.raises(archive.ArchiveError, match=r"^vol: damaged compressed data \("):
        archive.unseal_bytes(io.BytesIO(not_zstd), key, what="vol")


def test_key_is_created_private_once_and_then_kept(tmp_path: Path):
    home = tmp_path / "fleet" / "home"
    first = archive.ensure_key(home)
    path = archive.key_path(home)
    assert path == home / "backup.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert home.stat().st_mode & 0o777 == 0o700
    text = path.read_text()
    assert text.startswith("AGE-SECRET-KEY-1") and text.endswith("\n")
    assert str(archive.ensure_key(home)) == str(first) == text.strip()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o610])
def test_key_others_can_reach_is_refused_with_the_fix(tmp_path: Path, mode):
    archive.ensure_key(tmp_path)
    path = archive.key_path(tmp_path)
    path.chmod(mode)
    with pytest.raises(FleetError) as error:
        archive.load_key(path)
    assert str(error.value) == f"{path} is readable by others; run `chmod 600 {path}`"


@pytest.mark.parametrize("content", ["not a key\n", ""])
def test_key_file_that_is_not_an_identity_is_named(tmp_path: Path, content):
    path = tmp_path / "backup.key"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(FleetError, match=r"is not an age identity \(AGE-SECRET-KEY-1\.\.\.\)"):
        archive.load_key(path)


def test_the_key_and_its_folder_are_private_whatever_the_umask(tmp_path: Path):
    before = os.umask(0)
    try:
        archive.ensure_key(tmp_path / "home")
    finally:
        os.umask(before)
    assert (tmp_path / "home").stat().st_mode & 0o777 == 0o700
    assert archive.key_path(tmp_path / "home").stat().st_mode & 0o777 == 0o600
