"""Envoy's config for one project's API gateway (upstream's default gateway in 2026-09).

Three files, as upstream lays them out: a bootstrap that reads the listener (LDS) and the
clusters (CDS) from files. Every route of ``gateway.ROUTES`` becomes an Envoy route whose
filters say what it needs: one Lua filter checks and translates API keys (the generated
tables of ``envoy_filter.lua``), the RBAC filter lets only the right JWTs through each
key-checked route, basic auth guards the dashboard, and blocked routes answer 403 from
Envoy itself.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

import yaml

from components.render.gateway import (
    BLOCKED_MESSAGE,
    BLOCKED_STATUS,
    GATEWAY_PORT,
    KEY_ACCESS,
    Access,
    Cors,
    GatewayKeys,
    Route,
    routes_for,
)

ENVOY_DIR = "/etc/envoy"
BOOTSTRAP_PATH = f"{ENVOY_DIR}/envoy.yaml"
LDS_PATH = f"{ENVOY_DIR}/lds.yaml"
CDS_PATH = f"{ENVOY_DIR}/cds.yaml"

#: The container's command: the image's envoy with the rendered bootstrap (no entrypoint
#: script: every value is already in the files).
ENVOY_COMMAND = ("envoy", "-c", BOOTSTRAP_PATH)
#: Envoy's admin interface, on loopback only: it can stop the server.
ADMIN_PORT = 9901

_TYPE = "type.googleapis.com/envoy."
HCM_TYPE = f"{_TYPE}extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
LISTENER_TYPE = f"{_TYPE}config.listener.v3.Listener"
CLUSTER_TYPE = f"{_TYPE}config.cluster.v3.Cluster"
CORS_TYPE = f"{_TYPE}extensions.filters.http.cors.v3.Cors"
CORS_POLICY_TYPE = f"{_TYPE}extensions.filters.http.cors.v3.CorsPolicy"
BASIC_AUTH_TYPE = f"{_TYPE}extensions.filters.http.basic_auth.v3.BasicAuth"
LUA_TYPE = f"{_TYPE}extensions.filters.http.lua.v3.Lua"
RBAC_TYPE = f"{_TYPE}extensions.filters.http.rbac.v3.RBAC"
RBAC_ROUTE_TYPE = f"{_TYPE}extensions.filters.http.rbac.v3.RBACPerRoute"
ROUTER_TYPE = f"{_TYPE}extensions.filters.http.router.v3.Router"
FILTER_CONFIG_TYPE = f"{_TYPE}config.route.v3.FilterConfig"
STDOUT_LOG_TYPE = f"{_TYPE}extensions.access_loggers.stream.v3.StdoutAccessLog"
CONNECTIONS_MONITOR_TYPE = (
    f"{_TYPE}extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig"
)

CORS_FILTER = "envoy.filters.http.cors"
BASIC_AUTH_FILTER = "envoy.filters.http.basic_auth"
LUA_FILTER = "envoy.filters.http.lua"
RBAC_FILTER = "envoy.filters.http.rbac"
ROUTER_FILTER = "envoy.filters.http.router"

#: nginx's "combined" access-log line in Envoy's command operators: the logs pipeline
#: (vector's ``parse_nginx_log``) reads Envoy's access log exactly as it reads Kong's.
ACCESS_LOG_FORMAT = (
    "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% - - [%START_TIME(%d/%b/%Y:%H:%M:%S %z)%] "
    '"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% '
    '%BYTES_SENT% "%REQ(REFERER)%" "%REQ(USER-AGENT)%"\n'
)

_LUA_SOURCE = Path(__file__).with_name("envoy_filter.lua")
_YAML_WIDTH = 1 << 16
_LOCAL_ORIGIN = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]+)?"


def _lua_string(value: str) -> str:
    # GatewayKeys refuses quotes, backslashes and spaces, so a plain literal is exact.
    return f'"{value}"'


def _lua_table(name: str, entries: Iterable[tuple[str, str]]) -> str:
    body = "".join(f"  [{_lua_string(k)}] = {v},\n" for k, v in entries)
    return f"local {name} = {{\n{body}}}\n"


def render_lua_filter(routes: Iterable[Route], keys: GatewayKeys) -> str:
    """The Lua filter: generated tables from the route table and keys, then the logic."""
    routes = tuple(routes)
    valid = {key for role in ("anon", "service_role") for key in keys.role_keys(role)}
    tables = (
        _lua_table(
            "ROUTE_ACCESS",
            ((r.name, _lua_string(r.access)) for r in routes if r.access in KEY_ACCESS),
        ),
        _lua_table("ROUTE_TRANSLATION", ((r.name, _lua_string(r.translation)) for r in routes)),
        _lua_table("VALID_KEYS", ((key, "true") for key in sorted(valid))),
        _lua_table("TRANSLATE", ((k, _lua_string(v)) for k, v in keys.translations.items())),
    )
    return "".join(tables) + "\n" + _LUA_SOURCE.read_text()


def _htpasswd_sha(username: str, password: str) -> str:
    """The one hash format Envoy's basic_auth reads: ``user:{SHA}base64(sha1(password))``."""
    # SHA-1 only because Envoy reads no other hash; the file itself is a secret.
    digest = hashlib.sha1(password.encode()).digest()
    return f"{username}:{{SHA}}{base64.b64encode(digest).decode()}"


