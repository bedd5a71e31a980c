"""Taking a backup on an in-memory engine: what lands on the target, and what never does.

The engine answers like a project's db container would (tests/backup_fakes.py); the target
is a real directory and every part is read back with the key, so a test sees what a
restore would get.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from backup_fakes import Answer, FakeEngine
from pyrage import x25519

from automation.backups import archive, backup, catalog, dump, targets
from automation.backups.manifest import Manifest, Part
from automation.engine import Engine, EngineSpec
from automation.errors import FleetError
from components.naming import PROJECT_LABEL, SERVICE_LABEL, VOLUME_LABEL

END = dump._END.encode()
GLOBALS = b"CREATE ROLE anon;\nALTER ROLE anon NOLOGIN;\n"
STATE = json.dumps({"version": 3}).encode()


def rows(*lines: bytes) -> Answer:
    """A query's answer, end marker included."""
    return Answer(stdout=[b"".join(line + b"\n" for line in (*lines, END))])


@dataclass
class FakeProject:
    """The project side of a backup (stack file, outputs, state) without Pulumi."""

    engine: Engine
    stack_path: Path
    ref: str = "shop"
    release: str = "2024-04"
    db: str | None = "supabase-shop-db"
    image: str = "supabase/postgres:15.8"
    exported: list[str] = field(default_factory=list)

    @property
    def stack(self):
        return type("Stack", (), {"path": self.stack_path})()

    def db_container(self) -> str | None:
        return self.db

    def offline_db_image(self) -> str:
        return self.image

    def secrets(self) -> dict[str, str]:
        return {"postgresPassword": "pw", "jwtSecret": "jwt"}

    def export_state(self) -> bytes:
        self.exported.append(self.ref)
        return STATE


def _volume(ref: str, key: str) -> tuple[str, dict[str, str]]:
    return f"supabase-{ref}-{key}", {PROJECT_LABEL: ref, VOLUME_LABEL: key}


@pytest.fixture
def fake() -> FakeEngine:
    fake = FakeEngine()
    fake.volumes = dict(
        _volume(ref, key)
        for ref, key in [
            ("shop", "db-data"),
            ("shop", "db-config"),
            ("shop", "storage-data"),
            ("shop", "deno-cache"),
            ("web", "functions-data"),
        ]
    )
    fake.listed = [
        {"Labels": {PROJECT_LABEL: "shop", SERVICE_LABEL: "db"}, "Image": "pg:15", "State": "x"},
        {"Labels": {PROJECT_LABEL: "shop"}, "Image": "mystery:1", "State": "running"},
        {"Labels": {PROJECT_LABEL: "web", SERVICE_LABEL: "db"}, "Image": "pg:17", "State": "x"},
    ]
    fake.inspect["supabase-shop-db"] = {
        "Config": {"Image": "pg:15", "Cmd": ["postgres", "-c", "config_file=/etc/pg.conf"]}
    }
    return fake


@pytest.fixture
def project(fake: FakeEngine, tmp_path: Path) -> FakeProject:
    engine = Engine(EngineSpec("host-a", "unix:///nonexistent.sock", 5))
    engine._docker = fake  # connected already: the fake answers
    stack = tmp_path / "Pulumi.shop.yaml"
    stack.write_text("config:\n  supabase:portSlot: 3\n")
    return FakeProject(engine, stack)


@pytest.fixture
def key(tmp_path: Path) -> x25519.Identity:
    return archive.ensure_key(tmp_path / "home")


@pytest.fixture
def target(tmp_path: Path) -> targets.LocalTarget:
    return targets.LocalTarget(tmp_path / "backups")


