"""Restoring and drilling a backup on an in-memory engine: what Postgres and the volumes
get, in which order, and what stops a restore before anything is touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
from backup_fakes import Answer, FakeEngine, store_backup
from fleet_env import Env
from pyrage import x25519

from automation.backups import archive, catalog, dump, restore, targets, verify
from automation.backups import project as project_module
from automation.backups.manifest import Manifest
from automation.engine import Engine, EngineSpec
from automation.errors import FleetError

END = dump._END.encode()
ID = "shop-20260102T030405Z"
GLOBALS = (
    b"CREATE ROLE anon;\nCREATE ROLE supabase_admin;\nALTER ROLE supabase_admin WITH SUPERUSER;\n"
)


def rows(*lines: bytes) -> Answer:
    return Answer(stdout=[b"".join(line + b"\n" for line in (*lines, END))])


def manifest(**changes) -> Manifest:
    fields = dict(
        id=ID, ref="shop", created="2026-01-02T03:04:05+00:00", release="2024-04",
        postgres_major=15, postgres_version="15.8", db_image="pg:15",
        db_command=["postgres", "-c", "config_file=/etc/pg.conf"], images={},
        databases=["postgres", "app"], roles=["anon", "supabase_admin"],
        row_counts={"postgres": {"public.t": 2}, "app": {"public.u": 1, "public.v": 0}},
    )  # fmt: skip
    return Manifest(**(fields | changes))


PAYLOADS = {
    "globals.sql": ("globals", "", GLOBALS),
    "db-postgres.sql": ("database", "postgres", b"-- postgres dump\n"),
    "db-app.sql": ("database", "app", b"-- app dump\n"),
    "volume-storage-data.tar": ("volume", "storage-data", b"storage tar"),
    "stack.yaml": ("stack", "", b"config: {}\n"),
}


@dataclass
class FakeProject:
    engine: Engine
    ref: str = "shop"
    release: str = "2024-04"
    postgres_major: int = 15
    image: str = "supabase/postgres:15.8"
    paused: bool = False
    events: list[str] = field(default_factory=list)

    @property
    def stack(self) -> SimpleNamespace:
        return SimpleNamespace(paused=self.paused)

    def offline_db_image(self) -> str:
        return self.image

    def set_paused(self, paused: bool, report) -> None:
        self.paused = paused
        self.events.append("pause" if paused else "start")
        report(f"up of {self.ref}")  # pause and resume report their up, line by line

    def wait_active(self) -> None:
        self.events.append("active")


@pytest.fixture
def key(tmp_path: Path) -> x25519.Identity:
    return archive.ensure_key(tmp_path / "home")


@pytest.fixture
def target(tmp_path: Path) -> targets.LocalTarget:
    return targets.LocalTarget(tmp_path / "backups")


@pytest.fixture
def stored(target, key) -> Manifest:
    return store_backup(target, key, manifest(), PAYLOADS)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    monkeypatch.setattr(dump.time, "sleep", lambda _: None)
    fake = FakeEngine()
    fake.images_present = {"pg:15"}
    return fake


@pytest.fixture
def project(fake: FakeEngine) -> FakeProject:
    engine = Engine(EngineSpec("host-a", "unix:///nonexistent.sock", 5))
    engine._docker = fake
    return FakeProject(engine)


def script_load(fake: FakeEngine, counts: dict[str, list[bytes]]) -> None:
    """psql for the roles, then per database a psql load and a row count."""
    fake.answer(Answer())
    for database in ("postgres", "app"):
        fake.answer(Answer(), rows(*counts[database]))


GOOD_COUNTS = {"postgres": [b"public.t\t2"], "app": [b"public.u\t1", b"public.v\t0"]}


def test_a_cluster_is_loaded_roles_first_then_each_database(fake, target, stored, key):
    script_load(fake, GOOD_COUNTS)
    said: list[str] = []
    conn = dump.scratch_conn("scratch")
    counts = restore.load_cluster(fake, conn, target, stored, key, said.append)
    assert counts == {"postgres": {"public.t": 2}, "app": {"public.u": 1, "public.v": 0}}
    roles, load_pg, count_pg, load_app, count_app = fake.calls
    # The fresh cluster has its bootstrap superuser: creating it again would stop psql.
    assert roles.read_stdin() == (
        b"CREATE ROLE anon;\nALTER ROLE supabase_admin WITH SUPERUSER;\n\n\\q\n"
    )
    for load in (roles, load_pg, load_app):
        assert load.stdin and load.cmd[load.cmd.index("-d") + 1] == "template1"
    assert load_pg.read_stdin() == b"-- postgres dump\n\n\\q\n"
    assert load_app.read_stdin() == b"-- app dump\n\n\\q\n"
    assert count_pg.cmd[count_pg.cmd.index("-c") + 1] == dump.COUNT_ROWS
    assert count_pg.cmd[count_pg.cmd.index("-d") + 1] == "postgres"
    assert count_app.cmd[count_app.cmd.index("-d") + 1] == "app"
    assert said == ["loading database postgres", "loading database app"]


def test_a_backup_without_roles_or_a_database_dump_is_refused(fake, target, key):
    no_roles = store_backup(
        target, key, manifest(), {"db-postgres.sql": PAYLOADS["db-postgres.sql"]}
    )
    with pytest.raises(FleetError, match=f"^{ID} has no roles part$"):
        restore.load_cluster(fake, dump.scratch_conn("s"), target, no_roles, key, print)
    assert fake.calls == []
    other = targets.LocalTarget(target.root.parent / "other")
    no_app = store_backup(other, key, manifest(), {"globals.sql": PAYLOADS["globals.sql"],
                          "db-postgres.sql": PAYLOADS["db-postgres.sql"]})  # fmt: skip
    fake.answer(Answer(), Answer(), rows(b"public.t\t2"))
    with pytest.raises(FleetError, match=f"^{ID} has no dump of database app$"):
        restore.load_cluster(fake, dump.scratch_conn("s"), other, no_app, key, print)


def test_a_dump_that_differs_from_its_checksum_is_reported_after_the_load(
    fake, target, stored, key
):
    changed = stored.parts[1]
    stored.parts[1] = type(changed)(**{**changed.__dict__, "sha256": "0" * 64})
    fake.answer(Answer(), Answer())
    with pytest.raises(FleetError, match=f"^{ID}/db-postgres.sql.zst.age changed while"):
        restore.load_cluster(fake, dump.scratch_conn("s"), target, stored, key, print)


def test_a_dump_the_key_cannot_open_stops_the_load(fake, target, stored, key):
    wrong = x25519.Identity.generate()
    fake.answer(Answer())
    process = dump.feed_sql(fake, dump.scratch_conn("s"), "template1")
    with pytest.raises(FleetError, match=f"^{ID}/db-app.sql.zst.age: cannot decrypt"):
        restore._feed(process, target, stored, stored.parts[2], wrong)
    assert fake.calls[0].read_stdin() == b""


def test_row_count_differences_name_database_table_and_both_counts():
    wanted = manifest()
    found = {"postgres": {"public.t": 2}, "app": {"public.u": 7}}
    assert restore.count_differences(wanted, found) == [
        "app.public.u: 7 rows, backup had 1",
        "app.public.v: None rows, backup had 0",
    ]
    assert restore.count_differences(wanted, {"app": {"public.u": 1, "public.v": 0}}) == [
        "postgres.public.t: None rows, backup had 2"
    ]
    assert restore.count_differences(wanted, found | {"app": {"public.u": 1, "public.v": 0}}) == []


def test_preflight_refuses_another_postgres_major_before_anything(target, stored, project):
    project.postgres_major = 17
    project.release = "2026-09"
    with pytest.raises(FleetError) as error:
        restore.preflight(target, stored, project)
    assert str(error.value).startswith(
        f"{ID} holds Postgres 15 data but project shop runs release 2026-09 with Postgres 17;"
    )
    assert "restoring into a clone on the old release" in str(error.value)


def test_preflight_refuses_damaged_parts_and_a_failed_drill(target, stored, project):
    assert restore.preflight(target, stored, project) is None
    catalog.record_verification(target, "shop", ID, True, "ok")
    restore.preflight(target, stored, project)
    catalog.record_verification(target, "shop", ID, False, "roles missing")
    with pytest.raises(FleetError) as error:
        restore.preflight(target, stored, project)
    assert (
        str(error.value) == f"{ID}'s last restore drill failed (roles missing); nothing was changed"
    )
    (target.root / "shop" / ID / "stack.yaml.zst.age").unlink()
    with pytest.raises(FleetError, match=f"^{ID} fails verification, nothing was changed: stack"):
        restore.preflight(target, stored, project)


def test_the_backups_own_db_image_is_preferred_then_the_projects(fake, project):
    assert restore._db_image(fake, manifest(), project) == "pg:15"
    fake.images_present = {project.image}
    assert restore._db_image(fake, manifest(), project) == project.image
    fake.images_present = set()
    with pytest.raises(FleetError) as error:
        restore._db_image(fake, manifest(), project)
    assert str(error.value) == (
        f"neither pg:15 nor {project.image} is on the engine of shop; resume a project "
        f"there once (which pulls it)"
    )


def test_loading_data_refills_volumes_then_a_fresh_cluster(fake, project, target, stored, key):
    fake.answer(Answer(), Answer())  # wipe and untar storage-data
    script_load(fake, GOOD_COUNTS)
    said: list[str] = []
    restore.load_data(project, target, stored, key, said.append)
    helper, scratch = fake.containers_made
    assert helper.kwargs["volumes"] == {
        "supabase-shop-storage-data": {"bind": "/backup/storage-data", "mode": "rw"}
    }
    assert helper.events[0] == "start"  # running: execs go into it
    wipe, untar = fake.calls[:2]
    assert wipe.container == untar.container == helper.id
    assert untar.read_stdin() == b"storage tar"
    assert scratch.image == "pg:15" and scratch.command == stored.db_command
    assert scratch.kwargs["environment"]["FRESH"] == "1"
    assert scratch.kwargs["volumes"] == {
        "supabase-shop-db-data": {"bind": "/var/lib/postgresql/data", "mode": "rw"},
        "supabase-shop-db-config": {"bind": "/etc/postgresql-custom", "mode": "rw"},
    }
    assert said[:2] == ["restoring volume storage-data", "initialising a fresh database cluster"]


def test_loaded_rows_that_differ_fail_the_restore_naming_five(fake, project, target, key):
    counts = {"postgres": {f"public.t{n}": n + 1 for n in range(7)}}
    stored = store_backup(target, key, manifest(databases=["postgres"], row_counts=counts),
                          {k: PAYLOADS[k] for k in ("globals.sql", "db-postgres.sql")})  # fmt: skip
    fake.answer(Answer(), Answer(), rows(b"public.t0\t1"))
    with pytest.raises(FleetError) as error:
        restore.load_data(project, target, stored, key, print)
    message = str(error.value)
    assert message.startswith("restored row counts differ from the backup: postgres.public.t1: ")
    assert message.count("rows, backup had") == 5


def test_restore_asks_first_and_a_no_touches_nothing(fake, project, target, stored, key):
    asked: list[str] = []

    def no(question: str) -> bool:
        asked.append(question)
        return False

    with pytest.raises(FleetError, match=r"^nothing restored \(confirm, or pass --yes\)$"):
        restore.restore(project, target, stored, key, print, no)
    assert asked == [f"Replace the database and volumes of shop with {ID}? [y/N] "]
    assert project.events == [] and fake.calls == []


def test_restore_runs_its_preflight_unless_already_checked(project, target, stored, key):
    project.postgres_major = 17
    with pytest.raises(FleetError, match="holds Postgres 15 data"):
        restore.restore(project, target, stored, key, print, lambda _: True)
    assert project.events == []


def test_restore_pauses_loads_starts_and_waits(fake, project, target, stored, key):
    fake.answer(Answer(), Answer())
    script_load(fake, GOOD_COUNTS)
    said: list[str] = []
    result = restore.restore(project, target, stored, key, said.append, lambda _: True)
    assert result == f"restored from {ID}; ACTIVE"
    assert project.events == ["pause", "start", "active"]
    assert said[0] == "stopping the project" and said[1] == "up of shop"
    assert said[-2:] == ["starting the project", "up of shop"]


def test_a_failed_load_leaves_the_project_paused_and_says_how_to_retry(
    fake, project, target, stored, key
):
    fake.answer(Answer(stderr=b"find: Permission denied", exit_code=1))
    with pytest.raises(RuntimeError) as error:
        restore.restore(project, target, stored, key, print, lambda _: True, checked=True)
    assert str(error.value).startswith("-mindepth 1 -delete failed (1): find: Permission denied")
    assert str(error.value).endswith(
        "; the project stays paused with its data partly replaced: run the same restore again "
        "(the backup is unchanged)"
    )
    assert project.events == ["pause"]


def test_a_drill_that_matches_is_recorded_as_verified(fake, target, stored, key):
    script_load(fake, GOOD_COUNTS)
    fake.answer(rows(b"anon", b"supabase_admin", b"authenticator"))
    said: list[str] = []
    result = verify.drill(fake, target, stored, key, said.append)
    assert result.ok is True
    assert result.details == "5 parts, 2 roles, 3 tables match"
    assert catalog.verification(target, "shop", ID) == result
    [scratch] = fake.containers_made
    assert scratch.kwargs["name"].startswith("supabase-shop-drill-scratch-")
    assert scratch.kwargs["volumes"] == {} and scratch.kwargs["environment"]["FRESH"] == "1"
    assert scratch.image == "pg:15" and scratch.command == stored.db_command
    assert said[0] == "loading into a scratch Postgres"
    assert fake.calls[-1].cmd[fake.calls[-1].cmd.index("-c") + 1] == "SELECT rolname FROM pg_roles"


def test_a_drill_names_missing_roles_and_rows(fake, target, stored, key):
    script_load(fake, {"postgres": [b"public.t\t1"], "app": GOOD_COUNTS["app"]})
    fake.answer(rows(b"postgres"))
    result = verify.drill(fake, target, stored, key, print)
    assert result.ok is False
    assert result.details == (
        "roles missing after the load: anon, supabase_admin; "
        "postgres.public.t: 1 rows, backup had 2"
    )
    assert catalog.verification(target, "shop", ID) == result


def test_a_drill_stops_at_damaged_parts_before_any_container(fake, target, stored, key):
    (target.root / "shop" / ID / "db-app.sql.zst.age").write_bytes(b"cut")
    result = verify.drill(fake, target, stored, key, print)
    assert result.ok is False
    assert (
        result.details
        == "db-app.sql.zst.age: sha256 differs from the manifest (changed or truncated)"
    )
    assert fake.containers_made == []


def test_a_drill_decrypts_the_parts_it_does_not_load(fake, target, key):
    stored = store_backup(target, key, manifest(), PAYLOADS)
    wrong = x25519.Identity.generate()
    fake.images_present = set()
    result = verify.drill(fake, target, stored, wrong, print)
    details = result.details
    assert result.ok is False
    assert details.startswith("volume-storage-data.tar.zst.age: cannot decrypt (")
    assert "; stack.yaml.zst.age: cannot decrypt (" in details
    assert details.endswith("; the backup's db image pg:15 is not on this engine")
    assert fake.containers_made == []


def test_a_drill_whose_dump_does_not_load_says_so(fake, target, stored, key):
    fake.answer(Answer(stderr=b'ERROR:  role "x" does not exist', exit_code=3))
    result = verify.drill(fake, target, stored, key, print)
    assert result.ok is False
    assert result.details.startswith("the dump does not load: ")
    assert 'role "x" does not exist' in result.details


# -- clones, over the fleet's fake backend ----------------------------------------------

SECRETS = b'{"postgresPassword": "pw", "jwtSecret": "jwt", "dashboardPassword": "dash"}'
SOURCE_STACK = b"""config:
  supabase:portSlot: 4
  supabase:ref: shop
  supabase:exclude: [imgproxy]
  supabase:jwtSecret: {secure: v1:abc}
