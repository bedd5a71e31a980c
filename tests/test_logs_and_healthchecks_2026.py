"""2026-09 with logs on: Logflare's environment; every container's healthcheck (both releases).

Expectations come from supabase/supabase ``docker/docker-compose.yml`` and
``docker-compose.logs.yml`` at Studio 2026.09.07 (analytics' literal values; the probes and
their start periods) and from what Docker accepts: a healthcheck ``test`` starts with
``CMD`` (exec form) or ``CMD-SHELL`` (run by /bin/sh), anything else is refused.
"""

from __future__ import annotations

import pytest
from pulumi_harness import Run, env_of, reveal, run_main
from test_release_2026 import build

#: Logflare (analytics) as upstream configures it: literal values.
ANALYTICS_LITERALS = {
    "LOGFLARE_NODE_HOST": "127.0.0.1",
    "DB_USERNAME": "supabase_admin",
    "DB_DATABASE": "_supabase",
    "DB_HOSTNAME": "db",
    "DB_PORT": "5432",
    "DB_SCHEMA": "_analytics",
    "LOGFLARE_SINGLE_TENANT": "true",
    "LOGFLARE_SUPABASE_MODE": "true",
    "POSTGRES_BACKEND_SCHEMA": "_analytics",
    "LOGFLARE_FEATURE_FLAG_OVERRIDE": "multibackend=true",
}
#: Variables 2024-04's Logflare read that upstream's 2026 service no longer sets.
DROPPED_IN_2026 = {"LOGFLARE_API_KEY", "LOGFLARE_MIN_CLUSTER_SIZE"}
#: Upstream's start period per service (the rest start probing at once).
START_PERIODS = {"analytics": "30s", "storage": "10s", "realtime": "10s"}


@pytest.fixture(scope="module")
def logs_project() -> Run:
    return build({"logs": True, "portSlot": "7"}, stack="logs")


def test_analytics_environment_is_upstreams(logs_project: Run) -> None:
    env, out = env_of(logs_project.mocks.containers()["analytics"]), logs_project.outputs
    for name, value in ANALYTICS_LITERALS.items():
        assert env[name] == value, name
    password = out["postgresPassword"]
    assert env["DB_PASSWORD"] == password
    assert env["POSTGRES_BACKEND_URL"] == (
        f"postgresql://supabase_admin:{password}@db:5432/_supabase"
    )
    assert env["LOGFLARE_PUBLIC_ACCESS_TOKEN"] == out["logflareApiKey"]
    assert env["LOGFLARE_PRIVATE_ACCESS_TOKEN"] == out["logflarePrivateToken"]
    assert out["logflarePrivateToken"] != out["logflareApiKey"]
    assert not DROPPED_IN_2026 & set(env)


def test_vector_ships_with_the_public_token_under_both_names(logs_project: Run) -> None:
    env = env_of(logs_project.mocks.containers()["vector"])
    token = logs_project.outputs["logflareApiKey"]
    assert env["LOGFLARE_PUBLIC_ACCESS_TOKEN"] == env["LOGFLARE_API_KEY"] == token


def test_every_healthcheck_is_a_form_docker_runs(logs_project: Run) -> None:
    checks = {
        service: reveal(container.inputs["healthcheck"])
        for service, container in logs_project.mocks.containers().items()
        if container.inputs.get("healthcheck")
    }
    assert {"analytics", "vector", "storage", "studio", "realtime", "supavisor"} <= set(checks)
    for service, check in checks.items():
        test = list(check["tests"])
        assert test[0] in {"CMD", "CMD-SHELL"}, service
        assert len(test) == 2 if test[0] == "CMD-SHELL" else len(test) > 1, service
    for service, period in START_PERIODS.items():
        assert checks[service]["startPeriod"] == period, service


