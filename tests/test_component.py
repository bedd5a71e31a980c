"""The SupabaseProject component under mocks: the facts of every resource it registers."""

from __future__ import annotations

import json
import time
from typing import Any
from unittest import mock

import jwt
import pulumi
import pytest
import yaml
from pulumi_harness import (
    Run,
    claimed_names_and_ports,
    env_of,
    is_secret,
    mock_image_id,
    plain_parts,
    reveal,
    run,
)

from components.services import _dependency_order
from components.services.base import ServiceSpec
from components.settings import ALL_SERVICES, load_settings
from components.supabase_project import SupabaseProject, SupabaseProjectArgs

PINNED_IMAGES = {
    "db": "supabase/postgres:15.1.1.41",
    "kong": "kong:2.8.1",
    "auth": "supabase/gotrue:v2.149.0",
    "rest": "postgrest/postgrest:v12.0.1",
    "realtime": "supabase/realtime:v2.28.32",
    "storage": "supabase/storage-api:v1.0.6",
    "imgproxy": "darthsim/imgproxy:v3.8.0",
    "meta": "supabase/postgres-meta:v0.80.0",
    "functions": "supabase/edge-runtime:v1.45.2",
    "analytics": "supabase/logflare:1.4.0",
    "vector": "timberio/vector:0.28.1-alpine",
    "studio": "supabase/studio:20240422-5cf8f30",
}
#: Who each service waits for, as the official stack orders start-up.
NEEDS = {
    "vector": set(),
    "db": {"vector"},
    "analytics": {"db"},
    "kong": {"analytics"},
    "auth": {"db", "analytics"},
    "rest": {"db", "analytics"},
    "realtime": {"db", "analytics"},
    "imgproxy": set(),
    "storage": {"db", "rest", "imgproxy"},
    "meta": {"db", "analytics"},
    "functions": {"db", "analytics"},
    "studio": {"analytics", "meta"},
}
HEALTHCHECKED = {
    "vector",
    "db",
    "analytics",
    "kong",
    "auth",
    "realtime",
    "imgproxy",
    "storage",
    "studio",
}


def build(
    config: dict[str, Any] | None = None,
    *,
    stack: str = "shop",
    secret_keys: tuple[str, ...] = (),
    clock: float | None = None,
) -> Run:
    """Build one project from ``config`` and export what the tests read back.

    ``clock`` pins the time the keys' issue stamp is created from: on a real engine the
    stamp is created once and kept in state, so two runs of one stack share it.
    """
    raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()}
    raw.setdefault("portSlot", "4")

    def program() -> None:
        settings = load_settings(raw.get, stack=stack, is_secret=lambda key: key in secret_keys)
        project = SupabaseProject(settings.ref, SupabaseProjectArgs(settings))
        pulumi.export("anonKey", project.secrets.anon_key)
        pulumi.export("serviceRoleKey", project.secrets.service_role_key)
        pulumi.export("jwtSecret", project.secrets.jwt_secret)
        pulumi.export("postgresPassword", project.secrets.postgres_password)
        pulumi.export("dashboardPassword", project.secrets.dashboard_password)
        pulumi.export("logflareApiKey", project.secrets.logflare_api_key)
        pulumi.export("dbUrl", project.db_url)
        pulumi.export("studioUrl", project.studio_url)
        pulumi.export("poolerUrls", [project.pooler_url, project.pooler_transaction_url])

    if clock is None:
        return run(program, stack=stack)
    with mock.patch("components.secrets.time.time", return_value=clock):
        return run(program, stack=stack)


#: The wall-clock window the module's project was built in.
BUILT: dict[str, float] = {}


@pytest.fixture(scope="module")
def project() -> Run:
    BUILT["before"] = time.time()
    result = build()
    BUILT["after"] = time.time()
    return result


#: Every option moby's json-file driver accepts (``jsonfilelog.ValidateLogOpt``).
JSON_FILE_OPTIONS = {"max-size", "max-file", "compress", "labels", "labels-regex", "env",
                     "env-regex", "tag"}  # fmt: skip


def uploads_of(container) -> dict[str, Any]:
    return {u["file"]: u["content"] for u in reveal(container.inputs.get("uploads", []))}


def test_every_service_runs_its_pinned_image_kept_locally(project: Run) -> None:
    images = {r.name: reveal(r.inputs) for r in project.mocks.of_type(":RemoteImage")}
    assert {
        name.removeprefix("shop-").removesuffix("-image"): i["name"] for name, i in images.items()
    } == PINNED_IMAGES
    assert all(i["keepLocally"] is True for i in images.values())
    for service, container in project.mocks.containers().items():
        image = reveal(container.inputs["image"])
        assert image == mock_image_id(PINNED_IMAGES[service])
        assert f"shop-{service}-image" in container.depends_on


