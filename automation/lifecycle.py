"""Lifecycle commands: create, up, preview, refresh, pause, resume and delete.

Each command checks its whole input before it writes or deploys anything, so bad input
changes nothing; then it runs one operation per project with ``FleetContext.run``, where
one project's failure never stops the others.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from automation import preflight, stackfiles
from automation.cliargs import positive_int, ref_arg
from automation.context import FleetContext
from automation.edge import hosts_of, sync_edges
from automation.engine import EngineUnreachable
from automation.errors import FleetError
from automation.inventory import spec_for_stack
from automation.placement import place
from automation.releases import check_release
from automation.runner import Report
from automation.slots import PortClaim
from automation.stackfiles import StackFile
from automation.status import enabled_services
from automation.workspace import Output
from components.releases import NEWEST_RELEASE, RELEASES

#: Every service some release lets a stack exclude; the project's release decides the rest.
OPTIONAL = sorted({name for release in RELEASES.values() for name in release.optional})
BULK = {
    "up": "deploy projects as their stack files say",
    "preview": "show what up would change",
    "refresh": "read the real state into the stacks",
    "pause": "stop projects, keeping their data",
    "resume": "start paused projects",
}


def format_changes(changes: dict[str, int]) -> str:
    """Preview change counts as ``create 12, update 1``, or ``no changes``."""
    shown = [f"{op} {count}" for op, count in sorted(changes.items()) if op != "same" and count]
    return ", ".join(shown) or "no changes"


def public_urls(outputs: dict[str, Output]) -> str:
    """The non-secret URLs of a project, for a summary line."""
    urls = [
        f"{label} {outputs[key].value}"
        for label, key in (("API", "apiUrl"), ("Studio", "studioUrl"))
        if key in outputs and not outputs[key].secret
    ]
    return ", ".join(urls) or "up"


def ports_text(stack: StackFile) -> str:
    """The project's host ports as ``kongHttp 20000, postgres 20002``."""
    ports = PortClaim.of(stack).ports().by_setting()
    return ", ".join(f"{name} {port}" for name, port in ports.items())


def deploy(ctx: FleetContext, stack: StackFile, report: Report) -> dict[str, Output]:
    """``up`` one project after the engine checks (socket, CPUs, stale containers)."""
    preflight.check_socket(ctx, stack)
    preflight.check_cpus(ctx, stack)
    replace = preflight.stale_containers(ctx, stack, report)
    return ctx.workspace.up(stack.name, report, replace)


def _by_ref(stacks: Sequence[StackFile]) -> dict[str, StackFile]:
    return {stack.ref: stack for stack in stacks}


def create(
    ctx: FleetContext,
    refs: Sequence[str] = (),
    *,
    count: int = 1,
    host: str | None = None,
    exclude: Sequence[str] = (),
    parallel: int = 1,
    release: str = NEWEST_RELEASE,
) -> int:
    """Check, place and write new projects (``release`` written out), then bring them up."""
    if refs and count != 1:
        raise FleetError("give refs or --count, not both")
    if count < 1:
        raise FleetError("--count must be at least 1")
    if len(set(refs)) != len(refs):
        raise FleetError("a ref is given more than once")
    enabled_services(exclude, RELEASES[check_release(release)])
    extra: dict[str, object] = {"release": release}
    if exclude:
        extra["exclude"] = list(exclude)
    backend = set(ctx.workspace.list_stacks())
    plans = place(ctx, refs, count=count, host=host, extra=extra, backend=backend)
    stacks = _by_ref([stackfiles.read_stack(ctx.config.stacks_dir, p.ref) for p in plans])
    for plan in plans:
        ports = ports_text(stacks[plan.ref])
        ctx.say(
            f"{plan.ref}: on host {plan.spec.name}, slot {plan.slot} ({ports}); "
            f"wrote {stacks[plan.ref].path}"
        )

    # The edge (and its network, which the gateways join) comes up before the projects.
    sync_edges(ctx, {plan.spec.name for plan in plans})

    def operation(ref: str, report: Report) -> str:
        try:
            return public_urls(deploy(ctx, stacks[ref], report))
        except Exception as exc:
            raise RuntimeError(f"{exc}\n(retry with `supabase-fleet up {ref}`)") from exc

    return ctx.run(list(stacks.values()), operation, parallel)


