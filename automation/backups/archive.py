"""Sealed parts: zstd-compressed, age-encrypted byte streams with size and sha256.

Every part of a backup goes through here, so compression, encryption and checksums are
decided once. age (``pyrage``) is the format: an authenticated, streaming, well-reviewed
format that ``age -d -i backup.key part | zstd -d`` can open by hand, without this tool.
The key is an age X25519 identity generated once into the fleet home (mode 0600).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pyrage
import zstandard
from pyrage import x25519

from automation.errors import FleetError

KEY_FILE = "backup.key"
#: zstd level 3 (zstd's default) with its worker threads: fast enough to keep up with
#: pg_dump while shrinking SQL several times.
ZSTD_LEVEL = 3
CHUNK = 1 << 20


class ArchiveError(Exception):
    """A part could not be opened: wrong key, truncated or tampered data."""


@dataclass(frozen=True)
class Sealed:
    """What sealing one part produced."""

    size: int
    """Bytes before compression."""
    stored: int
    """Bytes written to the target."""
    sha256: str
    """Of the stored (encrypted) bytes, so a check needs no key."""


def key_path(home: Path) -> Path:
    """The fleet's backup key, beside the Pulumi passphrase."""
    return home / KEY_FILE


def ensure_key(home: Path) -> x25519.Identity:
    """The backup identity; generated once (mode 0600), never replaced."""
    path = key_path(home)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_key(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(str(x25519.Identity.generate()) + "\n")
    return load_key(path)


def load_key(path: Path) -> x25519.Identity:
    """Read an identity file, refusing one others can read."""
    if path.stat().st_mode & 0o077:
        raise FleetError(f"{path} is readable by others; run `chmod 600 {path}`")
    try:
        return x25519.Identity.from_str(path.read_text().strip())
    except (pyrage.IdentityError, ValueError) as exc:
        raise FleetError(f"{path} is not an age identity (AGE-SECRET-KEY-1...): {exc}") from exc


class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (what docker-py streams yield)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")
        self.size = 0
        self.error: BaseException | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                chunk = next(self._chunks, None)
            except BaseException as exc:
                self.error = exc
                raise
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
            self.size += len(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class HashingWriter(io.RawIOBase):
    """Passes bytes on to ``sink`` while counting and hashing them."""

    def __init__(self, sink: Callable[[bytes], object]):
        self._sink = sink
        self._hash = hashlib.sha256()
        self.count = 0
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        data = bytes(data)
        self._hash.update(data)
        self.count += len(data)
        try:
            self._sink(data)
        except BaseException as exc:
            self.error = exc
            raise
        return len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def seal(chunks: Iterable[bytes], sink: Callable[[bytes], object], key: x25519.Identity) -> Sealed:
    """Compress and encrypt ``chunks`` into ``sink``; the stream is never held in memory."""
    source = _ChunkReader(chunks)
    compressed = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=-1).stream_reader(
        io.BufferedReader(source, CHUNK)
    )
    out = HashingWriter(sink)
    try:
        pyrage.encrypt_io(io.BufferedReader(compressed, CHUNK), out, [key.to_public()])
    except pyrage.EncryptError as exc:
        # pyrage wraps what the source or sink raised; the caller needs the original
        # (the engine went away, the disk is full...).
        raise (source.error or out.error or exc) from exc
    if out.error is not None:
        # pyrage drops an error raised by the sink's last write (found with a small part
        # and a full disk): without this, a part that never reached the target passes.
        raise out.error
    return Sealed(size=source.size, stored=out.count, sha256=out.sha256)


def unseal(
    stored: BinaryIO, sink: Callable[[bytes], object], key: x25519.Identity, *, what: str
) -> str:
    """Decrypt and decompress ``stored`` into ``sink``; returns the stored bytes' sha256.

    A wrong key, a truncated file or a changed byte raises ``ArchiveError`` naming ``what``;
    age authenticates every 64 KiB chunk, so nothing forged reaches ``sink`` past that chunk.
    """
    hashed = _HashingReader(stored)
    out = _Sink(sink)
    decompressor = zstandard.ZstdDecompressor().stream_writer(out, closefd=False)
    try:
        pyrage.decrypt_io(hashed, decompressor, [key])
        decompressor.flush()
    except (pyrage.DecryptError, OSError) as exc:  # pyrage reports bad chunks as OSError
        if out.error is not None:  # the receiving side failed, not the archive
            raise out.error from exc
        raise ArchiveError(
            f"{what}: cannot decrypt ({exc}); wrong backup key, or the file is truncated or "
            f"was changed"
        ) from exc
    except zstandard.ZstdError as exc:
        raise ArchiveError(f"{what}: damaged compressed data ({exc})") from exc
    return hashed.sha256


def unseal_bytes(stored: BinaryIO, key: x25519.Identity, *, what: str) -> bytes:
    """``unseal`` into memory, for small parts."""
    buffer = bytearray()
    unseal(stored, buffer.extend, key, what=what)
    return bytes(buffer)


class _Sink(io.RawIOBase):
    def __init__(self, sink: Callable[[bytes], object]):
        self._sink = sink
        self.error: BaseException | None = None

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        try:
            self._sink(bytes(data))
        except BaseException as exc:
            self.error = exc
            raise
        return len(data)


class _HashingReader(io.RawIOBase):
    def __init__(self, stored: BinaryIO):
        self._stored = stored
        self._hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._stored.read(len(buffer))
        self._hash.update(data)
        buffer[: len(data)] = data
        return len(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def sha256_of(stored: BinaryIO) -> str:
    """The sha256 of a stored part, read in chunks."""
    digest = hashlib.sha256()
    while chunk := stored.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()
