"""Release 2026-09 under mocks, at the depth of test_component.py for 2024-04: what every
container of a 2026-09 project gets, its keys and secrets, gateways, logs on and off."""

from __future__ import annotations

import base64
import hashlib
import json
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

from components.render.envoy import render_envoy_config
from components.render.functions import render_default_functions_2026
from components.render.gateway import GatewayKeys
from components.render.kong3 import render_kong3_config
from components.render.pooler import render_pooler_config
from components.services import supavisor
from components.settings import load_settings
from components.supabase_project import SupabaseProject, SupabaseProjectArgs

#: Upstream's docker-compose.yml (+ logs and kong overrides) at Studio 2026.09.07.
PINNED = {
    "db": "supabase/postgres:17.6.1.136",
    "supavisor": "supabase/supavisor:2.9.12",
    "auth": "supabase/gotrue:v2.196.0",
    "rest": "postgrest/postgrest:v14.17",
    "realtime": "supabase/realtime:v2.134.10",
    "storage": "supabase/storage-api:v1.74.0",
    "imgproxy": "darthsim/imgproxy:v3.31.4",
    "meta": "supabase/postgres-meta:v0.99.0",
    "functions": "supabase/edge-runtime:v1.76.2",
    "studio": "supabase/studio:2026.09.07-sha-7996410",
}
#: The clock the projects are built at: the API keys' issue stamp is created from it.
ISSUED_AT = 1_700_000_000
GATEWAY_IMAGES = {"envoy": "envoyproxy/envoy:v1.39.1", "kong": "kong/kong:3.9.3"}
LOGS_IMAGES = {"analytics": "supabase/logflare:1.42.0", "vector": "timberio/vector:0.53.0-alpine"}
#: Start order of upstream's compose (logs off): who waits for whom.
NEEDS = {
    "db": set(),
    "supavisor": {"db"},
    "auth": {"db"},
    "rest": {"db"},
    "realtime": {"db"},
    "imgproxy": set(),
    "storage": {"db", "rest", "imgproxy"},
    "meta": {"db"},
    "studio": {"meta"},
    "api-gw": {"studio"},
    "functions": {"api-gw"},
}
HEALTHCHECKED = {"db", "supavisor", "auth", "realtime", "imgproxy", "storage", "studio", "api-gw"}
NEW_SECRETS = (
    "publishableKey",
    "secretKey",
    "jwtKeys",
    "jwtJwks",
    "anonKeyAsymmetric",
    "serviceRoleKeyAsymmetric",
    "logflarePrivateToken",
    "s3AccessKeyId",
    "s3AccessKeySecret",
    "vaultEncKey",
    "pgMetaCryptoKey",
    "supavisorSecretKeyBase",
    "metricsJwtSecret",
)


def build(config: dict[str, Any] | None = None, *, stack: str = "shop") -> Run:
    """A 2026-09 project from ``config``, exporting every secret for the tests to read."""
    raw = {"release": "2026-09", "portSlot": "4"} | {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in (config or {}).items()
    }

    def program() -> None:
        settings = load_settings(raw.get, stack=stack, is_secret=lambda key: False)
        project = SupabaseProject(settings.ref, SupabaseProjectArgs(settings))
        secrets = project.secrets
        for key in NEW_SECRETS if secrets.new is not None else ():
            attr = "".join("_" + c.lower() if c.isupper() else c for c in key)
            pulumi.export(key, getattr(secrets.new, attr))
        pulumi.export("anonKey", secrets.anon_key)
        pulumi.export("serviceRoleKey", secrets.service_role_key)
        pulumi.export("jwtSecret", secrets.jwt_secret)
        pulumi.export("postgresPassword", secrets.postgres_password)
        pulumi.export("dashboardPassword", secrets.dashboard_password)
        pulumi.export("logflareApiKey", secrets.logflare_api_key)
        pulumi.export("realtimeDbEncKey", secrets.realtime_db_enc_key)
        pulumi.export("dbUrl", project.db_url)
        pulumi.export("poolerUrl", project.pooler_url)
        pulumi.export("poolerTransactionUrl", project.pooler_transaction_url)

    # On a real engine the stamp is created once and kept in state; pin it here likewise.
    with mock.patch("components.secrets.time.time", return_value=ISSUED_AT):
        return run(program, stack=stack)


