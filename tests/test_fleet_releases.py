"""The fleet and releases: create --release, list/status show it, credentials --output."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from test_fleet_cli import SECRET, Env, healthy, outputs_of

from automation.releases import credential_env, render_credentials, stack_services
from automation.stackfiles import read_stack
from automation.workspace import Output

#: What a 2026-09 project adds to its outputs (fake values).
NEW_OUTPUTS = {
    "dbUrl": Output("postgresql://postgres.shop:pw@localhost:20003/postgres", True),
    "poolerUrl": Output("postgresql://postgres.shop:pw@localhost:20003/postgres", True),
    "poolerTransactionUrl": Output("postgresql://postgres.shop:pw@localhost:20004/postgres", True),
    "publishableKey": Output("sb_publishable_abc", True),
    "secretKey": Output("sb_secret_def", True),
    "jwtKeys": Output('[{"kty":"EC"}]', True),
    "jwtJwks": Output('{"keys":[]}', True),
    "anonKeyAsymmetric": Output("es-anon", True),
    "serviceRoleKeyAsymmetric": Output("es-service", True),
    "release": Output("2026-09", False),
}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def test_create_defaults_to_the_newest_release_and_writes_it(env: Env) -> None:
    assert env.main("create", "shop") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:release"] == "2026-09"


def test_create_with_an_older_release(env: Env) -> None:
    assert env.main("create", "shop", "--release", "2024-04") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:release"] == "2024-04"


def test_create_refuses_an_exclusion_the_release_does_not_offer(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert env.main("create", "shop", "--exclude", "analytics") == 2
    assert "release 2026-09 lets you leave out only" in capsys.readouterr().err
    assert env.stack_files() == {}
    assert env.workspace.calls == []


def test_services_follow_release_logs_and_exclude(env: Env) -> None:
    env.write_stack("old", portSlot=0)
    env.write_stack("new", portSlot=1, release="2026-09", exclude=["studio"])
    env.write_stack("logged", portSlot=2, release="2026-09", logs=True)
    stacks = env.stacks_dir
    assert len(stack_services(read_stack(stacks, "old"))) == 12
    new = stack_services(read_stack(stacks, "new"))
    assert "supavisor" in new and "api-gw" in new
    assert not {"studio", "analytics", "vector"} & set(new)
    assert {"analytics", "vector"} <= set(stack_services(read_stack(stacks, "logged")))


def test_list_and_status_show_the_release_and_name_older_ones(env: Env) -> None:
    env.write_stack("old", portSlot=0)
    env.write_stack("new", portSlot=1, release="2026-09")
    env.workspace.stacks = {"old", "new"}
    env.engines[next(iter(env.engines))].containers["old"] = healthy("old")
    assert env.main("list") in (0, 1)
    rows = {line.split()[0]: line.split() for line in env.out.getvalue().splitlines()[1:]}
    assert rows["old"][3] == "2024-04"
    assert rows["new"][3] == "2026-09"
    env.out.truncate(0)
    env.out.seek(0)
    env.main("status")
    text = env.out.getvalue()
    assert "old: ACTIVE on host local, release 2024-04" in text
    assert "on release 2024-04; the newest is 2026-09" in text
    assert "a new project is needed" in text
    assert "new:" in text and text.count("the newest is") == 1
    env.out.truncate(0)
    env.out.seek(0)
    env.main("status", "--json")
    by_ref = {item["ref"]: item for item in json.loads(env.out.getvalue())}
    assert by_ref["old"]["release"] == "2024-04" and by_ref["old"]["olderRelease"]
    assert by_ref["new"]["olderRelease"] is None


def test_a_2026_project_is_active_with_its_own_services(env: Env) -> None:
    env.write_stack("new", portSlot=1, release="2026-09")
    env.workspace.stacks = {"new"}
    services = stack_services(read_stack(env.stacks_dir, "new"))
    env.engines[next(iter(env.engines))].containers["new"] = healthy("new", services)
    assert env.main("status", "new") == 0
    assert "new: ACTIVE" in env.out.getvalue()


def test_credentials_as_upstreams_env_file(env: Env, monkeypatch) -> None:
    env.write_stack("shop", portSlot=0, release="2026-09")
    env.workspace.stacks = {"shop"}
    monkeypatch.setattr(
        "test_fleet_cli.outputs_of", lambda ref: outputs_of(ref) | NEW_OUTPUTS, raising=True
    )
    target = env.project / "acceptance" / ".env"
    target.parent.mkdir()
    assert env.main("credentials", "shop", "--output", "env", "--file", str(target)) == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    values = dict(line.split("=", 1) for line in target.read_text().splitlines())
    assert values["ANON_KEY"] == SECRET
    assert values["SERVICE_ROLE_KEY"] == "service-key"
    assert values["JWT_SECRET"] == "jwt-secret"
    assert values["SUPABASE_PUBLISHABLE_KEY"] == "sb_publishable_abc"
    assert values["SUPABASE_SECRET_KEY"] == "sb_secret_def"
    assert values["JWT_KEYS"] == '[{"kty":"EC"}]'
    assert values["JWT_JWKS"] == '{"keys":[]}'
    assert values["POSTGRES_PASSWORD"] == "pw"
    assert values["POSTGRES_PORT"] == "20003"
    assert values["POOLER_PROXY_PORT_TRANSACTION"] == "20004"
    assert values["POOLER_TENANT_ID"] == "shop"
    assert values["DASHBOARD_USERNAME"] == "supabase"
    assert values["DASHBOARD_PASSWORD"] == "dash-pw"
    assert values["SUPABASE_PUBLIC_URL"] == values["API_EXTERNAL_URL"] == "http://localhost:20000"
    assert SECRET not in env.out.getvalue()  # only the file holds the secrets


def test_credentials_json_and_yaml_hold_the_same_values(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.workspace.stacks = {"shop"}
    assert env.main("credentials", "shop", "-o", "json") == 0
    as_json = json.loads(env.out.getvalue())
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("credentials", "shop", "-o", "yaml") == 0
    assert yaml.safe_load(env.out.getvalue()) == as_json
    assert as_json["ANON_KEY"] == SECRET and as_json["POSTGRES_PORT"] == "20002"
    assert "SUPABASE_PUBLISHABLE_KEY" not in as_json  # a 2024-04 project has none


def test_env_output_refuses_a_value_that_would_break_the_file() -> None:
    values = credential_env("shop", {"anonKey": "a\nb"})
    with pytest.raises(Exception, match="line break"):
        render_credentials(values, "env")
