"""Talking to Postgres and volumes through the Docker engine, streamed.

Every byte goes through ``docker exec`` (stdout out, stdin in) or the archive API on one
connection to the engine, so nothing is written to the engine's disk and ``ssh://`` and
``tcp://`` engines work like local ones. docker-py gives the streams; what it lacks is
reading lines from a live exec and feeding one's stdin, which the small ``Exec`` below does.

Consistency: one psql session per database opens a REPEATABLE READ transaction, exports
its snapshot and counts every table's rows in it; ``pg_dump --snapshot`` then dumps
exactly that snapshot while the session stays open, so the manifest's row counts are
those of the dump even while the project keeps writing. Roles come from
``pg_dumpall --globals-only`` just before (roles are cluster-wide and have no snapshot).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import docker
import docker.errors

#: The superuser of supabase/postgres (``postgres`` is not one there).
SUPERUSER = "supabase_admin"
#: Where the data directory and the config volume are mounted in the db image.
PGDATA = "/var/lib/postgresql/data"
HELPER_LABEL = "supabase.backup-helper"
READY_DEADLINE = 120.0
_STDOUT, _STDERR = 1, 2

COUNT_ROWS = """SELECT format('%I.%I', n.nspname, c.relname) || E'\\t' ||
 (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I',
   n.nspname, c.relname), false, true, '')))[1]::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND n.nspname <> 'information_schema'
  AND n.nspname NOT LIKE 'pg\\_%'