@pytest.fixture(scope="module")
def project() -> Run:
    return build()


def uploads_of(container) -> dict[str, Any]:
    return {u["file"]: u["content"] for u in reveal(container.inputs.get("uploads", []))}


def depends(container, services) -> set[str]:
    return {name.removeprefix("shop-") for name in container.depends_on} & set(services)


def test_services_and_images_are_upstreams(project: Run) -> None:
    containers = project.mocks.containers()
    assert set(containers) == set(PINNED) | {"api-gw"}
    images = {
        r.name.removeprefix("shop-").removesuffix("-image"): reveal(r.inputs)["name"]
        for r in project.mocks.of_type(":RemoteImage")
    }
    assert images == PINNED | {"api-gw": GATEWAY_IMAGES["envoy"]}
    for service, container in containers.items():
        assert reveal(container.inputs["image"]) == mock_image_id(images[service])
        assert reveal(container.inputs["name"]) == f"supabase-shop-{service}"


@pytest.mark.parametrize("gateway", ["envoy", "kong"])
def test_each_gateway_runs_in_api_gw_with_both_aliases(gateway: str) -> None:
    result = build({"gateway": gateway})
    containers = result.mocks.containers()
    gw = reveal(containers["api-gw"].inputs)
    images = {r.name: reveal(r.inputs["name"]) for r in result.mocks.of_type(":RemoteImage")}
    assert images["shop-api-gw-image"] == GATEWAY_IMAGES[gateway]
    assert set(gw["networksAdvanced"][0]["aliases"]) == {"api-gw", "kong", "envoy"}
    files = uploads_of(containers["api-gw"])
    keys = GatewayKeys(
        anon_key=result.outputs["anonKey"],
        service_role_key=result.outputs["serviceRoleKey"],
        publishable_key=result.outputs["publishableKey"],
        secret_key=result.outputs["secretKey"],
        anon_key_asymmetric=result.outputs["anonKeyAsymmetric"],
        service_role_key_asymmetric=result.outputs["serviceRoleKeyAsymmetric"],
        dashboard_username="supabase",
        dashboard_password=result.outputs["dashboardPassword"],
        project_ref="shop",
        jwt_issuer="http://localhost:20040",
        public_url="http://localhost:20040",
    )
    render = render_envoy_config if gateway == "envoy" else render_kong3_config
    enabled = set(containers)
    # The project's own keys went into the config, for exactly the services it runs.
    assert files == render(keys, enabled_services=enabled)
    assert is_secret(containers["api-gw"].inputs["uploads"])
    ports = [(p["internal"], p["external"]) for p in gw["ports"]]
    if gateway == "envoy":
        assert gw["command"] == ["envoy", "-c", "/etc/envoy/envoy.yaml"]
        assert set(files) == {"/etc/envoy/envoy.yaml", "/etc/envoy/lds.yaml", "/etc/envoy/cds.yaml"}
        assert ports == [(8000, 20040)]
        assert "bash" in gw["healthcheck"]["tests"]
    else:
        config = yaml.safe_load(files["/home/kong/kong.yml"])
        assert config["_format_version"].startswith("3.")
        env = env_of(containers["api-gw"])
        assert env["KONG_DECLARATIVE_CONFIG"] == "/home/kong/kong.yml"
        assert env["KONG_DATABASE"] == "off"
        assert "post-function" in env["KONG_PLUGINS"].split(",")
        assert "command" not in gw
        assert ports == [(8000, 20040), (8443, 20041)]
        assert gw["healthcheck"]["tests"] == ["CMD", "kong", "health"]
        assert result.outputs["secretKey"] in files["/home/kong/kong.yml"]


