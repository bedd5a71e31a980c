"""The backup commands on the command line: listing, pruning and bad input, without an engine."""

from __future__ import annotations

import fcntl
import io
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fleet_env import Env

from automation import cli
from automation.backups import archive, catalog, targets
from automation.backups import cli as backups_cli
from automation.backups.manifest import MANIFEST, Manifest, Part
from automation.context import FleetContext
from automation.engine import EngineSpec
from automation.settings import FleetConfig

IDS = ("shop-20260101T030000Z", "shop-20260102T030000Z", "shop-20260103T030000Z")


def write_backup(target: targets.LocalTarget, key, backup_id: str) -> None:
    """A complete backup as ``take_backup`` leaves it, with one small part."""
    staging = target.stage("shop", backup_id)
    with staging.part("globals.sql.zst.age") as write:
        sealed = archive.seal([b"CREATE ROLE x;\n"], write, key)
    manifest = Manifest(
        id=backup_id, ref="shop", created="2026-01-01T03:00:00+00:00", release="2024-04",
        postgres_major=15, postgres_version="15.8", db_image="img", db_command=["postgres"],
        images={}, databases=[], roles=["x"], row_counts={},
        parts=[Part("globals.sql", "globals", sealed.size, sealed.stored, sealed.sha256)],
    )  # fmt: skip
    with staging.part(MANIFEST) as write:
        archive.seal([manifest.to_json()], write, key)
    staging.commit()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    key = archive.ensure_key(home)
    target = targets.LocalTarget(home / "backups")
    for backup_id in IDS:
        write_backup(target, key, backup_id)
    return home


def stacks_dir(home: Path) -> Path:
    project = home.parent / "project"
    project.mkdir(exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: supabase\n")
    return FleetConfig.resolve(home=str(home), project_dir=str(project), environ={}).stacks_dir


def run(home: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()

    def factory(args) -> FleetContext:
        stacks_dir(home)
        project = home.parent / "project"
        config = FleetConfig.resolve(home=str(home), project_dir=str(project), environ={})
        return FleetContext(config, workspace=None, engine_factory=None, inventory=[], out=out,
                     live=False)  # fmt: skip

    return cli.main([*argv, "--home", str(home)], context_factory=factory), out.getvalue()


def test_backups_lists_every_backup_with_its_state(home: Path):
    code, out = run(home, "backups")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines[1:]] == list(IDS)
    assert all("not verified" in line for line in lines[1:])


def test_prune_keeps_what_the_policy_says(home: Path):
    code, out = run(home, "backups", "prune", "--keep-last", "1", "--dry-run")
    assert code == 0 and "would delete shop-20260101T030000Z" in out
    assert len(targets.LocalTarget(home / "backups").backups()) == 3
    code, out = run(home, "backups", "prune", "--keep-last", "1")
    assert code == 0
    assert targets.LocalTarget(home / "backups").backups() == [("shop", IDS[-1])]


def test_prune_without_a_rule_is_bad_input(home: Path, capsys):
    assert run(home, "backups", "prune")[0] == 2
    assert "--keep-last" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("restore", "shop", "--from", "yesterday"), "not a backup id"),
        (("restore", "shop", "--from", "shop-20990101T000000Z"), "no backup"),
        (("restore", "other", "--from", IDS[0]), "use --clone"),
        (("backup", "verify", "shop-20990101T000000Z"), "no backup"),
        (("backup", "nosuch"), "unknown project 'nosuch'"),
    ],
)
def test_bad_ids_fail_with_a_message(home: Path, capsys, argv, message):
    assert run(home, *argv)[0] == 2
    assert message in capsys.readouterr().err


def test_wrong_key_is_named(home: Path, capsys):
    (home / "backup.key").unlink()
    archive.ensure_key(home)  # a different key
    assert run(home, "backups")[0] == 2
    assert "wrong backup key" in capsys.readouterr().err


