"""Envoy and Kong 3 (the two 2026-09 gateways) treat every route alike: the same idle limit
for long-running requests and the same refusal for blocked paths.

Kong's ``read_timeout`` is in milliseconds, Envoy's ``idle_timeout`` a duration string; a
blocked route is Kong's ``request-termination`` plugin (whose schema has ``status_code``
and ``message``) and Envoy's ``direct_response``. Each is read from the rendered files.
"""

from __future__ import annotations

from typing import Any

import yaml
from test_render_gateway import ALL, KEYS

from components.render.envoy import LDS_PATH, render_envoy_config
from components.render.kong3 import CONFIG_PATH, render_kong3_config

#: The fields Kong 3.9's request-termination plugin accepts (kong/plugins/request-termination
#: schema.lua); any other key makes Kong refuse the whole declarative config.
TERMINATION_FIELDS = {"status_code", "message", "body", "content_type", "trigger", "echo"}


def _envoy_routes() -> dict[str, dict[str, Any]]:
    lds = yaml.safe_load(render_envoy_config(KEYS, enabled_services=ALL)[LDS_PATH])
    found: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "match" in node and "name" in node:
                found[node["name"]] = node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(lds)
    return found


def _kong_services() -> dict[str, dict[str, Any]]:
    config = yaml.safe_load(render_kong3_config(KEYS, enabled_services=ALL)[CONFIG_PATH])
    return {service["name"]: service for service in config["services"]}


def _seconds(duration: str) -> int:
    assert duration.endswith("s")
    return int(duration[:-1])


def test_both_gateways_wait_as_long_on_a_quiet_connection() -> None:
    envoy, kong = _envoy_routes(), _kong_services()
    assert set(envoy) == set(kong)
    limited = {name for name, entry in envoy.items() if "idle_timeout" in entry.get("route", {})}
    assert limited  # the functions route allows long-running invocations
    for name in envoy:
        if name in limited:
            idle = _seconds(envoy[name]["route"]["idle_timeout"])
            assert kong[name]["read_timeout"] == idle * 1000, name
        else:
            assert "read_timeout" not in kong[name], name


def test_blocked_paths_get_the_same_refusal_from_both() -> None:
    envoy, kong = _envoy_routes(), _kong_services()
    blocked = {name for name, entry in envoy.items() if "direct_response" in entry}
    assert blocked
    for name in blocked:
        response = envoy[name]["direct_response"]
        (plugin,) = kong[name]["plugins"]
        assert plugin["name"] == "request-termination"
        assert set(plugin["config"]) <= TERMINATION_FIELDS, name
        assert plugin["config"]["status_code"] == response["status"] == 403
        assert plugin["config"]["message"] == response["body"]["inline_string"]
        assert plugin["config"]["message"]


def test_kong_config_uses_only_fields_kongs_declarative_schema_knows() -> None:
    """Kong refuses a whole declarative config over one unknown field, so every plugin is
    ``name`` (+ ``config``) and every credential carries the fields its entity requires."""
    config = yaml.safe_load(render_kong3_config(KEYS, enabled_services=ALL)[CONFIG_PATH])
    plugins = [p for service in config["services"] for p in service.get("plugins", [])]
    assert plugins
    for plugin in plugins:
        assert "name" in plugin
        assert set(plugin) <= {"name", "config"}, plugin["name"]
    dashboard = [c for c in config["consumers"] if "basicauth_credentials" in c]
    (credential,) = [cred for c in dashboard for cred in c["basicauth_credentials"]]
    assert credential == {
        "username": KEYS.dashboard_username,
        "password": KEYS.dashboard_password,
    }
    for consumer in config["consumers"]:
        for key in consumer.get("keyauth_credentials", []):
            assert set(key) == {"key"}


def test_kongs_post_function_code_compiles_under_luajit() -> None:
    """Kong runs ``post-function`` chunks under OpenResty's LuaJIT; one that does not
    compile fails every request of its route with a 500."""
    from lupa import luajit21

    config = yaml.safe_load(render_kong3_config(KEYS, enabled_services=ALL)[CONFIG_PATH])
    chunks = [
        chunk
        for service in config["services"]
        for plugin in service.get("plugins", [])
        if plugin["name"] == "post-function"
        for chunk in plugin["config"]["access"]
    ]
    assert chunks
    runtime = luajit21.LuaRuntime()
    for chunk in chunks:
        runtime.compile(chunk)  # raises LuaSyntaxError