def up(ctx: FleetContext, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
    """Deploy projects as their stack files say."""
    stacks = _by_ref(ctx.select(refs, all_=all_))
    return ctx.run(
        list(stacks.values()),
        lambda ref, report: public_urls(deploy(ctx, stacks[ref], report)),
        parallel,
    )


def preview(
    ctx: FleetContext, refs: Sequence[str], *, all_: bool = False, parallel: int = 1
) -> int:
    """Show what ``up`` would change."""
    stacks = _by_ref(ctx.select(refs, all_=all_))
    return ctx.run(
        list(stacks.values()),
        lambda ref, report: format_changes(ctx.workspace.preview(stacks[ref].name, report)),
        parallel,
    )


def refresh(
    ctx: FleetContext, refs: Sequence[str], *, all_: bool = False, parallel: int = 1
) -> int:
    """Read the real state of the projects' resources into their stacks."""
    stacks = _by_ref(ctx.select(refs, all_=all_))

    def operation(ref: str, report: Report) -> str:
        ctx.workspace.refresh(stacks[ref].name, report)
        return "refreshed"

    return ctx.run(list(stacks.values()), operation, parallel)


def _require_in_backend(ctx: FleetContext, stacks: dict[str, StackFile], verb: str) -> None:
    """Refuse stacks the backend in use does not hold: they may live in another backend,
    and acting here would orphan (delete) or duplicate (pause: a second stack claiming the
    same network and volumes) whatever runs."""
    backend = set(ctx.workspace.list_stacks())
    missing = [stack for stack in stacks.values() if stack.name not in backend]
    if missing:
        names = ", ".join(stack.name for stack in missing)
        never = (
            "remove its stack file by hand"
            if verb == "deleted"
            else f"run `supabase-fleet up {missing[0].ref}` first"
        )
        raise FleetError(
            f"the Pulumi backend {ctx.workspace.backend_url} holds no stack {names}; nothing "
            f"was {verb}. Use the backend that deployed it (--backend-url or "
            f"PULUMI_BACKEND_URL); if it was never deployed, {never}"
        )


def set_paused(
    ctx: FleetContext, refs: Sequence[str], paused: bool, *, all_: bool, parallel: int
) -> int:
    """Write ``paused`` into each stack file, then ``up`` it (the program reads the file)."""
    stacks = _by_ref(ctx.select(refs, all_=all_))
    _require_in_backend(ctx, stacks, "paused" if paused else "resumed")

    def operation(ref: str, report: Report) -> str:
        name = stacks[ref].name
        stackfiles.set_setting(ctx.config.stacks_dir, name, "paused", paused)
        outputs = deploy(ctx, stackfiles.read_stack(ctx.config.stacks_dir, name), report)
        return "paused" if paused else public_urls(outputs)

    code = ctx.run(list(stacks.values()), operation, parallel)
    sync_edges(ctx, hosts_of(ctx, stacks.values()))
    return code


def pause(ctx: FleetContext, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
    """Stop projects' containers, keeping all their data."""
    return set_paused(ctx, refs, True, all_=all_, parallel=parallel)


def resume(ctx: FleetContext, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
    """Start paused projects again."""
    return set_paused(ctx, refs, False, all_=all_, parallel=parallel)


def delete(
    ctx: FleetContext,
    refs: Sequence[str],
    *,
    yes: bool = False,
    delete_data: bool = False,
    parallel: int = 1,
) -> int:
    """Destroy projects and remove their stacks; data volumes stay unless asked.

    A stack the backend in use does not hold is refused: it may live in another backend,
    and removing its stack file would orphan whatever runs.
    """
    stacks = _by_ref(ctx.select(refs))
    _require_in_backend(ctx, stacks, "deleted")
    specs = {ref: spec_for_stack(ctx.inventory, stack) for ref, stack in stacks.items()}
    data = "and their data volumes" if delete_data else "(data volumes are kept)"
    if not yes and not ctx.confirm(f"Delete {', '.join(stacks)} {data}? [y/N] "):
        ctx.say("nothing deleted (confirm, or pass --yes)")
        return 1

    def operation(ref: str, report: Report) -> str:
        report("destroying")
        ctx.workspace.destroy(stacks[ref].name, report)
        ctx.workspace.remove_stack(stacks[ref].name)
        stacks[ref].path.unlink(missing_ok=True)
        spec = specs[ref]
        try:
            engine = ctx.engine(spec)
            volumes = engine.project_volumes(ref)
            removed = engine.remove_volumes(volumes) if delete_data else []
        except EngineUnreachable as exc:
            if delete_data:
                raise RuntimeError(f"deleted, but its volumes were not removed: {exc}") from exc
            return f"deleted; could not list its kept volumes on {spec.name}: {exc}"
        kept = [volume for volume in volumes if volume not in removed]
        if delete_data and kept:
            raise RuntimeError(
                f"deleted, but volumes still in use were not removed: {', '.join(kept)}"
            )
        if delete_data:
            return f"deleted; removed volumes: {', '.join(removed) or 'none'}"
        if not kept:
            return "deleted; it had no volumes left"
        return (
            f"deleted; kept data volumes on {spec.name}: {', '.join(kept)} (remove them "
            f"with `docker -H {spec.url} volume rm {' '.join(kept)}`)"
        )

    code = ctx.run(list(stacks.values()), operation, parallel)
    # Only the deleted projects' routes go; the stack files of the others are unchanged.
    sync_edges(ctx, {spec.name for spec in specs.values()})
    return code


# -- command line ------------------------------------------------------------------------


def register(commands: argparse._SubParsersAction, parents: dict[str, argparse.ArgumentParser]):
    """Add this module's subcommands; each sets ``run(ctx, args)``."""
    create_cmd = commands.add_parser(
        "create", parents=[parents["state"], parents["parallel"]], help="create projects"
    )
    create_cmd.add_argument(
        "refs", nargs="*", type=ref_arg, metavar="ref", help="default: generated"
    )
    create_cmd.add_argument("--count", type=positive_int, default=1, help="projects to generate")
    create_cmd.add_argument("--host", help="inventory host to use (default: the most free)")
    create_cmd.add_argument(
        "--exclude",
        action="append",
        default=[],
        choices=OPTIONAL,
        help="leave out an optional service (repeatable)",
    )
    create_cmd.add_argument(
        "--release",
        choices=sorted(RELEASES),
        default=NEWEST_RELEASE,
        help=f"the Supabase stack the projects run (default {NEWEST_RELEASE}); written to the "
        "stack file, and kept for the project's life across Postgres majors",
    )
    create_cmd.set_defaults(
        run=lambda ctx, a: create(
            ctx,
            a.refs,
            count=a.count,
            host=a.host,
            exclude=a.exclude,
            parallel=a.parallel,
            release=a.release,
        )
    )
    bulk = {"up": up, "preview": preview, "refresh": refresh, "pause": pause, "resume": resume}
    for name, command in bulk.items():
        parser = commands.add_parser(
            name, parents=[parents["state"], parents["parallel"]], help=BULK[name]
        )
        parser.add_argument("refs", nargs="*", type=ref_arg, metavar="ref")
        parser.add_argument("--all", action="store_true", dest="all_", help="every project")
        parser.set_defaults(
            run=lambda ctx, a, command=command: command(
                ctx, a.refs, all_=a.all_, parallel=a.parallel
            )
        )
    delete_cmd = commands.add_parser(
        "delete",
        parents=[parents["state"], parents["parallel"]],
        help="destroy projects (data volumes kept)",
    )
    delete_cmd.add_argument("refs", nargs="+", type=ref_arg, metavar="ref")
    delete_cmd.add_argument("-y", "--yes", action="store_true", help="do not ask first")
    delete_cmd.add_argument(
        "--delete-data", action="store_true", help="also remove the projects' data volumes"
    )
    delete_cmd.set_defaults(
        run=lambda ctx, a: delete(
            ctx, a.refs, yes=a.yes, delete_data=a.delete_data, parallel=a.parallel
        )
    )