def test_missing_key_says_to_put_the_copy_back(home: Path, capsys):
    (home / "backup.key").unlink()
    assert run(home, "backups")[0] == 2
    assert "put back your copy" in capsys.readouterr().err


def test_tampered_manifest_is_refused(home: Path, capsys):
    path = home / "backups" / "shop" / IDS[0] / MANIFEST
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    assert run(home, "backups")[0] == 2
    assert "was changed" in capsys.readouterr().err


def test_restore_across_postgres_majors_is_refused_before_anything(home: Path, capsys):
    stacks = stacks_dir(home)
    stacks.mkdir(parents=True, exist_ok=True)
    (stacks / "Pulumi.shop.yaml").write_text("config:\n  supabase:release: '2026-09'\n")
    assert run(home, "restore", "shop", "--from", IDS[0], "--yes")[0] == 2
    err = capsys.readouterr().err
    assert "Postgres 15 data" in err and "Postgres 17" in err


def test_tampered_part_is_refused_before_anything(home: Path, capsys):
    stacks = stacks_dir(home)
    stacks.mkdir(parents=True, exist_ok=True)
    (stacks / "Pulumi.shop.yaml").write_text("config:\n  supabase:portSlot: 0\n")
    path = home / "backups" / "shop" / IDS[0] / "globals.sql.zst.age"
    path.write_bytes(path.read_bytes()[:-3])
    assert run(home, "restore", "shop", "--from", IDS[0], "--yes")[0] == 2
    assert "fails verification, nothing was changed" in capsys.readouterr().err


