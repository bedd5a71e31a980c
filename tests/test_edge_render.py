"""The edge proxy's Caddy config and its settings: pure functions, no Pulumi, no Docker."""

from __future__ import annotations

import json

import pytest

from components.edge_settings import EdgeSettingsError, check_hostname, parse_edge_settings
from components.naming import gateway_upstream
from components.releases import RELEASES
from components.render.caddy import render_caddy_config


def _settings(mode: str = "acme", routes=None, **extra):
    routes = routes if routes is not None else [
        {"ref": "shop", "hosts": ["shop.example.com", "Shop.Example.org"],
         "upstream": gateway_upstream("shop", "kong")},
        {"ref": "blog", "hosts": ["blog.example.com"],
         "upstream": gateway_upstream("blog", "api-gw")},
    ]  # fmt: skip
    certificates = {"mode": mode}
    if mode == "acme":
        certificates |= {"email": "ops@example.com"}
    raw = {"certificates": certificates, "routes": routes, "httpsPort": 443} | extra
    files = [{"certificate": "CERT", "key": "KEY"}] if mode == "files" else None
    return parse_edge_settings(raw, files=files)


def _server(config: dict) -> dict:
    return config["apps"]["http"]["servers"]["edge"]


def _routes(config: dict) -> dict[tuple[str, ...], dict]:
    return {
        tuple(route["match"][0]["host"]): route["handle"][0]
        for route in _server(config)["routes"]
        if "match" in route
    }


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_each_project_name_goes_to_its_gateway_by_container_name(release: str) -> None:
    service = RELEASES[release].gateway_service
    settings, _ = _settings(routes=[{"ref": "shop", "hosts": ["shop.example.com"],
                                     "upstream": gateway_upstream("shop", service)}])  # fmt: skip
    handler = _routes(render_caddy_config(settings))[("shop.example.com",)]
    assert handler["handler"] == "reverse_proxy"
    assert handler["upstreams"] == [{"dial": f"supabase-shop-{service}:8000"}]


def test_routes_stream_and_tell_the_gateway_the_public_port() -> None:
    settings, _ = _settings(httpsPort=8443)
    routes = _routes(render_caddy_config(settings))
    assert set(routes) == {("shop.example.com", "shop.example.org"), ("blog.example.com",)}
    for handler in routes.values():
        assert handler["flush_interval"] == -1  # websockets and SSE are not buffered
        assert handler["headers"]["request"]["set"]["X-Forwarded-Port"] == ["8443"]
        assert "max_size" not in json.dumps(handler)  # no request body limit
        # Caddy keeps only 32 idle upstream connections per host by default: a project with
        # more concurrent clients would reconnect to its gateway for most requests.
        assert handler["transport"]["keep_alive"]["max_idle_conns_per_host"] > 32


def test_unknown_names_are_refused_last_and_never_get_certificates() -> None:
    config = render_caddy_config(_settings()[0])
    last = _server(config)["routes"][-1]
    assert "match" not in last
    assert last["handle"] == [{"handler": "static_response", "status_code": 421, "close": True}]
    assert "on_demand" not in json.dumps(config)
    (policy,) = config["apps"]["tls"]["automation"]["policies"]
    assert policy["subjects"] == ["shop.example.com", "shop.example.org", "blog.example.com"]


