"""The port slot allocator: the lowest slot none of whose ports any project uses.

Slots are global across every stack file, whatever host a project runs on, so a project
can move between hosts without a port clash. Explicit ``ports:`` overrides count as used
too: a slot is free only if no port of its block is taken by any existing project.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from automation.errors import FleetError
from automation.stackfiles import StackFile
from components.ports import (
    MAX_SLOT,
    PORT_BASE,
    SLOT_WIDTH,
    PortPlanError,
    check_slot,
    plan_ports,
)


@dataclass(frozen=True)
class PortClaim:
    """The ports one existing project holds: its slot and its explicit overrides."""

    ref: str
    slot: object
    overrides: dict[str, object]

    @classmethod
    def of(cls, stack: StackFile) -> PortClaim:
        """The claim a stack file makes."""
        return cls(ref=stack.ref, slot=stack.port_slot, overrides=stack.port_overrides)


def slot_of_port(port: int) -> int | None:
    """The slot whose block holds ``port``, None outside the slot range."""
    slot, _ = divmod(port - PORT_BASE, SLOT_WIDTH)
    return slot if port >= PORT_BASE and slot <= MAX_SLOT else None


def blocked_slots(claims: Iterable[PortClaim]) -> set[int]:
    """Slots that are not free: claimed directly or holding a port someone publishes."""
    blocked: set[int] = set()
    for claim in claims:
        try:
            slot = None if claim.slot is None else check_slot(claim.slot)
            ports = plan_ports(slot, claim.overrides)
        except PortPlanError as exc:
            raise FleetError(
                f"project {claim.ref!r} has an unusable port setting ({exc}); fix its stack "
                "file first, the free slots cannot be known until then"
            ) from exc
        if slot is not None:
            blocked.add(slot)
        for port in ports.by_setting().values():
            port_slot = slot_of_port(port)
            if port_slot is not None:
                blocked.add(port_slot)
    return blocked


def lowest_free_slot(blocked: Iterable[int], *, start: int = 0) -> int:
    """The lowest slot from ``start`` that is not blocked; FleetError when none is left."""
    taken = set(blocked)
    for slot in range(start, MAX_SLOT + 1):
        if slot not in taken:
            return slot
    raise FleetError(
        f"no free port slot: all slots 0 to {MAX_SLOT} (host ports {PORT_BASE} to "
        f"{PORT_BASE + SLOT_WIDTH * (MAX_SLOT + 1) - 1}) are in use; delete a project "
        "or give the new one explicit ports under `supabase:ports:`"
    )


def allocate_slot(claims: Iterable[PortClaim]) -> int:
    """The slot for a new project given the claims of all existing ones."""
    return lowest_free_slot(blocked_slots(claims))