def test_overlapping_backup_runs_are_refused(home: Path, capsys):
    (stacks_dir(home) / "Pulumi.shop.yaml").write_text("config:\n  supabase:portSlot: 0\n")
    with open(home / "backup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert run(home, "backup", "--all")[0] == 2
    assert "another backup run" in capsys.readouterr().err


def test_restore_asks_and_nobody_answering_changes_nothing(home: Path, capsys):
    (stacks_dir(home) / "Pulumi.shop.yaml").write_text("config:\n  supabase:portSlot: 0\n")
    assert run(home, "restore", "shop", "--from", IDS[0])[0] == 2  # no terminal: no
    assert "confirm, or pass --yes" in capsys.readouterr().err


# -- the commands over the fleet's fake backend, with the engine steps stood in for ------


def _manifest(ref: str, backup_id: str, stored: int = 2048) -> Manifest:
    return Manifest(
        id=backup_id, ref=ref, created="2026-01-01T03:00:00+00:00", release="2024-04",
        postgres_major=15, postgres_version="15.8", db_image="img", db_command=["postgres"],
        images={}, databases=["postgres"], roles=["x"], row_counts={"postgres": {"t": 4}},
        parts=[Part("globals.sql", "globals", 10, stored, "0" * 64)],
    )  # fmt: skip


@pytest.fixture
def stand_ins(env: Env, monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """take_backup, drill, restore, clone and preflight recording their calls."""
    calls: dict[str, list] = {
        "take": [], "drill": [], "restore": [], "clone": [], "preflight": [], "keys": []
    }  # fmt: skip
    drills = {"ok": True}

    def take(project, target, key, report, *, offline):
        calls["take"].append((project.ref, target.description, offline))
        calls["keys"].append(str(key.to_public()))
        report("writing globals.sql")
        return _manifest(project.ref, f"{project.ref}-20260101T030000Z")

    def drill(client, target, manifest, key, report):
        calls["drill"].append((client, manifest.id))
        calls["keys"].append(str(key.to_public()))
        report("loading into a scratch Postgres")
        return catalog.Verification(drills["ok"], "2026-01-01T04:00:00+00:00", "3 tables match")

    def restore(project, target, manifest, key, report, confirm, *, checked):
        calls["restore"].append((project.ref, manifest.id, checked, confirm("sure?")))
        calls["keys"].append(str(key.to_public()))
        return "restored"

    def clone(ctx, ref, target, manifest, key, report, *, host):
        calls["clone"].append((ref, manifest.id, host))
        calls["keys"].append(str(key.to_public()))
        return "cloned"

    def preflight(target, manifest, project):
        calls["preflight"].append((manifest.id, project.ref))

    for name, stand_in in (("take_backup", take), ("drill", drill), ("restore", restore),
                           ("clone", clone), ("preflight", preflight)):  # fmt: skip
        monkeypatch.setattr(backups_cli, name, stand_in)
    calls["drills"] = [drills]
    for engine in env.engines.values():
        engine.docker = f"docker client of {engine.spec.name}"
    return calls


def _stored(env: Env, *ids: str) -> targets.LocalTarget:
    key = archive.ensure_key(env.config.home)
    target = targets.LocalTarget(env.config.home / "backups")
    for backup_id in ids:
        ref = backup_id.rsplit("-", 1)[0]
        staging = target.stage(ref, backup_id)
        with staging.part(MANIFEST) as write:
            archive.seal([_manifest(ref, backup_id).to_json()], write, key)
        staging.commit()
    return target


def test_backup_backs_up_the_named_projects_offline_when_asked(env: Env, stand_ins):
    env.write_stack("shop", portSlot=0)
    env.write_stack("web", portSlot=1)
    assert env.main("backup", "shop", "--offline") == 0
    assert stand_ins["take"] == [("shop", str(env.config.home / "backups"), True)]
    assert "shop-20260101T030000Z: 1 parts, 2.0 KiB stored, 4 rows in 1 databases" in (
        env.out.getvalue()
    )
    assert stand_ins["drill"] == []
    assert env.main("backup", "--all", "--target", str(env.project / "elsewhere")) == 0
    assert sorted(stand_ins["take"][1:]) == [
        ("shop", str(env.project / "elsewhere"), False),
        ("web", str(env.project / "elsewhere"), False),
    ]


def test_backup_verify_runs_the_drill_and_a_failed_drill_fails_the_run(env: Env, stand_ins):
    env.write_stack("shop", portSlot=0)
    assert env.main("backup", "shop", "--verify") == 0
    assert stand_ins["drill"] == [("docker client of local", "shop-20260101T030000Z")]
    assert "; drill passed" in env.out.getvalue()
    stand_ins["drills"][0]["ok"] = False
    assert env.main("backup", "shop", "--verify") == 1
    assert "shop-20260101T030000Z written but its drill FAILED: 3 tables match" in (
        env.out.getvalue()
    )


def test_backup_files_are_the_owners_only(env: Env, stand_ins):
    env.write_stack("shop", portSlot=0)
    before = os.umask(0o022)
    try:
        assert env.main("backup", "shop") == 0
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(before)
    assert (env.config.home / "backup.lock").stat().st_mode & 0o777 == 0o600
    assert env.config.home.stat().st_mode & 0o777 == 0o700


def test_verifying_a_stored_backup_drills_it_on_its_projects_engine(env: Env, stand_ins):
    env.write_stack("shop", portSlot=0)
    _stored(env, "shop-20260101T030000Z")
    assert env.main("backup", "verify", "shop-20260101T030000Z") == 0
    assert stand_ins["drill"] == [("docker client of local", "shop-20260101T030000Z")]
    assert "3 tables match" in env.out.getvalue()
    stand_ins["drills"][0]["ok"] = False
    assert env.main("backup", "verify", "shop-20260101T030000Z") == 1


def test_a_backup_of_a_deleted_project_is_drilled_on_the_first_host(tmp_path, monkeypatch):
    specs = [EngineSpec("a", "unix:///a.sock", 5), EngineSpec("b", "unix:///b.sock", 5)]
    env = Env(tmp_path, specs, monkeypatch)
    seen: list[object] = []
    monkeypatch.setattr(backups_cli, "drill", lambda client, *_: seen.append(client)
                        or catalog.Verification(True, "2026-01-01T04:00", "fine"))  # fmt: skip
    for engine in env.engines.values():
        engine.docker = engine.spec.name
    _stored(env, "gone-20260101T030000Z")
    assert env.main("backup", "verify", "gone-20260101T030000Z") == 0
    env.write_stack("gone", portSlot=0, dockerHost="unix:///b.sock")
    assert env.main("backup", "verify", "gone-20260101T030000Z") == 0
    assert seen == ["a", "b"]


def test_backup_with_verify_and_other_words_backs_up_projects(env: Env, stand_ins, capsys):
    assert env.main("backup", "verify", "a", "b") == 2  # three refs: not `backup verify ID`
    assert "unknown project 'verify'" in capsys.readouterr().err
    assert stand_ins["drill"] == []


def test_the_listing_shows_age_size_and_the_last_drill(env: Env, stand_ins):
    target = _stored(env, "shop-20260101T030000Z", "web-20260102T030000Z")
    catalog.record_verification(target, "web", "web-20260102T030000Z", True, "ok")
    assert env.main("backups") == 0
    header, shop, web = env.out.getvalue().splitlines()
    assert header.split() == ["ID", "AGE", "SIZE", "VERIFICATION"]
    age_end, size_end = header.index("AGE") + 3, header.index("SIZE") + 4
    state_at = header.index("VERIFICATION")
    assert header.index("AGE") > len("shop-20260101T030000Z") + 10  # room for long ids
    for row, backup_id in ((shop, "shop-20260101T030000Z"), (web, "web-20260102T030000Z")):
        assert row.startswith(backup_id + " ")
        assert row[:age_end].endswith("d") and row[age_end] == " "  # months old: days
        assert row[:size_end].endswith(" 2.0 KiB")  # the stored size, right-aligned
    assert shop[state_at:] == "not verified"
    assert re.fullmatch(r"verified \d{4}-\d\d-\d\dT\d\d:\d\d", web[state_at:])
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("backups", "web") == 0
    assert [line.split()[0] for line in env.out.getvalue().splitlines()[1:]] == [
        "web-20260102T030000Z"
    ]


def test_an_empty_listing_names_the_target(env: Env, stand_ins):
    _stored(env)
    where = env.project / "nothing-here"
    assert env.main("backups", "--target", str(where)) == 0
    assert env.out.getvalue().splitlines()[-1] == f"no backups in {where}"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (59, "59s"),
        (60, "1m"),
        (3599, "60m"),
        (3600, "1h"),
        (86399, "24h"),
        (86400, "1d"),
        (10 * 86400, "10d"),
    ],
)
def test_ages_are_shown_in_the_largest_whole_unit(seconds, shown):
    created = datetime.now(timezone.utc) - timedelta(seconds=seconds, milliseconds=1)
    assert backups_cli._age(created.isoformat()) == shown


