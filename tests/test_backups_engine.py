"""Backups, restores, clones and drills of a project on a real engine and a real Postgres.

The data side runs for real: a private dockerd, a PostgreSQL 15 container built from
Debian's packages (tests/pg_image.py), docker exec streams, volumes. The Pulumi side is
``EngineWorkspace`` (tests/backup_harness.py), which starts and stops containers the way
the program does.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import threading
from pathlib import Path

import pg_image
import pytest
from backup_harness import EngineWorkspace, make_fleet, s3_bucket, write_stack
from engines import PrivateSshd

from automation import cli, stackfiles
from automation.backups import archive, catalog, targets
from automation.backups.backup import take_backup
from automation.backups.project import Project
from automation.backups.restore import clone, restore
from automation.backups.verify import drill
from automation.context import FleetContext
from automation.engine import Engine, EngineSpec
from automation.errors import FleetError
from components.naming import container_name

ROOT_KEY = bytes.fromhex("a1" * 32).hex().encode() + b"\n"
FILES = {"bucket/avatars/a.bin": os.urandom(300_000), "bucket/readme.txt": b"hello\n"}
SETUP_SQL = """
CREATE TABLE public.items (id int PRIMARY KEY, body text);
INSERT INTO public.items SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
CREATE SCHEMA app;
CREATE TABLE app.notes (id serial PRIMARY KEY, note text);
INSERT INTO app.notes (note) VALUES ('first'), ('second');
CREATE ROLE reporter LOGIN PASSWORD 'reporter-pass-123';
GRANT SELECT ON public.items TO reporter;
SELECT lo_from_bytea(4242, convert_to(repeat('large object ', 1000), 'UTF8'));
"""
CHECKSUM_SQL = (
    "SELECT (SELECT md5(string_agg(id || body, ',' ORDER BY id)) FROM public.items) || ' ' || "
    "(SELECT string_agg(note, ',' ORDER BY id) FROM app.notes) || ' ' || "
    "(SELECT md5(lo_get(4242)))"
)


@pytest.fixture(scope="module")
def db_image(private_engines) -> str:
    reason = pg_image.unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must build the Postgres image: {reason}", pytrace=False)
        pytest.skip(reason)
    return pg_image.build_image(private_engines[0].client)


@pytest.fixture
def setup(tmp_path: Path, engine_a, db_image):
    out = io.StringIO()
    fleet, workspace = make_fleet(
        tmp_path, engine_a.url, lambda d: EngineWorkspace(d, engine_a.client, db_image), out
    )
    write_stack(fleet, "shop", 0, engine_a.url, db_image)
    workspace.up("shop", print)
    client = engine_a.client
    psql(client, "shop", SETUP_SQL)
    psql(client, "shop", "CREATE DATABASE _supabase")
    psql(client, "shop", "CREATE TABLE meta (k text); INSERT INTO meta VALUES ('x');", "_supabase")
    put_files(client, container_name("shop", "storage"), "/var/lib/storage", FILES)
    put_files(
        client,
        container_name("shop", "db"),
        "/etc/postgresql-custom",
        {"pgsodium_root.key": ROOT_KEY},
        mode=0o600,
        uid_of="postgres",
    )
    target = targets.LocalTarget(tmp_path / "backups")
    key = archive.ensure_key(fleet.config.home)
    yield fleet, workspace, client, target, key
    fleet.close()


def psql(
    client,
    ref: str,
    sql: str,
    database: str = "postgres",
    *,
    user: str = "supabase_admin",
    password: str | None = None,
) -> str:
    """Run SQL in a project's db container over TCP with a password, as a service would."""
    env = {"PGPASSWORD": password} if password else {}
    wrap = ["sh", "-c", 'PGPASSWORD="${PGPASSWORD:-$POSTGRES_PASSWORD}" exec "$@"', "sh"]
    result = client.containers.get(container_name(ref, "db")).exec_run(
        [
            *wrap,
            "psql",
            "-X",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "localhost",
            "-U",
            user,
            "-d",
            database,
            "-c",
            sql,
        ],
        environment=env,
        user="postgres",
    )
    assert result.exit_code == 0, result.output.decode()
    return result.output.decode().strip()


