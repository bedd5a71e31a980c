"""Project status with exactly one thing wrong, so each problem alone decides the verdict."""

from __future__ import annotations

import pytest

from automation.containers import ContainerState
from automation.status import HEALTH_LOG_CHARS, Status, UpdateRecord, derive_status

SERVICES = ("db", "auth")
OK = UpdateRecord("update", "succeeded")


def container(
    service: str, state: str = "running", health: str | None = None, **kwargs: object
) -> ContainerState:
    return ContainerState("shop", service, f"supabase-shop-{service}", state, health, **kwargs)


def with_db(db: ContainerState | None, **kwargs: object):
    containers = [container("auth", health="healthy")] + ([db] if db else [])
    options = {"stack_exists": True, "last_update": OK, "paused": False} | kwargs
    return derive_status("shop", "host-a", services=SERVICES, containers=containers, **options)


def test_a_missing_container_alone_fails_the_project() -> None:
    result = with_db(None)
    assert (result.status, result.problems) == (Status.FAILED, ["db: no container"])


@pytest.mark.parametrize(
    ("db", "problem"),
    [
        (container("db", "dead", health=None, exit_code=137), "db: dead with code 137"),
        (container("db", "exited", health=None), "db: exited"),
        (container("db", "removing", health=None), "db: container is removing"),
        (container("db", "paused", health=None), "db: container is paused"),
    ],
)
def test_a_stopped_or_odd_container_alone_fails_the_project(
    db: ContainerState, problem: str
) -> None:
    result = with_db(db)
    assert (result.status, result.problems) == (Status.FAILED, [problem])


@pytest.mark.parametrize(
    ("db", "problem"),
    [
        (container("db", "restarting", health=None, exit_code=1), "restarting (last exit code 1)"),
        (container("db", "created", health=None), "created, not started yet"),
        (container("db", health="starting"), "health check not passed yet"),
    ],
)
def test_a_container_on_its_way_up_alone_is_starting(db: ContainerState, problem: str) -> None:
    result = with_db(db)
    assert (result.status, result.problems) == (Status.STARTING, [f"db: {problem}"])


def test_a_health_log_of_exactly_the_limit_is_kept_whole() -> None:
    log = "y" * HEALTH_LOG_CHARS
    result = with_db(container("db", health="unhealthy", health_log=log))
    assert result.problems == [f"db: unhealthy: {log}"]


def test_a_longer_health_log_is_cut_to_the_limit_with_an_ellipsis() -> None:
    log = "".join(chr(ord("a") + i % 26) for i in range(HEALTH_LOG_CHARS + 1))
    result = with_db(container("db", health="unhealthy", health_log=log))
    (problem,) = result.problems
    shown = problem.removeprefix("db: unhealthy: ")
    assert len(shown) == HEALTH_LOG_CHARS
    assert shown == log[: HEALTH_LOG_CHARS - len("...")] + "..."


def test_every_verdict_names_the_project_and_its_host() -> None:
    cases = [
        with_db(None),
        with_db(container("db", health="healthy")),
        with_db(container("db", health="healthy"), last_update=UpdateRecord("update", "failed")),
        with_db(container("db"), last_update=UpdateRecord("destroy", "in-progress")),
        with_db(container("db"), last_update=None),
        with_db(container("db"), paused=True),
        with_db(container("db"), stack_exists=False),
        derive_status(
            "shop",
            "host-a",
            stack_exists=True,
            last_update=OK,
            paused=False,
            services=SERVICES,
            containers=None,
            unreachable="timed out",
        ),
    ]
    assert {(c.ref, c.host) for c in cases} == {("shop", "host-a")}
    assert [c.status for c in cases] == [
        Status.FAILED,
        Status.ACTIVE,
        Status.FAILED,
        Status.PROVISIONING,
        Status.PROVISIONING,
        Status.PAUSED,
        Status.DELETED,
        Status.FAILED,
    ]
    assert cases[3].problems == ["destroy in progress"]
    assert cases[7].problems == ["host unreachable: timed out"]


def test_a_failed_update_comes_first_among_the_problems() -> None:
    result = with_db(
        container("db", "exited", health=None, exit_code=1),
        last_update=UpdateRecord("update", "failed"),
    )
    assert result.problems == ["last update failed", "db: exited with code 1"]


def test_an_update_in_progress_on_an_unreachable_host_says_both() -> None:
    result = derive_status(
        "shop",
        "host-a",
        stack_exists=True,
        last_update=UpdateRecord("update", "in-progress"),
        paused=False,
        services=SERVICES,
        containers=None,
        unreachable="connection refused",
    )
    assert result.status is Status.PROVISIONING
    assert result.problems == ["update in progress", "host unreachable: connection refused"]
