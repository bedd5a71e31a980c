"""Placing new projects: a reachable host with room and a port slot free everywhere.

Planning reads every stack file, asks the engines, and ends with the new stack files
written; all of it happens under the stacks folder's lock, and the plan is checked again
against the files as they are just before writing, so concurrent ``create`` runs (threads
or processes) never pick the same slot or put more projects on a host than it may hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from automation import stackfiles
from automation.context import EngineLike, FleetContext
from automation.edge import edge_of, plan_edges
from automation.engine import EngineSpec, EngineUnreachable
from automation.errors import FleetError
from automation.inventory import free_capacity, placement_order, project_host_url
from automation.names import check_ref, generate_ref
from automation.slots import PortClaim, blocked_slots, lowest_free_slot, port_clashes
from automation.stackfiles import StackFile
from components.ports import slot_ports
from components.releases import DEFAULT_RELEASE, RELEASES


@dataclass(frozen=True)
class Plan:
    """A new project, checked and placed, before its stack file is written."""

    ref: str
    spec: EngineSpec
    slot: int
    settings: dict[str, object]


def place(
    ctx: FleetContext,
    refs: Sequence[str],
    *,
    count: int,
    host: str | None,
    extra: Mapping[str, object],
    backend: set[str],
) -> list[Plan]:
    """Plan ``refs`` (or ``count`` generated refs) and write their stack files, locked.

    ``extra`` holds settings every new stack file gets as given (``exclude``, ``release``).
    """
    with stackfiles.locked(ctx.config.stacks_dir):
        found = ctx.scan()
        broken = [stack.error for stack in found.stacks if stack.error]
        if broken:
            raise FleetError(f"{broken[0]}; fix it first: its ports and host cannot be known")
        existing = found.stacks
        taken = {stack.ref for stack in existing} | {stack.name for stack in existing} | backend
        wanted = list(refs)
        for ref in wanted:
            _check_new_ref(ctx, ref, existing, backend)
        _check_room(ctx, len(refs) or count, existing, host)
        while len(wanted) < (len(refs) or count):
            wanted.append(generate_ref(taken | set(wanted)))
        plans: list[Plan] = []
        for ref in wanted:
            known = existing + [_as_stack(ctx, plan) for plan in plans]
            plans.append(_plan(ctx, ref, known, host=host, extra=extra))
        _recheck(ctx, plans)
        # Names, certificate files and ACME preflight of the edges: before any write.
        plan_edges(ctx, [*existing, *(_as_stack(ctx, p) for p in plans)],
                   {p.spec.name for p in plans})  # fmt: skip
        for plan in plans:
            stackfiles.write_new_stack(ctx.config.stacks_dir, plan.ref, plan.settings)
        return plans


def _check_room(
    ctx: FleetContext, needed: int, existing: list[StackFile], host: str | None
) -> None:
    """Refuse more projects than the hosts have room for before planning any (a huge
    ``--count`` would otherwise generate and plan refs one by one first)."""
    free = free_capacity(ctx.inventory, existing)
    if host is not None and host not in free:
        return  # placement names the unknown host and the known ones
    room = sum(max(0, left) for name, left in free.items() if host in (None, name))
    if room == 0:
        placement_order(ctx.inventory, existing, host=host)  # says which hosts are full
    if needed > room:
        raise FleetError(
            f"no room for {needed} new projects: the hosts have room for {room}; raise a "
            "capacity or add a host in the inventory, or create fewer"
        )


def _check_new_ref(
    ctx: FleetContext, ref: str, existing: list[StackFile], backend: set[str]
) -> None:
    check_ref(ref)
    for stack in existing:
        if ref in (stack.ref, stack.name):
            raise FleetError(
                f"project {ref!r} exists already ({stack.path}); if its create failed, "
                f"run `supabase-fleet up {ref}` to try again"
            )
    if ref in backend:
        raise FleetError(
            f"a stack {ref!r} exists in the Pulumi backend {ctx.workspace.backend_url} "
            f"without a stack file; remove it with `pulumi stack rm {ref}` or choose another ref"
        )


def _as_stack(ctx: FleetContext, plan: Plan) -> StackFile:
    """A plan as the stack file it will become, so later plans count it."""
    path = stackfiles.stack_path(ctx.config.stacks_dir, plan.ref)
    return StackFile(plan.ref, path, stackfiles.new_stack_data(plan.settings))


def _plan(
    ctx: FleetContext,
    ref: str,
    known: list[StackFile],
    *,
    host: str | None,
    extra: Mapping[str, object],
) -> Plan:
    """Pick a reachable host with room and a slot whose ports are free there."""
    unreachable: list[str] = []
    for spec in placement_order(ctx.inventory, known, host=host):
        try:
            engine = ctx.engine(spec)
            engine.ping()
            leftovers = engine.project_volumes(ref)
            containers = engine.project_containers(ref)
        except EngineUnreachable as exc:
            if host is not None:
                raise FleetError(f"host {spec.name} is unreachable: {exc}") from exc
            unreachable.append(f"{spec.name}: {exc}")
            ctx.say(f"{ref}: host {spec.name} is unreachable, trying the next one ({exc})")
            continue
        if leftovers or containers:
            fixes = []
            if containers:
                names = " ".join(c.name for c in containers)
                fixes.append(f"`docker -H {spec.url} rm -f {names}`")
            if leftovers:
                fixes.append(f"`docker -H {spec.url} volume rm {' '.join(leftovers)}`")
            raise FleetError(
                f"host {spec.name} still has containers or volumes of an earlier project "
                f"{ref!r}; a new database would keep the old passwords. Choose another "
                f"ref, or remove them with {' and '.join(fixes)}"
            )
        release = RELEASES.get(str(extra.get("release", DEFAULT_RELEASE)))
        if release is None:
            raise FleetError(f"unknown release {extra['release']!r}; known: {sorted(RELEASES)}")
        slot = _free_slot(ctx, ref, engine, known, release.port_names)
        settings: dict[str, object] = {
            "portSlot": slot,
            "dockerHost": spec.url,
            "dockerSocket": spec.socket_path,
        }
        if spec.cert_path:
            settings["dockerCertPath"] = spec.cert_path
        settings.update(extra)
        settings.update(edge_of(ctx).settings_for(ref, spec))
        return Plan(ref, spec, slot, settings)
    raise FleetError("no reachable host with room: " + "; ".join(unreachable))


def _free_slot(
    ctx: FleetContext,
    ref: str,
    engine: EngineLike,
    known: list[StackFile],
    names: tuple[str, ...],
) -> int:
    """The lowest free slot whose ports ``names`` are also free on the engine's host."""
    blocked = blocked_slots(PortClaim.of(stack) for stack in known)
    while True:
        slot = lowest_free_slot(blocked)
        busy = engine.ports_in_use(slot_ports(slot, names).by_setting().values())
        if not busy:
            return slot
        ctx.say(
            f"{ref}: slot {slot} ports {sorted(busy)} are in use on host "
            f"{engine.spec.name}, trying the next free slot"
        )
        blocked.add(slot)


def _recheck(ctx: FleetContext, plans: list[Plan]) -> None:
    """Check the plans against the stack files as they are now, just before writing.

    The lock keeps other fleet runs out; this catches whatever changed the folder
    without it (a hand-made stack file, an older fleet tool) while planning went on.
    """
    now = stackfiles.scan(ctx.config.stacks_dir).stacks
    planned = [_as_stack(ctx, plan) for plan in plans]
    every = now + planned
    clashes = port_clashes(PortClaim.of(s, project_host_url(s)) for s in every if not s.error)
    for plan in plans:
        if plan.ref in clashes:
            raise FleetError(
                f"{plan.ref}: the planned ports clash with a project written meanwhile "
                f"({clashes[plan.ref][0]}); nothing was written, run create again"
            )
    free = free_capacity(ctx.inventory, [s for s in every if not s.error])
    for plan in plans:
        if free[plan.spec.name] < 0:
            raise FleetError(
                f"host {plan.spec.name} would hold more than its capacity "
                f"{plan.spec.capacity}; nothing was written, run create again"
            )