def put_files(
    client,
    container: str,
    directory: str,
    files: dict[str, bytes],
    *,
    mode: int = 0o644,
    uid_of: str | None = None,
) -> None:
    uid = 0
    if uid_of:
        uid = int(client.containers.get(container).exec_run(["id", "-u", uid_of]).output)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), mode, uid, uid
            tar.addfile(info, io.BytesIO(data))
    client.api.put_archive(container, directory, buffer.getvalue())


def read_files(client, container: str, directory: str) -> dict[str, tuple[bytes, int, int]]:
    """Every regular file under ``directory``: content, mode and owner."""
    stream, _ = client.api.get_archive(container, directory)
    found = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        for member in tar.getmembers():
            if member.isfile():
                name = member.name.split("/", 1)[1]
                found[name] = (tar.extractfile(member).read(), member.mode, member.uid)
    return found


def snapshot_state(client, ref: str) -> dict:
    return {
        "checksum": psql(client, ref, CHECKSUM_SQL),
        "supabase": psql(client, ref, "SELECT k FROM meta", "_supabase"),
        "files": read_files(client, container_name(ref, "storage"), "/var/lib/storage"),
        "key": read_files(client, container_name(ref, "db"), "/etc/postgresql-custom"),
        "jwt": psql(client, ref, "SHOW app.settings.jwt_secret"),
    }


def test_backup_break_restore_clone_drill(setup):
    fleet, workspace, client, target, key = setup
    shop = Project(fleet, "shop")
    before = snapshot_state(client, "shop")
    assert before["key"]["pgsodium_root.key"][0] == ROOT_KEY

    manifest = take_backup(shop, target, key, print, offline=False)

    assert manifest.row_counts["postgres"]["public.items"] == 5000
    assert manifest.row_counts["postgres"]["app.notes"] == 2
    assert manifest.row_counts["postgres"]["pg_catalog.pg_largeobject_metadata"] == 1
    assert manifest.row_counts["_supabase"]["public.meta"] == 1
    assert {"reporter", "supabase_admin", "authenticator"} <= set(manifest.roles)
    assert manifest.postgres_major == 15
    assert {p.target for p in manifest.parts if p.kind == "volume"} == {
        "db-config",
        "storage-data",
        "functions-data",
        "studio-snippets",
    }
    stored = target.root / "shop" / manifest.id
    assert sorted(os.listdir(target.root / "shop")) == [manifest.id]  # no temporary left
    for part in manifest.parts:  # every part is sealed: no plain SQL or file content on disk
        data = (stored / part.file).read_bytes()
        assert data.startswith(b"age-encryption.org/v1")
        assert hashlib.sha256(data).hexdigest() == part.sha256
        assert b"reporter" not in data

    result = drill(client, target, manifest, key, print)
    assert result.ok, result.details
    assert catalog.verification(target, "shop", manifest.id).ok
    assert not [c for c in client.containers.list(all=True) if "drill" in c.name]

    # Break the project: data, roles, files and the root key.
    psql(
        client,
        "shop",
        "DROP TABLE public.items; DELETE FROM app.notes; SELECT lo_unlink(4242);"
        "ALTER ROLE reporter PASSWORD 'changed-password'; CREATE TABLE junk (x int);",
    )
    client.containers.get(container_name("shop", "storage")).exec_run(
        ["sh", "-c", "rm -rf /var/lib/storage/bucket/avatars; echo x > /var/lib/storage/new"]
    )
    put_files(
        client,
        container_name("shop", "db"),
        "/etc/postgresql-custom",
        {"pgsodium_root.key": b"0" * 64 + b"\n"},
        mode=0o600,
        uid_of="postgres",
    )
    assert psql(client, "shop", "SELECT to_regclass('public.items') IS NULL") == "t"
    key_now = read_files(client, container_name("shop", "db"), "/etc/postgresql-custom")
    assert key_now != before["key"]

    summary = restore(shop, target, manifest, key, print, lambda _: True)

    assert "ACTIVE" in summary
    assert workspace.ups[-2:] == [("shop", True), ("shop", False)]  # stopped, then started
    assert snapshot_state(client, "shop") == before  # byte for byte, owners and modes too
    assert psql(client, "shop", "SELECT to_regclass('public.junk') IS NULL") == "t"
    password = workspace.secrets["shop"]["postgresPassword"]
    for role in ("authenticator", "postgres", "supabase_admin"):
        assert psql(client, "shop", "SELECT current_user", user=role, password=password) == role
    assert (
        psql(
            client,
            "shop",
            "SELECT count(*) FROM items",
            user="reporter",
            password="reporter-pass-123",
        )
        == "5000"
    )

    # Clone into a second project on the same engine: own slot and names, same data.
    summary = clone(fleet, "shop-copy", target, manifest, key, print, host=None)

    assert "ACTIVE" in summary
    stack = (fleet.config.stacks_dir / "Pulumi.shop-copy.yaml").read_text()
    assert "portSlot: 1" in stack and "postgresPassword" not in stack
    assert workspace.set_secrets["shop-copy"] == workspace.secrets["shop"]
    assert snapshot_state(client, "shop-copy") == before
    copy_password = workspace.secrets["shop-copy"]["postgresPassword"]
    assert (
        psql(
            client, "shop-copy", "SELECT current_user", user="authenticator", password=copy_password
        )
        == "authenticator"
    )
    running = {c.name for c in client.containers.list()}
    assert {container_name("shop", "db"), container_name("shop-copy", "db")} <= running
    psql(client, "shop-copy", "DELETE FROM app.notes")  # the two projects are independent
    assert snapshot_state(client, "shop")["checksum"] == before["checksum"]