def test_prune_applies_each_rule_per_project(env: Env, stand_ins):
    ids = [f"shop-202601{day:02d}T030000Z" for day in range(1, 11)]
    _stored(env, *ids, "web-20260101T030000Z", "web-20260102T030000Z")
    assert env.main("backups", "prune", "--keep-daily", "3", "--keep-weekly", "1") == 0
    out = env.out.getvalue().splitlines()
    assert out[-1] == "web: 2 backups kept"
    assert "shop: 3 backups kept" in out
    assert [line.split()[1] for line in out if line.startswith("deleted")] == ids[:7]
    left = targets.LocalTarget(env.config.home / "backups").backups()
    assert [backup_id for _, backup_id in left] == [*ids[7:], "web-20260101T030000Z",
                                                    "web-20260102T030000Z"]  # fmt: skip


def test_prune_of_named_projects_leaves_the_others(env: Env, stand_ins):
    _stored(env, "shop-20260101T030000Z", "shop-20260102T030000Z", "web-20260101T030000Z",
            "web-20260102T030000Z")  # fmt: skip
    assert env.main("backups", "prune", "web", "--keep-last", "1") == 0
    assert env.out.getvalue().splitlines() == [
        "deleted web-20260101T030000Z",
        "web: 1 backups kept",
    ]
    assert len(targets.LocalTarget(env.config.home / "backups").backups()) == 3


