"""The backup commands on the command line: listing, pruning and bad input, without an engine."""

from __future__ import annotations

import fcntl
import io
from pathlib import Path

import pytest

from automation import cli
from automation.backups import archive, targets
from automation.backups.manifest import MANIFEST, Manifest, Part
from automation.context import FleetContext
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
