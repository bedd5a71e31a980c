"""The 2026-09 gateway configs, Envoy and Kong 3.9, walked request by request.

Expectations come from the route table's meaning (``gateway.ROUTES``: path, service,
access, translation), not from the rendered text: the simulators in ``gateway_sim``
read only the rendered files and act as the gateway would, running the Lua parts for
real under LuaJIT. Structure is checked against Envoy's own API (``envoy-data-plane``
protobuf dataclasses) and Kong's declarative format and plugin list.
"""

from __future__ import annotations

import base64
import functools
import importlib
import re
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from gateway_sim import PEER, EnvoySim, KongSim, Outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.api_keys import (
    ec_private_jwk_from_seed,
    make_api_key,
    make_asymmetric_api_key,
    make_opaque_key,
    opaque_random_part,
)
from components.render.envoy import render_envoy_config
from components.render.gateway import (
    BLOCKED_MESSAGE,
    KEY_ACCESS,
    OAUTH_METADATA_PATH,
    ROUTES,
    Access,
    Cors,
    GatewayKeys,
    Route,
    Translation,
    oauth_metadata_path,
)
from components.render.kong import REALTIME_HOST
from components.render.kong3 import KONG_ENV, KONG_PLUGINS, render_kong3_config
from components.services.realtime import TENANT

SECRET = "legacy-jwt-secret-with-at-least-32-characters"
ISSUED = 1_790_000_000
_EC = ec_private_jwk_from_seed(b"gateway-test-seed-of-32-bytes!!!")


def _asymmetric(role: str) -> str:
    return make_asymmetric_api_key(role, private_jwk=_EC, issued_at=ISSUED, lifetime_days=3650)


KEYS = GatewayKeys(
    anon_key=make_api_key("anon", jwt_secret=SECRET, issued_at=ISSUED, lifetime_days=3650),
    service_role_key=make_api_key(
        "service_role", jwt_secret=SECRET, issued_at=ISSUED, lifetime_days=3650
    ),
    publishable_key=make_opaque_key("publishable", random_part=opaque_random_part(b"p" * 17)),
    secret_key=make_opaque_key("secret", random_part=opaque_random_part(b"s" * 17)),
    anon_key_asymmetric=_asymmetric("anon"),
    service_role_key_asymmetric=_asymmetric("service_role"),
    dashboard_username="supabase",
    dashboard_password="dashboard-Password-42",
    project_ref="proj-one",
    jwt_issuer="https://api.example.test",
    public_url="https://api.example.test",
)
#: Every service a gateway route can lead to.
ALL = frozenset({"auth", "rest", "realtime", "storage", "functions", "meta", "studio"})

ANON_FORMS = {
    "legacy": KEYS.anon_key,
    "opaque": KEYS.publishable_key,
    "asymmetric": KEYS.anon_key_asymmetric,
}
SERVICE_FORMS = {
    "legacy": KEYS.service_role_key,
    "opaque": KEYS.secret_key,
    "asymmetric": KEYS.service_role_key_asymmetric,
}
#: What the services see in place of each opaque key.
TRANSLATED = {
    KEYS.publishable_key: KEYS.anon_key_asymmetric,
    KEYS.secret_key: KEYS.service_role_key_asymmetric,
}
UNKNOWN_KEYS = [
    "not-a-key",
    make_opaque_key("secret", random_part=opaque_random_part(b"x" * 17)),
    make_api_key(
        "service_role", jwt_secret="another-secret-" * 3, issued_at=ISSUED, lifetime_days=9
    ),
]

Sim = Callable[..., Any]
GATEWAYS: dict[str, Callable[[GatewayKeys, frozenset[str]], Any]] = {
    "envoy": lambda keys, enabled: EnvoySim(render_envoy_config(keys, enabled_services=enabled)),
    "kong": lambda keys, enabled: KongSim(render_kong3_config(keys, enabled_services=enabled)),
}


@pytest.fixture(params=sorted(GATEWAYS), scope="module")
def gateway(request: pytest.FixtureRequest) -> Any:
    return GATEWAYS[request.param](KEYS, ALL)


def _routes(*accesses: Access) -> list[Route]:
    return [route for route in ROUTES if route.access in accesses]


def _ids(routes: list[Route]) -> list[str]:
    return [route.name for route in routes]


def _path(route: Route) -> str:
    """A request path only ``route`` should take (the OAuth metadata path per KEYS)."""
    if route.path == OAUTH_METADATA_PATH:
        return oauth_metadata_path(KEYS.jwt_issuer)
    if route.exact or not route.path.endswith("/"):
        return route.path
    return route.path + "probe/1"


def _expected_upstream_path(route: Route, path: str) -> str:
    rest = path.split("?", 1)[0][len(route.path) :]
    if not rest:
        return route.upstream_path
    return route.upstream_path.rstrip("/") + "/" + rest.lstrip("/")


def _assert_reaches(outcome: Outcome, route: Route, path: str) -> None:
    assert outcome.status == 200 and outcome.forwarded, outcome
    assert (outcome.host, outcome.port) == (route.upstream_host, route.port)
    assert outcome.upstream_path == _expected_upstream_path(route, path)
    assert "x-consumer-groups" not in outcome.headers  # no service learns the ACL group


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _first_in_table(path: str) -> Route:
    bare = path.split("?", 1)[0]
    return next(r for r in ROUTES if (bare == r.path if r.exact else bare.startswith(r.path)))


