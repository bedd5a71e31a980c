"""The host port plan: which host ports a project publishes, from its port slot.

Each project owns a block of ``SLOT_WIDTH`` consecutive host ports starting at
``PORT_BASE + slot * SLOT_WIDTH``, so two different slots can never share a port (the
seed's "base + id" scheme gave project n's HTTPS port to project n+1's HTTP port). The
blocks stay below 32768, where Linux's ephemeral port range starts, so an outgoing
connection can never be holding a port a project is about to publish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

PORT_BASE = 20000
SLOT_WIDTH = 10
#: Offsets inside a slot's block, by ``ports:`` setting name. A release publishes a subset
#: (``Release.port_names``); offsets 5 to 9 are reserved for ports a later release may publish
#: without moving existing projects.
PORT_OFFSETS: dict[str, int] = {
    "kongHttp": 0,
    "kongHttps": 1,
    "postgres": 2,
    "poolerSession": 3,
    "poolerTransaction": 4,
}
#: The ports of the spring-2024 release, the default when no names are given.
DEFAULT_PORT_NAMES: tuple[str, ...] = ("kongHttp", "kongHttps", "postgres")
_FIELDS = {
    "kongHttp": "kong_http",
    "kongHttps": "kong_https",
    "postgres": "postgres",
    "poolerSession": "pooler_session",
    "poolerTransaction": "pooler_transaction",
}
MAX_SLOT = (32767 - PORT_BASE - (SLOT_WIDTH - 1)) // SLOT_WIDTH


class PortPlanError(ValueError):
    """A port setting that cannot work; the message names the setting and the fix."""


@dataclass(frozen=True)
class HostPorts:
    """Host ports one project publishes; a port its release does not publish is None."""

    kong_http: int
    kong_https: int | None = None
    postgres: int | None = None
    pooler_session: int | None = None
    pooler_transaction: int | None = None

    def by_setting(self) -> dict[str, int]:
        """The published ports keyed by their setting name under ``ports:`` (kongHttp, ...)."""
        values = asdict(self)
        return {name: values[attr] for name, attr in _FIELDS.items() if values[attr] is not None}


def slot_ports(slot: int, names: tuple[str, ...] = DEFAULT_PORT_NAMES) -> HostPorts:
    """The ports ``names`` of a slot, without overrides."""
    check_slot(slot)
    start = PORT_BASE + slot * SLOT_WIDTH
    return HostPorts(**{_FIELDS[name]: start + PORT_OFFSETS[name] for name in names})


def check_slot(slot: object) -> int:
    """Return ``slot`` if it is a usable slot number, else raise naming ``portSlot``."""
    if isinstance(slot, bool) or not isinstance(slot, int):
        raise PortPlanError(
            f"portSlot must be a whole number from 0 to {MAX_SLOT}, got {slot!r}; "
            "fix it with `pulumi config set portSlot <N>`"
        )
    if not 0 <= slot <= MAX_SLOT:
        raise PortPlanError(
            f"portSlot must be from 0 to {MAX_SLOT}, got {slot}; "
            "fix it with `pulumi config set portSlot <N>` (each slot owns host ports "
            f"{PORT_BASE}+{SLOT_WIDTH}*N to {PORT_BASE}+{SLOT_WIDTH}*N+{SLOT_WIDTH - 1})"
        )
    return slot


def plan_ports(
    slot: int | None,
    overrides: Mapping[str, object] | None = None,
    names: tuple[str, ...] = DEFAULT_PORT_NAMES,
) -> HostPorts:
    """The project's host ports ``names``: its slot's block, with explicit per-port overrides.

    Without a slot every port must be overridden. Raises ``PortPlanError`` for an unknown
    port name, a port outside 1..65535 or two ports that clash.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise PortPlanError(
            f"ports has unknown entries {unknown}; this release's ports are {sorted(names)}"
        )
    for name, port in overrides.items():
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise PortPlanError(
                f"ports.{name} must be a whole number from 1 to 65535, got {port!r}; "
                f"fix it with `pulumi config set --path 'ports.{name}' <port>`"
            )
    if slot is None:
        missing = sorted(set(names) - set(overrides))
        if missing:
            raise PortPlanError(
                "portSlot is not set; set it with `pulumi config set portSlot <N>` "
                f"(0 to {MAX_SLOT}), or give every port under `ports:` (missing: {missing})"
            )
        chosen = dict(overrides)
    else:
        chosen = slot_ports(slot, names).by_setting() | overrides
    by_port: dict[int, list[str]] = {}
    for name, port in chosen.items():
        by_port.setdefault(int(port), []).append(name)
    clashes = {port: names for port, names in by_port.items() if len(names) > 1}
    if clashes:
        detail = "; ".join(f"{' and '.join(sorted(n))} both use {p}" for p, n in clashes.items())
        raise PortPlanError(
            f"ports clash: {detail}; give each port its own number with "
            "`pulumi config set --path 'ports.<name>' <port>`"
        )
    return HostPorts(**{_FIELDS[name]: int(port) for name, port in chosen.items()})