"""


@pytest.fixture
def cloning(env, monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Secrets set and data loads, recorded instead of done."""
    seen: dict[str, list] = {"secrets": [], "loads": [], "keys": []}
    monkeypatch.setattr(env.workspace, "set_secret", lambda *args: seen["secrets"].append(args))

    def load_data(project, target, manifest, key, report):
        seen["loads"].append((project.ref, manifest.id, project.stack.get("paused")))
        seen["keys"].append(str(key.to_public()))

    monkeypatch.setattr(restore, "load_data", load_data)
    # A clone that never comes up fails its wait at once instead of after ten minutes.
    ticks = iter(range(0, 10**6, 300))
    clock = SimpleNamespace(monotonic=lambda: float(next(ticks)), sleep=lambda _: None)
    monkeypatch.setattr(project_module, "time", clock)
    return seen


def _clone_source(target, key, secrets: bytes = SECRETS, stack: bytes = SOURCE_STACK, **changes):
    payloads = {"stack.yaml": ("stack", "", stack), "secrets.json": ("secrets", "", secrets)}
    return store_backup(target, key, manifest(**changes), payloads)


def test_a_clone_gets_its_own_slot_the_sources_settings_and_secrets(env, cloning, target, key):
    source = _clone_source(target, key)
    said: list[str] = []
    result = restore.clone(env.context(), "shop2", target, source, key, said.append, host=None)
    config = env.stack_files()["Pulumi.shop2.yaml"]["config"]
    assert config["supabase:exclude"] == ["imgproxy"]
    assert config["supabase:portSlot"] == 0 and "supabase:ref" not in config
    assert "supabase:jwtSecret" not in config  # the source's ciphertext is never copied
    assert config["supabase:paused"] is False  # started after the load
    assert cloning["secrets"] == [
        ("shop2", "postgresPassword", "pw"),
        ("shop2", "jwtSecret", "jwt"),
        ("shop2", "dashboardPassword", "dash"),
    ]
    assert cloning["loads"] == [("shop2", ID, True)]  # loaded while paused
    assert cloning["keys"] == [str(key.to_public())]
    assert said[0] == "creating shop2 (paused) on local, slot 0"
    assert "starting the clone" in said
    assert result == f"cloned {ID} into shop2 (slot 0); ACTIVE"


