"""A project's status from its stack's last update and its containers' live state.

Pure logic, so every combination can be tested without Pulumi or Docker: the fleet
gathers the inputs and this module decides PROVISIONING, STARTING, ACTIVE, PAUSED,
FAILED or DELETED, and says for each service that is not healthy what is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from automation.containers import ContainerState
from automation.errors import FleetError
from components.releases import DEFAULT_RELEASE, RELEASES, Release

#: Update kinds that change what runs; previews and refreshes do not.
DEPLOY_KINDS = ("update", "destroy")
HEALTH_LOG_CHARS = 200


class Status(str, Enum):
    """The lifecycle states of a project, as supa-manager names them."""

    PROVISIONING = "PROVISIONING"
    STARTING = "STARTING"
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    FAILED = "FAILED"
    DELETED = "DELETED"


@dataclass(frozen=True)
class UpdateRecord:
    """One entry of a stack's update history."""

    kind: str
    """update, destroy, refresh, preview, ..."""
    result: str
    """succeeded, failed or in-progress."""


@dataclass(frozen=True)
class ProjectStatus:
    """What ``list`` and ``status`` show for one project."""

    ref: str
    host: str
    status: Status
    problems: list[str] = field(default_factory=list)


def enabled_services(
    exclude: Iterable[str] = (), release: Release | None = None, logs: bool | None = None
) -> list[str]:
    """The services a project runs, decided from its release, ``logs`` and ``exclude``.

    The same rule as the program's settings (``components.releases`` data), so ``status``
    expects exactly the containers ``up`` makes.
    """
    release = release or RELEASES[DEFAULT_RELEASE]
    logs = release.logs_default if logs is None else logs
    excluded: set[str] = set() if logs else set(release.logs_services)
    for name in exclude:
        if name not in release.optional:
            raise FleetError(
                f"cannot exclude {name!r} in release {release.name}; only these services are "
                f"optional: {', '.join(release.optional)} (the log pipeline goes with `logs`)"
            )
        excluded.update(release.optional[name])
    return [service for service in release.services if service not in excluded]


def last_deploy(history: Sequence[UpdateRecord]) -> UpdateRecord | None:
    """The newest update or destroy (history is newest first); previews do not count."""
    return next((record for record in history if record.kind in DEPLOY_KINDS), None)


def _health_log(container: ContainerState) -> str:
    lines = [line.strip() for line in container.health_log.splitlines() if line.strip()]
    text = " | ".join(lines)
    if len(text) > HEALTH_LOG_CHARS:
        text = text[: HEALTH_LOG_CHARS - 3] + "..."
    return f": {text}" if text else ""


def service_problem(service: str, container: ContainerState | None) -> tuple[bool, str] | None:
    """(is it fatal?, why) for a service that is not healthy; None when it is."""
    if container is None:
        return True, f"{service}: no container"
    state, health = container.state, container.health
    if state == "running":
        if health in (None, "healthy"):
            return None
        if health == "starting":
            return False, f"{service}: health check not passed yet{_health_log(container)}"
        return True, f"{service}: {health}{_health_log(container)}"
    if state == "restarting":
        return False, f"{service}: restarting (last exit code {container.exit_code})"
    if state == "created":
        return False, f"{service}: created, not started yet"
    if state in ("exited", "dead"):
        code = "" if container.exit_code is None else f" with code {container.exit_code}"
        return True, f"{service}: {state}{code}"
    return True, f"{service}: container is {state}"


def derive_status(
    ref: str,
    host: str,
    *,
    stack_exists: bool,
    last_update: UpdateRecord | None,
    paused: bool,
    services: Sequence[str],
    containers: Sequence[ContainerState] | None,
    unreachable: str = "",
) -> ProjectStatus:
    """Decide a project's status.

    ``containers`` is None when the host could not be asked (``unreachable`` says why);
    the project then counts as FAILED once deployed, since nobody can tell it works.
    """
    by_service = {c.service: c for c in containers or ()}
    if not stack_exists or (
        last_update is not None
        and last_update.kind == "destroy"
        and last_update.result == "succeeded"
    ):
        left = [f"{c.name}: still exists ({c.state})" for c in containers or ()]
        return ProjectStatus(ref, host, Status.DELETED, left)
    problems = [f"host unreachable: {unreachable}"] if containers is None else []
    if last_update is None:
        return ProjectStatus(ref, host, Status.PROVISIONING, ["not deployed yet", *problems])
    if last_update.result == "in-progress":
        return ProjectStatus(
            ref, host, Status.PROVISIONING, [f"{last_update.kind} in progress", *problems]
        )
    if last_update.result != "succeeded":
        problems.insert(0, f"last {last_update.kind} {last_update.result}")
    if containers is None:
        return ProjectStatus(ref, host, Status.FAILED, problems)
    if paused:
        running = [s for s in services if s in by_service and by_service[s].state == "running"]
        if running:
            problems.append(f"paused but still running: {', '.join(running)}")
        status = Status.PAUSED if last_update.result == "succeeded" else Status.FAILED
        return ProjectStatus(ref, host, status, problems)
    fatal = False
    for service in services:
        found = service_problem(service, by_service.get(service))
        if found is not None:
            fatal = fatal or found[0]
            problems.append(found[1])
    if last_update.result != "succeeded" or fatal:
        return ProjectStatus(ref, host, Status.FAILED, problems)
    return ProjectStatus(ref, host, Status.STARTING if problems else Status.ACTIVE, problems)
