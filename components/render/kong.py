"""Kong's declarative config (kong.yml) for one project.

Kong is the project's only public entry point, so this file decides which path reaches
which service and which key or password it takes. The real keys are written into the
file (the component ships it as a secret), so Kong needs no entrypoint that expands
``$VARS`` at start-up.
"""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import yaml

#: The plugins Kong must load (``KONG_PLUGINS``); every plugin the config uses is here.
KONG_PLUGINS = "request-transformer,cors,key-auth,acl,basic-auth"

#: Realtime's network alias. Realtime takes its tenant ("realtime-dev") from the first
#: label of the Host header, so Kong must call it by this name, never by "realtime".
REALTIME_HOST = "realtime-dev.supabase-realtime"

#: The API-key consumers with their ACL groups, and the dashboard's basic-auth consumer.
_ANON = "anon"
_SERVICE_ROLE = "service_role"
_DASHBOARD = "DASHBOARD"
_ACL_GROUPS = {_ANON: "anon", _SERVICE_ROLE: "admin"}

#: Wide enough that no value is ever folded onto a second line.
_YAML_WIDTH = 1 << 16

_Plugin = dict[str, Any]


def _cors() -> _Plugin:
    return {"name": "cors"}


def _key_auth(*, hide_credentials: bool) -> _Plugin:
    return {"name": "key-auth", "config": {"hide_credentials": hide_credentials}}


def _acl(*groups: str) -> _Plugin:
    return {"name": "acl", "config": {"hide_groups_header": True, "allow": list(groups)}}


def _add_headers(*headers: str) -> _Plugin:
    return {"name": "request-transformer", "config": {"add": {"headers": list(headers)}}}


def _basic_auth() -> _Plugin:
    return {"name": "basic-auth", "config": {"hide_credentials": True}}


def _api_key(*, hide_credentials: bool) -> tuple[_Plugin, ...]:
    """The guard of the public APIs: a valid anon or service_role key."""
    return (_cors(), _key_auth(hide_credentials=hide_credentials), _acl("admin", "anon"))


@dataclass(frozen=True)
class _Route:
    """One Kong service with its single route: ``path`` on Kong goes to ``url``."""

    name: str
    #: The project service the route leads to; the route exists only if it is enabled.
    target: str
    path: str
    url: str
    plugins: tuple[_Plugin, ...] = ()
    #: Set only where the upstream protocol is not the URL's (the websocket).
    protocol: str | None = None


_REALTIME_URL = f"http://{REALTIME_HOST}:4000"

#: Every route of the project. Kong picks the longest matching path, so the dashboard's
#: "/" only gets what no other route takes.
_ROUTES: tuple[_Route, ...] = (
    # Links in e-mails and OAuth redirects carry no API key.
    _Route("auth-v1-open", "auth", "/auth/v1/verify", "http://auth:9999/verify", (_cors(),)),
    _Route(
        "auth-v1-open-callback",
        "auth",
        "/auth/v1/callback",
        "http://auth:9999/callback",
        (_cors(),),
    ),
    _Route(
        "auth-v1-open-authorize",
        "auth",
        "/auth/v1/authorize",
        "http://auth:9999/authorize",
        (_cors(),),
    ),
    _Route("auth-v1", "auth", "/auth/v1/", "http://auth:9999/", _api_key(hide_credentials=False)),
    _Route("rest-v1", "rest", "/rest/v1/", "http://rest:3000/", _api_key(hide_credentials=True)),
    _Route(
        "graphql-v1",
        "rest",
        "/graphql/v1",
        "http://rest:3000/rpc/graphql",
        (
            _cors(),
            _key_auth(hide_credentials=True),
            _add_headers("Content-Profile:graphql_public"),
            _acl("admin", "anon"),
        ),
    ),
    _Route(
        "realtime-v1-ws",
        "realtime",
        "/realtime/v1/",
        f"{_REALTIME_URL}/socket",
        _api_key(hide_credentials=False),
        protocol="ws",
    ),
    _Route(
        "realtime-v1-rest",
        "realtime",
        "/realtime/v1/api",
        f"{_REALTIME_URL}/api",
        _api_key(hide_credentials=False),
    ),
    # Storage checks the JWT itself and serves public buckets without any key.
    _Route("storage-v1", "storage", "/storage/v1/", "http://storage:5000/", (_cors(),)),
    _Route("functions-v1", "functions", "/functions/v1/", "http://functions:9000/", (_cors(),)),
    # Logflare checks its own API key; vector sends the db logs through here.
    _Route("analytics-v1", "analytics", "/analytics/v1/", "http://analytics:4000/"),
    # pg-meta can change anything in the database: service_role only.
    _Route(
        "meta",
        "meta",
        "/pg/",
        "http://meta:8080/",
        (_key_auth(hide_credentials=False), _acl("admin")),
    ),
    _Route("dashboard", "studio", "/", "http://studio:3000/", (_cors(), _basic_auth())),
)


def _service(route: _Route) -> dict[str, Any]:
    service: dict[str, Any] = {"name": route.name, "url": route.url}
    if route.protocol is not None:
        service["protocol"] = route.protocol
    service["routes"] = [{"name": route.name, "strip_path": True, "paths": [route.path]}]
    if route.plugins:
        # A fresh copy: shared objects would come out as YAML anchors and aliases.
        service["plugins"] = copy.deepcopy(list(route.plugins))
    return service


def render_kong_config(
    *,
    anon_key: str,
    service_role_key: str,
    dashboard_username: str,
    dashboard_password: str,
    enabled_services: Collection[str],
) -> str:
    """kong.yml for one project, with only the routes of the services it runs."""
    enabled = set(enabled_services)
    config: dict[str, Any] = {
        "_format_version": "2.1",
        "_transform": True,
        "consumers": [
            {"username": _DASHBOARD},
            {"username": _ANON, "keyauth_credentials": [{"key": anon_key}]},
            {"username": _SERVICE_ROLE, "keyauth_credentials": [{"key": service_role_key}]},
        ],
        "acls": [{"consumer": name, "group": group} for name, group in _ACL_GROUPS.items()],
        "basicauth_credentials": [
            {
                "consumer": _DASHBOARD,
                "username": dashboard_username,
                "password": dashboard_password,
            }
        ],
        "services": [_service(route) for route in _ROUTES if route.target in enabled],
    }
    return yaml.safe_dump(config, sort_keys=False, width=_YAML_WIDTH)