@pytest.mark.parametrize(
    ("release", "gateway", "database"),
    [("2026-09", "api-gw", "supavisor"), ("2024-04", "kong", "db")],
)
def test_gateway_ports_only_when_published(release: str, gateway: str, database: str) -> None:
    """Behind the edge proxy (``domain``) the gateway publishes nothing; Postgres stays."""
    result = build({"release": release, "domain": "shop.example.com"})
    containers = result.mocks.containers()
    assert "ports" not in containers[gateway].inputs
    assert reveal(containers[database].inputs["ports"])  # the database stays reachable
    again = build({"release": release, "domain": "shop.example.com", "publishGatewayPorts": "true"})
    assert reveal(again.mocks.containers()[gateway].inputs["ports"])[0]["external"] == 20040


def test_start_order_and_healthchecks(project: Run) -> None:
    containers = project.mocks.containers()
    for service, container in containers.items():
        assert depends(container, containers) == NEEDS[service], service
        inputs = reveal(container.inputs)
        assert inputs.get("wait") is (service in HEALTHCHECKED), service
        if service not in HEALTHCHECKED:
            assert "healthcheck" not in inputs
    checks = {
        s: reveal(c.inputs["healthcheck"])["tests"]
        for s, c in containers.items()
        if s in HEALTHCHECKED
    }
    assert checks["db"] == ["CMD", "pg_isready", "-U", "postgres", "-h", "localhost"]
    assert "http://127.0.0.1:4000/api/health" in checks["supavisor"]
    assert "/api/platform/profile" in checks["studio"][3]
    assert "/api/tenants/realtime-dev/health" in checks["realtime"][1]
    assert "$HEALTHCHECK_API_KEY" in checks["realtime"][1]
    assert "http://localhost:5000/status" in checks["storage"]
    realtime = reveal(containers["realtime"].inputs)
    assert "realtime-dev.supabase-realtime" in realtime["networksAdvanced"][0]["aliases"]
    assert "command" not in realtime  # SEED_SELF_HOST: the image seeds its tenant itself


def test_only_the_gateway_and_the_pooler_are_published(project: Run) -> None:
    published = {s: reveal(c.inputs.get("ports")) for s, c in project.mocks.containers().items()}
    assert published.pop("api-gw") == [
        {"internal": 8000, "external": 20040, "ip": "0.0.0.0", "protocol": "tcp"}
    ]
    assert published.pop("supavisor") == [
        {"internal": 5432, "external": 20043, "ip": "127.0.0.1", "protocol": "tcp"},
        {"internal": 6543, "external": 20044, "ip": "127.0.0.1", "protocol": "tcp"},
    ]
    assert all(ports is None for ports in published.values()), published


def test_pooler_urls_name_the_tenant(project: Run) -> None:
    password = project.outputs["postgresPassword"]
    session = f"postgresql://postgres.shop:{password}@localhost:20043/postgres"
    assert project.outputs["poolerUrl"] == project.outputs["dbUrl"] == session
    assert project.outputs["poolerTransactionUrl"] == session.replace("20043", "20044")
    supavisor = project.mocks.containers()["supavisor"]
    env = env_of(supavisor)
    assert env["POOLER_TENANT_ID"] == "shop"
    assert env["DATABASE_URL"] == f"ecto://supabase_admin:{password}@db:5432/_supabase"
    assert env["POSTGRES_PASSWORD"] == password
    assert env["VAULT_ENC_KEY"] == project.outputs["vaultEncKey"]
    assert len(env["VAULT_ENC_KEY"]) == 32
    assert env["SECRET_KEY_BASE"] == project.outputs["supavisorSecretKeyBase"]
    assert env["METRICS_JWT_SECRET"] == project.outputs["metricsJwtSecret"]
    assert uploads_of(supavisor) == {
        "/etc/pooler/pooler.exs": render_pooler_config(tenant_id="shop")
    }
    command = reveal(supavisor.inputs["command"])
    assert command[:2] == ["/bin/sh", "-c"]
    # Migrate its metadata, create the tenant from the uploaded file, then serve.
    assert [step.strip() for step in command[2].split("&&")] == [
        "/app/bin/migrate",
        '/app/bin/supavisor eval "$(cat /etc/pooler/pooler.exs)"',
        "/app/bin/server",
    ]