# --- the table itself --------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=_ids(list(ROUTES)))
def test_no_route_is_hidden_by_an_earlier_one(route: Route) -> None:
    if route.path != OAUTH_METADATA_PATH:
        assert _first_in_table(_path(route)) is route


def test_route_names_are_unique_and_every_access_is_used() -> None:
    assert len({route.name for route in ROUTES}) == len(ROUTES)
    assert {route.access for route in ROUTES} == set(Access)


# --- behaviour, both gateways --------------------------------------------------------


@pytest.mark.parametrize("route", _routes(Access.OPEN), ids=_ids(_routes(Access.OPEN)))
def test_open_routes_need_no_key(gateway: Any, route: Route) -> None:
    path = _path(route) + "?token=abc"
    outcome = gateway.handle(path)
    _assert_reaches(outcome, route, path)


KEYED = _routes(*KEY_ACCESS)


@pytest.mark.parametrize("route", KEYED, ids=_ids(KEYED))
def test_keyed_routes_refuse_missing_and_unknown_keys(gateway: Any, route: Route) -> None:
    assert gateway.handle(_path(route)).status == 401
    for key in UNKNOWN_KEYS:
        outcome = gateway.handle(_path(route), {"apikey": key})
        assert outcome.status == 401 and not outcome.forwarded, key


API = _routes(Access.API_KEY)


@pytest.mark.parametrize("route", API, ids=_ids(API))
@pytest.mark.parametrize("form", ["legacy", "opaque", "asymmetric"])
@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_api_key_routes_take_every_key_of_both_roles(
    gateway: Any, route: Route, form: str, role: str
) -> None:
    key = (ANON_FORMS if role == "anon" else SERVICE_FORMS)[form]
    outcome = gateway.handle(_path(route), {"apikey": key})
    _assert_reaches(outcome, route, _path(route))
    # The service sees the key too (realtime and storage read apikey), as a JWT.
    assert outcome.headers["apikey"] in (key, TRANSLATED.get(key))


SERVICE_ONLY = _routes(Access.SERVICE_ROLE)


@pytest.mark.parametrize("route", SERVICE_ONLY, ids=_ids(SERVICE_ONLY))
@pytest.mark.parametrize("form", ["legacy", "opaque", "asymmetric"])
def test_service_role_routes_refuse_anon_and_admit_service_role(
    gateway: Any, route: Route, form: str
) -> None:
    refused = gateway.handle(_path(route), {"apikey": ANON_FORMS[form]})
    assert refused.status == 403 and not refused.forwarded
    admitted = gateway.handle(_path(route), {"apikey": SERVICE_FORMS[form]})
    _assert_reaches(admitted, route, _path(route))


def test_openapi_root_is_service_role_only_but_tables_are_not(gateway: Any) -> None:
    assert gateway.handle("/rest/v1/", {"apikey": KEYS.publishable_key}).status == 403
    assert gateway.handle("/rest/v1/todos?select=*", {"apikey": KEYS.publishable_key}).forwarded


TRANSLATING = [r for r in ROUTES if r.translation is Translation.AUTHORIZATION]
#: Each translating route with each opaque key that passes it.
TRANSLATION_CASES = [
    pytest.param(route, opaque, id=f"{route.name}-{label}")
    for route in TRANSLATING
    for label, opaque in (("publishable", KEYS.publishable_key), ("secret", KEYS.secret_key))
    if not (route.access is Access.SERVICE_ROLE and opaque == KEYS.publishable_key)
]


@pytest.mark.parametrize(("route", "opaque"), TRANSLATION_CASES)
def test_opaque_keys_become_the_asymmetric_jwt(gateway: Any, route: Route, opaque: str) -> None:
    for headers in ({"apikey": opaque}, {"apikey": opaque, "Authorization": f"Bearer {opaque}"}):
        outcome = gateway.handle(_path(route), headers)
        _assert_reaches(outcome, route, _path(route))
        assert outcome.headers["authorization"] == f"Bearer {TRANSLATED[opaque]}"


@pytest.mark.parametrize("route", TRANSLATING, ids=_ids(TRANSLATING))
def test_a_callers_own_jwt_wins_over_the_key(gateway: Any, route: Route) -> None:
    user = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"
    key = KEYS.secret_key
    outcome = gateway.handle(_path(route), {"apikey": key, "Authorization": user})
    assert outcome.headers["authorization"] == user


@pytest.mark.parametrize("form", ["legacy", "opaque", "asymmetric"])
def test_query_string_keys_work_and_reach_services_as_jwts(gateway: Any, form: str) -> None:
    outcome = gateway.handle(f"/rest/v1/todos?apikey={ANON_FORMS[form]}&select=*")
    assert outcome.forwarded
    expected = TRANSLATED.get(ANON_FORMS[form], ANON_FORMS[form])
    assert outcome.headers["authorization"] == f"Bearer {expected}"


def test_storage_without_a_key_is_left_to_storage(gateway: Any) -> None:
    route = next(r for r in ROUTES if r.service == "storage")
    path = "/storage/v1/object/public/avatars/a.png"
    outcome = gateway.handle(path)
    _assert_reaches(outcome, route, path)
    assert "authorization" not in outcome.headers  # no empty header for S3 signatures


