"""Kong 3.9's declarative config (``_format_version: "3.0"``) for one project's gateway.

Kong is upstream's alternative gateway in 2026-09. It walks the same route table as
Envoy (``gateway.ROUTES``) and gives each ``Access`` and ``Translation`` Kong's own
plugins: key-auth + acl for API keys, basic-auth for the dashboard, request-termination
for blocked paths, request-transformer templates for the ``sb_`` key translation (as
upstream's ``kong-entrypoint.sh`` builds them, with the project's keys written in), and a
post-function for edge functions. The keys are in the file, so Kong starts with its own
entrypoint and no ``$VAR`` expansion.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import yaml

from components.render.gateway import (
    BLOCKED_MESSAGE,
    BLOCKED_STATUS,
    Access,
    Cors,
    GatewayKeys,
    Route,
    Translation,
    routes_for,
)

CONFIG_PATH = "/home/kong/kong.yml"

#: Every plugin the config uses; Kong refuses a config naming a plugin it has not loaded.
KONG_PLUGINS = (
    "request-transformer",
    "cors",
    "key-auth",
    "acl",
    "basic-auth",
    "request-termination",
    "post-function",
)

#: The container's environment for this config (nothing secret: the keys are in the file).
#: The expressions router lets every route carry an explicit priority, so Kong takes the
#: routes in the table's order, exactly as Envoy does.
KONG_ENV: dict[str, str] = {
    "KONG_DATABASE": "off",
    "KONG_DECLARATIVE_CONFIG": CONFIG_PATH,
    "KONG_ROUTER_FLAVOR": "expressions",
    "KONG_DNS_ORDER": "LAST,A,CNAME",
    "KONG_DNS_NOT_FOUND_TTL": "1",
    "KONG_DNS_VALID_TTL": "5",
    "KONG_PLUGINS": ",".join(KONG_PLUGINS),
    "KONG_NGINX_PROXY_PROXY_BUFFER_SIZE": "160k",
    "KONG_NGINX_PROXY_PROXY_BUFFERS": "64 160k",
    "KONG_PROXY_ACCESS_LOG": "/dev/stdout combined",
}

_ANON, _SERVICE_ROLE, _DASHBOARD = "anon", "service_role", "DASHBOARD"
#: The ACL group of each API-key consumer, and the groups each keyed access admits.
_GROUPS = {_ANON: "anon", _SERVICE_ROLE: "admin"}
_ALLOWED_GROUPS = {Access.API_KEY: ["admin", "anon"], Access.SERVICE_ROLE: ["admin"]}

_YAML_WIDTH = 1 << 16
_LOCAL_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?"

_Plugin = dict[str, Any]


def _quoted(value: str) -> str:
    # GatewayKeys refuses quotes, backslashes and spaces, so a plain literal is exact.
    return f"'{value}'"


def _translated(source: str, keys: GatewayKeys, *, bearer: bool) -> str:
    """Lua: the JWT for ``source`` if it is an opaque key, else nil."""
    prefix = "Bearer " if bearer else ""
    return " or ".join(
        f"({source} == {_quoted(opaque)} and {_quoted(prefix + jwt)})"
        for opaque, jwt in keys.translations.items()
    )


def _authorization_template(keys: GatewayKeys) -> str:
    """Authorization for the service: the caller's own JWT, else the (translated) key."""
    apikey = "(headers.apikey or query_params.apikey)"
    return (
        "$((headers.authorization ~= nil and headers.authorization:sub(1, 10) ~= 'Bearer sb_'"
        f" and headers.authorization) or {_translated(apikey, keys, bearer=True)}"
        f" or ({apikey} and 'Bearer ' .. {apikey}) or nil)"
    )


def _realtime_template(keys: GatewayKeys) -> str:
    """Realtime's websocket reads ``x-api-key`` first: the key, translated."""
    apikey = "(query_params.apikey or headers.apikey)"
    return f"$({_translated(apikey, keys, bearer=False)} or {apikey})"


def _clear_empty(header: str) -> _Plugin:
    """A template that yields nil leaves an empty header; the service must not see it."""
    code = (
        f'local value = kong.request.get_header("{header}")\n'
        'if value == nil or value:find("^%s*$") then\n'
        f'  kong.service.request.clear_header("{header}")\n'
        "end\n"
    )
    return {"name": "post-function", "config": {"access": [code]}}


def _functions_plugin(keys: GatewayKeys) -> _Plugin:
    """Edge functions: the JWT goes into ``sb-api-key``; unknown ``sb_`` keys get 401.

    The same rules as Envoy's filter (envoy_filter.lua): Authorization is passed on as
    the caller sent it, and any non-``sb_`` value is for the runtime to verify.
    """
    table = "".join(f"  [{_quoted(k)}] = {_quoted(v)},\n" for k, v in keys.translations.items())
    code = (
        f"local TRANSLATE = {{\n{table}}}\n"
        'kong.service.request.clear_header("sb-api-key")\n'
        'local apikey = kong.request.get_header("apikey")\n'
        'if apikey == "" then apikey = nil end\n'
        'local authorization = kong.request.get_header("authorization")\n'
        'local bearer = authorization and authorization:match("^[Bb]earer%s+(.+)$")\n'
        'local bearer_opaque = bearer ~= nil and bearer:sub(1, 3) == "sb_"\n'
        "if bearer_opaque and apikey ~= nil and apikey ~= bearer then\n"
        '  return kong.response.exit(401, "Conflicting API keys")\n'
        "end\n"
        "local key = apikey\n"
        "if key == nil and bearer_opaque then key = bearer end\n"
        'if key == nil or key:sub(1, 3) ~= "sb_" then return end\n'
        "local internal = TRANSLATE[key]\n"
        'if internal == nil then return kong.response.exit(401, "Invalid API key") end\n'
        'kong.service.request.set_header("sb-api-key", internal)\n'
    )
    return {"name": "post-function", "config": {"access": [code]}}