def test_a_clone_without_the_dashboard_password_still_gets_the_others(env, cloning, target, key):
    source = _clone_source(target, key, secrets=b'{"postgresPassword": "pw", "jwtSecret": "j"}')
    restore.clone(env.context(), "shop2", target, source, key, print, host="local")
    assert [name for _, name, _ in cloning["secrets"]] == ["postgresPassword", "jwtSecret"]


@pytest.mark.parametrize(
    ("secrets", "missing"),
    [
        (b'{"jwtSecret": "j"}', "postgresPassword"),
        (b'{"postgresPassword": "p"}', "jwtSecret"),
        (b"{}", "postgresPassword, jwtSecret"),
    ],
)
def test_a_backup_without_the_db_secrets_cannot_be_cloned(
    env, cloning, target, key, secrets, missing
):
    source = _clone_source(target, key, secrets=secrets)
    with pytest.raises(FleetError) as error:
        restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    assert str(error.value) == f"{ID} does not hold {missing}; it cannot be cloned"
    assert "Pulumi.shop2.yaml" not in env.stack_files() and cloning["secrets"] == []


def test_a_backup_without_stack_or_secrets_parts_cannot_be_cloned(env, cloning, target, key):
    source = store_backup(target, key, manifest(), {"stack.yaml": ("stack", "", SOURCE_STACK)})
    with pytest.raises(FleetError, match=f"^{ID} lacks the stack file or secrets a clone needs$"):
        restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    other = targets.LocalTarget(target.root.parent / "other")
    source = store_backup(other, key, manifest(), {"secrets.json": ("secrets", "", SECRETS)})
    with pytest.raises(FleetError, match="lacks the stack file or secrets"):
        restore.clone(env.context(), "shop2", other, source, key, print, host=None)