def test_envoy_owns_the_forwarded_prefix() -> None:
    envoy = GATEWAYS["envoy"](KEYS, ALL)
    outcome = envoy.handle("/storage/v1/object/x", {"X-Forwarded-Prefix": "/evil"})
    storage = next(r for r in ROUTES if r.service == "storage")
    assert outcome.headers["x-forwarded-prefix"] == storage.prefix_header


def test_storage_passes_s3_signatures_through(gateway: Any) -> None:
    signature = "AWS4-HMAC-SHA256 Credential=abc/20260101/local/s3/aws4_request"
    outcome = gateway.handle("/storage/v1/s3/bucket/key", {"Authorization": signature})
    assert outcome.headers["authorization"] == signature


REALTIME_WS = next(r for r in ROUTES if r.translation is Translation.REALTIME_WS)


@pytest.mark.parametrize("opaque", [KEYS.publishable_key, KEYS.secret_key], ids=["pub", "secret"])
def test_realtime_websocket_gets_the_jwt_in_x_api_key(gateway: Any, opaque: str) -> None:
    path = f"/realtime/v1/websocket?apikey={opaque}&vsn=1.0.0"
    outcome = gateway.handle(path)
    _assert_reaches(outcome, REALTIME_WS, path)
    assert outcome.headers["x-api-key"] == TRANSLATED[opaque]
    # The socket's query keeps its other parameters; its apikey is the JWT too.
    query = dict(parse_qsl(outcome.path.partition("?")[2]))
    assert query == {"apikey": TRANSLATED[opaque], "vsn": "1.0.0"}


@pytest.mark.parametrize("route", [r for r in ROUTES if r.service == "realtime"], ids=str)
def test_realtime_is_called_by_its_tenant_host(gateway: Any, route: Route) -> None:
    outcome = gateway.handle(_path(route), {"apikey": KEYS.service_role_key})
    if route.access is Access.BLOCKED:
        assert outcome.status == 403
        return
    # Realtime reads its tenant from the first label of Host: the tenant its seed made.
    assert outcome.headers["host"] == REALTIME_HOST
    assert outcome.headers["host"].split(".")[0] == TENANT


FUNCTIONS = next(r for r in ROUTES if r.translation is Translation.FUNCTIONS)


@pytest.mark.parametrize(
    ("headers", "sb_api_key"),
    [
        ({"apikey": KEYS.secret_key}, KEYS.service_role_key_asymmetric),
        ({"apikey": KEYS.publishable_key}, KEYS.anon_key_asymmetric),
        ({"Authorization": f"Bearer {KEYS.publishable_key}"}, KEYS.anon_key_asymmetric),
        ({"apikey": KEYS.anon_key, "sb-api-key": "spoofed"}, None),
        ({"Authorization": f"Bearer {KEYS.anon_key}"}, None),
        ({}, None),
    ],
    ids=["secret", "publishable", "bearer-opaque", "legacy-spoof", "legacy-bearer", "none"],
)
def test_functions_get_the_jwt_in_sb_api_key(
    gateway: Any, headers: dict[str, str], sb_api_key: str | None
) -> None:
    outcome = gateway.handle("/functions/v1/hello", headers)
    _assert_reaches(outcome, FUNCTIONS, "/functions/v1/hello")
    assert outcome.headers.get("sb-api-key") == sb_api_key
    assert outcome.headers.get("authorization") == headers.get("Authorization")


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"apikey": UNKNOWN_KEYS[1]}, "Invalid API key"),
        ({"Authorization": f"Bearer {UNKNOWN_KEYS[1]}"}, "Invalid API key"),
        (
            {"apikey": KEYS.publishable_key, "Authorization": f"Bearer {KEYS.secret_key}"},
            "Conflicting API keys",
        ),
    ],
    ids=["unknown-opaque", "unknown-bearer", "conflicting"],
)
def test_functions_refuse_unknown_or_conflicting_opaque_keys(
    gateway: Any, headers: dict[str, str], message: str
) -> None:
    outcome = gateway.handle("/functions/v1/hello", headers)
    assert outcome.status == 401 and not outcome.forwarded
    assert outcome.body == message  # the caller is told which


DASHBOARD = next(r for r in ROUTES if r.access is Access.DASHBOARD)


def test_dashboard_needs_its_password_and_keeps_it(gateway: Any) -> None:
    assert gateway.handle("/project/default").status == 401
    assert gateway.handle("/", _basic("supabase", "wrong")).status == 401
    assert gateway.handle("/", _basic("other", KEYS.dashboard_password)).status == 401
    assert gateway.handle("/", {"apikey": KEYS.service_role_key}).status == 401
    outcome = gateway.handle("/project/default", _basic("supabase", KEYS.dashboard_password))
    _assert_reaches(outcome, DASHBOARD, "/project/default")
    assert "authorization" not in outcome.headers  # the password stops at the gateway


BLOCKED = _routes(Access.BLOCKED)