def script_cluster(fake: FakeEngine, databases: list[str]) -> None:
    """Facts, globals, then a snapshot and a dump per database."""
    fake.answer(rows(b"150008"), rows(b"15.8"), rows(*(d.encode() for d in databases)))
    fake.answer(rows(b"anon", b"postgres"), Answer(stdout=[GLOBALS[:10], GLOBALS[10:]]))
    for number, database in enumerate(databases):
        counts = b"public.t\t%d\nauth.users\t1\n" % number + END + b"\n"
        fake.answer(Answer(stdout=[b"snap-%d\n" % number, counts]))
        fake.answer(Answer(stdout=[b"-- dump of " + database.encode() + b"\n"]))


def read(target, manifest: Manifest, part: Part, key) -> bytes:
    return catalog.read_part(target, manifest, part, key)


def test_a_running_project_is_backed_up_whole_and_reads_back(fake, project, target, key):
    script_cluster(fake, ["_supabase", "postgres"])
    said: list[str] = []
    manifest = backup.take_backup(project, target, key, said.append, offline=False)

    assert target.backups() == [("shop", manifest.id)]
    assert catalog.load_manifest(target, "shop", manifest.id, key) == manifest
    assert manifest.ref == "shop" and manifest.id.startswith("shop-")
    assert (manifest.release, manifest.postgres_major, manifest.postgres_version) == (
        "2024-04", 15, "15.8")  # fmt: skip
    assert manifest.db_image == "pg:15"  # the running container's, not the stack's
    assert manifest.db_command == ["postgres", "-c", "config_file=/etc/pg.conf"]
    assert manifest.images == {"db": "pg:15", "?": "mystery:1"}  # only this project's
    assert manifest.databases == ["_supabase", "postgres"]
    assert manifest.roles == ["anon", "postgres"]
    assert manifest.row_counts == {
        "_supabase": {"public.t": 0, "auth.users": 1},
        "postgres": {"public.t": 1, "auth.users": 1},
    }
    assert manifest.offline is False
    assert manifest.created.endswith("+00:00") and "." not in manifest.created

    kinds = [(part.name, part.kind, part.target) for part in manifest.parts]
    assert kinds == [
        ("globals.sql", "globals", ""),
        ("db-_supabase.sql", "database", "_supabase"),
        ("db-postgres.sql", "database", "postgres"),
        ("volume-db-config.tar", "volume", "db-config"),  # never db-data nor the Deno cache
        ("volume-storage-data.tar", "volume", "storage-data"),
        ("stack.yaml", "stack", ""),
        ("state.json", "state", ""),
        ("secrets.json", "secrets", ""),
    ]
    plain = {part.name: read(target, manifest, part, key) for part in manifest.parts}
    assert plain["globals.sql"] == GLOBALS
    assert plain["db-postgres.sql"] == b"-- dump of postgres\n"
    assert plain["volume-storage-data.tar"] == b"tar of /backup/storage-data"
    assert plain["stack.yaml"] == project.stack_path.read_bytes()
    assert plain["state.json"] == STATE
    assert json.loads(plain["secrets.json"]) == {"postgresPassword": "pw", "jwtSecret": "jwt"}
    assert plain["secrets.json"] == b'{"jwtSecret": "jwt", "postgresPassword": "pw"}'
    for part in manifest.parts:
        assert part.size == len(plain[part.name])

    dumps = [call for call in fake.calls if call.cmd[0] == "sh" and "pg_dump" in call.cmd]
    snapshots = [c.cmd[c.cmd.index("--snapshot=snap-0") :] for c in dumps[:1]]
    assert snapshots == [["--snapshot=snap-0", "-d", "_supabase"]]
    assert all(call.container == "supabase-shop-db" for call in fake.calls)
    [helper] = fake.containers_made
    assert helper.image == "pg:15"
    assert helper.kwargs["volumes"] == {
        "supabase-shop-db-config": {"bind": "/backup/db-config", "mode": "ro"},
        "supabase-shop-storage-data": {"bind": "/backup/storage-data", "mode": "ro"},
    }
    assert "writing globals.sql" in said
    assert f"globals.sql: {len(GLOBALS)} B -> " in said[said.index("writing globals.sql") + 1]