def test_volumes_and_mounts(project: Run) -> None:
    volumes = {reveal(v.inputs["name"]): v for v in project.mocks.of_type(":Volume")}
    assert set(volumes) == {
        f"supabase-shop-{key}"
        for key in (
            "db-data",
            "db-config",
            "storage-data",
            "functions-data",
            "deno-cache",
            "studio-snippets",
        )
    }
    assert all(volume.retain_on_delete for volume in volumes.values())
    mounts = {
        s: {(m["source"], m["target"]) for m in reveal(c.inputs.get("mounts") or [])}
        for s, c in project.mocks.containers().items()
    }
    assert mounts["db"] == {
        ("supabase-shop-db-data", "/var/lib/postgresql/data"),
        ("supabase-shop-db-config", "/etc/postgresql-custom"),
    }
    assert mounts["functions"] == {
        ("supabase-shop-functions-data", "/home/deno/functions"),
        ("supabase-shop-deno-cache", "/root/.cache/deno"),
    }
    assert mounts["studio"] == {
        ("supabase-shop-studio-snippets", "/app/snippets"),
        ("supabase-shop-functions-data", "/app/edge-functions"),
    }
    assert (
        mounts["storage"]
        == mounts["imgproxy"]
        == {("supabase-shop-storage-data", "/var/lib/storage")}
    )
    # Nothing comes from the Docker host's file system without the log pipeline.
    for container in project.mocks.containers().values():
        assert all(m["type"] == "volume" for m in reveal(container.inputs.get("mounts") or []))


def test_init_sql_and_functions_are_uploaded(project: Run) -> None:
    containers = project.mocks.containers()
    db_files = {path.rsplit("/", 1)[-1] for path in uploads_of(containers["db"])}
    assert db_files >= {
        "97-_supabase.sql",
        "99-pooler.sql",
        "99-logs.sql",
        "99-realtime.sql",
        "99-roles.sql",
        "99-jwt.sql",
        "98-webhooks.sql",
    }
    assert uploads_of(containers["functions"]) == {
        f"/home/deno/functions/{path}": source
        for path, source in render_default_functions_2026().items()
    }