UNION ALL SELECT 'pg_catalog.pg_largeobject_metadata' || E'\\t' || count(*)
FROM pg_largeobject_metadata ORDER BY 1;"""
_END = "__supabase_fleet_end__"
#: How often a read-only query whose answer came back cut short is asked again.
QUERY_ATTEMPTS = 3


class DumpError(Exception):
    """A command in the db container failed; the message carries its stderr."""


@dataclass(frozen=True)
class Conn:
    """How to reach Postgres inside one container as the superuser."""

    container: str
    args: tuple[str, ...]
    """psql/pg_dump connection arguments."""
    wrap: tuple[str, ...] = ()
    """Prefix for every command (e.g. a shell reading the password from the env)."""

    def command(self, tool: str, *args: str) -> list[str]:
        return [*self.wrap, tool, *self.args, *args]


def project_conn(container: str) -> Conn:
    """A running project db: TCP to localhost with the container's own POSTGRES_PASSWORD,
    so the password never leaves the container."""
    return Conn(
        container,
        ("-h", "localhost", "-U", SUPERUSER),
        ("sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" exec "$@"', "sh"),
    )


def scratch_conn(container: str) -> Conn:
    """A scratch db of ours: unix socket in /tmp, trusted (it has no network)."""
    return Conn(container, ("-h", "/tmp", "-U", SUPERUSER))


class Exec:
    """One ``docker exec`` with its stdin/stdout/stderr on a raw socket."""

    def __init__(
        self,
        client: docker.DockerClient,
        container: str,
        cmd: Sequence[str],
        *,
        user: str = "postgres",
        stdin: bool = False,
    ):
        self._api = client.api
        self.cmd = list(cmd)
        self._id = self._api.exec_create(
            container, self.cmd, user=user, stdin=stdin, stdout=True, stderr=True
        )["Id"]
        self._sock = self._api.exec_start(self._id, socket=True)
        self._raw: socket.socket = getattr(self._sock, "_sock", self._sock)
        # A dump or a load may be quiet for long (locks, big indexes): no read timeout. A
        # lost engine still ends the stream (EOF or a reset), which fails the command.
        self._raw.settimeout(None)
        self._stdout = bytearray()
        self.stderr = bytearray()
        self._eof = False

    def _frame(self) -> bool:
        """Read one multiplexed frame; False at end of stream."""
        header = self._read(8)
        if len(header) < 8:
            self._eof = True
            return False
        stream, length = struct.unpack(">BxxxL", header)
        data = self._read(length)
        (self.stderr if stream == _STDERR else self._stdout).extend(data)
        if stream == _STDERR and len(self.stderr) > 65536:  # keep the tail only
            del self.stderr[:-65536]
        return True

    def _read(self, count: int) -> bytes:
        data = bytearray()
        while len(data) < count:
            try:
                chunk = self._raw.recv(count - len(data))
            except OSError as exc:
                raise DumpError(
                    f"connection to the engine lost during {self.cmd[0]}: {exc}"
                ) from exc
            if not chunk:
                break
            data.extend(chunk)
        return bytes(data)

    def chunks(self) -> Iterator[bytes]:
        """stdout as it arrives, until the command ends."""
        while not self._eof:
            if self._frame() and self._stdout:
                yield bytes(self._stdout)
                self._stdout.clear()
        self.check()

    def line(self) -> str:
        """The next stdout line (without newline)."""
        while b"\n" not in self._stdout:
            if not self._frame():
                self.check()
                raise DumpError(f"{self.cmd[0]} ended early: {self._stderr_text()}")
        line, _, rest = bytes(self._stdout).partition(b"\n")
        self._stdout[:] = rest
        return line.decode()

    def send(self, data: bytes) -> None:
        try:
            self._raw.sendall(data)
        except OSError as exc:
            raise DumpError(f"{self.cmd[0]} stopped reading: {self._drain()}") from exc

    def finish(self) -> None:
        """Close stdin (if any), read the rest and check the exit code."""
        with contextlib.suppress(OSError):
            self._raw.shutdown(socket.SHUT_WR)
        while self._frame():
            pass
        self.check()

    def _drain(self) -> str:
        with contextlib.suppress(OSError):
            while self._frame():
                pass
        return self._stderr_text()

    def _stderr_text(self) -> str:
        return self.stderr.decode(errors="replace").strip()[-2000:] or "no error output"

    def check(self) -> None:
        self.close()
        code = None
        for _ in range(50):  # the exit code lands a moment after the stream ends
            code = self._api.exec_inspect(self._id).get("ExitCode")
            if code is not None:
                break
            time.sleep(0.05)
        if code != 0:
            raise DumpError(f"{' '.join(self.cmd[-3:])} failed ({code}): {self._stderr_text()}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


def run(
    client: docker.DockerClient, conn: Conn, tool: str, *args: str, user: str = "postgres"
) -> str:
    """Run a tool to the end; its stdout."""
    process = Exec(client, conn.container, conn.command(tool, *args), user=user)
    return b"".join(process.chunks()).decode()


def query(
    client: docker.DockerClient, conn: Conn, sql: str, database: str = "postgres"
) -> list[str]:
    """Rows of a one-column query.

    psql prints an end marker after the query. Once, on a heavily loaded engine, a drill's
    row counts came back empty from a psql that exited 0, and every table looked missing:
    a short answer (no tables, no roles) must never pass for a real one. A query only
    reads, so an answer without the marker is asked again before it counts as a failure.
    """
    for _ in range(QUERY_ATTEMPTS):
        out = run(
            client, conn, "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-d", database, "-c", sql, "-c", f"SELECT '{_END}'",
        )  # fmt: skip
        lines = [line for line in out.splitlines() if line]
        if lines and lines[-1] == _END:
            return lines[:-1]
    raise DumpError(f"psql's answer on {database} was cut short {QUERY_ATTEMPTS} times")


def parse_counts(lines: Sequence[str]) -> dict[str, int]:
    counts = {}
    for line in lines:
        table, _, count = line.rpartition("\t")
        counts[table] = int(count)
    return counts


@dataclass(frozen=True)
class ClusterFacts:
    version: str
    major: int
    databases: list[str]
    roles: list[str]


def cluster_facts(client: docker.DockerClient, conn: Conn) -> ClusterFacts:
    """Version, databases and roles of the cluster."""
    version_num = int(query(client, conn, "SHOW server_version_num")[0])
    version = query(client, conn, "SHOW server_version")[0]
    databases = query(
        client,
        conn,
        "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1",
    )
    roles = query(client, conn, "SELECT rolname FROM pg_roles ORDER BY 1")
    return ClusterFacts(version, version_num // 10000, databases, roles)


def dump_globals(client: docker.DockerClient, conn: Conn) -> Iterator[bytes]:
    """Roles (with their password hashes) and tablespaces."""
    return Exec(client, conn.container, conn.command("pg_dumpall", "--globals-only")).chunks()


@contextlib.contextmanager
def snapshot(
    client: docker.DockerClient, conn: Conn, database: str
) -> Iterator[tuple[str, dict[str, int]]]:
    """An exported snapshot of ``database`` and its row counts, held open for pg_dump."""
    session = Exec(
        client,
        conn.container,
        conn.command("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database),
        stdin=True,
    )
    try:
        session.send(
            b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n"
        )
        snapshot_id = session.line().strip()
        session.send(COUNT_ROWS.encode() + f"\n\\echo {_END}\n".encode())
        lines = []
        while (line := session.line()) != _END:
            lines.append(line)
        yield snapshot_id, parse_counts(lines)
        session.send(b"COMMIT;\n\\q\n")
        session.finish()
    finally:
        session.close()


def dump_database(
    client: docker.DockerClient, conn: Conn, database: str, snapshot_id: str
) -> Iterator[bytes]:
    """A plain SQL dump that recreates the database (settings, large objects included)."""
    return Exec(
        client,
        conn.container,
        conn.command(
            "pg_dump",
            "--create",
            "--clean",
            "--if-exists",
            f"--snapshot={snapshot_id}",
            "-d",
            database,
        ),
    ).chunks()


def feed_sql(client: docker.DockerClient, conn: Conn, database: str) -> Exec:
    """A psql reading SQL from stdin that stops at the first error."""
    return Exec(
        client,
        conn.container,
        conn.command(
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", database, "-o", "/dev/null"
        ),
        stdin=True,
    )


# -- helper containers ----------------------------------------------------------------------

SCRATCH_SCRIPT = """set -e
if [ -n "$FRESH" ]; then
  find "$PGDATA" -mindepth 1 -delete
  initdb -D "$PGDATA" --username=supabase_admin --auth=trust --encoding=UTF8 \\
    --locale=C.UTF-8 >/dev/null
