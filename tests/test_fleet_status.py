"""Status derivation: every lifecycle state, and the reason for every unhealthy service."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from automation.containers import ContainerState
from automation.errors import FleetError
from automation.status import (
    ProjectStatus,
    Status,
    UpdateRecord,
    derive_status,
    enabled_services,
    last_deploy,
)
from components.settings import ALL_SERVICES

OK = UpdateRecord("update", "succeeded")


def container(
    service: str,
    state: str = "running",
    health: str | None = "healthy",
    health_log: str = "",
    exit_code: int | None = None,
) -> ContainerState:
    return ContainerState(
        project="shop",
        service=service,
        name=f"supabase-shop-{service}",
        state=state,
        health=health,
        health_log=health_log,
        exit_code=exit_code,
    )


def healthy(services: Sequence[str] = ALL_SERVICES) -> list[ContainerState]:
    # rest and functions have no healthcheck: running is healthy for them.
    return [
        container(s, health=None if s in ("rest", "functions") else "healthy") for s in services
    ]


def derive(
    *,
    containers: Sequence[ContainerState] | None,
    last: UpdateRecord | None = OK,
    paused: bool = False,
    exists: bool = True,
    services: Sequence[str] = ALL_SERVICES,
    unreachable: str = "",
) -> ProjectStatus:
    return derive_status(
        "shop",
        "local",
        stack_exists=exists,
        last_update=last,
        paused=paused,
        services=services,
        containers=containers,
        unreachable=unreachable,
    )


def replace(containers: list[ContainerState], new: ContainerState) -> list[ContainerState]:
    return [new if c.service == new.service else c for c in containers]


def test_all_healthy_is_active() -> None:
    result = derive(containers=healthy())
    assert result == ProjectStatus("shop", "local", Status.ACTIVE, [])


def test_a_starting_health_check_is_starting() -> None:
    result = derive(containers=replace(healthy(), container("auth", health="starting")))
    assert result.status is Status.STARTING
    assert result.problems == ["auth: health check not passed yet"]


def test_restarting_and_created_are_starting() -> None:
    containers = replace(healthy(), container("realtime", "restarting", None, exit_code=1))
    containers = replace(containers, container("studio", "created", None))
    result = derive(containers=containers)
    assert result.status is Status.STARTING
    assert result.problems == [
        "realtime: restarting (last exit code 1)",
        "studio: created, not started yet",
    ]


def test_unhealthy_is_failed_and_quotes_the_health_log() -> None:
    log = "pg_isready: no response\n\nconnection refused\n"
    result = derive(
        containers=replace(healthy(), container("db", health="unhealthy", health_log=log))
    )
    assert result.status is Status.FAILED
    assert result.problems == ["db: unhealthy: pg_isready: no response | connection refused"]


def test_a_long_health_log_is_cut() -> None:
    result = derive(
        containers=replace(healthy(), container("kong", health="unhealthy", health_log="x" * 500))
    )
    assert len(result.problems[0]) < 230
    assert result.problems[0].endswith("...")


def test_exited_and_missing_services_are_failed() -> None:
    containers = replace(healthy(), container("storage", "exited", None, exit_code=137))
    containers = [c for c in containers if c.service != "meta"]
    result = derive(containers=containers)
    assert result.status is Status.FAILED
    assert result.problems == ["storage: exited with code 137", "meta: no container"]


def test_excluded_services_are_not_expected() -> None:
    services = enabled_services(["analytics", "studio"])
    assert "vector" not in services and "studio" not in services
    assert derive(containers=healthy(services), services=services).status is Status.ACTIVE


def test_never_deployed_is_provisioning() -> None:
    result = derive(containers=[], last=None)
    assert result.status is Status.PROVISIONING
    assert result.problems == ["not deployed yet"]


def test_an_update_in_progress_is_provisioning() -> None:
    result = derive(containers=[], last=UpdateRecord("update", "in-progress"))
    assert result.status is Status.PROVISIONING


def test_a_failed_update_is_failed_even_with_healthy_containers() -> None:
    result = derive(containers=healthy(), last=UpdateRecord("update", "failed"))
    assert result.status is Status.FAILED
    assert result.problems == ["last update failed"]


def test_paused_with_nothing_running_is_paused() -> None:
    stopped = [container(s, "exited", None, exit_code=0) for s in ALL_SERVICES]
    assert derive(containers=stopped, paused=True).status is Status.PAUSED
    assert derive(containers=[], paused=True).problems == []


def test_paused_but_still_running_says_so() -> None:
    result = derive(containers=healthy(["db", "kong"]), paused=True)
    assert result.status is Status.PAUSED
    assert result.problems == ["paused but still running: db, kong"]


def test_a_failed_pause_is_failed() -> None:
    result = derive(containers=healthy(), paused=True, last=UpdateRecord("update", "failed"))
    assert result.status is Status.FAILED


def test_no_stack_is_deleted_and_leftovers_are_named() -> None:
    result = derive(containers=[container("db")], exists=False, last=None)
    assert result.status is Status.DELETED
    assert result.problems == ["supabase-shop-db: still exists (running)"]


def test_a_destroyed_stack_is_deleted() -> None:
    result = derive(containers=[], last=UpdateRecord("destroy", "succeeded"))
    assert result.status is Status.DELETED


def test_an_unreachable_host_fails_a_deployed_project() -> None:
    result = derive(containers=None, unreachable="ssh: connection refused")
    assert result.status is Status.FAILED
    assert result.problems == ["host unreachable: ssh: connection refused"]
    assert derive(containers=None, last=None, unreachable="x").status is Status.PROVISIONING


def test_last_deploy_ignores_previews_and_refreshes() -> None:
    history = [
        UpdateRecord("preview", "failed"),
        UpdateRecord("refresh", "failed"),
        UpdateRecord("update", "succeeded"),
        UpdateRecord("update", "failed"),
    ]
    assert last_deploy(history) == UpdateRecord("update", "succeeded")
    assert last_deploy([UpdateRecord("refresh", "succeeded")]) is None


def test_enabled_services_rejects_required_ones() -> None:
    assert enabled_services([]) == list(ALL_SERVICES)
    with pytest.raises(FleetError, match="cannot exclude 'db'"):
        enabled_services(["db"])