def test_names_labels_network_and_logs_carry_the_ref(project: Run) -> None:
    (network,) = project.mocks.of_type(":Network")
    assert reveal(network.inputs["name"]) == "supabase-shop"
    assert {"label": "supabase.project", "value": "shop"} in reveal(network.inputs["labels"])
    for service, container in project.mocks.containers().items():
        inputs = reveal(container.inputs)
        assert inputs["name"] == f"supabase-shop-{service}"
        labels = {item["label"]: item["value"] for item in inputs["labels"]}
        assert labels == {
            "supabase.project": "shop",
            "supabase.service": service,
            "supabase.managed-by": "pulumi",
        }
        (attachment,) = inputs["networksAdvanced"]
        assert attachment["name"] == "supabase-shop"
        assert service in attachment["aliases"]
        assert inputs["logDriver"] == "json-file"
        # All of them, so the daemon's own log-opts cannot merge in and show as a diff.
        assert set(inputs["logOpts"]) == JSON_FILE_OPTIONS
        assert {k: v for k, v in inputs["logOpts"].items() if v} == {
            "max-size": "10m",
            "max-file": "3",
            "compress": "false",
        }
        assert inputs["restart"] == "unless-stopped"
        assert inputs["mustRun"] is True
        assert container.provider.split("::")[-1].startswith("shop-docker")
    realtime = reveal(project.mocks.containers()["realtime"].inputs)
    assert "realtime-dev.supabase-realtime" in realtime["networksAdvanced"][0]["aliases"]


#: Every resource type the component registers, each of which must be its child.
CHILD_TYPES = {
    "pulumi:providers:docker",
    "docker:index/network:Network",
    "docker:index/volume:Volume",
    "docker:index/remoteImage:RemoteImage",
    "docker:index/container:Container",
    "random:index/randomPassword:RandomPassword",
    "random:index/randomInteger:RandomInteger",
}


def test_every_child_has_the_component_as_parent_and_its_docker_provider(project: Run) -> None:
    (component,) = [r for r in project.mocks.resources if r.typ == "supabase:index:Project"]
    children = [r for r in project.mocks.resources if r is not component]
    assert {r.typ for r in children} == CHILD_TYPES
    (provider,) = project.mocks.of_type("providers:docker")
    for child in children:
        # Without parent=self an existing stack would delete and recreate every resource.
        assert child.parent == component.name, (child.typ, child.name)
        if child.typ.startswith("docker:"):
            assert child.provider.split("::")[3] == provider.name, (child.typ, child.name)
        else:
            assert "providers:docker" not in child.provider, child.name


def test_network_and_volumes_carry_the_labels_the_fleet_finds_them_by(project: Run) -> None:
    (network,) = project.mocks.of_type(":Network")
    assert reveal(network.inputs["driver"]) == "bridge"
    owner = {"supabase.project": "shop", "supabase.managed-by": "pulumi"}
    assert {i["label"]: i["value"] for i in reveal(network.inputs["labels"])} == owner
    for volume in project.mocks.of_type(":Volume"):
        key = reveal(volume.inputs["name"]).removeprefix("supabase-shop-")
        labels = {i["label"]: i["value"] for i in reveal(volume.inputs["labels"])}
        assert labels == owner | {"supabase.volume": key}


def test_postgres_gets_time_to_checkpoint_when_stopped(project: Run) -> None:
    """Docker's own 10 s for every service; Postgres gets a minute, so a stop or replace
    shuts it down cleanly instead of leaving crash recovery for the next start."""
    grace = {
        service: reveal(container.inputs["destroyGraceSeconds"])
        for service, container in project.mocks.containers().items()
    }
    assert grace.pop("db") == 60
    assert set(grace.values()) == {10}


def test_each_service_is_reached_by_its_own_name_only(project: Run) -> None:
    for service, container in project.mocks.containers().items():
        (attachment,) = reveal(container.inputs["networksAdvanced"])
        extra = ["realtime-dev.supabase-realtime"] if service == "realtime" else []
        assert attachment["aliases"] == [service, *extra], service


def test_the_network_is_deleted_before_it_is_replaced(project: Run) -> None:
    # Docker refuses a second network with the same name.
    (network,) = project.mocks.of_type(":Network")
    assert network.delete_before_replace is True
    assert not any(v.delete_before_replace for v in project.mocks.of_type(":Volume"))