def test_restore_in_place_checks_asks_then_restores(env: Env, stand_ins, capsys):
    env.write_stack("shop", portSlot=0)
    _stored(env, "shop-20260101T030000Z")
    assert env.main("restore", "shop", "--from", "shop-20260101T030000Z", confirm=True) == 0
    assert stand_ins["preflight"] == [("shop-20260101T030000Z", "shop")]
    assert env.answers == [
        "Replace the database and volumes of shop with shop-20260101T030000Z? [y/N] "
    ]
    assert stand_ins["restore"] == [("shop", "shop-20260101T030000Z", True, True)]
    assert env.main("restore", "shop", "--from", "shop-20260101T030000Z", "-y") == 0
    assert len(env.answers) == 1 and len(stand_ins["restore"]) == 2
    assert env.main("restore", "shop", "--from", "shop-20260101T030000Z") == 2
    assert "nothing restored (confirm, or pass --yes)" in capsys.readouterr().err
    assert len(stand_ins["restore"]) == 2 and stand_ins["clone"] == []


def test_restore_as_a_clone_makes_the_new_project_on_the_asked_host(env: Env, stand_ins):
    _stored(env, "shop-20260101T030000Z")
    argv = ("restore", "shop2", "--from", "shop-20260101T030000Z", "--clone")
    assert env.main(*argv) == 0
    assert env.main(*argv, "--host", "local") == 0
    assert stand_ins["clone"] == [
        ("shop2", "shop-20260101T030000Z", None),
        ("shop2", "shop-20260101T030000Z", "local"),
    ]
    assert stand_ins["preflight"] == [] and env.answers == []


def test_restore_into_another_project_without_clone_names_both(env: Env, stand_ins, capsys):
    _stored(env, "shop-20260101T030000Z")
    assert env.main("restore", "web", "--from", "shop-20260101T030000Z") == 2
    assert (
        "shop-20260101T030000Z is a backup of shop, not web; use --clone to make web from it"
        in capsys.readouterr().err
    )


def test_a_missing_key_is_named_with_its_path(env: Env, stand_ins, capsys):
    _stored(env, "shop-20260101T030000Z")
    (env.config.home / "backup.key").unlink()
    assert env.main("backup", "verify", "shop-20260101T030000Z") == 2
    path = env.config.home / "backup.key"
    assert f"no backup key at {path}: put back your copy of it (mode 0600)" in (
        capsys.readouterr().err
    )


def test_an_unreachable_target_is_bad_input(env: Env, stand_ins, capsys, monkeypatch):
    def unreachable(self):
        raise targets.TargetError("S3 endpoint of s3://b/ is unreachable")

    monkeypatch.setattr(targets.LocalTarget, "backups", unreachable)
    assert env.main("backups", "prune", "--keep-last", "1") == 2
    assert "S3 endpoint of s3://b/ is unreachable" in capsys.readouterr().err