@pytest.mark.parametrize("route", BLOCKED, ids=_ids(BLOCKED))
def test_blocked_paths_are_refused_whatever_the_caller_sends(gateway: Any, route: Route) -> None:
    for headers in (
        {},
        {"apikey": KEYS.service_role_key},
        {"apikey": KEYS.secret_key},
        _basic("supabase", KEYS.dashboard_password),
    ):
        for path in (route.path, route.path + "/more"):
            outcome = gateway.handle(path, headers)
            assert outcome.status == 403 and not outcome.forwarded, (path, headers)
            # Envoy's per-route RBAC denies before the router's direct response is reached.
            expected = BLOCKED_MESSAGE if isinstance(gateway, KongSim) else "RBAC: access denied"
            assert outcome.body == expected


def test_realtime_tenant_admin_api_is_blocked(gateway: Any) -> None:
    outcome = gateway.handle(f"/realtime/v1/api/tenants/{TENANT}", {"apikey": KEYS.secret_key})
    assert outcome.status == 403
    broadcast = gateway.handle("/realtime/v1/api/broadcast", {"apikey": KEYS.publishable_key})
    assert broadcast.forwarded


@pytest.mark.parametrize(
    ("issuer", "expected"),
    [
        ("", "/.well-known/oauth-authorization-server"),
        ("https://api.example.test/", "/.well-known/oauth-authorization-server"),
        ("https://example.test/auth/v1", "/.well-known/oauth-authorization-server/auth/v1"),
        ("http://localhost:20040", "/.well-known/oauth-authorization-server"),  # local default
        ("https://example.test/v1/X/", "/.well-known/oauth-authorization-server/v1/X"),
    ],
)
@pytest.mark.parametrize("name", sorted(GATEWAYS))
def test_oauth_metadata_follows_the_issuer(name: str, issuer: str, expected: str) -> None:
    keys = GatewayKeys(**{**KEYS.__dict__, "jwt_issuer": issuer})
    outcome = GATEWAYS[name](keys, ALL).handle(expected)
    assert outcome.forwarded and outcome.upstream_path == OAUTH_METADATA_PATH
    assert outcome.host == "auth"


@pytest.mark.parametrize("name", sorted(GATEWAYS))
def test_only_enabled_services_get_routes(name: str) -> None:
    bare = GATEWAYS[name](KEYS, ALL - {"studio", "functions", "realtime"})
    for path in ("/", "/mcp", "/api/mcp", "/project/default"):
        assert bare.handle(path, _basic("supabase", KEYS.dashboard_password)).status == 404
    assert bare.handle("/functions/v1/hello", {"apikey": KEYS.secret_key}).status == 404
    assert bare.handle("/realtime/v1/websocket", {"apikey": KEYS.secret_key}).status == 404
    assert bare.handle("/rest/v1/todos", {"apikey": KEYS.anon_key}).forwarded
    # With studio, a disabled service's path falls to the password-guarded dashboard.
    studio_only = GATEWAYS[name](KEYS, ALL - {"functions"})
    fell = studio_only.handle("/functions/v1/hello", {"apikey": KEYS.secret_key})
    assert fell.status == 401 and not fell.forwarded


def _matrix() -> Iterator[tuple[str, dict[str, str]]]:
    credentials = [
        {},
        *({"apikey": key} for key in (*ANON_FORMS.values(), *SERVICE_FORMS.values())),
        {"apikey": UNKNOWN_KEYS[1]},
        _basic("supabase", KEYS.dashboard_password),
    ]
    for route in ROUTES:
        for headers in credentials:
            yield _path(route), headers


def test_envoy_and_kong_agree_on_every_route_and_key() -> None:
    envoy, kong = (GATEWAYS[name](KEYS, ALL) for name in ("envoy", "kong"))
    for path, headers in _matrix():
        a, b = envoy.handle(path, dict(headers)), kong.handle(path, dict(headers))
        assert (a.status, a.host, a.port, a.upstream_path) == (
            b.status,
            b.host,
            b.port,
            b.upstream_path,
        ), (path, headers)
        for header in ("authorization", "x-api-key", "sb-api-key"):
            assert a.headers.get(header) == b.headers.get(header), (path, headers, header)


# --- structure -----------------------------------------------------------------------


