"""How ``list`` and ``status`` show the fleet: rich tables on a terminal, plain lines elsewhere,
and JSON carrying everything either shows.

Pure functions of what ``observe`` saw, so every view is testable without Pulumi or Docker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from automation.containers import ContainerState
from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.releases import older_release_note
from automation.stackfiles import StackFile
from automation.status import ProjectStatus, Status

STATUS_STYLE = {
    Status.ACTIVE: "bold green",
    Status.PAUSED: "cyan",
    Status.STARTING: "yellow",
    Status.PROVISIONING: "yellow",
    Status.FAILED: "bold red",
    Status.DELETED: "dim",
}
STATE_STYLE = {"running": "green", "created": "yellow", "restarting": "yellow"}
HEALTH_STYLE = {"healthy": "green", "starting": "yellow", "unhealthy": "red"}


@dataclass
class Observed:
    """A project as ``list`` and ``status`` see it."""

    status: ProjectStatus
    stack: StackFile | None = None
    containers: list[ContainerState] = field(default_factory=list)
    ports: dict[str, int] | None = None
    """Host ports by setting name; None when unknown (no stack file) or invalid."""
    spec: EngineSpec | None = None
    """The engine the project runs on; None when its stack file names none usable."""


@dataclass
class HostView:
    """One inventory host (or a host only a stack file names) and what its daemon imposes."""

    name: str
    spec: EngineSpec | None
    notes: list[str] = field(default_factory=list)


@dataclass
class FleetView:
    """Everything one observation saw."""

    hosts: list[HostView]
    projects: list[Observed]


def ports_text(item: Observed) -> str:
    """``20000/20001/20002``, ``invalid`` or ``-``."""
    if item.ports is None:
        return "invalid" if item.stack is not None else "-"
    return "/".join(str(port) for port in item.ports.values()) or "-"


def release_text(item: Observed) -> str:
    """The release the project's stack file names (``-`` for strays, ``invalid``)."""
    if item.stack is None:
        return "-"
    try:
        return item.stack.release.name
    except FleetError:
        return "invalid"


def older_release(item: Observed) -> str | None:
    """The note for a project on an older release (None: the newest, or unknown)."""
    try:
        return None if item.stack is None else older_release_note(item.stack.release)
    except FleetError:
        return None


def _groups(view: FleetView) -> list[tuple[HostView, list[Observed]]]:
    hosts = {host.name: host for host in view.hosts}
    groups: dict[str, list[Observed]] = {name: [] for name in hosts}
    for item in view.projects:
        groups.setdefault(item.status.host, []).append(item)
        hosts.setdefault(item.status.host, HostView(item.status.host, None))
    return [(hosts[name], items) for name, items in groups.items()]


def _head(host: HostView, items: list[Observed]) -> str:
    if host.spec is None:
        return host.name
    projects = sum(1 for item in items if item.stack is not None)
    return f"{host.name} ({host.spec.url}) {projects}/{host.spec.capacity} projects"


def _first_problem(status: ProjectStatus) -> str:
    first = status.problems[0] if status.problems else ""
    more = f" (+{len(status.problems) - 1} more)" if len(status.problems) > 1 else ""
    return first + more


def list_plain(view: FleetView) -> str:
    """One block per host, every inventory host shown even when empty."""
    lines: list[str] = []
    for host, items in _groups(view):
        lines.append(_head(host, items))
        lines.extend(f"  ! {note}" for note in host.notes)
        if not items:
            lines.append("  (no projects)")
        for item in items:
            status = item.status
            problem = _first_problem(status)
            lines.append(
                f"  {status.ref:<30} {status.status.value:<13} {ports_text(item):<18}"
                f" {release_text(item):<8}" + (f"  {problem}" if problem else "")
            )
    return "\n".join(lines)