def test_the_lock_names_its_file(env: Env, stand_ins, capsys):
    env.write_stack("shop", portSlot=0)
    env.config.home.mkdir(parents=True, exist_ok=True)
    with open(env.config.home / "backup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert env.main("backup", "shop") == 2
    assert f"another backup run holds {env.config.home / 'backup.lock'}" in (
        capsys.readouterr().err
    )
    assert env.main("backup", "shop") == 0  # released with the other run


def _help(capsys, *argv: str) -> str:
    """A command's --help, wrapping undone (one space between words)."""
    with pytest.raises(SystemExit) as done:
        cli.build_parser().parse_args([*argv, "--help"])
    assert done.value.code == 0
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("command", "explained"),
    [
        ((), "backup back up projects (or `backup verify <id>`: restore drill)"),
        ((), "backups list backups (or `backups prune`)"),
        ((), "restore restore a project, or clone one, from a backup"),
        (("backup",), "[--all] [--offline] [--verify] [ref ...]"),
        (("backup",), "--all every project"),
        (("backup",), "--offline back up paused projects from a temporary db container"),
        (("backup",), "--verify run the restore drill after"),
        (("backup",), "--parallel N"),
        (("backup",), "--target TARGET directory or s3://BUCKET/PREFIX (default "
                      "$SUPABASE_FLEET_BACKUP_TARGET or <home>/backups)"),
        (("backups",), "[--keep-weekly N] [--dry-run] [ref ...]"),
        (("backups",), "--keep-last N prune: keep the last N"),
        (("backups",), "--keep-daily N prune: keep the daily N"),
        (("backups",), "--keep-weekly N prune: keep the weekly N"),
        (("backups",), "--dry-run prune: only show what goes"),
        (("backups",), "--target TARGET directory or s3://"),
        (("restore",), "--from ID"),
        (("restore",), "--clone make a new project REF"),
        (("restore",), "--host HOST clone: inventory host (default: the most free)"),
        (("restore",), "-y, --yes do not ask"),
        (("restore",), "--target TARGET directory or s3://"),
    ],
)  # fmt: skip
def test_the_help_explains_every_backup_option(capsys, command, explained):
    assert explained in _help(capsys, *command)


def test_restore_needs_the_backup_id(home: Path, capsys):
    with pytest.raises(SystemExit) as done:
        cli.build_parser().parse_args(["restore", "shop"])
    assert done.value.code == 2
    assert "the following arguments are required: --from" in capsys.readouterr().err


def test_two_refs_are_two_projects_to_back_up(env: Env, stand_ins):
    env.write_stack("shop", portSlot=0)
    env.write_stack("web", portSlot=1)
    assert env.main("backup", "web", "shop") == 0
    assert sorted(ref for ref, _, _ in stand_ins["take"]) == ["shop", "web"]
    assert stand_ins["drill"] == []


def test_the_run_lock_makes_a_missing_home_and_is_taken_again_after(tmp_path: Path):
    home = tmp_path / "a" / "b"
    with backups_cli._run_lock(home):
        assert (home / "backup.lock").is_file()
    with backups_cli._run_lock(home):  # released, and the home exists now
        pass


def _home_key(env: Env) -> str:
    return str(archive.load_key(archive.key_path(env.config.home)).to_public())


def test_every_step_gets_the_fleets_backup_key(env: Env, stand_ins):
    env.write_stack("shop", portSlot=0)
    assert env.main("backup", "shop", "--verify") == 0
    backup_id = "shop-20260101T030000Z"
    _stored(env, backup_id)
    assert env.main("backup", "verify", backup_id) == 0
    assert env.main("restore", "shop", "--from", backup_id, "--yes") == 0
    assert env.main("restore", "shop2", "--from", backup_id, "--clone") == 0
    assert len(stand_ins["keys"]) == 5
    assert set(stand_ins["keys"]) == {_home_key(env)}


class _Terminal(io.StringIO):
    """Output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "argv",
    [
        ("backup", "shop"),
        ("backup", "verify", "shop-20260101T030000Z"),
        ("restore", "shop", "--from", "shop-20260101T030000Z", "--yes"),
    ],
)
def test_progress_is_plain_lines_when_the_fleet_says_so_even_on_a_terminal(
    env: Env, stand_ins, argv
):
    env.write_stack("shop", portSlot=0)
    _stored(env, "shop-20260101T030000Z")
    env.out = _Terminal()
    assert env.main(*argv) == 0
    out = env.out.getvalue()
    assert "\x1b[" not in out  # no live table redrawn with escape codes
    assert "shop: started\n" in out or "shop-20260101T030000Z: started\n" in out