def test_start_order_uses_the_providers_health_wait(project: Run) -> None:
    containers = project.mocks.containers()
    for service, container in containers.items():
        needed = {name.removeprefix("shop-") for name in container.depends_on} & set(ALL_SERVICES)
        assert needed == NEEDS[service], service
        inputs = reveal(container.inputs)
        if service in HEALTHCHECKED:
            assert inputs["wait"] is True
            assert inputs["healthcheck"]["tests"][0] in ("CMD", "CMD-SHELL")
            assert inputs["waitTimeout"] >= 120
        else:
            assert inputs.get("wait") is False
            assert "healthcheck" not in inputs
    checks = {
        s: reveal(c.inputs["healthcheck"])["tests"]
        for s, c in containers.items()
        if s in HEALTHCHECKED
    }
    assert checks["db"] == ["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"]
    assert checks["kong"] == ["CMD", "kong", "health"]
    assert checks["imgproxy"] == ["CMD", "imgproxy", "health"]
    assert checks["analytics"] == ["CMD", "curl", "http://localhost:4000/health"]
    assert "http://localhost:9999/health" in checks["auth"]
    assert "http://localhost:5000/status" in checks["storage"]
    assert "http://vector:9001/health" in checks["vector"]
    assert "/api/tenants/realtime-dev/health" in checks["realtime"][1]
    assert "$HEALTHCHECK_API_KEY" in checks["realtime"][1]
    assert "/api/profile" in checks["studio"][3]
    assert reveal(containers["db"].inputs["waitTimeout"]) == 300


def test_only_kong_and_postgres_are_published(project: Run) -> None:
    published = {s: reveal(c.inputs.get("ports")) for s, c in project.mocks.containers().items()}
    assert published.pop("kong") == [
        {"internal": 8000, "external": 20040, "ip": "0.0.0.0", "protocol": "tcp"},
        {"internal": 8443, "external": 20041, "ip": "0.0.0.0", "protocol": "tcp"},
    ]
    assert published.pop("db") == [
        {"internal": 5432, "external": 20042, "ip": "127.0.0.1", "protocol": "tcp"}
    ]
    assert all(ports is None for ports in published.values()), published


def test_volumes_are_named_labelled_retained_and_mounted(project: Run) -> None:
    volumes = {reveal(v.inputs["name"]): v for v in project.mocks.of_type(":Volume")}
    assert set(volumes) == {
        "supabase-shop-db-data",
        "supabase-shop-db-config",
        "supabase-shop-storage-data",
        "supabase-shop-functions-data",
    }
    for volume in volumes.values():
        assert volume.retain_on_delete is True
        labels = {i["label"]: i["value"] for i in reveal(volume.inputs["labels"])}
        assert labels["supabase.project"] == "shop"
    mounts = {s: reveal(c.inputs.get("mounts", [])) for s, c in project.mocks.containers().items()}
    assert {(m["source"], m["target"]) for m in mounts["db"]} == {
        ("supabase-shop-db-data", "/var/lib/postgresql/data"),
        ("supabase-shop-db-config", "/etc/postgresql-custom"),
    }
    assert (
        mounts["storage"]
        == mounts["imgproxy"]
        == [
            {
                "type": "volume",
                "source": "supabase-shop-storage-data",
                "target": "/var/lib/storage",
                "readOnly": False,
            }
        ]
    )
    assert mounts["vector"] == [
        {
            "type": "bind",
            "source": "/var/run/docker.sock",
            "target": "/var/run/docker.sock",
            "readOnly": True,
        }
    ]
    assert mounts["functions"][0]["source"] == "supabase-shop-functions-data"
    assert not mounts["kong"] and not mounts["auth"]