def _type_urls(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "@type" in node:
            yield node["@type"]
        for value in node.values():
            yield from _type_urls(value)
    elif isinstance(node, list):
        for value in node:
            yield from _type_urls(value)


def _envoy_documents() -> dict[str, Any]:
    files = render_envoy_config(KEYS, enabled_services=ALL)
    # Anchors would be legal YAML, but an edit of one shared node would change many routes.
    assert not any("&id" in content for content in files.values())
    return {path: _load(content) for path, content in files.items()}


def test_envoy_config_parses_as_envoys_v3_api() -> None:
    """Every message and typed config is read into Envoy's own protobuf types.

    ``envoy-data-plane`` is generated from Envoy's API protos: an unknown field, a wrong
    type or an unregistered ``@type`` raises, as Envoy's loader would refuse the file.
    """
    bootstrap_v3 = importlib.import_module("envoy_data_plane.envoy.config.bootstrap.v3")
    listener_v3 = importlib.import_module("envoy_data_plane.envoy.config.listener.v3")
    cluster_v3 = importlib.import_module("envoy_data_plane.envoy.config.cluster.v3")
    documents = _envoy_documents()
    urls = {url for document in documents.values() for url in _type_urls(document)}
    assert urls, "no typed config found"
    for url in urls:
        prefix, _, name = url.partition("/")
        assert prefix == "type.googleapis.com" and ".v3." in name, url
        importlib.import_module("envoy_data_plane." + name.rsplit(".", 1)[0])
    bootstrap = bootstrap_v3.Bootstrap.from_dict(documents["/etc/envoy/envoy.yaml"])
    assert bootstrap.admin.address.socket_address.address == "127.0.0.1"
    (listener,) = documents["/etc/envoy/lds.yaml"]["resources"]
    parsed = listener_v3.Listener.from_dict({k: v for k, v in listener.items() if k != "@type"})
    hcm = parsed.filter_chains[0].filters[0].typed_config.unpack()
    assert [type(f.typed_config.unpack()).__name__ for f in hcm.http_filters][-1] == "Router"
    for cluster in documents["/etc/envoy/cds.yaml"]["resources"]:
        cluster_v3.Cluster.from_dict({k: v for k, v in cluster.items() if k != "@type"})
    with pytest.raises(KeyError):
        listener_v3.Listener.from_dict({"name": "x", "adress": {}})  # the check can fail


def test_envoy_files_and_clusters_resolve() -> None:
    documents = _envoy_documents()
    sources = documents["/etc/envoy/envoy.yaml"]["dynamic_resources"]
    assert {sources[k]["path_config_source"]["path"] for k in ("lds_config", "cds_config")} == {
        "/etc/envoy/lds.yaml",
        "/etc/envoy/cds.yaml",
    }
    clusters = {c["name"] for c in documents["/etc/envoy/cds.yaml"]["resources"]}
    (listener,) = documents["/etc/envoy/lds.yaml"]["resources"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    (vhost,) = hcm["route_config"]["virtual_hosts"]
    used = {r["route"]["cluster"] for r in vhost["routes"] if "route" in r}
    assert used == clusters  # every route's cluster exists, and no cluster is unused
    assert listener["address"]["socket_address"]["port_value"] == 8000
    assert documents["/etc/envoy/envoy.yaml"]["node"]["id"] == f"supabase-{KEYS.project_ref}"


def test_kong_config_is_a_kong3_declarative_config() -> None:
    (content,) = render_kong3_config(KEYS, enabled_services=ALL).values()
    config = _load(content)
    assert config["_format_version"] == "3.0"
    assert set(config) == {"_format_version", "_transform", "consumers", "services"}
    names = [s["name"] for s in config["services"]]
    routes = [r for s in config["services"] for r in s["routes"]]
    assert len(set(names)) == len(names) and len({r["name"] for r in routes}) == len(routes)
    priorities = [r["priority"] for r in routes]
    assert len(set(priorities)) == len(priorities)
    assert all(0 <= p <= 2**46 - 1 for p in priorities)  # Kong's schema bound
    used = {p["name"] for s in config["services"] for p in s.get("plugins", [])}
    assert used <= set(KONG_PLUGINS) == set(KONG_ENV["KONG_PLUGINS"].split(","))
    assert KONG_ENV["KONG_ROUTER_FLAVOR"] == "expressions"  # routes use `expression`
    keys = [
        c["key"]
        for consumer in config["consumers"]
        for c in consumer.get("keyauth_credentials", [])
    ]
    assert len(set(keys)) == len(keys) == 6
    assert "&" not in content and "*id" not in content  # no YAML anchors Kong would misread


@pytest.mark.parametrize("name", sorted(GATEWAYS))
def test_rendering_is_deterministic(name: str) -> None:
    render = render_envoy_config if name == "envoy" else render_kong3_config
    assert render(KEYS, enabled_services=ALL) == render(KEYS, enabled_services=set(ALL))


_UNQUOTABLE = "must be non-empty, without spaces, quotes or backslashes"
_ONE_LINE = "gateway setting dashboard_password must be one non-empty line"
_NO_COLON = "dashboard_username must not contain ':' (HTTP basic auth)"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"anon_key": "has'quote"}, f"gateway setting anon_key {_UNQUOTABLE}"),
        ({"secret_key": 'sb_secret_"x'}, f"gateway setting secret_key {_UNQUOTABLE}"),
        ({"anon_key_asymmetric": "a b"}, f"gateway setting anon_key_asymmetric {_UNQUOTABLE}"),
        ({"public_url": "https://x/\\"}, f"gateway setting public_url {_UNQUOTABLE}"),
        ({"dashboard_password": ""}, _ONE_LINE),
        ({"dashboard_password": "two\nlines"}, _ONE_LINE),
        ({"dashboard_username": "a:b"}, _NO_COLON),
        ({"dashboard_username": ""}, f"gateway setting dashboard_username {_UNQUOTABLE}"),
        ({"publishable_key": ""}, f"gateway setting publishable_key {_UNQUOTABLE}"),
        ({"project_ref": "Not_A_Ref"}, "gateway setting project_ref 'Not_A_Ref' is not a ref"),
    ],
)
def test_gateway_keys_refuse_values_that_would_break_the_config(
    bad: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError) as error:
        GatewayKeys(**{**KEYS.__dict__, **bad})
    assert str(error.value) == message  # the whole message: the setting and the rule