def test_a_damaged_or_failed_backup_is_not_cloned(env, cloning, target, key):
    source = _clone_source(target, key)
    catalog.record_verification(target, "shop", ID, False, "rows differ")
    with pytest.raises(FleetError) as error:
        restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    assert str(error.value) == f"{ID}'s last restore drill failed (rows differ)"
    (target.root / "shop" / ID / "stack.yaml.zst.age").write_bytes(b"x")
    with pytest.raises(FleetError, match=f"^{ID} fails verification, nothing was made: stack"):
        restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    assert "Pulumi.shop2.yaml" not in env.stack_files()


def test_a_clone_keeps_the_release_its_data_needs(env, cloning, target, key):
    newer = SOURCE_STACK + b"  supabase:release: '2026-09'\n"
    source = _clone_source(target, key, stack=newer, postgres_major=17)
    restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    assert env.stack_files()["Pulumi.shop2.yaml"]["config"]["supabase:release"] == "2026-09"
    other = targets.LocalTarget(target.root.parent / "other")
    mismatched = _clone_source(other, key, stack=newer)  # Postgres 15 data, a 17 release
    with pytest.raises(FleetError) as error:
        restore.clone(env.context(), "shop3", other, mismatched, key, print, host=None)
    assert str(error.value) == (
        f"{ID} holds Postgres 15 data, which its stack's release does not run; it cannot be "
        f"cloned as it is"
    )
    unknown = _clone_source(targets.LocalTarget(target.root.parent / "third"), key,
                            stack=SOURCE_STACK + b"  supabase:release: '1999-01'\n")  # fmt: skip
    with pytest.raises(FleetError, match="which its stack's release does not run"):
        restore.clone(env.context(), "shop4", target.__class__(target.root.parent / "third"),
                      unknown, key, print, host=None)  # fmt: skip


