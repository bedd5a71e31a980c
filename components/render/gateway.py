"""The API gateway's routes as data, shared by the Envoy and the Kong 3.9 renderers.

Both gateways of the 2026-09 release walk this one table, so they cannot drift: which
path reaches which service, what it takes to pass (no key, an API key, the service-role
key, the dashboard password) and which paths are blocked. The table follows upstream's
``volumes/api/envoy/lds.template.yaml`` and ``volumes/api/kong.yml`` at Studio
2026.09.07; the renderers turn each ``Access`` and ``Translation`` into their gateway's
mechanism (Envoy: Lua + RBAC + basic_auth filters; Kong: key-auth, acl, basic-auth,
request-transformer, request-termination, post-function).

The real keys are written into the rendered files (the wire side ships them as
secrets), so neither gateway needs an entrypoint that expands ``$VARS`` at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from components.naming import REF_PATTERN
from components.render.kong import REALTIME_HOST

#: Both gateways listen here inside the container.
GATEWAY_PORT = 8000

#: Where RFC 8414 puts the OAuth authorization server metadata of an issuer without a path.
OAUTH_METADATA_PATH = "/.well-known/oauth-authorization-server"


class Access(StrEnum):
    """What a request needs to pass the gateway on a route."""

    #: Nothing: links in e-mails, OAuth/SAML redirects, JWKS and metadata carry no key.
    OPEN = "open"
    #: Nothing at the gateway; the service checks the caller's JWT itself (storage,
    #: functions: public buckets and ``verify_jwt = false`` functions need no key).
    SERVICE_CHECKS = "service-checks"
    #: An anon or service-role key in ``apikey`` (header or ``?apikey=``).
    API_KEY = "api-key"
    #: The service-role key only: these routes can read or change anything.
    SERVICE_ROLE = "service-role"
    #: The dashboard's user name and password (HTTP basic auth).
    DASHBOARD = "dashboard"
    #: Refused with 403 whatever the caller sends.
    BLOCKED = "blocked"


#: The accesses that check an API key at the gateway.
KEY_ACCESS = frozenset({Access.API_KEY, Access.SERVICE_ROLE})


class Translation(StrEnum):
    """How an opaque ``sb_`` key becomes the asymmetric JWT the service verifies."""

    NONE = "none"
    #: ``Authorization: Bearer <JWT>`` from the apikey, unless the caller sent a real JWT.
    AUTHORIZATION = "authorization"
    #: Realtime's websocket reads the key from ``x-api-key`` (set from ``?apikey=``).
    REALTIME_WS = "realtime-ws"
    #: Edge functions get the JWT in ``sb-api-key``; ``Authorization`` is left alone.
    FUNCTIONS = "functions"


class Cors(StrEnum):
    """Which browser origins may call a route."""

    ANY = "any"
    #: The project's public URL and localhost only (pg-meta: Studio's own origin).
    TRUSTED = "trusted"


@dataclass(frozen=True)
class Route:
    """``path`` on the gateway goes to ``upstream_path`` on ``host:port``."""

    name: str
    #: The project service the route leads to; the route exists only if it is enabled.
    service: str
    path: str
    upstream_path: str
    port: int
    access: Access
    translation: Translation = Translation.NONE
    #: True: only ``path`` itself matches; False: every path that starts with it.
    exact: bool = False
    #: The upstream host name; the service name unless Realtime's tenant host.
    host: str = ""
    websocket: bool = False
    add_headers: tuple[tuple[str, str], ...] = ()
    cors: Cors = Cors.ANY
    #: Whole-request timeout and the longest silence between reads, in seconds.
    timeout_s: int = 30
    idle_timeout_s: int | None = None
    #: ``X-Forwarded-Prefix`` sent upstream (Storage builds its URLs from it).
    forwarded_prefix: str = ""

    @property
    def upstream_host(self) -> str:
        return self.host or self.service

    @property
    def prefix_header(self) -> str:
        return self.forwarded_prefix or self.path


def _auth_open(name: str, path: str, upstream: str) -> Route:
    return Route(name, "auth", path, upstream, 9999, Access.OPEN)


_AUTHZ = Translation.AUTHORIZATION

#: Every route, most specific first: Envoy takes the first match in this order, Kong the
#: longest path, and tests check that both orders agree (no route hides a later one).
ROUTES: tuple[Route, ...] = (
    _auth_open("auth-v1-open-verify", "/auth/v1/verify", "/verify"),
    _auth_open("auth-v1-open-callback", "/auth/v1/callback", "/callback"),
    _auth_open("auth-v1-open-authorize", "/auth/v1/authorize", "/authorize"),
    _auth_open("auth-v1-open-jwks", "/auth/v1/.well-known/jwks.json", "/.well-known/jwks.json"),
    # The path depends on the issuer (RFC 8414); routes_for() puts the project's in.
    _auth_open("auth-oauth-metadata", OAUTH_METADATA_PATH, OAUTH_METADATA_PATH),
    _auth_open("auth-v1-open-sso-acs", "/auth/v1/sso/saml/acs", "/sso/saml/acs"),
    _auth_open("auth-v1-open-sso-metadata", "/auth/v1/sso/saml/metadata", "/sso/saml/metadata"),
    # The runtime's wall clock (400 s) expires before the gateway gives up.
    Route(
        "functions-v1",
        "functions",
        "/functions/v1/",
        "/",
        9000,
        Access.SERVICE_CHECKS,
        Translation.FUNCTIONS,
        timeout_s=410,
        idle_timeout_s=160,
    ),
    Route(
        "storage-v1",
        "storage",
        "/storage/v1/",
        "/",
        5000,
        Access.SERVICE_CHECKS,
        _AUTHZ,
        forwarded_prefix="/storage/v1",
    ),
    Route("auth-v1", "auth", "/auth/v1/", "/", 9999, Access.API_KEY, _AUTHZ),
    # PostgREST's OpenAPI root lists every table and function: service role only.
    Route("rest-v1-openapi", "rest", "/rest/v1/", "/", 3000, Access.SERVICE_ROLE, _AUTHZ, True),
    Route("rest-v1", "rest", "/rest/v1/", "/", 3000, Access.API_KEY, _AUTHZ),
    Route(
        "graphql-v1",
        "rest",
        "/graphql/v1",
        "/rpc/graphql",
        3000,
        Access.API_KEY,
        _AUTHZ,
        add_headers=(("Content-Profile", "graphql_public"),),
    ),
    # Realtime's tenant admin API and its OpenAPI document are not for clients.
    Route(
        "realtime-v1-api-openapi",
        "realtime",
        "/realtime/v1/api/openapi",
        "/api/openapi",
        4000,
        Access.BLOCKED,
        host=REALTIME_HOST,
    ),
    Route(
        "realtime-v1-api-tenants",
        "realtime",
        "/realtime/v1/api/tenants",
        "/api/tenants",
        4000,
        Access.BLOCKED,
        host=REALTIME_HOST,
    ),
    Route(
        "realtime-v1-api",
        "realtime",
        "/realtime/v1/api",
        "/api",
        4000,
        Access.API_KEY,
        _AUTHZ,
        host=REALTIME_HOST,
    ),
    Route(
        "realtime-v1-ws",
        "realtime",
        "/realtime/v1/",
        "/socket/",
        4000,
        Access.API_KEY,
        Translation.REALTIME_WS,
        host=REALTIME_HOST,
        websocket=True,
    ),
    # pg-meta runs any SQL as an admin: service role only, and only from Studio's origin.
    Route("pg-meta", "meta", "/pg/", "/", 8080, Access.SERVICE_ROLE, cors=Cors.TRUSTED),
    # Studio's MCP server can run SQL; upstream blocks it unless a user opens it up.
    Route("mcp-api-blocked", "studio", "/api/mcp", "/api/mcp", 3000, Access.BLOCKED),
    Route("mcp-blocked", "studio", "/mcp", "/api/mcp", 3000, Access.BLOCKED),
    Route("dashboard", "studio", "/", "/", 3000, Access.DASHBOARD),
)

#: What a blocked route answers.
BLOCKED_STATUS = 403
BLOCKED_MESSAGE = "Access is forbidden."

#: Characters that would break out of the quoted strings the keys are written into.
_UNSAFE = re.compile(r"[\s'\"\\]")
#: An issuer path that needs no quoting in a route match or a Kong expression.
_URL_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


_KEY_FIELDS = (
    "anon_key",
    "service_role_key",
    "publishable_key",
    "secret_key",
    "anon_key_asymmetric",
    "service_role_key_asymmetric",
)
_OPTIONAL_FIELDS = ("jwt_issuer", "public_url")


@dataclass(frozen=True)
class GatewayKeys:
    """The secrets and per-project values the gateway config is rendered with."""

    anon_key: str
    service_role_key: str
    publishable_key: str
    secret_key: str
    anon_key_asymmetric: str
    service_role_key_asymmetric: str
    dashboard_username: str
    dashboard_password: str
    project_ref: str
    #: ``API_EXTERNAL_URL`` (auth's JWT issuer): the OAuth metadata path follows its path.
    jwt_issuer: str = ""
    #: ``SUPABASE_PUBLIC_URL``: the origin pg-meta accepts besides localhost.
    public_url: str = ""

    def __post_init__(self) -> None:
        # Keys and URLs are written into Lua and Kong template strings: nothing in them may
        # end a quoted string. The password is only hashed (Envoy) or YAML-quoted (Kong), so
        # any password works; the user name ends at the first ':' of HTTP basic auth.
        for name in (*_KEY_FIELDS, "jwt_issuer", "public_url", "dashboard_username"):
            value = getattr(self, name)
            if _UNSAFE.search(value) or (not value and name not in _OPTIONAL_FIELDS):
                raise ValueError(
                    f"gateway setting {name} must be non-empty, without spaces, quotes or "
                    "backslashes"
                )
        if ":" in self.dashboard_username:
            raise ValueError("dashboard_username must not contain ':' (HTTP basic auth)")
        if not self.dashboard_password or "\n" in self.dashboard_password:
            raise ValueError("gateway setting dashboard_password must be one non-empty line")
        if not REF_PATTERN.match(self.project_ref):
            raise ValueError(f"gateway setting project_ref {self.project_ref!r} is not a ref")

    def role_keys(self, role: str) -> tuple[str, ...]:
        """Every key a client may present for ``role`` ("anon" or "service_role")."""
        if role == "anon":
            return (self.anon_key, self.publishable_key, self.anon_key_asymmetric)
        if role == "service_role":
            return (self.service_role_key, self.secret_key, self.service_role_key_asymmetric)
        raise ValueError(f"role must be 'anon' or 'service_role', got {role!r}")

    @property
    def translations(self) -> dict[str, str]:
        """Opaque key -> the asymmetric JWT the services verify in its place."""
        return {
            self.publishable_key: self.anon_key_asymmetric,
            self.secret_key: self.service_role_key_asymmetric,
        }

    def internal_keys(self, access: Access) -> tuple[str, ...]:
        """The JWTs (after translation) that pass a key-checked route of ``access``."""
        service = (self.service_role_key, self.service_role_key_asymmetric)
        if access is Access.SERVICE_ROLE:
            return service
        if access is Access.API_KEY:
            return (self.anon_key, self.anon_key_asymmetric, *service)
        raise ValueError(f"{access} does not check keys")


def oauth_metadata_path(jwt_issuer: str) -> str:
    """RFC 8414 section 3.1: the well-known segment goes between host and the issuer's path."""
    if not jwt_issuer:
        return OAUTH_METADATA_PATH
    parts = urlsplit(jwt_issuer.rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"jwt_issuer must be an http(s) URL, got {jwt_issuer!r}")
    if not _URL_PATH.match(parts.path) or parts.query or parts.fragment:
        raise ValueError(f"jwt_issuer's path may hold only URL-safe characters: {jwt_issuer!r}")
    return OAUTH_METADATA_PATH + parts.path if parts.path else OAUTH_METADATA_PATH


def routes_for(keys: GatewayKeys, enabled_services: Collection[str]) -> tuple[Route, ...]:
    """The project's routes: only enabled services, with its OAuth metadata path."""
    enabled = set(enabled_services)
    metadata_path = oauth_metadata_path(keys.jwt_issuer)
    routes = []
    for route in ROUTES:
        if route.service not in enabled:
            continue
        if route.path == OAUTH_METADATA_PATH:
            route = replace(route, path=metadata_path)
        routes.append(route)
    return tuple(routes)
