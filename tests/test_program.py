"""``__main__.py`` itself, under mocks, for every stack file in ``stacks/``."""

from __future__ import annotations

import json
from importlib import metadata

import jwt
import pulumi
import pytest
from pulumi_harness import ROOT, env_of, plain_parts, reveal, run_main, stack_config

from components.naming import container_name
from components.releases import DEFAULT_RELEASE, NEWEST_RELEASE, RELEASES, is_current

STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))
SECRET_OUTPUTS = {"dbUrl", "anonKey", "serviceRoleKey", "jwtSecret", "dashboardPassword"}
#: What 2026-09 adds to the outputs, all secret.
NEW_SECRET_OUTPUTS = {"publishableKey", "secretKey", "poolerUrl", "poolerTransactionUrl"}


def test_the_example_stack_names_the_newest_release() -> None:
    config = stack_config(ROOT / "stacks" / "Pulumi.dev.yaml")
    assert config["release"] == NEWEST_RELEASE
    assert "exclude" not in config
    result = run_main(config, stack="dev")
    release = RELEASES[NEWEST_RELEASE]
    expected = set(release.services) - set(release.logs_services)  # logs are opt-in
    assert set(result.mocks.containers()) == expected


def test_only_a_release_nothing_is_based_on_is_current() -> None:
    """``create`` gives new projects the current release; an older one is never offered."""
    assert is_current("2026-09") and NEWEST_RELEASE == "2026-09"
    assert not is_current("2024-04")  # 2026-09 is based on it


def test_a_legacy_example_runs_all_twelve_2024_services() -> None:
    config = stack_config(ROOT / "stacks" / "Pulumi.legacy.yaml")
    assert config["release"] == DEFAULT_RELEASE
    result = run_main(config, stack="legacy")
    assert sorted(result.mocks.containers()) == sorted(RELEASES[DEFAULT_RELEASE].services)


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_each_stack_file_builds_its_project(stack_file) -> None:
    stack = stack_file.name.removeprefix("Pulumi.").removesuffix(".yaml")
    config = stack_config(stack_file)
    result = run_main(config, stack=stack)
    ref = config.get("ref", stack)
    release = RELEASES[config.get("release", DEFAULT_RELEASE)]
    logs = config.get("logs", str(release.logs_default).lower()) == "true"
    excluded = {
        service
        for name in json.loads(config.get("exclude", "[]"))
        for service in release.optional[name]
    } | (set() if logs else set(release.logs_services))
    paused = config.get("paused") == "true"
    containers = result.mocks.containers()
    expected = set() if paused else set(release.services) - excluded
    assert set(containers) == expected
    for service, container in containers.items():
        assert reveal(container.inputs["name"]) == container_name(ref, service)

    outputs = result.outputs
    assert outputs["ref"] == ref
    assert outputs["release"] == release.name
    assert outputs["gateway"] == config.get("gateway", release.default_gateway)
    assert result.secret_outputs >= SECRET_OUTPUTS
    if release.name != DEFAULT_RELEASE:
        assert result.secret_outputs >= NEW_SECRET_OUTPUTS
        assert outputs["dbUrl"] == outputs["poolerUrl"]
        assert f"postgres.{ref}:" in outputs["poolerUrl"]
    else:
        assert not NEW_SECRET_OUTPUTS & set(outputs)
    assert "apiUrl" not in result.secret_outputs
    assert outputs["services"] == sorted(set(release.services) - excluded)
    assert outputs["paused"] is paused
    claims = jwt.decode(outputs["anonKey"], outputs["jwtSecret"], algorithms=["HS256"])
    assert claims["role"] == "anon"
    if not paused:
        gateway = containers[release.gateway_service]
        uploaded = {u["file"] for u in reveal(gateway.inputs["uploads"])}
        if release.gateway_service == "kong":
            assert env_of(gateway)["KONG_DECLARATIVE_CONFIG"] in uploaded
        else:
            assert uploaded


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


def test_an_unknown_release_is_refused_with_the_list() -> None:
    with pytest.raises(pulumi.RunError, match="2024-04") as raised:
        run_main({"portSlot": "0", "release": "2025-01"}, stack="dev")
    assert "2026-09" in str(raised.value)


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