@pytest.mark.parametrize("access", [Access.OPEN, Access.DASHBOARD, Access.BLOCKED])
def test_only_key_checked_accesses_have_internal_keys(access: Access) -> None:
    with pytest.raises(ValueError) as error:
        KEYS.internal_keys(access)
    assert str(error.value) == f"{access.value} does not check keys"


@pytest.mark.parametrize("name", sorted(GATEWAYS))
@pytest.mark.parametrize("password", ["with space", "quote'\"mix", "back\\slash:colon", "ünï$(x)"])
def test_any_dashboard_password_works(name: str, password: str) -> None:
    keys = GatewayKeys(**{**KEYS.__dict__, "dashboard_password": password})
    gateway = GATEWAYS[name](keys, ALL)
    assert gateway.handle("/", _basic("supabase", password)).forwarded
    assert gateway.handle("/", _basic("supabase", password + "x")).status == 401


@pytest.mark.parametrize("issuer", ["ftp://x", "https://x/a b", "https://x/p?q=1", "nohost"])
def test_bad_issuers_are_refused(issuer: str) -> None:
    with pytest.raises(ValueError, match="jwt_issuer"):
        render_envoy_config(
            GatewayKeys(**{**KEYS.__dict__, "jwt_issuer": issuer}), enabled_services=ALL
        )


#: Path pieces of every route, plus a few no route names (and "" for double slashes).
_SEGMENTS = [
    *sorted({part for route in ROUTES for part in route.path.split("/") if part}),
    "x",
    "v2",
    "",
]
_CREDENTIALS = [
    {},
    {"apikey": KEYS.publishable_key},
    {"apikey": KEYS.secret_key},
    {"apikey": KEYS.anon_key},
    {"apikey": UNKNOWN_KEYS[1]},
    {"Authorization": f"Bearer {KEYS.secret_key}"},
    _basic("supabase", KEYS.dashboard_password),
]


@functools.cache
def _gateways(enabled: frozenset[str]) -> tuple[Any, Any]:
    return GATEWAYS["envoy"](KEYS, enabled), GATEWAYS["kong"](KEYS, enabled)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segments=st.lists(st.sampled_from(_SEGMENTS), min_size=0, max_size=5),
    trailing=st.booleans(),
    credentials=st.sampled_from(_CREDENTIALS),
    disabled=st.sets(st.sampled_from(sorted(ALL)), max_size=2),
)
def test_envoy_and_kong_agree_on_any_path(
    segments: list[str], trailing: bool, credentials: dict[str, str], disabled: set[str]
) -> None:
    path = "/" + "/".join(segments) + ("/" if trailing and segments else "")
    envoy, kong = _gateways(frozenset(ALL - disabled))
    a, b = envoy.handle(path, dict(credentials)), kong.handle(path, dict(credentials))
    assert (a.status, a.host, a.upstream_path) == (b.status, b.host, b.upstream_path), path
    assert a.host is None or a.host in {
        r.upstream_host for r in ROUTES if r.service not in disabled
    }
    for header in ("authorization", "x-api-key", "sb-api-key"):
        assert a.headers.get(header) == b.headers.get(header), (path, header)


# --- CORS: which browser origins may call a route ---------------------------------------


def _origin_matches(matchers: list[dict[str, Any]], origin: str) -> bool:
    """Envoy's StringMatcher list: ``exact`` or an RE2 ``safe_regex`` over the whole origin."""
    return any(
        origin == m["exact"] if "exact" in m else re.fullmatch(m["safe_regex"]["regex"], origin)
        for m in matchers
    )


def _load(content: str) -> Any:
    return yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _envoy_cors(keys: GatewayKeys) -> dict[str, dict[str, Any]]:
    """Route name -> the CORS policy Envoy applies (the route's own, else the host's)."""
    (listener,) = _load(render_envoy_config(keys, enabled_services=ALL)["/etc/envoy/lds.yaml"])[
        "resources"
    ]
    (vhost,) = listener["filter_chains"][0]["filters"][0]["typed_config"]["route_config"][
        "virtual_hosts"
    ]
    default = vhost["typed_per_filter_config"]["envoy.filters.http.cors"]
    return {
        route["name"]: route["typed_per_filter_config"].get("envoy.filters.http.cors", default)
        for route in vhost["routes"]
    }


def _kong_allows(config: dict[str, Any], origin: str) -> bool:
    """Kong's cors plugin: no origins means any; else a plain value or an anchored regex."""
    origins = config.get("origins") or ["*"]
    return any(o in ("*", origin) or re.fullmatch(o, origin) for o in origins)


def _kong_cors(keys: GatewayKeys) -> dict[str, dict[str, Any] | None]:
    """Route name -> the config of its cors plugin (None: the route has none)."""
    (content,) = render_kong3_config(keys, enabled_services=ALL).values()
    return {
        service["name"]: next(
            (p.get("config", {}) for p in service.get("plugins", []) if p["name"] == "cors"), None
        )
        for service in _load(content)["services"]
    }


def _cors_check(name: str, keys: GatewayKeys) -> Callable[[Route, str], bool]:
    """Whether the gateway ``name``, rendered with ``keys``, lets ``origin`` call a route."""
    if name == "envoy":
        policies = _envoy_cors(keys)
        return lambda route, origin: _origin_matches(
            policies[route.name]["allow_origin_string_match"], origin
        )
    plugins = _kong_cors(keys)

    def allows(route: Route, origin: str) -> bool:
        config = plugins[route.name]
        assert config is not None, route.name
        return _kong_allows(config, origin)

    return allows