def test_config_files_are_uploaded(project: Run) -> None:
    containers = project.mocks.containers()
    kong_files = uploads_of(containers["kong"])
    kong_config = yaml.safe_load(kong_files["/home/kong/kong.yml"])
    keys = {
        c["username"]: c["keyauth_credentials"][0]["key"]
        for c in kong_config["consumers"]
        if "keyauth_credentials" in c
    }
    assert keys == {
        "anon": project.outputs["anonKey"],
        "service_role": project.outputs["serviceRoleKey"],
    }
    assert (
        kong_config["basicauth_credentials"][0]["password"]
        == (project.outputs["dashboardPassword"])
    )
    paths = {p for s in kong_config["services"] for r in s["routes"] for p in r["paths"]}
    assert {
        "/auth/v1/",
        "/rest/v1/",
        "/realtime/v1/",
        "/storage/v1/",
        "/functions/v1/",
        "/analytics/v1/",
        "/pg/",
        "/",
    } <= paths
    vector_config = yaml.safe_load(uploads_of(containers["vector"])["/etc/vector/vector.yml"])
    (source,) = vector_config["sources"].values()
    assert source["include_labels"] == ["supabase.project=shop"]
    db_files = uploads_of(containers["db"])
    assert {path.rsplit("/", 1)[-1] for path in db_files} >= {
        "99-roles.sql",
        "99-jwt.sql",
        "99-realtime.sql",
        "99-logs.sql",
        "98-webhooks.sql",
    }
    assert "/home/deno/functions/main/index.ts" in uploads_of(containers["functions"])
    env = env_of(containers["functions"])
    assert reveal(containers["functions"].inputs["command"]) == [
        "start",
        "--main-service",
        "/home/deno/functions/main",
    ]
    assert env["VERIFY_JWT"] == "false"


def test_service_environments(project: Run) -> None:
    containers = project.mocks.containers()
    env = {service: env_of(container) for service, container in containers.items()}
    password, secret = project.outputs["postgresPassword"], project.outputs["jwtSecret"]
    assert env["db"]["POSTGRES_PASSWORD"] == password
    assert env["db"]["JWT_SECRET"] == secret
    assert env["db"]["JWT_EXP"] == "3600"
    assert env["auth"]["GOTRUE_DB_DATABASE_URL"] == (
        f"postgres://supabase_auth_admin:{password}@db:5432/postgres"
    )
    assert env["auth"]["API_EXTERNAL_URL"] == "http://localhost:20040"
    assert env["rest"]["PGRST_DB_URI"] == f"postgres://authenticator:{password}@db:5432/postgres"
    assert env["rest"]["PGRST_DB_SCHEMAS"] == "public,storage,graphql_public"
    assert env["rest"]["PGRST_JWT_SECRET"] == secret
    assert env["realtime"]["API_JWT_SECRET"] == secret
    assert env["realtime"]["HEALTHCHECK_API_KEY"] == project.outputs["anonKey"]
    assert len(env["realtime"]["DB_ENC_KEY"]) == 16
    assert (
        env["realtime"]["SECRET_KEY_BASE"]
        != "UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq"
    )
    assert env["storage"]["ANON_KEY"] == project.outputs["anonKey"]
    assert env["storage"]["SERVICE_KEY"] == project.outputs["serviceRoleKey"]
    assert env["storage"]["IMGPROXY_URL"] == "http://imgproxy:5001"
    assert env["storage"]["ENABLE_IMAGE_TRANSFORMATION"] == "true"
    assert env["storage"]["FILE_SIZE_LIMIT"] == "52428800"
    assert env["meta"]["PG_META_DB_PASSWORD"] == password
    assert env["analytics"]["LOGFLARE_API_KEY"] == project.outputs["logflareApiKey"]
    assert env["vector"]["LOGFLARE_API_KEY"] == project.outputs["logflareApiKey"]
    assert env["studio"]["SUPABASE_SERVICE_KEY"] == project.outputs["serviceRoleKey"]
    assert env["studio"]["NEXT_PUBLIC_ENABLE_LOGS"] == "true"
    assert env["functions"]["SUPABASE_DB_URL"] == (
        f"postgresql://postgres:{password}@db:5432/postgres"
    )
    assert project.outputs["dbUrl"] == f"postgresql://postgres:{password}@localhost:20042/postgres"
    # 2024-04 has no pooler: clients get the direct URL above and no pooler URL at all.
    assert project.outputs["poolerUrls"] == [None, None]
    assert password.isalnum() and len(password) == 40


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_api_keys_verify_with_the_jwt_secret(project: Run, role: str) -> None:
    key = project.outputs["anonKey" if role == "anon" else "serviceRoleKey"]
    claims = jwt.decode(key, project.outputs["jwtSecret"], algorithms=["HS256"])
    # Issued when the project was built (the stamp's min == max == the clock then).
    assert int(BUILT["before"]) <= claims["iat"] <= BUILT["after"]
    assert claims == {
        "role": role,
        "iss": "supabase",
        "iat": claims["iat"],
        "exp": claims["iat"] + 3650 * 86400,
    }


