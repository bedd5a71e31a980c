"""The port slot allocator and the fleet's port clash check.

Slots are global across every stack file, whatever host a project runs on, so a project
can move between hosts without a port clash. Explicit ``ports:`` overrides count as used
too: a slot is free only if no port of its block is taken by any existing project. Each
project's ports are its release's (``Release.port_names``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from automation.errors import FleetError
from automation.stackfiles import StackFile
from components.ports import (
    DEFAULT_PORT_NAMES,
    MAX_SLOT,
    PORT_BASE,
    SLOT_WIDTH,
    HostPorts,
    PortPlanError,
    check_slot,
    plan_ports,
)


@dataclass(frozen=True)
class PortClaim:
    """The ports one existing project holds: its slot, its overrides, its release's ports."""

    ref: str
    slot: object
    overrides: dict[str, object]
    names: tuple[str, ...] = DEFAULT_PORT_NAMES
    host: str = ""

    @classmethod
    def of(cls, stack: StackFile, host: str = "") -> PortClaim:
        """The claim a stack file makes."""
        return cls(
            ref=stack.ref,
            slot=stack.port_slot,
            overrides=stack.port_overrides,
            names=stack.release.port_names,
            host=host,
        )

    def ports(self) -> HostPorts:
        """The host ports; PortPlanError when the settings cannot work."""
        slot = None if self.slot is None else check_slot(self.slot)
        return plan_ports(slot, self.overrides, self.names)


def slot_of_port(port: int) -> int | None:
    """The slot whose block holds ``port``, None outside the slot range."""
    slot, _ = divmod(port - PORT_BASE, SLOT_WIDTH)
    return slot if port >= PORT_BASE and slot <= MAX_SLOT else None


def blocked_slots(claims: Iterable[PortClaim]) -> set[int]:
    """Slots that are not free: claimed directly or holding a port someone publishes."""
    blocked: set[int] = set()
    for claim in claims:
        try:
            ports = claim.ports()
        except PortPlanError as exc:
            raise FleetError(
                f"project {claim.ref!r} has an unusable port setting ({exc}); fix its stack "
                "file first, the free slots cannot be known until then"
            ) from exc
        if claim.slot is not None:
            blocked.add(int(claim.slot))  # type: ignore[call-overload]
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


def port_clashes(claims: Iterable[PortClaim]) -> dict[str, list[str]]:
    """Per ref, why its ports clash with another project's.

    Two projects on one host publishing one port cannot both start; two projects with
    one ``portSlot`` break the slot plan even on different hosts (a project may move).
    Claims whose own settings are unusable are left to the settings check.
    """
    claims = list(claims)
    problems: dict[str, list[str]] = {}
    owners: dict[tuple[str, int], str] = {}
    slots: dict[int, str] = {}
    for claim in claims:
        try:
            ports = claim.ports()
        except PortPlanError:
            continue
        if claim.slot is not None:
            slot = int(claim.slot)  # type: ignore[call-overload]
            if slot in slots:
                _both(problems, claim.ref, slots[slot], f"portSlot {slot}")
            else:
                slots[slot] = claim.ref
        for port in sorted(ports.by_setting().values()):
            key = (claim.host, port)
            if key in owners and owners[key] != claim.ref:
                _both(problems, claim.ref, owners[key], f"host port {port}")
            else:
                owners[key] = claim.ref
    return problems


def _both(problems: dict[str, list[str]], ref: str, other: str, what: str) -> None:
    fix = "give one of them a free portSlot (or other ports:)"
    problems.setdefault(ref, []).append(f"port clash: {what} is also used by {other!r}; {fix}")
    problems.setdefault(other, []).append(f"port clash: {what} is also used by {ref!r}; {fix}")