fi
printf 'local all all trust\\n' > /tmp/scratch_hba.conf
exec "$@" -c hba_file=/tmp/scratch_hba.conf -c listen_addresses= -c unix_socket_directories=/tmp
"""


@contextlib.contextmanager
def scratch_db(
    client: docker.DockerClient,
    image: str,
    command: Sequence[str],
    *,
    ref: str,
    volumes: dict[str, str],
    fresh: bool,
) -> Iterator[Conn]:
    """A private Postgres of the db image: no network, trusted on a unix socket only.

    ``volumes`` maps volume names to mount points (none: the image's own empty data dir).
    With ``fresh`` the data directory is emptied and initialised first. The container is
    stopped cleanly (so Postgres checkpoints) and removed on leaving.
    """
    container = client.containers.run(
        image,
        list(command),
        entrypoint=["sh", "-c", SCRATCH_SCRIPT, "sh"],
        name=f"supabase-{ref}-scratch-{uuid.uuid4().hex[:8]}",
        user="postgres",
        environment={"PGDATA": PGDATA, "FRESH": "1" if fresh else ""},
        volumes={name: {"bind": path, "mode": "rw"} for name, path in volumes.items()},
        network_mode="none",
        labels={HELPER_LABEL: ref},
        detach=True,
    )
    try:
        conn = scratch_conn(container.id)
        deadline = time.monotonic() + READY_DEADLINE
        while True:
            container.reload()
            if container.status != "running":
                logs = container.logs(tail=20).decode(errors="replace")
                raise DumpError(f"scratch Postgres of {image} did not start: {logs.strip()}")
            probe = client.api.exec_create(
                container.id, ["pg_isready", "-q", "-h", "/tmp"], user="postgres"
            )
            client.api.exec_start(probe["Id"])
            if client.api.exec_inspect(probe["Id"])["ExitCode"] == 0:
                break
            if time.monotonic() > deadline:
                raise DumpError(f"scratch Postgres of {image} not ready in {READY_DEADLINE:.0f}s")
            time.sleep(0.2)
        yield conn
        container.stop(timeout=60)
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True, v=True)


@contextlib.contextmanager
def volume_helper(
    client: docker.DockerClient, image: str, ref: str, volumes: dict[str, str], *, running: bool
) -> Iterator[str]:
    """A container of the db image mounting volumes at ``/backup/<key>``, for the archive
    API (created only) or for exec (``running``, as root, idle)."""
    container = client.containers.create(
        image,
        ["sleep", "infinity"] if running else ["true"],
        entrypoint=[],
        name=f"supabase-{ref}-volumes-{uuid.uuid4().hex[:8]}",
        user="root",
        volumes={
            name: {"bind": f"/backup/{key}", "mode": "rw" if running else "ro"}
            for key, name in volumes.items()
        },
        network_mode="none",
        labels={HELPER_LABEL: ref},
    )
    try:
        if running:
            container.start()
        yield container.id
    finally:
        with contextlib.suppress(docker.errors.APIError):
            container.remove(force=True)


def volume_archive(client: docker.DockerClient, helper: str, key: str) -> Iterator[bytes]:
    """A tar of one mounted volume (entries ``<key>/...``, owners and modes kept)."""
    stream, _ = client.api.get_archive(helper, f"/backup/{key}", chunk_size=1 << 20)
    return stream


def replace_volume(client: docker.DockerClient, helper: str, key: str) -> Exec:
    """Empty one mounted volume, then a tar reading stdin that unpacks into it."""
    Exec(
        client, helper, ["find", f"/backup/{key}", "-mindepth", "1", "-delete"], user="root"
    ).finish()
    return Exec(
        client,
        helper,
        ["tar", "-x", "-p", "--same-owner", "-C", "/backup", "-f", "-"],
        user="root",
        stdin=True,
    )