LOCAL_ORIGINS = ["http://localhost:8082", "http://127.0.0.1", "https://[::1]:3000"]
FOREIGN_ORIGINS = ["https://evil.example", "http://localhost.evil.example", "http://10.0.0.1"]
ROUTED = [r for r in ROUTES if r.access is not Access.BLOCKED]


@pytest.mark.parametrize("name", sorted(GATEWAYS))
def test_browsers_may_call_every_api_from_any_origin_but_pg_meta(name: str) -> None:
    allows = _cors_check(name, KEYS)
    for route in ROUTED:
        trusted = route.cors is Cors.TRUSTED
        for origin in FOREIGN_ORIGINS:
            assert allows(route, origin) is not trusted, (route.name, origin)
        for origin in (*LOCAL_ORIGINS, KEYS.public_url):
            assert allows(route, origin), (route.name, origin)


@pytest.mark.parametrize("name", sorted(GATEWAYS))
def test_pg_meta_trusts_the_public_url_and_localhost_only(name: str) -> None:
    meta = next(r for r in ROUTES if r.cors is Cors.TRUSTED)
    slashed = _cors_check(
        name, GatewayKeys(**{**KEYS.__dict__, "public_url": "https://studio.example.test/"})
    )
    assert slashed(meta, "https://studio.example.test")  # an Origin has no trailing "/"
    assert not slashed(meta, "https://api.example.test")
    unset = _cors_check(name, GatewayKeys(**{**KEYS.__dict__, "public_url": ""}))
    for origin in LOCAL_ORIGINS:
        assert unset(meta, origin), origin
    assert not unset(meta, "https://studio.example.test")


def test_envoys_cors_lets_supabase_js_through() -> None:
    """supabase-js sends apikey/authorization/prefer... and reads Content-Range (counts)."""
    for name, policy in _envoy_cors(KEYS).items():
        methods = set(policy["allow_methods"].split(","))
        assert {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"} <= methods, name
        assert policy["allow_headers"] == "*" and policy["expose_headers"] == "*", name
        assert int(policy["max_age"]) > 0, name  # browsers may cache the preflight


@pytest.mark.parametrize("profile", [None, "other_schema"])
def test_graphql_reaches_postgrest_on_the_graphql_public_profile(
    gateway: Any, profile: str | None
) -> None:
    headers = {"apikey": KEYS.anon_key}
    if profile is not None:
        headers["Content-Profile"] = profile  # a caller's own choice is kept by both
    outcome = gateway.handle("/graphql/v1", headers)
    assert outcome.forwarded and outcome.upstream_path == "/rpc/graphql"
    assert outcome.headers["content-profile"] == (profile or "graphql_public")


# --- Envoy's connection manager: what a request must look like to be routed ------------


@pytest.fixture(scope="module")
def envoy() -> Any:
    return GATEWAYS["envoy"](KEYS, ALL)


@pytest.mark.parametrize(
    "path",
    ["/rest/v1/%2e%2e/%2E%2E/pg/tables", "/rest/v1/./../../pg/tables", "/functions/v1/../../pg/"],
)
def test_dot_segments_cannot_dodge_pg_metas_guard(envoy: Any, path: str) -> None:
    refused = envoy.handle(path, {"apikey": KEYS.publishable_key})
    assert refused.status == 403 and not refused.forwarded, refused
    admitted = envoy.handle(path, {"apikey": KEYS.secret_key})
    assert (admitted.host, admitted.route) == ("meta", "pg-meta")


@pytest.mark.parametrize("path", ["/rest/v1/..%2Fpg/tables", "/rest/v1/..%5cpg/", "/pg%2ftables"])
def test_escaped_slashes_are_refused(envoy: Any, path: str) -> None:
    outcome = envoy.handle(path, {"apikey": KEYS.secret_key})
    assert outcome.status == 400 and not outcome.forwarded


def test_headers_with_underscores_are_refused(envoy: Any) -> None:
    """``X_Forwarded_Prefix`` would reach a CGI-style service as ``X-Forwarded-Prefix``."""
    outcome = envoy.handle("/storage/v1/object/x", {"X_Forwarded_Prefix": "/evil"})
    assert outcome.status == 400 and not outcome.forwarded
    assert envoy.handle("/storage/v1/object/x", {"X-Client-Info": "js"}).forwarded


def test_realtimes_websocket_upgrade_is_allowed(envoy: Any) -> None:
    headers = {"apikey": KEYS.publishable_key, "Upgrade": "websocket"}
    outcome = envoy.handle(f"/realtime/v1/websocket?apikey={KEYS.publishable_key}", headers)
    assert outcome.forwarded and outcome.route == REALTIME_WS.name
    assert envoy.handle("/rest/v1/todos", {**headers, "Upgrade": "h2c"}).status == 403


def test_envoy_tells_services_the_callers_host_and_port(envoy: Any) -> None:
    """Auth and Storage build public URLs from X-Forwarded-Host/-Port; an edge proxy's win."""
    direct = envoy.handle("/auth/v1/verify", {"Host": "api.example.test:20040"})
    assert direct.headers["x-forwarded-host"] == "api.example.test:20040"
    assert direct.headers["x-forwarded-port"] == "8000"  # the listener's own port
    proxied = envoy.handle(
        "/storage/v1/object/x",
        {"Host": "gw", "X-Forwarded-Host": "shop.example.com", "X-Forwarded-Port": "443"},
    )
    assert (proxied.headers["x-forwarded-host"], proxied.headers["x-forwarded-port"]) == (
        "shop.example.com",
        "443",
    )


def _hcm(documents: dict[str, Any]) -> dict[str, Any]:
    (listener,) = documents["/etc/envoy/lds.yaml"]["resources"]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def test_envoy_listens_on_every_interface_and_owns_x_forwarded_for() -> None:
    documents = _envoy_documents()
    (listener,) = documents["/etc/envoy/lds.yaml"]["resources"]
    # Docker's published port and the other containers reach the gateway from outside.
    assert listener["address"]["socket_address"]["address"] == "0.0.0.0"
    # The client's address is the peer's (services rate-limit by it), not a sent header.
    assert _hcm(documents)["use_remote_address"] is True
    for cluster in documents["/etc/envoy/cds.yaml"]["resources"]:
        assert cluster["load_assignment"]["cluster_name"] == cluster["name"]


def test_envoy_sets_x_forwarded_for_and_proto_itself_unless_behind_the_edge() -> None:
    """Services rate-limit by X-Forwarded-For and build redirect URLs from -Proto."""
    spoofed = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "https"}
    direct = GATEWAYS["envoy"](KEYS, ALL).handle("/auth/v1/verify", dict(spoofed))
    assert direct.headers["x-forwarded-for"].split(", ")[-1] == PEER  # the real peer is last
    assert direct.headers["x-forwarded-proto"] == "http"  # a client's claim is not kept
    files = render_envoy_config(KEYS, enabled_services=ALL, trusted_hops=1)
    behind = EnvoySim(files).handle("/auth/v1/verify", dict(spoofed))
    assert behind.headers["x-forwarded-proto"] == "https"  # the edge proxy's is