def test_a_failure_mid_backup_leaves_nothing_on_the_target(fake, project, target, key):
    script_cluster(fake, ["postgres"])
    fake.answers[-1] = Answer(stderr=b"pg_dump: error: connection lost", exit_code=1)
    with pytest.raises(dump.DumpError, match="connection lost"):
        backup.take_backup(project, target, key, lambda _: None, offline=False)
    assert target.backups() == []
    assert list((target.root / "shop").iterdir()) == []  # the partial folder is gone


def test_a_paused_project_needs_offline_and_nothing_is_written(fake, project, target, key):
    project.db = None
    with pytest.raises(FleetError) as error:
        backup.take_backup(project, target, key, lambda _: None, offline=False)
    assert str(error.value).startswith("project shop is paused (its database is not running)")
    assert "pass --offline" in str(error.value) and "or resume it" in str(error.value)
    assert target.backups() == [] and list((target.root / "shop").iterdir()) == []
    assert fake.calls == []


def test_offline_reads_the_data_volume_in_a_scratch_db_of_the_stacks_image(
    fake, project, target, key
):
    project.db = None
    fake.images_present = {project.image}
    script_cluster(fake, ["postgres"])
    said: list[str] = []
    manifest = backup.take_backup(project, target, key, said.append, offline=True)
    assert manifest.offline is True
    assert manifest.db_image == project.image
    assert manifest.db_command == list(backup.DB_COMMAND)
    scratch, helper = fake.containers_made
    assert scratch.image == project.image and scratch.command == list(backup.DB_COMMAND)
    assert scratch.kwargs["volumes"] == {
        "supabase-shop-db-data": {"bind": "/var/lib/postgresql/data", "mode": "rw"},
        "supabase-shop-db-config": {"bind": "/etc/postgresql-custom", "mode": "rw"},
    }
    assert scratch.kwargs["environment"]["FRESH"] == ""  # the project's data, kept
    assert "starting a temporary db container on the data volume" in said
    assert helper.image == project.image
    assert {c.container for c in fake.calls if c.cmd[0] != "pg_isready"} == {scratch.id}


def test_offline_without_the_db_image_on_the_engine_names_the_fix(fake, project, target, key):
    project.db = None
    with pytest.raises(FleetError) as error:
        backup.take_backup(project, target, key, lambda _: None, offline=True)
    assert str(error.value) == (
        f"image {project.image} is not on the engine of shop; resume the project once "
        f"(which pulls it) or set images.db"
    )
    assert fake.containers_made == [] and target.backups() == []


def test_a_project_without_its_data_volume_is_refused_naming_the_engine(fake, project, target, key):
    del fake.volumes["supabase-shop-db-data"]
    with pytest.raises(FleetError, match="^project shop has no data volume on host-a$"):
        backup.take_backup(project, target, key, lambda _: None, offline=False)
    assert project.exported == [] and not target.root.exists()


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (1024 * 1024 - 1, "1024.0 KiB"),
        (1024 * 1024, "1.0 MiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**4, "3072.0 GiB"),
    ],
)
def test_sizes_are_shown_in_binary_units(count, shown):
    assert backup.human_size(count) == shown


def test_the_summary_counts_parts_bytes_rows_and_databases():
    parts = [Part("a", "globals", 1, 1024, "x"), Part("b", "database", 9, 2048, "y", "app")]
    manifest = Manifest(
        id="shop-20260101T000000Z", ref="shop", created="", release="2024-04",
        postgres_major=15, postgres_version="15.8", db_image="i", db_command=[], images={},
        databases=["app", "postgres"], roles=[],
        row_counts={"app": {"t": 3, "u": 4}, "postgres": {"v": 5}}, parts=parts,
    )  # fmt: skip
    assert backup.summary(manifest) == (
        "shop-20260101T000000Z: 2 parts, 3.0 KiB stored, 12 rows in 2 databases"
    )
