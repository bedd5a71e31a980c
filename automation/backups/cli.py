"""The backup commands of ``supabase-fleet``: backup, backups, restore.

``register`` adds them to the fleet's command line like every command module; they run
over the ``FleetContext`` (stack files, the Pulumi workspace, engines, the terminal).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from automation.backups import retention
from automation.backups.archive import ensure_key, key_path, load_key
from automation.backups.backup import human_size, summary, take_backup
from automation.backups.catalog import find, load_manifest, verification
from automation.backups.manifest import parse_id
from automation.backups.project import Project
from automation.backups.restore import clone, preflight, restore
from automation.backups.targets import TARGET_ENV, TargetError, target_from
from automation.backups.verify import drill
from automation.errors import FleetError
from automation.inventory import spec_for_stack
from automation.runner import exit_code, run_many

if TYPE_CHECKING:
    from automation.context import FleetContext


def register(commands: argparse._SubParsersAction, parents: dict[str, argparse.ArgumentParser]):
    """Add backup, backups and restore; each sets ``run(ctx, args)``."""
    common, parallel = parents["state"], parents["parallel"]
    target = argparse.ArgumentParser(add_help=False)
    target.add_argument(
        "--target",
        help=f"directory or s3://BUCKET/PREFIX (default ${TARGET_ENV} or <home>/backups)",
    )
    backup = commands.add_parser(
        "backup",
        parents=[common, parallel, target],
        help="back up projects (or `backup verify <id>`: restore drill)",
    )
    backup.add_argument("refs", nargs="*", metavar="ref")
    backup.add_argument("--all", action="store_true", dest="all_", help="every project")
    backup.add_argument(
        "--offline",
        action="store_true",
        help="back up paused projects from a temporary db container",
    )
    backup.add_argument("--verify", action="store_true", help="run the restore drill after")
    backups = commands.add_parser(
        "backups", parents=[common, target], help="list backups (or `backups prune`)"
    )
    backups.add_argument("refs", nargs="*", metavar="ref")
    for rule in ("last", "daily", "weekly"):
        backups.add_argument(
            f"--keep-{rule}", type=int, default=0, metavar="N", help=f"prune: keep the {rule} N"
        )
    backups.add_argument("--dry-run", action="store_true", help="prune: only show what goes")
    restore_parser = commands.add_parser(
        "restore", parents=[common, target], help="restore a project, or clone one, from a backup"
    )
    restore_parser.add_argument("ref")
    restore_parser.add_argument("--from", dest="backup_id", required=True, metavar="ID")
    restore_parser.add_argument("--clone", action="store_true", help="make a new project REF")
    restore_parser.add_argument("--host", help="clone: inventory host (default: the most free)")
    restore_parser.add_argument("-y", "--yes", action="store_true", help="do not ask")
    for parser, handler in ((backup, cmd_backup), (backups, cmd_backups),
                            (restore_parser, cmd_restore)):  # fmt: skip
        parser.set_defaults(run=lambda ctx, args, handler=handler: _run(handler, ctx, args))


@contextlib.contextmanager
def _run_lock(home) -> Iterator[None]:
    """One backup run per fleet home: a cron job overlapping a slow run fails cleanly."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(home / "backup.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise FleetError(f"another backup run holds {home / 'backup.lock'}") from exc
        yield


def _key(ctx: FleetContext):
    path = key_path(ctx.config.home)
    if not path.is_file():
        raise FleetError(f"no backup key at {path}: put back your copy of it (mode 0600)")
    return load_key(path)


def _target(ctx: FleetContext, args: argparse.Namespace):
    return target_from(args.target, ctx.config.home)


def _age(created: str) -> str:
    seconds = (datetime.now(timezone.utc) - datetime.fromisoformat(created)).total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def cmd_backup(ctx: FleetContext, args: argparse.Namespace) -> int:
    if args.refs[:1] == ["verify"] and len(args.refs) == 2:
        return cmd_verify(ctx, args, args.refs[1])
    stacks = ctx.select(args.refs, all_=args.all_)
    target = _target(ctx, args)
    with _run_lock(ctx.config.home):
        key = ensure_key(ctx.config.home)

        def operation(ref: str, report) -> str:
            project = Project(ctx, ref)
            manifest = take_backup(project, target, key, report, offline=args.offline)
            line = summary(manifest)
            if args.verify:
                result = drill(project.engine.docker, target, manifest, key, report)
                if not result.ok:
                    raise RuntimeError(
                        f"{manifest.id} written but its drill FAILED: {result.details}"
                    )
                line += "; drill passed"
            return line

        outcomes = run_many(
            [s.ref for s in stacks],
            operation,
            parallel=args.parallel,
            out=ctx.out,
            live=ctx.live,
        )
    return exit_code(outcomes)