def _any() -> list[dict[str, Any]]:
    """A fresh `any: true` matcher list (shared objects would become YAML anchors)."""
    return [{"any": True}]


def _rbac(route: Route, keys: GatewayKeys) -> dict[str, Any]:
    """The per-route RBAC: who may pass, by the apikey header after translation."""
    if route.access is Access.BLOCKED:
        rules = {"action": "DENY", "policies": {"blocked": _all_policy()}}
    elif route.access in KEY_ACCESS:
        principals = [
            {"header": {"name": "apikey", "string_match": {"exact": key}}}
            for key in keys.internal_keys(route.access)
        ]
        rules = {
            "action": "ALLOW",
            "policies": {str(route.access): {"permissions": _any(), "principals": principals}},
        }
    else:
        rules = {"action": "ALLOW", "policies": {"open": _all_policy()}}
    return {"@type": RBAC_ROUTE_TYPE, "rbac": {"rules": rules}}


def _all_policy() -> dict[str, Any]:
    return {"permissions": _any(), "principals": _any()}


def _cors_policy(origins: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "@type": CORS_POLICY_TYPE,
        "allow_origin_string_match": origins,
        "allow_methods": "GET,POST,PUT,PATCH,DELETE,OPTIONS,HEAD",
        "allow_headers": "*",
        "expose_headers": "*",
        "max_age": "3600",
    }


def _trusted_origins(keys: GatewayKeys) -> list[dict[str, Any]]:
    origins: list[dict[str, Any]] = [{"safe_regex": {"regex": _LOCAL_ORIGIN}}]
    if keys.public_url:
        origins.insert(0, {"exact": keys.public_url.rstrip("/")})
    return origins


def _disabled() -> dict[str, Any]:
    return {"@type": FILTER_CONFIG_TYPE, "disabled": True}


def _route(route: Route, keys: GatewayKeys) -> dict[str, Any]:
    per_filter: dict[str, Any] = {RBAC_FILTER: _rbac(route, keys)}
    if route.access is not Access.DASHBOARD:
        per_filter[BASIC_AUTH_FILTER] = _disabled()
    if route.cors is Cors.TRUSTED:
        per_filter[CORS_FILTER] = _cors_policy(_trusted_origins(keys))
    entry: dict[str, Any] = {
        "name": route.name,
        "match": {("path" if route.exact else "prefix"): route.path},
    }
    if route.access is Access.BLOCKED:
        entry["direct_response"] = {
            "status": BLOCKED_STATUS,
            "body": {"inline_string": BLOCKED_MESSAGE},
        }
    else:
        action: dict[str, Any] = {
            "cluster": route.service,
            "prefix_rewrite": route.upstream_path,
            "timeout": f"{route.timeout_s}s",
        }
        if route.idle_timeout_s is not None:
            action["idle_timeout"] = f"{route.idle_timeout_s}s"
        if route.host:
            # Realtime reads its tenant from the Host header's first label.
            action["host_rewrite_literal"] = route.host
        entry["route"] = action
        # The gateway alone says which prefix it stripped (Storage builds URLs from it).
        prefix = {
            "header": {"key": "X-Forwarded-Prefix", "value": route.prefix_header},
            "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
        }
        entry["request_headers_to_add"] = [
            prefix,
            *(
                {"header": {"key": key, "value": value}, "append_action": "ADD_IF_ABSENT"}
                for key, value in route.add_headers
            ),
        ]
        if route.access is Access.DASHBOARD:
            # The dashboard password stops at the gateway.
            entry["request_headers_to_remove"] = ["authorization"]
    entry["typed_per_filter_config"] = per_filter
    return entry


def _http_filters(routes: tuple[Route, ...], keys: GatewayKeys) -> list[dict[str, Any]]:
    return [
        {"name": CORS_FILTER, "typed_config": {"@type": CORS_TYPE}},
        {
            "name": BASIC_AUTH_FILTER,
            "typed_config": {
                "@type": BASIC_AUTH_TYPE,
                "users": {
                    "inline_string": _htpasswd_sha(keys.dashboard_username, keys.dashboard_password)
                },
            },
        },
        {
            "name": LUA_FILTER,
            "typed_config": {
                "@type": LUA_TYPE,
                "default_source_code": {"inline_string": render_lua_filter(routes, keys)},
            },
        },
        # Every route sets its own RBAC; a route without one would be refused.
        {"name": RBAC_FILTER, "typed_config": {"@type": RBAC_TYPE, "rules": {"action": "ALLOW"}}},
        {"name": ROUTER_FILTER, "typed_config": {"@type": ROUTER_TYPE}},
    ]