def test_envoy_gives_functions_longer_than_the_runtimes_wall_clock() -> None:
    documents = _envoy_documents()
    (vhost,) = _hcm(documents)["route_config"]["virtual_hosts"]
    timeouts = {r["name"]: _seconds(r["route"]["timeout"]) for r in vhost["routes"] if "route" in r}
    assert timeouts.pop("functions-v1") > 400  # edge-runtime's per-request wall clock
    # Envoy's own default (15 s) would cut off slow PostgREST queries and uploads.
    assert min(timeouts.values()) >= 30


def _seconds(duration: str) -> int:
    assert duration.endswith("s"), duration
    return int(duration[:-1])


def test_kongs_realtime_service_speaks_websocket() -> None:
    (content,) = render_kong3_config(KEYS, enabled_services=ALL).values()
    services = {s["name"]: s for s in _load(content)["services"]}
    assert services.pop(REALTIME_WS.name)["protocol"] == "ws"
    assert all("protocol" not in service for service in services.values())  # from the URL


def test_kong_keeps_every_value_on_one_line() -> None:
    """No value is folded: a grep or diff of kong.yml shows a rotated password whole."""
    password = " ".join(["correct-horse-battery-staple"] * 6)
    keys = GatewayKeys(**{**KEYS.__dict__, "dashboard_password": password})
    (content,) = render_kong3_config(keys, enabled_services=ALL).values()
    line = next(line for line in content.splitlines() if "password:" in line)
    assert line.endswith(password)


def test_envoy_caps_downstream_connections_with_the_proactive_monitor() -> None:
    """Envoy's overload manager tells its proactive global connection limit from other
    resource monitors by this name (its own integration tests use it verbatim)."""
    bootstrap = _envoy_documents()["/etc/envoy/envoy.yaml"]
    (monitor,) = bootstrap["overload_manager"]["resource_monitors"]
    assert monitor["name"] == "envoy.resource_monitors.global_downstream_max_connections"
    assert monitor["typed_config"]["max_active_downstream_connections"] > 0


def _fields(node: Any, parent: str = "") -> Iterator[tuple[str, str]]:
    """Every (parent field, field) of a document."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield parent, key
            yield from _fields(value, key)
    elif isinstance(node, list):
        for value in node:
            yield from _fields(value, parent)


def test_envoy_files_spell_every_field_as_envoys_protos_do() -> None:
    """Envoy's YAML reader takes a proto field by its snake_case name (or its JSON name);
    the protobuf dataclasses of the parse test accept other casings, so spelling is
    checked here. Map fields (per-filter configs, RBAC policies) are keyed by names."""
    for document in _envoy_documents().values():
        for parent, key in _fields(document):
            if parent not in ("typed_per_filter_config", "policies"):
                assert key == "@type" or re.fullmatch("[a-z][a-z0-9_]*", key), (parent, key)


def test_keys_are_asked_for_by_role_name_only() -> None:
    with pytest.raises(ValueError) as error:
        KEYS.role_keys("admin")
    assert str(error.value) == "role must be 'anon' or 'service_role', got 'admin'"
