"""The fleet and releases: create --release, list/status show it, credentials --output."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from fleet_env import LOCAL, Env, healthy
from pulumi.automation import OutputValue

from automation.releases import credential_env, render_credentials
from automation.stackfiles import read_stack
from automation.status import enabled_services

SECRET = "anon-key-of-shop"
#: The outputs of a deployed 2026-09 project (fake values).
OUTPUTS_2026 = {
    "apiUrl": OutputValue("http://localhost:20000", False),
    "dbUrl": OutputValue("postgresql://postgres.shop:pw@localhost:20003/postgres", True),
    "poolerUrl": OutputValue("postgresql://postgres.shop:pw@localhost:20003/postgres", True),
    "poolerTransactionUrl": OutputValue(
        "postgresql://postgres.shop:pw@localhost:20004/postgres", True
    ),
    "anonKey": OutputValue(SECRET, True),
    "serviceRoleKey": OutputValue("service-key", True),
    "jwtSecret": OutputValue("jwt-secret", True),
    "publishableKey": OutputValue("sb_publishable_abc", True),
    "secretKey": OutputValue("sb_secret_def", True),
    "jwtKeys": OutputValue('[{"kty":"EC"}]', True),
    "jwtJwks": OutputValue('{"keys":[]}', True),
    "anonKeyAsymmetric": OutputValue("es-anon", True),
    "serviceRoleKeyAsymmetric": OutputValue("es-service", True),
    "dashboardUsername": OutputValue("supabase", False),
    "dashboardPassword": OutputValue("dash-pw", True),
    "release": OutputValue("2026-09", False),
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(tmp_path, monkeypatch=monkeypatch)


def services_of(env: Env, ref: str) -> list[str]:
    stack = read_stack(env.stacks_dir, ref)
    return enabled_services(stack.exclude, stack.release, stack.logs)


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
    assert "cannot exclude 'analytics' in release 2026-09" in capsys.readouterr().err
    assert env.stack_files() == {}
    assert env.calls == []


def test_list_and_status_show_the_release_and_name_older_ones(env: Env) -> None:
    env.write_stack("old", portSlot=0)
    env.write_stack("new", portSlot=1, release="2026-09")
    env.deployed("old", "new")
    assert env.main("list") == 0
    rows = {line.split()[0]: line.split() for line in env.out.getvalue().splitlines()[1:]}
    assert rows["old"][:4] == ["old", "ACTIVE", "20000/20001/20002", "2024-04"]
    assert rows["new"][:4] == ["new", "ACTIVE", "20010/20011/20013/20014", "2026-09"]
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("status") == 0
    text = env.out.getvalue()
    assert "old: ACTIVE on host local, release 2024-04" in text
    assert "new: ACTIVE on host local, release 2026-09" in text
    assert "on release 2024-04; the newest is 2026-09" in text
    assert "a new project is needed" in text
    assert text.count("the newest is") == 1
    env.out.truncate(0)
    env.out.seek(0)
    env.main("status", "--json")
    by_ref = {item["ref"]: item for item in json.loads(env.out.getvalue())["projects"]}
    assert by_ref["old"]["release"] == "2024-04" and by_ref["old"]["olderRelease"]
    assert by_ref["new"]["release"] == "2026-09" and by_ref["new"]["olderRelease"] is None


def test_a_2026_project_runs_its_own_services(env: Env) -> None:
    env.write_stack("new", portSlot=1, release="2026-09", exclude=["studio"])
    env.write_stack("logged", portSlot=2, release="2026-09", logs=True)
    new = services_of(env, "new")
    assert "supavisor" in new and "api-gw" in new
    assert not {"studio", "analytics", "vector"} & set(new)
    assert {"analytics", "vector"} <= set(services_of(env, "logged"))
    env.deployed("new")
    env.engines[LOCAL].containers["new"] = healthy("new", new)
    assert env.main("status", "new") == 0


def test_credentials_as_upstreams_env_file(env: Env) -> None:
    env.write_stack("shop", portSlot=0, release="2026-09")
    env.deployed("shop")
    env.backend.stacks["shop"].outputs = dict(OUTPUTS_2026)
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
    env.deployed("shop")
    legacy = {k: v for k, v in OUTPUTS_2026.items() if k in ("apiUrl", "anonKey", "jwtSecret")}
    legacy["dbUrl"] = OutputValue("postgresql://postgres:pw@localhost:20002/postgres", True)
    env.backend.stacks["shop"].outputs = legacy
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