def test_paused_project_needs_offline_and_then_backs_up(setup):
    fleet, _workspace, client, target, key = setup
    shop = Project(fleet, "shop")
    shop.set_paused(True, print)

    with pytest.raises(FleetError, match="paused .* --offline"):
        take_backup(shop, target, key, print, offline=False)
    assert target.backups() == []

    manifest = take_backup(shop, target, key, print, offline=True)

    assert manifest.offline and manifest.row_counts["postgres"]["public.items"] == 5000
    assert not [c for c in client.containers.list(all=True) if "shop" in c.name]
    assert drill(client, target, manifest, key, print).ok


def test_tampered_backup_is_refused_before_anything_changes(setup):
    fleet, workspace, client, target, key = setup
    shop = Project(fleet, "shop")
    manifest = take_backup(shop, target, key, print, offline=False)
    part = next(p for p in manifest.parts if p.kind == "database")
    path = target.root / "shop" / manifest.id / part.file
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    ups = list(workspace.ups)

    with pytest.raises(FleetError, match="fails verification.*sha256"):
        restore(shop, target, manifest, key, print, lambda _: True)

    assert workspace.ups == ups  # never stopped
    assert psql(client, "shop", "SELECT count(*) FROM items") == "5000"
    result = drill(client, target, manifest, key, print)
    assert not result.ok and part.file in result.details
    assert not catalog.verification(target, "shop", manifest.id).ok


def test_engine_stopping_mid_dump_leaves_nothing(setup, monkeypatch):
    fleet, _workspace, client, target, key = setup
    shop = Project(fleet, "shop")
    psql(
        client,
        "shop",
        "CREATE TABLE big AS SELECT g, repeat('x', 500) AS pad FROM generate_series(1, 200000) g",
    )
    original = archive.HashingWriter.write
    seen = []

    def write(self, data):
        seen.append(len(data))
        if len(seen) == 3:  # the db container dies while its dump streams
            client.containers.get(container_name("shop", "db")).kill()
        return original(self, data)

    monkeypatch.setattr(archive.HashingWriter, "write", write)

    with pytest.raises(Exception, match="failed|ended|stopped|unreachable|refused"):
        take_backup(shop, target, key, print, offline=False)

    assert target.backups() == []
    assert not any((target.root / "shop").iterdir())


