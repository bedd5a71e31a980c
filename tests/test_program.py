"""``__main__.py`` itself, under mocks, for every stack file in ``stacks/``."""

from __future__ import annotations

import json

import jwt
import pulumi
import pytest
from pulumi_harness import ROOT, env_of, reveal, run_main, stack_config

from components.naming import container_name
from components.settings import ALL_SERVICES, OPTIONAL_SERVICES

STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
SECRET_OUTPUTS = {"dbUrl", "anonKey", "serviceRoleKey", "jwtSecret", "dashboardPassword"}


def test_there_is_an_example_stack_with_all_twelve_services() -> None:
    config = stack_config(ROOT / "stacks" / "Pulumi.dev.yaml")
    assert "exclude" not in config
    result = run_main(config, stack="dev")
    assert sorted(result.mocks.containers()) == sorted(ALL_SERVICES)


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_each_stack_file_builds_its_project(stack_file) -> None:
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = stack_config(stack_file)
    result = run_main(config, stack=stack)
    ref = config.get("ref", stack)
    excluded = {
        service
        for name in json.loads(config.get("exclude", "[]"))
        for service in OPTIONAL_SERVICES[name]
    }
    paused = config.get("paused") == "true"
    containers = result.mocks.containers()
    expected = set() if paused else set(ALL_SERVICES) - excluded
    assert set(containers) == expected
    for service, container in containers.items():
        assert reveal(container.inputs["name"]) == container_name(ref, service)

    outputs = result.outputs
    assert outputs["ref"] == ref
    assert result.secret_outputs >= SECRET_OUTPUTS
    assert "apiUrl" not in result.secret_outputs
    assert outputs["services"] == sorted(set(ALL_SERVICES) - excluded)
    assert outputs["paused"] is paused
    claims = jwt.decode(outputs["anonKey"], outputs["jwtSecret"], algorithms=["HS256"])
    assert claims["role"] == "anon"
    if not paused:
        kong_env = env_of(containers["kong"])
        assert kong_env["KONG_DECLARATIVE_CONFIG"] == "/home/kong/kong.yml"


def test_bad_config_stops_the_program_before_any_resource() -> None:
    with pytest.raises(pulumi.RunError, match="portSlot") as raised:
        run_main({"portSlot": "-1"}, stack="dev")
    assert "pulumi config set portSlot" in str(raised.value)