def test_secrets_are_secret_everywhere(project: Run) -> None:
    secret_values = [
        project.outputs[key]
        for key in (
            "anonKey",
            "serviceRoleKey",
            "jwtSecret",
            "postgresPassword",
            "dashboardPassword",
            "logflareApiKey",
        )
    ]
    assert set(project.secret_outputs) >= {
        "anonKey",
        "serviceRoleKey",
        "jwtSecret",
        "dbUrl",
        "postgresPassword",
        "dashboardPassword",
    }

    for resource in project.mocks.resources:
        for part in plain_parts(resource.inputs):
            for secret in secret_values:
                assert secret not in str(part), f"{resource.name} has a secret in plain text"
    for service, container in project.mocks.containers().items():
        assert is_secret(container.inputs["envs"]) == (service not in ("imgproxy", "kong")), service
    assert is_secret(project.mocks.containers()["kong"].inputs["uploads"])


def test_generated_secrets_are_frozen_against_argument_changes(project: Run) -> None:
    passwords = project.mocks.of_type(":RandomPassword")
    assert {p.name for p in passwords} == {
        "shop-jwt-secret",
        "shop-postgres-password",
        "shop-dashboard-password",
        "shop-logflare-api-key",
        "shop-realtime-secret-key-base",
        "shop-realtime-db-enc-key",
    }
    for password in passwords:
        assert "length" in password.ignore_changes and "special" in password.ignore_changes
        assert password.inputs["special"] is False
        assert password.parent == "shop"
    (stamp,) = project.mocks.of_type(":RandomInteger")
    assert stamp.ignore_changes == ["min", "max"]


def test_same_input_same_plan() -> None:
    first, second = build(clock=1_800_000_000), build(clock=1_800_000_000)

    def comparable(result: Run) -> dict[str, Any]:
        return {
            r.name: (r.typ, reveal(r.inputs), sorted(r.depends_on)) for r in result.mocks.resources
        }

    assert comparable(first) == comparable(second)
    assert first.outputs == second.outputs


def test_two_projects_share_no_name_and_no_host_port() -> None:
    one, two = build({"portSlot": "0"}, stack="alpha"), build({"portSlot": "1"}, stack="beta")

    names_one, ports_one = claimed_names_and_ports(one)
    names_two, ports_two = claimed_names_and_ports(two)
    assert len(names_one) == len(names_two) == 12 + 1 + 4
    assert not names_one & names_two
    assert ports_one == {20000, 20001, 20002} and ports_two == {20010, 20011, 20012}
    assert one.outputs["jwtSecret"] != two.outputs["jwtSecret"]


def test_paused_keeps_everything_but_containers() -> None:
    running, paused = build(clock=1_800_000_000), build({"paused": "true"}, clock=1_800_000_000)
    assert paused.mocks.containers() == {}

    def kept(result: Run) -> dict[str, Any]:
        return {
            r.name: reveal(r.inputs)
            for r in result.mocks.resources
            if not r.typ.endswith(":Container")
        }

    assert kept(paused) == kept(running)
    assert paused.outputs["anonKey"] == running.outputs["anonKey"]


def test_excluding_analytics_drops_vector_and_rewires_dependants() -> None:
    result = build({"exclude": ["analytics"]})
    containers = result.mocks.containers()
    assert "analytics" not in containers and "vector" not in containers
    assert "shop-vector" not in containers["db"].depends_on
    assert not {"shop-analytics"} & set(containers["kong"].depends_on)
    assert env_of(containers["studio"])["NEXT_PUBLIC_ENABLE_LOGS"] == "false"
    kong_config = yaml.safe_load(uploads_of(containers["kong"])["/home/kong/kong.yml"])
    paths = {p for s in kong_config["services"] for r in s["routes"] for p in r["paths"]}
    assert "/analytics/v1/" not in paths
    assert not result.mocks.of_type(":RemoteImage")[0].name.endswith("vector-image")


def test_excluding_imgproxy_functions_and_studio() -> None:
    result = build({"exclude": ["imgproxy", "functions", "studio"]})
    containers = result.mocks.containers()
    assert set(containers) == set(ALL_SERVICES) - {"imgproxy", "functions", "studio"}
    storage = env_of(containers["storage"])
    assert storage["ENABLE_IMAGE_TRANSFORMATION"] == "false"
    assert "IMGPROXY_URL" not in storage
    assert "shop-imgproxy" not in containers["storage"].depends_on
    volumes = {reveal(v.inputs["name"]) for v in result.mocks.of_type(":Volume")}
    assert "supabase-shop-functions-data" not in volumes
    assert result.outputs["studioUrl"] is None
    kong_config = yaml.safe_load(uploads_of(containers["kong"])["/home/kong/kong.yml"])
    paths = {p for s in kong_config["services"] for r in s["routes"] for p in r["paths"]}
    assert "/" not in paths and "/functions/v1/" not in paths