def test_service_environments(project: Run) -> None:
    out = project.outputs
    env = {s: env_of(c) for s, c in project.mocks.containers().items()}
    password, jwks = out["postgresPassword"], out["jwtJwks"]
    assert env["auth"]["GOTRUE_JWT_KEYS"] == out["jwtKeys"]
    assert env["auth"]["GOTRUE_JWT_SECRET"] == out["jwtSecret"]
    assert env["rest"]["PGRST_JWT_SECRET"] == jwks
    assert env["rest"]["PGRST_DB_MAX_ROWS"] == "1000"
    assert env["realtime"]["API_JWT_JWKS"] == jwks
    assert env["realtime"]["SEED_SELF_HOST"] == "true"
    assert env["realtime"]["DB_ENC_KEY"] == out["realtimeDbEncKey"] != "supabaserealtime"
    assert "FLY_ALLOC_ID" not in env["realtime"]
    assert env["storage"]["JWT_JWKS"] == jwks
    assert env["storage"]["S3_PROTOCOL_ACCESS_KEY_ID"] == out["s3AccessKeyId"]
    assert env["storage"]["S3_PROTOCOL_ACCESS_KEY_SECRET"] == out["s3AccessKeySecret"]
    assert env["storage"]["TENANT_ID"] == "shop"
    assert env["storage"]["STORAGE_PUBLIC_URL"] == "http://localhost:20040"
    assert (
        env["meta"]["CRYPTO_KEY"] == env["studio"]["PG_META_CRYPTO_KEY"] == out["pgMetaCryptoKey"]
    )
    assert env["functions"]["SUPABASE_JWKS"] == jwks
    assert env["functions"]["SUPABASE_PUBLISHABLE_KEY"] == out["publishableKey"]
    assert env["functions"]["SUPABASE_SECRET_KEY"] == out["secretKey"]
    assert env["functions"]["SUPABASE_URL"] == "http://kong:8000"
    assert env["imgproxy"]["IMGPROXY_MAX_SRC_RESOLUTION"] == "16.8"
    studio = env["studio"]
    assert studio["SNIPPETS_MANAGEMENT_FOLDER"] == "/app/snippets"
    assert studio["EDGE_FUNCTIONS_MANAGEMENT_FOLDER"] == "/app/edge-functions"
    assert studio["NEXT_PUBLIC_ENABLE_LOGS"] == "false"
    assert not {"LOGFLARE_URL", "LOGFLARE_API_KEY", "LOGFLARE_PRIVATE_ACCESS_TOKEN"} & set(studio)
    assert env["db"]["POSTGRES_PASSWORD"] == password
    assert "JWT_SECRET" not in env["db"]  # 2026-09's init SQL keeps it out of the database
    assert env["meta"]["PG_META_DB_USER"] == "postgres"  # no longer the superuser
    demo = {"your-super-secret-and-long-postgres-password", "your-32-character-encryption-key"}
    for values in env.values():
        assert not demo & set(values.values())


#: What upstream's 2026 compose adds to (or sets anew in) the services 2024-04 had, logs
#: off; ``{name}`` is a value of this project (see ``_values``). The values 2024-04 already
#: set are test_upstream_env_2024's; the names listed here must all be present.
UPSTREAM_2026 = {
    "rest": {
        "PGRST_JWT_SECRET": "{jwks}",
        "PGRST_DB_MAX_ROWS": "1000",
        "PGRST_DB_EXTRA_SEARCH_PATH": "public",
    },
    "realtime": {
        "API_JWT_JWKS": "{jwks}",
        "METRICS_JWT_SECRET": "{metrics}",
        "RLIMIT_NOFILE": "10000",
        "APP_NAME": "realtime",
        "SEED_SELF_HOST": "true",
        "RUN_JANITOR": "true",
        "DISABLE_HEALTHCHECK_LOGGING": "true",
    },
    "storage": {
        "JWT_JWKS": "{jwks}",
        "STORAGE_PUBLIC_URL": "http://localhost:20040",
        "REQUEST_ALLOW_X_FORWARDED_PATH": "true",
        "TENANT_ID": "shop",
    },
    "imgproxy": {"IMGPROXY_MAX_SRC_RESOLUTION": "16.8"},
    # New in 2026-09; pool sizes are .env.example's defaults.
    "supavisor": {
        "PORT": "4000",
        "POSTGRES_HOST": "db",
        "POSTGRES_PORT": "5432",
        "POSTGRES_DB": "postgres",
        "CLUSTER_POSTGRES": "true",
        "API_JWT_SECRET": "{jwt}",
        "METRICS_JWT_SECRET": "{metrics}",
        "REGION": "local",
        "ERL_AFLAGS": "-proto_dist inet_tcp",
        "POOLER_TENANT_ID": "shop",
        "POOLER_DEFAULT_POOL_SIZE": "20",
        "POOLER_MAX_CLIENT_CONN": "100",
        "POOLER_POOL_MODE": "transaction",
        "DB_POOL_SIZE": "5",
    },
    "meta": {"PG_META_DB_USER": "postgres", "CRYPTO_KEY": "{crypto}"},
    "functions": {
        "SUPABASE_PUBLIC_URL": "http://localhost:20040",
        "SUPABASE_PUBLISHABLE_KEY": "{publishable}",
        "SUPABASE_SECRET_KEY": "{secret}",
        "SUPABASE_JWKS": "{jwks}",
    },
    "studio": {
        "POSTGRES_HOST": "db",
        "POSTGRES_PORT": "5432",
        "POSTGRES_DB": "postgres",
        "PG_META_CRYPTO_KEY": "{crypto}",
        "PGRST_DB_SCHEMAS": "public,storage,graphql_public",
        "PGRST_DB_MAX_ROWS": "1000",
        "PGRST_DB_EXTRA_SEARCH_PATH": "public",
        "AUTH_JWT_SECRET": "{jwt}",
        "SNIPPETS_MANAGEMENT_FOLDER": "/app/snippets",
        "EDGE_FUNCTIONS_MANAGEMENT_FOLDER": "/app/edge-functions",
    },
}
#: 2024-04 variables 2026-09 no longer sets (Fly/Tailscale clustering, the old Logflare key).
DROPPED_2026 = {
    "realtime": {"FLY_ALLOC_ID", "FLY_APP_NAME", "ENABLE_TAILSCALE"},
    "studio": {
        "LOGFLARE_API_KEY",
        "LOGFLARE_URL",
        "LOGFLARE_PRIVATE_ACCESS_TOKEN",
        "ENABLED_FEATURES_LOGS_ALL",
    },
    "db": {"JWT_SECRET"},
}