def list_rich(view: FleetView) -> RenderableType:
    """One table per host, statuses in colour."""
    parts: list[RenderableType] = []
    for host, items in _groups(view):
        table = Table(title=_head(host, items), title_justify="left", expand=False)
        for column in ("ref", "status", "ports", "release", "problem"):
            table.add_column(column)
        for item in items:
            status = item.status
            table.add_row(
                status.ref,
                Text(status.status.value, style=STATUS_STYLE[status.status]),
                ports_text(item),
                Text(release_text(item), style="yellow" if older_release(item) else ""),
                _first_problem(status),
            )
        parts.append(table)
        parts.extend(Text(f"! {note}", style="yellow") for note in host.notes)
    return Group(*parts)


def _container_line(container: ContainerState) -> str:
    health = f", {container.health}" if container.health else ""
    return f"    {container.service:<10} {container.state}{health}"


def status_plain(view: FleetView) -> str:
    """Every problem and every container's state, for finding out why."""
    lines: list[str] = []
    for item in view.projects:
        status = item.status
        lines.append(
            f"{status.ref}: {status.status.value} on host {status.host}, "
            f"release {release_text(item)}"
        )
        if item.ports:
            lines.append("  ports: " + ", ".join(f"{k} {v}" for k, v in item.ports.items()))
        lines.extend(f"  - {problem}" for problem in status.problems)
        note = older_release(item)
        if note:
            lines.append(f"  * {note}")
        lines.extend(_container_line(c) for c in sorted(item.containers, key=lambda c: c.service))
    lines.extend(f"host {host.name}: {note}" for host in view.hosts for note in host.notes)
    return "\n".join(lines)


def status_rich(view: FleetView) -> RenderableType:
    """Per project: status, ports, problems and a table of its containers, in colour."""
    parts: list[RenderableType] = []
    for item in view.projects:
        status = item.status
        head = Text.assemble(
            (status.ref, "bold"),
            ": ",
            (status.status.value, STATUS_STYLE[status.status]),
            f" on host {status.host}, release {release_text(item)}",
        )
        if item.ports:
            head.append("  ports " + ", ".join(f"{k} {v}" for k, v in item.ports.items()))
        parts.append(head)
        note = older_release(item)
        if note:
            parts.append(Text(f"  * {note}", style="yellow"))
        parts.extend(Text(f"  - {problem}", style="red") for problem in status.problems)
        if item.containers:
            table = Table(show_edge=False, pad_edge=False, box=None, padding=(0, 2))
            for column in ("    service", "state", "health"):
                table.add_column(column)
            for c in sorted(item.containers, key=lambda c: c.service):
                table.add_row(
                    f"    {c.service}",
                    Text(c.state, style=STATE_STYLE.get(c.state, "red")),
                    Text(c.health or "-", style=HEALTH_STYLE.get(c.health or "", "")),
                )
            parts.append(table)
    for host in view.hosts:
        parts.extend(Text(f"host {host.name}: {note}", style="yellow") for note in host.notes)
    return Group(*parts)


def as_json(view: FleetView) -> dict[str, object]:
    """Everything the text views show: hosts with their notes, projects with containers."""
    return {
        "hosts": [
            {
                "name": host.name,
                "url": host.spec.url if host.spec else None,
                "capacity": host.spec.capacity if host.spec else None,
                "notes": host.notes,
            }
            for host in view.hosts
        ],
        "projects": [
            {
                "ref": item.status.ref,
                "stack": item.stack.name if item.stack else None,
                "host": item.status.host,
                "status": item.status.status.value,
                "problems": item.status.problems,
                "ports": item.ports,
                "release": release_text(item),
                "olderRelease": older_release(item),
                "containers": [asdict(c) for c in item.containers],
            }
            for item in view.projects
        ],
    }


#: (plain, rich) renderers per command.
Renderers = tuple[Callable[[FleetView], str], Callable[[FleetView], RenderableType]]
LIST: Renderers = (list_plain, list_rich)
STATUS: Renderers = (status_plain, status_rich)