def _listener(
    routes: tuple[Route, ...], keys: GatewayKeys, trusted_hops: int = 0
) -> dict[str, Any]:
    hcm = {
        "@type": HCM_TYPE,
        "stat_prefix": "ingress_http",
        # Normalise before matching, so //pg/ or /rest/v1/%2e%2e/ cannot dodge a route.
        "normalize_path": True,
        "merge_slashes": True,
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        "use_remote_address": True,
        "common_http_protocol_options": {"headers_with_underscores_action": "REJECT_REQUEST"},
        "upgrade_configs": [{"upgrade_type": "websocket"}],
        "access_log": [
            {
                "name": "envoy.access_loggers.stdout",
                "typed_config": {
                    "@type": STDOUT_LOG_TYPE,
                    "log_format": {"text_format_source": {"inline_string": ACCESS_LOG_FORMAT}},
                },
            }
        ],
        "route_config": {
            "name": "supabase_route",
            "virtual_hosts": [
                {
                    "name": "supabase_host",
                    "domains": ["*"],
                    "typed_per_filter_config": {
                        CORS_FILTER: _cors_policy([{"safe_regex": {"regex": ".*"}}])
                    },
                    "request_headers_to_add": [
                        {
                            "header": {"key": "X-Forwarded-Host", "value": "%REQ(:AUTHORITY)%"},
                            "append_action": "ADD_IF_ABSENT",
                        },
                        {
                            "header": {
                                "key": "X-Forwarded-Port",
                                "value": "%DOWNSTREAM_LOCAL_PORT%",
                            },
                            "append_action": "ADD_IF_ABSENT",
                        },
                    ],
                    "routes": [_route(route, keys) for route in routes],
                }
            ],
        },
        "http_filters": _http_filters(routes, keys),
    }
    if trusted_hops:
        hcm["xff_num_trusted_hops"] = trusted_hops
    return {
        "@type": LISTENER_TYPE,
        "name": "supabase",
        "per_connection_buffer_limit_bytes": 32768,
        "address": {"socket_address": {"address": "0.0.0.0", "port_value": GATEWAY_PORT}},
        "filter_chains": [
            {
                "filters": [
                    {"name": "envoy.filters.network.http_connection_manager", "typed_config": hcm}
                ]
            }
        ],
    }


def _clusters(routes: tuple[Route, ...]) -> list[dict[str, Any]]:
    targets: dict[str, tuple[str, int]] = {}
    for route in routes:
        if route.access is not Access.BLOCKED:
            targets.setdefault(route.service, (route.upstream_host, route.port))
    return [
        {
            "@type": CLUSTER_TYPE,
            "name": name,
            "type": "STRICT_DNS",
            "lb_policy": "ROUND_ROBIN",
            "load_assignment": {
                "cluster_name": name,
                "endpoints": [
                    {
                        "lb_endpoints": [
                            {
                                "endpoint": {
                                    "address": {
                                        "socket_address": {"address": host, "port_value": port}
                                    }
                                }
                            }
                        ]
                    }
                ],
            },
        }
        for name, (host, port) in targets.items()
    ]


def _bootstrap(project_ref: str) -> dict[str, Any]:
    # The node names the project in Envoy's logs and admin output.
    return {
        "node": {"cluster": "supabase", "id": f"supabase-{project_ref}"},
        "dynamic_resources": {
            "lds_config": {"path_config_source": {"path": LDS_PATH}, "resource_api_version": "V3"},
            "cds_config": {"path_config_source": {"path": CDS_PATH}, "resource_api_version": "V3"},
        },
        "overload_manager": {
            "resource_monitors": [
                {
                    "name": "envoy.resource_monitors.global_downstream_max_connections",
                    "typed_config": {
                        "@type": CONNECTIONS_MONITOR_TYPE,
                        "max_active_downstream_connections": 30000,
                    },
                }
            ]
        },
        "admin": {
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": ADMIN_PORT}}
        },
    }


def _dump(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=False, width=_YAML_WIDTH)


def render_envoy_config(
    keys: GatewayKeys, *, enabled_services: Collection[str], trusted_hops: int = 0
) -> dict[str, str]:
    """Container path -> file content of the project's Envoy config.

    ``trusted_hops`` is 1 behind the edge proxy: Envoy then keeps the proxy's
    X-Forwarded-Proto (https) instead of setting it from its own plain-HTTP listener.
    """
    table = routes_for(keys, enabled_services)
    return {
        BOOTSTRAP_PATH: _dump(_bootstrap(keys.project_ref)),
        LDS_PATH: _dump({"resources": [_listener(table, keys, trusted_hops)]}),
        CDS_PATH: _dump({"resources": _clusters(table)}),
    }