def _values(out: dict[str, Any]) -> dict[str, str]:
    return {
        "jwks": out["jwtJwks"],
        "jwt": out["jwtSecret"],
        "metrics": out["metricsJwtSecret"],
        "crypto": out["pgMetaCryptoKey"],
        "publishable": out["publishableKey"],
        "secret": out["secretKey"],
    }


@pytest.mark.parametrize("service", sorted(UPSTREAM_2026))
def test_2026_environment_is_upstreams(project: Run, service: str) -> None:
    env = env_of(project.mocks.containers()[service])
    values = _values(project.outputs)
    for name, expected in UPSTREAM_2026[service].items():
        assert env[name] == expected.format(**values), name
    assert not DROPPED_2026.get(service, set()) & set(env)


def test_studio_listens_on_every_interface(project: Run) -> None:
    """Next.js binds to HOSTNAME; the container's own loopback only would hide Studio from
    the gateway."""
    assert env_of(project.mocks.containers()["studio"])["HOSTNAME"] in {"0.0.0.0", "::"}


def test_2026_probes_keep_upstreams_timing(project: Run) -> None:
    checks = {
        s: reveal(c.inputs["healthcheck"])
        for s, c in project.mocks.containers().items()
        if c.inputs.get("healthcheck")
    }
    timing = {
        s: (c["interval"], c["timeout"], c["retries"], c["startPeriod"]) for s, c in checks.items()
    }
    assert timing["realtime"] == ("30s", "5s", 3, "10s")
    assert timing["studio"] == ("5s", "10s", 3, "0s")
    assert timing["storage"] == ("5s", "5s", 3, "10s")
    assert timing["supavisor"] == ("10s", "5s", 5, "0s")
    assert checks["supavisor"]["tests"] == [
        "CMD", "curl", "-sSfL", "--head", "-o", "/dev/null", "http://127.0.0.1:4000/api/health"
    ]  # fmt: skip
    assert checks["storage"]["tests"] == [
        "CMD", "wget", "--no-verbose", "--tries=1", "--spider", "http://localhost:5000/status"
    ]  # fmt: skip
    assert checks["studio"]["tests"] == ["CMD", "node", "-e", (
        "fetch('http://localhost:3000/api/platform/profile').then((r) => "
        "{if (r.status !== 200) throw new Error(r.status)})"
    )]  # fmt: skip
    assert checks["realtime"]["tests"][0] == "CMD-SHELL"


