"""kong.yml: every path reaches the right upstream behind the right guard."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.render.kong import KONG_PLUGINS, render_kong_config

ALL_SERVICES = frozenset(
    {
        "db", "kong", "auth", "rest", "realtime", "storage", "imgproxy", "meta",
        "functions", "analytics", "vector", "studio",
    }
)  # fmt: skip
#: Services a user may leave out; vector always goes together with analytics.
OPTIONAL = {
    "analytics": {"analytics", "vector"},
    "imgproxy": {"imgproxy"},
    "functions": {"functions"},
    "studio": {"studio"},
}
REALTIME = "http://realtime-dev.supabase-realtime:4000"
#: path -> (upstream URL, the service it needs)
EXPECTED_ROUTES = {
    "/auth/v1/verify": ("http://auth:9999/verify", "auth"),
    "/auth/v1/callback": ("http://auth:9999/callback", "auth"),
    "/auth/v1/authorize": ("http://auth:9999/authorize", "auth"),
    "/auth/v1/": ("http://auth:9999/", "auth"),
    "/rest/v1/": ("http://rest:3000/", "rest"),
    "/graphql/v1": ("http://rest:3000/rpc/graphql", "rest"),
    "/realtime/v1/": (f"{REALTIME}/socket", "realtime"),
    "/realtime/v1/api": (f"{REALTIME}/api", "realtime"),
    "/storage/v1/": ("http://storage:5000/", "storage"),
    "/functions/v1/": ("http://functions:9000/", "functions"),
    "/analytics/v1/": ("http://analytics:4000/", "analytics"),
    "/pg/": ("http://meta:8080/", "meta"),
    "/": ("http://studio:3000/", "studio"),
}
SECURE_API_PATHS = ["/auth/v1/", "/rest/v1/", "/graphql/v1", "/realtime/v1/", "/realtime/v1/api"]
KEYLESS_PATHS = [
    "/auth/v1/verify",
    "/auth/v1/callback",
    "/auth/v1/authorize",
    "/storage/v1/",
    "/functions/v1/",
]

ANON_KEY = "anon.jwt.value"
SERVICE_KEY = "service.jwt.value"


def render(
    enabled: frozenset[str] | set[str] = ALL_SERVICES,
    *,
    username: str = "supabase",
    password: str = "dashboard-pass",
) -> str:
    return render_kong_config(
        anon_key=ANON_KEY,
        service_role_key=SERVICE_KEY,
        dashboard_username=username,
        dashboard_password=password,
        enabled_services=enabled,
    )


def services_by_path(text: str) -> dict[str, dict[str, Any]]:
    """Each route path -> the Kong service that carries it (one path per route)."""
    by_path: dict[str, dict[str, Any]] = {}
    for service in yaml.safe_load(text)["services"]:
        for route in service["routes"]:
            for path in route["paths"]:
                assert path not in by_path, f"{path} routed twice"
                by_path[path] = service
    return by_path


def plugins(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {plugin["name"]: plugin.get("config", {}) for plugin in service.get("plugins", [])}


def test_declarative_header() -> None:
    config = yaml.safe_load(render())
    assert config["_format_version"] == "2.1"
    assert config["_transform"] is True


def test_every_route_reaches_its_upstream() -> None:
    by_path = services_by_path(render())
    assert {path: service["url"] for path, service in by_path.items()} == {
        path: url for path, (url, _) in EXPECTED_ROUTES.items()
    }
    for service in by_path.values():
        assert all(route["strip_path"] is True for route in service["routes"])


def test_realtime_is_reached_by_its_tenant_alias() -> None:
    by_path = services_by_path(render())
    assert by_path["/realtime/v1/"]["protocol"] == "ws"
    assert "protocol" not in by_path["/realtime/v1/api"]  # plain http, from the URL
    assert "http://realtime:" not in render()


@pytest.mark.parametrize("path", SECURE_API_PATHS)
def test_api_routes_need_an_anon_or_service_key(path: str) -> None:
    guard = plugins(services_by_path(render())[path])
    assert "cors" in guard
    assert "hide_credentials" in guard["key-auth"]
    assert guard["acl"] == {"hide_groups_header": True, "allow": ["admin", "anon"]}


def test_key_auth_hides_the_key_only_from_postgrest() -> None:
    by_path = services_by_path(render())
    hidden = {
        path
        for path in SECURE_API_PATHS
        if plugins(by_path[path])["key-auth"]["hide_credentials"] is True
    }
    assert hidden == {"/rest/v1/", "/graphql/v1"}


@pytest.mark.parametrize("path", KEYLESS_PATHS)
def test_keyless_routes_only_add_cors(path: str) -> None:
    assert plugins(services_by_path(render())[path]) == {"cors": {}}


def test_graphql_is_postgrest_rpc_on_the_graphql_public_profile() -> None:
    graphql = plugins(services_by_path(render())["/graphql/v1"])
    assert graphql["request-transformer"] == {
        "add": {"headers": ["Content-Profile:graphql_public"]}
    }


def test_pg_meta_is_for_the_service_role_only() -> None:
    meta = plugins(services_by_path(render())["/pg/"])
    assert set(meta) == {"key-auth", "acl"}
    assert meta["acl"]["allow"] == ["admin"]


def test_dashboard_asks_for_the_given_password() -> None:
    text = render(username="admin-user", password="s3cret")
    config = yaml.safe_load(text)
    dashboard = plugins(services_by_path(text)["/"])
    assert dashboard["basic-auth"] == {"hide_credentials": True}
    assert config["basicauth_credentials"] == [
        {"consumer": "DASHBOARD", "username": "admin-user", "password": "s3cret"}
    ]
    assert {"username": "DASHBOARD"} in config["consumers"]


def test_consumers_carry_the_given_keys_and_groups() -> None:
    config = yaml.safe_load(render())
    keys = {
        consumer["username"]: [cred["key"] for cred in consumer.get("keyauth_credentials", [])]
        for consumer in config["consumers"]
    }
    assert keys == {"DASHBOARD": [], "anon": [ANON_KEY], "service_role": [SERVICE_KEY]}
    assert {(acl["consumer"], acl["group"]) for acl in config["acls"]} == {
        ("anon", "anon"),
        ("service_role", "admin"),
    }


def test_kong_loads_every_plugin_the_config_uses() -> None:
    used = {
        plugin["name"]
        for service in yaml.safe_load(render())["services"]
        for plugin in service.get("plugins", [])
    }
    assert used <= set(KONG_PLUGINS.split(","))
    assert set(KONG_PLUGINS.split(",")) == {
        "request-transformer",
        "cors",
        "key-auth",
        "acl",
        "basic-auth",
    }


@pytest.mark.parametrize("excluded", sorted(OPTIONAL))
def test_excluded_services_lose_their_routes(excluded: str) -> None:
    gone = OPTIONAL[excluded]
    by_path = services_by_path(render(ALL_SERVICES - gone))
    assert set(by_path) == {
        path for path, (_, needs) in EXPECTED_ROUTES.items() if needs not in gone
    }
    for service in by_path.values():
        assert not any(f"//{name}:" in service["url"] for name in gone)


def test_without_studio_there_is_no_catch_all() -> None:
    assert "/" not in services_by_path(render(ALL_SERVICES - {"studio"}))


def test_output_is_deterministic() -> None:
    assert render() == render()
    assert render(set(ALL_SERVICES)) == render(frozenset(sorted(ALL_SERVICES, reverse=True)))


def test_no_anchors_or_aliases() -> None:
    text = render()
    assert "&id" not in text
    assert "*id" not in text


@pytest.mark.parametrize(
    "value",
    [
        "p@ss: #word",
        'it\'s "quoted"',
        "yes",
        "null",
        "0123",
        "- starts like a list",
        "&anchor *alias !tag",
        "{braces}, [brackets]",
        "ünïcødé ✓",
        "trailing space ",
        "$DASHBOARD_PASSWORD",
        "x" * 300,
    ],
)
def test_values_with_yaml_special_characters_round_trip(value: str) -> None:
    config = yaml.safe_load(render(username=value, password=value))
    credentials = config["basicauth_credentials"][0]
    assert credentials["username"] == value
    assert credentials["password"] == value


#: The fields of Kong's service and route entities this file may use; Kong refuses a whole
#: declarative config over one field its schema does not know.
SERVICE_FIELDS = {"name", "url", "protocol", "routes", "plugins"}
ROUTE_FIELDS = {"name", "strip_path", "paths"}


def test_services_and_routes_are_named_with_known_fields_only() -> None:
    services = yaml.safe_load(render())["services"]
    names = []
    for service in services:
        assert set(service) <= SERVICE_FIELDS, service
        (route,) = service["routes"]
        assert set(route) <= ROUTE_FIELDS, route
        # Kong's logs and admin API show these names: one per service, shared by its route.
        assert route["name"] == service["name"]
        names.append(service["name"])
    assert len(set(names)) == len(names) == len(EXPECTED_ROUTES)


def test_long_values_stay_on_one_line() -> None:
    """No value is folded: a grep or diff of kong.yml shows a rotated password whole."""
    password = " ".join(["correct-horse-battery-staple"] * 6)
    line = next(line for line in render(password=password).splitlines() if "password:" in line)
    assert line.endswith(password)