def test_an_empty_source_stack_clones_with_the_default_release(env, cloning, target, key):
    source = _clone_source(target, key, stack=b"")
    restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    assert cloning["loads"] == [("shop2", ID, True)]


def test_a_failed_clone_says_how_to_remove_it(env, cloning, target, key, monkeypatch):
    source = _clone_source(target, key)

    def broken(*args):
        raise FleetError("restored row counts differ from the backup: x")

    monkeypatch.setattr(restore, "load_data", broken)
    with pytest.raises(RuntimeError) as error:
        restore.clone(env.context(), "shop2", target, source, key, print, host=None)
    assert str(error.value) == (
        "restored row counts differ from the backup: x; the clone is incomplete: remove it "
        "with `supabase-fleet delete shop2 --delete-data --yes` and clone again"
    )
    assert env.stack_files()["Pulumi.shop2.yaml"]["config"]["supabase:paused"] is True


def test_a_clone_goes_to_the_host_asked_for(tmp_path, monkeypatch, target, key):
    specs = [EngineSpec("a", "unix:///a.sock", 5), EngineSpec("b", "unix:///b.sock", 5)]
    env = Env(tmp_path / "fleet", specs, monkeypatch)
    monkeypatch.setattr(env.workspace, "set_secret", lambda *args: None)
    monkeypatch.setattr(restore, "load_data", lambda *args: None)
    source = _clone_source(target, key)
    said: list[str] = []
    restore.clone(env.context(), "shop2", target, source, key, said.append, host="b")
    config = env.stack_files()["Pulumi.shop2.yaml"]["config"]
    assert config["supabase:dockerHost"] == "unix:///b.sock"
    assert said[0] == "creating shop2 (paused) on b, slot 0"