def test_probes_ask_each_service_on_its_own_port(logs_project: Run) -> None:
    checks = {
        service: " ".join(reveal(container.inputs["healthcheck"])["tests"])
        for service, container in logs_project.mocks.containers().items()
        if container.inputs.get("healthcheck")
    }
    assert "http://localhost:4000/health" in checks["analytics"]
    assert "http://vector:9001/health" in checks["vector"]
    assert "http://localhost:5000/status" in checks["storage"]
    assert "http://localhost:3000/api/platform/profile" in checks["studio"]
    assert checks["studio"].startswith("CMD node -e fetch(")


#: Services upstream's 2024-04 compose gives a healthcheck (dependants wait on them).
HEALTHCHECKED_2024 = {"db", "vector", "analytics", "auth", "storage", "imgproxy", "studio", "kong"}


def test_2024_healthchecks_are_upstreams_and_in_a_form_docker_runs() -> None:
    result = run_main({"portSlot": 14}, stack="hc2024")
    checks = {
        service: list(reveal(container.inputs["healthcheck"])["tests"])
        for service, container in result.mocks.containers().items()
        if container.inputs.get("healthcheck")
    }
    assert set(checks) >= HEALTHCHECKED_2024
    for service, test in checks.items():
        assert test[0] in {"CMD", "CMD-SHELL"}, service
    # Kong's CLI has a lower-case `health` subcommand; Studio (2024-04) answers on /api/profile.
    assert checks["kong"][1:] == ["kong", "health"]
    assert checks["studio"][1:3] == ["node", "-e"]
    assert "localhost:3000/api/profile" in checks["studio"][3]


def _seconds(duration: str) -> int:
    assert duration.endswith("s")
    return int(float(duration[:-1]))


@pytest.mark.parametrize("release", ["2024-04", "2026-09"])
def test_the_component_waits_longer_than_docker_takes_to_call_a_container_unhealthy(
    release: str,
) -> None:
    """``wait: true`` gives up after ``waitTimeout`` seconds; giving up before Docker has
    run every retry would fail a first start (database initialisation, migrations) that
    Docker would have seen through."""
    result = run_main({"portSlot": 15, "release": release}, stack=f"wait{release[:4]}")
    for service, container in result.mocks.containers().items():
        check = reveal(container.inputs.get("healthcheck"))
        if not check:
            continue
        assert container.inputs.get("wait") is True, service
        worst = (
            _seconds(check["startPeriod"])
            + (_seconds(check["interval"]) + _seconds(check["timeout"])) * check["retries"]
        )
        assert container.inputs["waitTimeout"] >= worst, service
    database = result.mocks.containers()["db"]
    # A first start initialises the cluster and runs every migration before it answers.
    assert database.inputs["waitTimeout"] >= 300


def test_the_log_pipelines_probes_are_upstreams(logs_project: Run) -> None:
    containers = logs_project.mocks.containers()
    analytics = reveal(containers["analytics"].inputs["healthcheck"])
    assert analytics["tests"] == [
        "CMD-SHELL",
        "curl -sSfL -o /dev/null http://localhost:4000/health",
    ]
    # Logflare runs its migrations first: ten tries after a 30 s grace.
    assert (analytics["retries"], analytics["startPeriod"]) == (10, "30s")
    vector = reveal(containers["vector"].inputs["healthcheck"])
    assert vector["tests"] == [
        "CMD-SHELL",
        "wget --no-verbose --tries=1 --spider http://vector:9001/health",
    ]
    assert (vector["interval"], vector["timeout"], vector["retries"]) == ("5s", "5s", 3)


def test_studio_shows_every_log_view_with_the_pipeline_on(logs_project: Run) -> None:
    studio = env_of(logs_project.mocks.containers()["studio"])
    assert studio["ENABLED_FEATURES_LOGS_ALL"] == "true"
    assert studio["LOGFLARE_URL"] == "http://analytics:4000"
    assert "LOGFLARE_API_KEY" not in studio  # 2026-09 Studio reads the private token only