def test_acme_issuer_uses_the_directory_email_and_test_root() -> None:
    settings, _ = _settings()
    (policy,) = render_caddy_config(settings)["apps"]["tls"]["automation"]["policies"]
    (issuer,) = policy["issuers"]
    assert issuer["module"] == "acme"
    assert issuer["ca"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert issuer["email"] == "ops@example.com"
    assert "trusted_roots_pem_files" not in issuer
    custom, _ = _settings(certificates={"mode": "acme", "email": "a@b.c",
                                        "ca": "https://ca.test/dir", "caRoot": "PEM"})  # fmt: skip
    (policy,) = render_caddy_config(custom)["apps"]["tls"]["automation"]["policies"]
    assert policy["issuers"][0]["ca"] == "https://ca.test/dir"
    assert policy["issuers"][0]["trusted_roots_pem_files"] == ["/data/files/acme-ca-root.pem"]


def test_internal_mode_uses_the_proxys_own_ca() -> None:
    (policy,) = render_caddy_config(_settings("internal")[0])["apps"]["tls"]["automation"][
        "policies"
    ]
    assert policy["issuers"] == [{"module": "internal"}]


def test_files_mode_loads_the_users_certificates_and_asks_no_ca() -> None:
    settings, certs = _settings("files")
    config = render_caddy_config(settings, cert_files=len(certs))
    tls = config["apps"]["tls"]
    assert "automation" not in tls
    assert tls["certificates"]["load_files"] == [
        {"certificate": "/data/files/cert-0.pem", "key": "/data/files/key-0.pem",
         "tags": ["user-supplied"]}
    ]  # fmt: skip
    assert _server(config)["automatic_https"]["skip_certificates"] == list(settings.hosts)


def test_paused_project_keeps_its_name_and_answers_503() -> None:
    routes = [{"ref": "shop", "hosts": ["shop.example.com"], "paused": True,
               "upstream": gateway_upstream("shop", "kong")}]  # fmt: skip
    handler = _routes(render_caddy_config(_settings(routes=routes)[0]))[("shop.example.com",)]
    assert handler == {"handler": "static_response", "status_code": 503,
                       "body": "project shop is paused\n"}  # fmt: skip


def test_bootstrap_has_no_routes_but_the_same_storage_and_admin() -> None:
    settings, _ = _settings()
    bootstrap = render_caddy_config(settings, bootstrap=True)
    full = render_caddy_config(settings)
    assert [r for r in _server(bootstrap)["routes"] if "match" in r] == []
    assert bootstrap["storage"] == full["storage"] == {"module": "file_system",
                                                       "root": "/data/caddy"}  # fmt: skip
    assert bootstrap["admin"] == full["admin"] == {"listen": "localhost:2019"}
    assert "tls" not in bootstrap["apps"]


def test_same_settings_same_config() -> None:
    assert render_caddy_config(_settings()[0]) == render_caddy_config(_settings()[0])


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"routes": [{"ref": "a", "hosts": ["x.example.com"], "upstream": "supabase-a-kong:8000"},
                     {"ref": "b", "hosts": ["X.example.com"], "upstream": "supabase-b-kong:8000"}]},
         "'x.example.com' is used by both 'a' and 'b'"),
        ({"routes": [{"ref": "a", "hosts": ["not a host"], "upstream": "supabase-a-kong:8000"}]},
         "routes.0.hosts"),
        ({"routes": [{"ref": "a", "hosts": ["localhost"], "upstream": "supabase-a-kong:8000"}]},
         "not a valid host name"),
        ({"certificates": {"mode": "acme"}}, "needs an account email"),
        ({"certificates": {"mode": "internal", "ca": "http://plain/dir"}}, "https:// ACME"),
        ({"listen": 1}, "listen: Extra inputs are not permitted"),
        ({"httpPort": 0}, "httpPort"),
        ({"certificates": {"mode": "files"}}, "tlsFiles is empty"),
    ],
)  # fmt: skip
def test_bad_edge_settings_name_the_setting(raw: dict, message: str) -> None:
    raw = {"certificates": {"mode": "internal"}} | raw
    with pytest.raises(EdgeSettingsError) as error:
        parse_edge_settings(raw)
    assert message in str(error.value)
    assert "fix" in str(error.value)


FIX = "fix it in edge/stacks/Pulumi.<host>.yaml (the fleet rewrites it: `supabase-fleet edge sync <host>`)"  # noqa: E501


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        # The first problem only, by where it is.
        ({"httpPort": 0, "httpsPort": 70000},
         "httpPort: Input should be greater than or equal to 1; " + FIX),
        # A problem of the whole document has no place of its own.
        ({"httpPort": 8443, "httpsPort": 8443},
         "edge settings: Value error, httpPort and httpsPort must differ; " + FIX),
        ({"routes": [{"ref": "a", "hosts": ["a.example.com"], "upstream": "no port"}]},
         "routes.0.upstream: Value error, 'no port' is not <container>:<port>; " + FIX),
        ({"certificates": {"mode": "files"}},
         "certificates.mode is files but tlsFiles is empty; fix it with "
         """`pulumi config set --secret tlsFiles '[{"certificate": ..., "key": ...}]'`"""),
    ],
)  # fmt: skip
def test_a_bad_edge_setting_gets_one_whole_message(raw: dict, message: str) -> None:
    raw = {"certificates": {"mode": "internal"}} | raw
    with pytest.raises(EdgeSettingsError) as error:
        parse_edge_settings(raw)
    assert str(error.value) == message


def test_host_names_are_trimmed_lower_cased_and_explained_when_bad() -> None:
    assert check_hostname("  Shop.Example.COM ", "domain") == "shop.example.com"
    with pytest.raises(EdgeSettingsError) as error:
        check_hostname("shop_example", "domain")
    assert str(error.value) == (
        "domain: 'shop_example' is not a valid host name; use dot-separated labels of "
        "letters, digits and hyphens, e.g. shop.example.com"
    )


def test_files_mode_keeps_every_certificate_in_order() -> None:
    files = [{"certificate": "C0", "key": "K0"}, {"certificate": "C1", "key": "K1"}]
    settings, certs = parse_edge_settings({"certificates": {"mode": "files"}}, files=files)
    assert settings.certificates.mode == "files"
    assert [(c.certificate, c.key) for c in certs] == [("C0", "K0"), ("C1", "K1")]