def _cors(route: Route, keys: GatewayKeys) -> list[_Plugin]:
    if route.cors is Cors.TRUSTED:
        origins = [_LOCAL_ORIGIN]
        if keys.public_url:
            origins.insert(0, keys.public_url.rstrip("/"))
        return [{"name": "cors", "config": {"origins": origins}}]
    return [{"name": "cors"}]


def _transformer(route: Route, keys: GatewayKeys) -> list[_Plugin]:
    add = [f"{name}:{value}" for name, value in route.add_headers]
    config: dict[str, Any] = {}
    if route.translation is Translation.AUTHORIZATION:
        header = f"Authorization:{_authorization_template(keys)}"
        add.append(header)
        config["replace"] = {"headers": [header]}
    elif route.translation is Translation.REALTIME_WS:
        template = _realtime_template(keys)
        add.append(f"x-api-key:{template}")
        config["replace"] = {"querystring": [f"apikey:{template}"]}
    if not add:
        return []
    return [{"name": "request-transformer", "config": {"add": {"headers": add}, **config}}]


def _plugins(route: Route, keys: GatewayKeys) -> list[_Plugin]:
    if route.access is Access.BLOCKED:
        return [
            {
                "name": "request-termination",
                "config": {"status_code": BLOCKED_STATUS, "message": BLOCKED_MESSAGE},
            }
        ]
    plugins = _cors(route, keys)
    if route.access is Access.DASHBOARD:
        plugins.append({"name": "basic-auth", "config": {"hide_credentials": True}})
    if route.access in _ALLOWED_GROUPS:
        plugins.append({"name": "key-auth", "config": {"hide_credentials": False}})
    plugins += _transformer(route, keys)
    if route.translation is Translation.AUTHORIZATION:
        plugins.append(_clear_empty("authorization"))
    elif route.translation is Translation.FUNCTIONS:
        plugins.append(_functions_plugin(keys))
    if route.access in _ALLOWED_GROUPS:
        groups = list(_ALLOWED_GROUPS[route.access])
        plugins.append({"name": "acl", "config": {"hide_groups_header": True, "allow": groups}})
    return plugins


def _kong_route(route: Route, priority: int) -> dict[str, Any]:
    """An expressions-router route: the table's order becomes Kong's priority.

    Kong computes the priority of plain ``paths`` routes itself, so mixing them with an
    exact-path expression route (upstream's ``/rest/v1/`` rule) leaves the winner to
    Kong's internals; explicit priorities give Kong Envoy's first-match order instead.
    """
    operator = "==" if route.exact else "^="
    return {
        "name": route.name,
        "expression": f'http.path {operator} "{route.path}"',
        "priority": priority,
        "strip_path": True,
    }


def _service(route: Route, priority: int, keys: GatewayKeys) -> dict[str, Any]:
    service: dict[str, Any] = {
        "name": route.name,
        "url": f"http://{route.upstream_host}:{route.port}{route.upstream_path}",
    }
    if route.websocket:
        service["protocol"] = "ws"
    if route.idle_timeout_s is not None:
        service["read_timeout"] = route.idle_timeout_s * 1000
    service["routes"] = [_kong_route(route, priority)]
    plugins = _plugins(route, keys)
    if plugins:
        service["plugins"] = plugins
    return service


def _consumers(keys: GatewayKeys) -> list[dict[str, Any]]:
    consumers = [
        {
            "username": role,
            "keyauth_credentials": [{"key": key} for key in keys.role_keys(role)],
            "acls": [{"group": group}],
        }
        for role, group in _GROUPS.items()
    ]
    consumers.append(
        {
            "username": _DASHBOARD,
            "basicauth_credentials": [
                {"username": keys.dashboard_username, "password": keys.dashboard_password}
            ],
        }
    )
    return consumers


def render_kong3_config(keys: GatewayKeys, *, enabled_services: Collection[str]) -> dict[str, str]:
    """Container path -> content: Kong 3.9's kong.yml with only the enabled services' routes."""
    table = routes_for(keys, enabled_services)
    config = {
        "_format_version": "3.0",
        "_transform": True,
        "consumers": _consumers(keys),
        "services": [
            _service(route, len(table) - index, keys) for index, route in enumerate(table)
        ],
    }
    return {CONFIG_PATH: yaml.safe_dump(config, sort_keys=False, width=_YAML_WIDTH)}