def cmd_verify(ctx: FleetContext, args: argparse.Namespace, backup_id: str) -> int:
    target = _target(ctx, args)
    key = _key(ctx)
    ref, _ = find(target, backup_id)
    manifest = load_manifest(target, ref, backup_id, key)
    engine = _engine_for(ctx, ref)

    def operation(_: str, report) -> str:
        result = drill(engine.docker, target, manifest, key, report)
        if not result.ok:
            raise RuntimeError(result.details)
        return result.details

    return exit_code(run_many([backup_id], operation, parallel=1, out=ctx.out, live=ctx.live))


def _engine_for(ctx: FleetContext, ref: str):
    """The engine of the project, or the first inventory host if it is gone."""
    try:
        stack = Project(ctx, ref).stack
        spec = spec_for_stack(ctx.inventory, stack)
    except FleetError:
        spec = ctx.inventory[0]
    return ctx.engine(spec)


def cmd_backups(ctx: FleetContext, args: argparse.Namespace) -> int:
    refs = list(args.refs)
    prune = refs[:1] == ["prune"]
    if prune:
        refs = refs[1:]
    target = _target(ctx, args)
    try:
        found = [(ref, backup_id) for ref, backup_id in target.backups() if not refs or ref in refs]
    except TargetError as exc:
        raise FleetError(str(exc)) from exc
    if prune:
        return _prune(ctx, args, target, found)
    key = _key(ctx)
    ctx.say(f"{'ID':<40} {'AGE':>6} {'SIZE':>10}  VERIFICATION")
    for ref, backup_id in found:
        manifest = load_manifest(target, ref, backup_id, key)
        drilled = verification(target, ref, backup_id)
        state = drilled.describe() if drilled else "not verified"
        ctx.say(
            f"{backup_id:<40} {_age(manifest.created):>6} "
            f"{human_size(manifest.total_stored):>10}  {state}"
        )
    if not found:
        ctx.say(f"no backups in {target.description}")
    return 0


def _prune(ctx: FleetContext, args: argparse.Namespace, target, found) -> int:
    policy = retention.Policy(args.keep_last, args.keep_daily, args.keep_weekly)
    if policy.empty:
        raise FleetError(
            "backups prune needs at least one of --keep-last, --keep-daily, --keep-weekly"
        )
    by_ref: dict[str, list] = {}
    for ref, backup_id in found:
        by_ref.setdefault(ref, []).append((backup_id, parse_id(backup_id)[1]))
    for ref, backups in sorted(by_ref.items()):
        for backup_id in retention.to_delete(backups, policy):
            if not args.dry_run:
                target.delete(ref, backup_id)
            ctx.say(f"{'would delete' if args.dry_run else 'deleted'} {backup_id}")
        kept = len(backups) - len(retention.to_delete(backups, policy))
        ctx.say(f"{ref}: {kept} backups kept")
    return 0


def cmd_restore(ctx: FleetContext, args: argparse.Namespace) -> int:
    target = _target(ctx, args)
    key = _key(ctx)
    source_ref, _ = find(target, args.backup_id)
    manifest = load_manifest(target, source_ref, args.backup_id, key)
    if not args.clone and source_ref != args.ref:
        raise FleetError(
            f"{args.backup_id} is a backup of {source_ref}, not {args.ref}; "
            f"use --clone to make {args.ref} from it"
        )
    if args.clone:

        def operation(ref: str, report) -> str:
            return clone(ctx, ref, target, manifest, key, report, host=args.host)
    else:
        project = Project(ctx, args.ref)
        preflight(target, manifest, project)  # bad input: exit 2, nothing touched
        question = f"Replace the database and volumes of {args.ref} with {args.backup_id}? [y/N] "
        if not args.yes and not ctx.confirm(question):
            raise FleetError("nothing restored (confirm, or pass --yes)")

        def operation(ref: str, report) -> str:
            return restore(project, target, manifest, key, report, lambda _: True, checked=True)

    outcomes = run_many([args.ref], operation, parallel=1, out=ctx.out, live=ctx.live)
    return exit_code(outcomes)


def _run(handler, ctx: FleetContext, args: argparse.Namespace) -> int:
    os.umask(0o077)  # every file a backup command writes is the owner's only
    return handler(ctx, args)
