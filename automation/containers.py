"""What the fleet tool knows of one project container on a Docker engine.

Plain data shared by the engine layer (which reads it from Docker) and the status logic
(which turns it into a project status), so the status logic is testable without an engine.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContainerState:
    """One container of a project, as the engine reports it."""

    project: str
    """The project ref, from the ``supabase.project`` label."""
    service: str
    """The service name, from the ``supabase.service`` label ("db", "kong", ...)."""
    name: str
    """The container name, e.g. ``supabase-shop-db``."""
    state: str
    """Docker's state: created, running, restarting, paused, exited, dead, removing."""
    health: str | None
    """healthy, unhealthy or starting; None when the container has no healthcheck."""
    health_log: str = ""
    """Output of the last failing health probe (empty when healthy or unknown)."""
    exit_code: int | None = None
    """Exit code when the container has stopped."""