def test_opaque_keys_carry_upstreams_checksum(project: Run) -> None:
    for kind, output in (("publishable", "publishableKey"), ("secret", "secretKey")):
        key = project.outputs[output]
        prefix = f"sb_{kind}_"
        assert key.startswith(prefix)
        body, checksum = key[len(prefix) :].rsplit("_", 1)
        assert len(body) == 22
        digest = hashlib.sha256(f"supabase-self-hosted|{prefix}{body}".encode()).digest()
        assert checksum == base64.urlsafe_b64encode(digest).decode().rstrip("=")[:8]
    assert project.outputs["publishableKey"] != project.outputs["secretKey"]


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_asymmetric_keys_verify_with_the_published_jwks(project: Run, role: str) -> None:
    key = project.outputs["anonKeyAsymmetric" if role == "anon" else "serviceRoleKeyAsymmetric"]
    jwks = json.loads(project.outputs["jwtJwks"])["keys"]
    (ec_key,) = [k for k in jwks if k["kty"] == "EC"]
    (oct_key,) = [k for k in jwks if k["kty"] == "oct"]
    assert "d" not in ec_key
    assert jwt.get_unverified_header(key)["kid"] == ec_key["kid"]
    claims = jwt.decode(key, jwt.PyJWK(ec_key).key, algorithms=["ES256"])
    assert claims["role"] == role
    assert claims["iat"] == ISSUED_AT
    assert claims["exp"] == ISSUED_AT + 3650 * 86400
    secret = base64.urlsafe_b64decode(oct_key["k"] + "=" * (-len(oct_key["k"]) % 4)).decode()
    assert secret == project.outputs["jwtSecret"]
    signing = json.loads(project.outputs["jwtKeys"])
    assert [k["kty"] for k in signing] == ["EC", "oct"] and "d" in signing[0]


def test_every_new_secret_is_secret_everywhere(project: Run) -> None:
    assert project.secret_outputs >= set(NEW_SECRETS) | {
        "dbUrl",
        "poolerUrl",
        "poolerTransactionUrl",
    }
    values = [project.outputs[key] for key in NEW_SECRETS] + [project.outputs["postgresPassword"]]

    for resource in project.mocks.resources:
        for part in plain_parts(resource.inputs):
            for secret in values:
                assert secret not in str(part), f"{resource.name} has a secret in plain text"
    for service, container in project.mocks.containers().items():
        # imgproxy has no secret; Envoy has no env at all (its keys are in the uploads).
        assert is_secret(container.inputs["envs"]) == (service not in ("imgproxy", "api-gw"))


def test_new_random_resources_are_frozen_and_only_in_2026() -> None:
    result = build()
    generated = result.mocks.of_type(":RandomPassword") + result.mocks.of_type(":RandomBytes")
    names = {r.name for r in generated}
    new = {
        "shop-jwt-signing-key-seed",
        "shop-publishable-key-seed",
        "shop-secret-key-seed",
        "shop-vault-enc-key",
        "shop-pg-meta-crypto-key",
        "shop-s3-access-key-id",
        "shop-s3-access-key-secret",
        "shop-supavisor-secret-key-base",
        "shop-metrics-jwt-secret",
        "shop-logflare-private-token",
    }
    assert names >= new
    for resource in generated:
        assert "length" in resource.ignore_changes, resource.name
        assert resource.parent == "shop"
    seeds = result.mocks.of_type(":RandomBytes")
    assert {int(r.inputs["length"]) for r in seeds} == {32}
    # A 2024-04 project's plan does not grow: none of these resources, no new outputs.
    legacy = build({"release": "2024-04"})
    assert not legacy.mocks.of_type(":RandomBytes")
    legacy_names = {r.name for r in legacy.mocks.of_type(":RandomPassword")}
    assert not legacy_names & new
    assert legacy.outputs["poolerUrl"] is None


def test_same_input_same_plan() -> None:
    first, second = build(), build()

    def comparable(result: Run) -> dict[str, Any]:
        return {
            r.name: (r.typ, reveal(r.inputs), sorted(r.depends_on))
            for r in result.mocks.resources
            if not r.typ.endswith("RandomInteger")
        }

    assert comparable(first) == comparable(second)
    assert first.outputs == second.outputs