def test_registry_mirror_overrides_and_limits() -> None:
    result = build(
        {
            "registryMirror": "mirror.example.com/hub",
            "images": {"auth": "registry.example.com/supabase/gotrue:v2.151.0"},
            "resources": {
                "db": {"cpus": 1.5, "memoryMb": 2048},
                "kong": {"memoryMb": 256},
                "rest": {"cpus": 10.0},
                "meta": {"cpus": 0.05},
            },
        }
    )
    images = {r.name: reveal(r.inputs["name"]) for r in result.mocks.of_type(":RemoteImage")}
    assert images["shop-kong-image"] == "mirror.example.com/hub/library/kong:2.8.1"
    assert images["shop-db-image"] == "mirror.example.com/hub/supabase/postgres:15.1.1.41"
    assert images["shop-auth-image"] == "registry.example.com/supabase/gotrue:v2.151.0"
    containers = result.mocks.containers()
    assert reveal(containers["db"].inputs["memory"]) == 2048
    # Docker's own memory+swap for a limit, sent explicitly so it reads back unchanged.
    assert reveal(containers["db"].inputs["memorySwap"]) == 4096
    assert reveal(containers["db"].inputs["cpus"]) == "1.5"
    # As the provider formats nano-CPUs back: no "10.0", no "5e-02".
    assert reveal(containers["rest"].inputs["cpus"]) == "10"
    assert reveal(containers["meta"].inputs["cpus"]) == "0.05"
    assert reveal(containers["kong"].inputs["memory"]) == 256
    assert reveal(containers["kong"].inputs["memorySwap"]) == 512
    assert "cpus" not in containers["kong"].inputs
    assert (
        "memory" not in containers["rest"].inputs and "memorySwap" not in containers["rest"].inputs
    )
    assert "memory" not in containers["auth"].inputs


def test_user_given_secrets_are_used_and_stay_secret() -> None:
    jwt_secret = "a-user-given-jwt-secret-of-40-characters"
    result = build(
        {"jwtSecret": jwt_secret, "postgresPassword": "UserGivenPassword123"},
        secret_keys=("jwtSecret", "postgresPassword"),
    )
    assert result.outputs["jwtSecret"] == jwt_secret
    assert {r.name for r in result.mocks.of_type(":RandomPassword")}.isdisjoint(
        {"shop-jwt-secret", "shop-postgres-password"}
    )
    assert env_of(result.mocks.containers()["db"])["POSTGRES_PASSWORD"] == "UserGivenPassword123"
    jwt.decode(result.outputs["anonKey"], jwt_secret, algorithms=["HS256"])
    assert "jwtSecret" in result.secret_outputs


def test_remote_engine_and_socket_path() -> None:
    result = build(
        {
            "dockerHost": "ssh://ops@engine-2.example.com",
            "dockerSocket": "/run/user/1000/docker.sock",
            "postgresBindAddress": "0.0.0.0",
        }
    )
    (provider,) = result.mocks.of_type("providers:docker")
    assert reveal(provider.inputs["host"]) == "ssh://ops@engine-2.example.com"
    containers = result.mocks.containers()
    assert (
        reveal(containers["vector"].inputs["mounts"])[0]["source"] == "/run/user/1000/docker.sock"
    )
    assert reveal(containers["db"].inputs["ports"])[0]["ip"] == "0.0.0.0"
    assert result.outputs["dbUrl"].endswith("@engine-2.example.com:20042/postgres")


def test_services_start_after_what_they_need_and_a_cycle_is_named() -> None:
    """The catalog orders services dependencies first, whatever order it lists them in."""
    specs = {
        "studio": ServiceSpec("studio", {}, needs=("meta",)),
        "meta": ServiceSpec("meta", {}, needs=("db",)),
        "db": ServiceSpec("db", {}),
        "auth": ServiceSpec("auth", {}, needs=("db",)),
    }
    assert [spec.name for spec in _dependency_order(specs)] == ["db", "meta", "studio", "auth"]
    cycle = specs | {"db": ServiceSpec("db", {}, needs=("studio",))}
    with pytest.raises(
        ValueError, match="services depend on each other in a cycle through 'studio'"
    ):
        _dependency_order(cycle)
