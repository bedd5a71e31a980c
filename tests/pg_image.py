"""A local stand-in for the supabase/postgres image, built from Debian's PostgreSQL 15.

No image can be pulled, so the backup tests build one: ``debootstrap`` makes a Debian
root filesystem with ``postgresql-15`` (about a minute, cached as a tar under
``/var/cache/supabase-tests/`` keyed by the package list, so parallel and later runs
share it), ``docker import`` turns it into a base image, and a tiny Dockerfile adds what
the backup code relies on in the real image: an entrypoint that initialises the cluster
with ``supabase_admin`` as superuser and ``POSTGRES_PASSWORD`` as its password, the
``postgres -c config_file=/etc/postgresql/postgresql.conf`` command, the data directory at
``/var/lib/postgresql/data``, ``pg_dump``/``psql`` on PATH, and running as ``postgres``.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import docker

CACHE = Path(os.environ.get("SUPABASE_TEST_CACHE", "/var/cache/supabase-tests"))
PACKAGES = ("postgresql-15", "tar", "zstd")
SUITE = "bookworm"
BASE_IMAGE = "local/debian-pg15-base:test"
IMAGE = "local/supabase-postgres:test"
BIN = "/usr/lib/postgresql/15/bin"

ENTRYPOINT = """#!/bin/sh
# Like supabase/postgres: initialise an empty data directory once, then run the command.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\\n' "$POSTGRES_PASSWORD" > /tmp/pwfile
  initdb -D "$PGDATA" --username=supabase_admin --pwfile=/tmp/pwfile \\
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  rm -f /tmp/pwfile
  postgres -D "$PGDATA" -c listen_addresses= -c unix_socket_directories=/tmp &
  until pg_isready -q -h /tmp; do sleep 0.1; done
  psql -q -h /tmp -U supabase_admin -d postgres -v ON_ERROR_STOP=1 \\
    -v pw="$POSTGRES_PASSWORD" -v jwt="$JWT_SECRET" <<'SQL'
CREATE ROLE postgres LOGIN CREATEROLE CREATEDB PASSWORD :'pw';
CREATE ROLE authenticator LOGIN NOINHERIT PASSWORD :'pw';
CREATE ROLE anon NOLOGIN;
CREATE ROLE service_role NOLOGIN BYPASSRLS;
GRANT anon, service_role TO authenticator;
ALTER DATABASE postgres SET "app.settings.jwt_secret" TO :'jwt';
SQL
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$@"
"""

POSTGRESQL_CONF = """listen_addresses = '*'
hba_file = '/etc/postgresql/pg_hba.conf'
unix_socket_directories = '/var/run/postgresql'
"""

PG_HBA = """local all supabase_admin scram-sha-256
local all all peer
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host all all 0.0.0.0/0 scram-sha-256
"""

DOCKERFILE = f"""FROM {BASE_IMAGE}
ENV PATH={BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PGDATA=/var/lib/postgresql/data LANG=C.UTF-8
COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY postgresql.conf pg_hba.conf /etc/postgresql/
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh \\
 && mkdir -p /var/lib/postgresql/data /etc/postgresql-custom /var/run/postgresql \\
 && chown -R postgres:postgres /var/lib/postgresql /etc/postgresql-custom /var/run/postgresql
USER postgres
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]
"""


def unavailable_reason() -> str | None:
    """Why the image cannot be built here, or None."""
    if rootfs_tar().is_file():
        return None
    if shutil.which("debootstrap") is None:
        return "debootstrap is not installed (scripts/test.sh installs it)"
    if os.geteuid() != 0:
        return "debootstrap needs root"
    return None


def _mirror() -> str:
    """The Debian mirror apt already uses (no other is reachable)."""
    sources = [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]
    for source in sources:
        if not source.is_file():
            continue
        for line in source.read_text().splitlines():
            words = line.split()
            uris = [w for w in words if "://" in w and w.rstrip("/").endswith("/debian")]
            if uris and (line.startswith("URIs:") or words[:1] == ["deb"]):
                return uris[0]
    return "http://deb.debian.org/debian"


def rootfs_tar() -> Path:
    """Where the cached root filesystem tar for ``PACKAGES`` lives."""
    key = hashlib.sha256(f"{SUITE} minbase {' '.join(PACKAGES)}".encode()).hexdigest()[:16]
    return CACHE / f"debian-{SUITE}-pg15-{key}.tar"


def ensure_rootfs_tar() -> Path:
    """Build the root filesystem tar once; concurrent callers wait on a lock and share it."""
    target = rootfs_tar()
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.is_file():
            return target
        work = Path(tempfile.mkdtemp(prefix="pg-rootfs-", dir=CACHE))
        try:
            rootfs = work / "rootfs"
            subprocess.run(
                [
                    "debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                    SUITE, str(rootfs), _mirror(),
                ],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
            partial = work / "rootfs.tar"
            subprocess.run(["tar", "-C", str(rootfs), "-cf", str(partial), "."], check=True)
            os.replace(partial, target)  # whole or not at all
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def _context() -> bytes:
    buffer = io.BytesIO()
    files = {
        "Dockerfile": DOCKERFILE,
        "entrypoint.sh": ENTRYPOINT,
        "postgresql.conf": POSTGRESQL_CONF,
        "pg_hba.conf": PG_HBA,
    }
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def build_image(client: docker.DockerClient) -> str:
    """Import the base and build the stand-in image on one engine; returns its tag."""
    with ensure_rootfs_tar().open("rb") as rootfs:
        repository, tag = BASE_IMAGE.split(":")
        client.api.import_image_from_data(rootfs, repository=repository, tag=tag)
    client.images.build(fileobj=io.BytesIO(_context()), custom_context=True, tag=IMAGE, rm=True)
    return IMAGE


if __name__ == "__main__":
    print(ensure_rootfs_tar())