def test_two_projects_share_no_name_and_no_host_port() -> None:
    one = build({"portSlot": "0", "logs": "true"}, stack="alpha")
    two = build({"portSlot": "1", "logs": "true", "gateway": "kong"}, stack="beta")

    names_one, ports_one = claimed_names_and_ports(one)
    names_two, ports_two = claimed_names_and_ports(two)
    assert len(names_one) == len(names_two) == 13 + 1 + 6
    assert not names_one & names_two
    assert ports_one == {20000, 20003, 20004}
    assert ports_two == {20010, 20011, 20013, 20014}
    assert one.outputs["publishableKey"] != two.outputs["publishableKey"]
    assert one.outputs["jwtKeys"] != two.outputs["jwtKeys"]


def test_logs_on_adds_analytics_and_vector_wired_as_upstreams_override() -> None:
    result = build({"logs": "true"})
    containers = result.mocks.containers()
    assert {"analytics", "vector"} <= set(containers)
    images = {r.name: reveal(r.inputs["name"]) for r in result.mocks.of_type(":RemoteImage")}
    assert {s: images[f"shop-{s}-image"] for s in LOGS_IMAGES} == LOGS_IMAGES
    assert depends(containers["analytics"], containers) == {"db"}
    assert depends(containers["vector"], containers) == {"analytics"}
    assert depends(containers["db"], containers) == set()
    assert depends(containers["studio"], containers) == {"analytics", "meta"}
    analytics, vector = env_of(containers["analytics"]), env_of(containers["vector"])
    password = result.outputs["postgresPassword"]
    assert analytics["DB_DATABASE"] == "_supabase"
    assert analytics["POSTGRES_BACKEND_URL"] == (
        f"postgresql://supabase_admin:{password}@db:5432/_supabase"
    )
    assert analytics["LOGFLARE_PUBLIC_ACCESS_TOKEN"] == result.outputs["logflareApiKey"]
    assert analytics["LOGFLARE_PRIVATE_ACCESS_TOKEN"] == result.outputs["logflarePrivateToken"]
    assert "LOGFLARE_API_KEY" not in analytics
    assert vector["LOGFLARE_PUBLIC_ACCESS_TOKEN"] == result.outputs["logflareApiKey"]
    studio = env_of(containers["studio"])
    assert studio["NEXT_PUBLIC_ENABLE_LOGS"] == "true"
    assert studio["LOGFLARE_URL"] == "http://analytics:4000"
    assert studio["LOGFLARE_PRIVATE_ACCESS_TOKEN"] == result.outputs["logflarePrivateToken"]
    (bind,) = reveal(containers["vector"].inputs["mounts"])
    assert bind["type"] == "bind" and bind["target"] == "/var/run/docker.sock"
    assert "/etc/vector/vector.yml" in uploads_of(containers["vector"])


def test_excluding_optional_services() -> None:
    result = build({"exclude": ["imgproxy", "functions", "studio"]})
    containers = result.mocks.containers()
    assert set(containers) == (set(PINNED) | {"api-gw"}) - {"imgproxy", "functions", "studio"}
    assert depends(containers["api-gw"], containers) == set()
    assert env_of(containers["storage"])["ENABLE_IMAGE_TRANSFORMATION"] == "false"
    volumes = {reveal(v.inputs["name"]) for v in result.mocks.of_type(":Volume")}
    assert not {"supabase-shop-deno-cache", "supabase-shop-studio-snippets"} & volumes


def test_the_pooler_refuses_a_port_plan_without_its_ports() -> None:
    """Settings give 2026-09 both pooler ports; a plan without them is a bug, said plainly."""
    assert supavisor._port(20043) == 20043
    with pytest.raises(ValueError) as refused:
        supavisor._port(None)
    assert str(refused.value) == (
        "the release publishes the pooler ports, but the port plan has none"
    )