def test_writes_during_the_dump_match_the_manifest(setup):
    """Rows inserted while the dump runs are either all in it or not: counts = dump."""
    fleet, _workspace, client, target, key = setup
    shop = Project(fleet, "shop")
    psql(client, "shop", "CREATE TABLE big AS SELECT g FROM generate_series(1, 300000) g")
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            psql(client, "shop", "INSERT INTO public.items SELECT max(id) + 1, 'x' FROM items;"
                 "INSERT INTO big SELECT g FROM generate_series(1, 1000) g")  # fmt: skip

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        manifest = take_backup(shop, target, key, print, offline=False)
    finally:
        stop.set()
        thread.join()

    final = int(psql(client, "shop", "SELECT count(*) FROM items"))
    assert 5000 <= manifest.row_counts["postgres"]["public.items"] <= final
    result = drill(client, target, manifest, key, print)
    assert result.ok, result.details


def test_command_line_backup_all_of_a_paused_project(setup):
    fleet, _workspace, _client, target, _key = setup
    Project(fleet, "shop").set_paused(True, print)
    home = ["--home", str(fleet.config.home), "--target", str(target.root)]

    assert cli.main(["backup", "--all", *home], context_factory=lambda _: fleet) == 1
    assert "--offline" in fleet.out.getvalue() and target.backups() == []

    code = cli.main(
        ["backup", "--all", "--offline", "--verify", *home], context_factory=lambda _: fleet
    )
    assert code == 0, fleet.out.getvalue()
    assert "1 succeeded, 0 failed" in fleet.out.getvalue()
    [(_, backup_id)] = target.backups()
    assert cli.main(["backups", *home], context_factory=lambda _: fleet) == 0
    listing = fleet.out.getvalue().splitlines()
    assert any(line.startswith(backup_id) and "verified" in line for line in listing)


def test_backup_to_s3_and_drill_from_it(setup, monkeypatch):
    fleet, _workspace, client, _target, key = setup
    with s3_bucket(monkeypatch) as (endpoint, bucket):
        target = targets.target_from(
            f"s3://{bucket}/nightly", fleet.config.home, {targets.S3_ENDPOINT_ENV: endpoint}
        )
        manifest = take_backup(Project(fleet, "shop"), target, key, print, offline=False)
        assert target.backups() == [("shop", manifest.id)]
        result = drill(client, target, manifest, key, print)
        assert result.ok, result.details
        assert catalog.verification(target, "shop", manifest.id).ok


def test_backup_and_restore_through_an_ssh_engine(setup, engine_a, tmp_path, monkeypatch):
    """The same streams through ``ssh://``: docker exec and archives over an ssh tunnel."""
    fleet, workspace, client, target, key = setup
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        if os.environ.get("CI"):
            pytest.fail("CI installs openssh-server (.ci/system-deps.sh)", pytrace=False)
        pytest.skip("sshd is not installed (apt-get install openssh-server)")
    sshd = PrivateSshd(tmp_path / "sshd")
    try:
        sshd.start()
        monkeypatch.setenv("PATH", f"{sshd.bin_dir}:{os.environ['PATH']}")
        url = f"ssh://root@127.0.0.1:{sshd.port}"
        stackfiles.set_setting(fleet.config.stacks_dir, "shop", "dockerHost", url)
        spec = EngineSpec("ssh-a", url, 20, socket_path=str(engine_a.socket))
        via_ssh = FleetContext(fleet.config, workspace, Engine, inventory=[spec],
                               out=io.StringIO(), confirm=lambda _: True, live=False)  # fmt: skip
        shop = Project(via_ssh, "shop")
        manifest = take_backup(shop, target, key, print, offline=False)
        psql(client, "shop", "DROP TABLE public.items")

        restore(shop, target, manifest, key, print, lambda _: True)

        assert psql(client, "shop", "SELECT count(*) FROM items") == "5000"
        via_ssh.close()
    finally:
        sshd.stop()
