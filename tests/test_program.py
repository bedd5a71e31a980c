"""``__main__.py`` itself, under mocks, for every stack file in ``stacks/``."""

from __future__ import annotations

import json
from importlib import metadata

import jwt
import pulumi
import pytest
from pulumi_harness import ROOT, env_of, plain_parts, reveal, run_main, stack_config

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


def test_an_old_docker_sdk_stops_the_program_with_the_fix(monkeypatch) -> None:
    real = metadata.version
    monkeypatch.setattr(
        metadata, "version", lambda name: "4.6.2" if name == "pulumi-docker" else real(name)
    )
    with pytest.raises(pulumi.RunError, match=r"pulumi-docker 4\.6\.2 \(needs >= 5\.1\)"):
        run_main({"portSlot": "4"}, stack="dev")


def test_bad_config_stops_the_program_before_any_resource() -> None:
    with pytest.raises(pulumi.RunError, match="portSlot") as raised:
        run_main({"portSlot": "-1"}, stack="dev")
    assert "pulumi config set portSlot" in str(raised.value)


#: Every secret setting with a valid value for it.
SECRET_SETTINGS = {
    "jwtSecret": "wiring-test-jwt-secret-with-40-characters",
    "postgresPassword": "WiringTestPassword2024",
    "dashboardPassword": "wiring-dashboard-pass",
    "smtpPassword": "wiring-smtp-pass",
}


@pytest.mark.parametrize("key", sorted(SECRET_SETTINGS))
def test_a_secret_setting_in_plain_text_is_refused(key: str) -> None:
    with pytest.raises(pulumi.RunError, match=key) as raised:
        run_main({"portSlot": "4", key: SECRET_SETTINGS[key]}, stack="dev")
    assert f"pulumi config set --secret {key}" in str(raised.value)


@pytest.mark.parametrize("key", sorted(SECRET_SETTINGS))
def test_a_secret_setting_stays_secret_in_every_input_and_output(key: str) -> None:
    value = SECRET_SETTINGS[key]
    result = run_main({"portSlot": "4", key: value}, stack="dev", secret_keys=[key])
    carriers = [r.name for r in result.mocks.resources if value in json.dumps(reveal(r.inputs))]
    assert carriers, f"{key} reached no resource"
    for resource in result.mocks.resources:
        leaks = [part for part in plain_parts(resource.inputs) if value in str(part)]
        assert not leaks, f"{key} is in plain text in {resource.name}"
    for name, output in result.outputs.items():
        if value in json.dumps(output):
            assert name in result.secret_outputs, f"output {name} shows {key}"
