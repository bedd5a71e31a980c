"""The edge stack and a project behind it, under mocks: what Docker would be asked to make."""

from __future__ import annotations

import json
import runpy
from typing import Any

import pytest
import yaml
from pulumi_harness import ROOT, Run, env_of, is_secret, reveal, run, run_main

from components.naming import EDGE_NETWORK

ROUTES = [
    {"ref": "shop", "hosts": ["shop.example.com"], "upstream": "supabase-shop-kong:8000"},
    {"ref": "blog", "hosts": ["blog.example.com", "www.blog.org"],
     "upstream": "supabase-blog-api-gw:8000", "paused": True},
]  # fmt: skip


def run_edge(config: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> Run:
    return run(
        lambda: runpy.run_path(str(ROOT / "edge" / "__main__.py"), run_name="__main__"),
        config,
        stack="local",
        secret_keys=secret_keys,
    )


@pytest.fixture(scope="module")
def edge() -> Run:
    return run_edge(
        {
            "certificates": {"mode": "acme", "email": "ops@example.com"},
            "routes": ROUTES,
            "httpPort": 18080,
            "httpsPort": 18443,
            "dockerHost": "ssh://deploy@edge-2.example.com",
            "image": "caddy:2.10.2",
        }
    )


def _by_name(run_: Run, suffix: str):
    (found,) = [r for r in run_.mocks.resources if r.name.endswith(suffix)]
    return found


def _uploads(container) -> dict[str, Any]:
    return _uploads_of(reveal(container.inputs.get("uploads", [])))


def _uploads_of(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {u["file"]: u["content"] for u in items}


def test_edge_owns_the_shared_network_and_a_retained_volume(edge: Run) -> None:
    network = _by_name(edge, "local-network")
    assert reveal(network.inputs["name"]) == EDGE_NETWORK
    volume = _by_name(edge, "local-data")
    assert reveal(volume.inputs["name"]) == "supabase-edge-data"
    assert volume.retain_on_delete
    component = _by_name(edge, "local")
    assert component.typ == "supabase:index:EdgeProxy"
    assert all(r.parent == "local" for r in edge.mocks.resources if r.name.startswith("local-"))


def test_proxy_publishes_the_configured_ports_and_resumes_from_the_volume(edge: Run) -> None:
    proxy = _by_name(edge, "local-proxy")
    assert reveal(proxy.inputs["name"]) == "supabase-edge-proxy"
    provider = _by_name(edge, "local-docker")
    assert provider.inputs["host"] == "ssh://deploy@edge-2.example.com"
    assert reveal(proxy.inputs["ports"]) == [
        {"internal": 80, "external": 18080, "ip": "0.0.0.0", "protocol": "tcp"},
        {"internal": 443, "external": 18443, "ip": "0.0.0.0", "protocol": "tcp"},
    ]
    assert reveal(proxy.inputs["command"])[:3] == ["caddy", "run", "--resume"]
    assert reveal(proxy.inputs["mounts"])[0]["target"] == "/data"
    bootstrap = json.loads(reveal(_uploads(proxy))["/etc/caddy/bootstrap.json"])
    routes = bootstrap["apps"]["http"]["servers"]["edge"]["routes"]
    assert [r for r in routes if "match" in r] == []  # route changes never replace the proxy
    assert proxy.inputs["wait"] is True


def test_loader_reloads_the_rendered_routes_through_the_admin_api(edge: Run) -> None:
    loader = _by_name(edge, "local-config")
    assert reveal(loader.inputs["networkMode"]) == "container:local-proxy-id"
    assert reveal(loader.inputs["command"])[:2] == ["caddy", "reload"]
    assert loader.inputs["mustRun"] is False
    config = json.loads(reveal(_uploads(loader))["/load/caddy.json"])
    hosts = [r["match"][0]["host"] for r in config["apps"]["http"]["servers"]["edge"]["routes"]
             if "match" in r]  # fmt: skip
    assert hosts == [["shop.example.com"], ["blog.example.com", "www.blog.org"]]
    assert edge.outputs["routes"] == {r["ref"]: r["hosts"] for r in ROUTES}


def test_files_mode_uploads_keys_as_secrets() -> None:
    files = [{"certificate": "-----CERT-----", "key": "-----KEY-----"}]
    result = run_edge(
        {"certificates": {"mode": "files"}, "routes": ROUTES[:1], "tlsFiles": files},
        secret_keys=("tlsFiles",),
    )
    raw = _by_name(result, "local-config").inputs["uploads"]
    # The key makes the uploads secret (the engine marks the whole list when one item is).
    assert is_secret(raw) or is_secret(_uploads_of(raw)["/data/files/key-0.pem"])
    uploads = reveal(_uploads_of(reveal(raw)))
    assert uploads["/data/files/key-0.pem"] == "-----KEY-----"
    assert uploads["/data/files/cert-0.pem"] == "-----CERT-----"


def test_plain_text_keys_and_bad_routes_stop_the_edge_program() -> None:
    files = [{"certificate": "C", "key": "K"}]
    with pytest.raises(Exception, match="tlsFiles holds private keys and must be a secret"):
        run_edge({"certificates": {"mode": "files"}, "tlsFiles": files})
    twice = [ROUTES[0], {**ROUTES[0], "ref": "other"}]
    with pytest.raises(Exception, match="'shop.example.com' is used by both"):
        run_edge({"certificates": {"mode": "internal"}, "routes": twice})


@pytest.fixture(scope="module")
def behind_edge() -> Run:
    return run_main(
        {
            "portSlot": 3,
            "domain": "shop.example.com",
            "customDomains": ["api.shop.com"],
            "siteUrl": "https://app.shop.com",
            "additionalRedirectUrls": ["https://app.shop.com/callback"],
        },
        stack="shop",
    )


def test_gateway_joins_the_edge_network_and_publishes_no_port(behind_edge: Run) -> None:
    containers = behind_edge.mocks.containers()
    kong = containers["kong"]
    networks = [n["name"] for n in reveal(kong.inputs["networksAdvanced"])]
    assert networks == ["supabase-shop", EDGE_NETWORK]
    assert kong.inputs.get("ports") is None
    others = {s: [n["name"] for n in reveal(c.inputs["networksAdvanced"])]
              for s, c in containers.items() if s != "kong"}  # fmt: skip
    assert all(names == ["supabase-shop"] for names in others.values()), others
    env = env_of(kong)
    assert env["KONG_TRUSTED_IPS"] == "0.0.0.0/0,::/0"
    assert env["KONG_DECLARATIVE_CONFIG"] == "/home/kong/kong.yml"  # the rest stays as it was


def test_public_urls_become_https_and_site_url_stays(behind_edge: Run) -> None:
    containers = behind_edge.mocks.containers()
    auth = env_of(containers["auth"])
    assert auth["API_EXTERNAL_URL"] == "https://shop.example.com"
    assert auth["GOTRUE_SITE_URL"] == "https://app.shop.com"
    # The configured URLs, then every page of each custom domain, as GoTrue's list.
    assert auth["GOTRUE_URI_ALLOW_LIST"] == "https://app.shop.com/callback,https://api.shop.com/**"
    assert env_of(containers["studio"])["SUPABASE_PUBLIC_URL"] == "https://shop.example.com"
    assert env_of(containers["storage"])["REQUEST_ALLOW_X_FORWARDED_PATH"] == "true"
    assert behind_edge.outputs["apiUrl"] == "https://shop.example.com"
    assert behind_edge.outputs["studioUrl"] == "https://shop.example.com/"


def test_a_project_without_a_domain_is_untouched() -> None:
    plain = run_main({"portSlot": 3}, stack="shop").mocks.containers()
    kong = plain["kong"]
    assert [n["name"] for n in reveal(kong.inputs["networksAdvanced"])] == ["supabase-shop"]
    assert len(reveal(kong.inputs["ports"])) == 2
    assert "KONG_TRUSTED_IPS" not in env_of(kong)
    assert "REQUEST_ALLOW_X_FORWARDED_PATH" not in env_of(plain["storage"])


def test_publishing_the_gateway_stays_possible_behind_the_edge() -> None:
    result = run_main(
        {"portSlot": 3, "domain": "shop.example.com", "publishGatewayPorts": True}, stack="shop"
    )
    assert len(reveal(result.mocks.containers()["kong"].inputs["ports"])) == 2


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"domain": "not a host"}, "domain must be a DNS host name"),
        ({"domain": "a.example.com", "customDomains": ["a.example.com"]}, "already `domain`"),
        ({"customDomains": ["b.example.com"]}, "customDomains need the project behind"),
    ],
)
def test_bad_domains_stop_the_project_program(config: dict, message: str) -> None:
    with pytest.raises(Exception, match=message):
        run_main({"portSlot": 3, **config}, stack="shop")


@pytest.mark.parametrize("gateway", ["envoy", "kong"])
def test_2026_09_behind_the_edge(gateway: str) -> None:
    result = run_main(
        {"portSlot": 3, "release": "2026-09", "gateway": gateway, "domain": "shop.example.com"},
        stack="shop",
    )
    containers = result.mocks.containers()
    gw = containers["api-gw"]
    assert [n["name"] for n in reveal(gw.inputs["networksAdvanced"])] == [
        "supabase-shop",
        EDGE_NETWORK,
    ]
    assert gw.inputs.get("ports") is None
    assert ("KONG_TRUSTED_IPS" in env_of(gw)) == (gateway == "kong")
    storage = env_of(containers["storage"])
    assert storage["STORAGE_PUBLIC_URL"] == "https://shop.example.com"
    assert storage["REQUEST_ALLOW_X_FORWARDED_PATH"] == "true"
    assert env_of(containers["studio"])["SUPABASE_PUBLIC_URL"] == "https://shop.example.com"
    assert env_of(containers["auth"])["API_EXTERNAL_URL"] == "https://shop.example.com"


def test_envoy_behind_the_edge_keeps_the_proxys_forwarded_proto() -> None:
    def hcm(config: dict) -> dict:
        gw = run_main(config, stack="shop").mocks.containers()["api-gw"]
        uploads = {u["file"]: u["content"] for u in reveal(gw.inputs["uploads"])}
        (lds,) = [text for path, text in uploads.items() if path.endswith("lds.yaml")]
        listener = yaml.safe_load(lds)["resources"][0]
        return listener["filter_chains"][0]["filters"][0]["typed_config"]

    base = {"portSlot": 3, "release": "2026-09", "gateway": "envoy"}
    # Envoy trusts X-Forwarded-Proto only from trusted hops: one, the edge proxy.
    assert hcm({**base, "domain": "shop.example.com"})["xff_num_trusted_hops"] == 1
    assert "xff_num_trusted_hops" not in hcm(base)


def _labels(resource) -> dict[str, str]:
    return {item["label"]: item["value"] for item in reveal(resource.inputs["labels"])}


def test_every_edge_object_is_labelled_with_its_role(edge: Run) -> None:
    roles = {"local-network": "network", "local-data": "data", "local-proxy": "proxy",
             "local-config": "config"}  # fmt: skip
    for name, role in roles.items():
        labels = _labels(_by_name(edge, name))
        assert labels == {"supabase.edge": role, "supabase.managed-by": "pulumi"}, name
    assert reveal(_by_name(edge, "local-network").inputs["driver"]) == "bridge"
    image = reveal(_by_name(edge, "local-image").inputs)
    # Projects' gateways on the same engine may share layers; never delete it under them.
    assert image == {"name": "caddy:2.10.2", "keepLocally": True}


def test_proxy_keeps_its_state_on_the_volume_and_is_probed_on_its_admin_api(edge: Run) -> None:
    proxy = reveal(_by_name(edge, "local-proxy").inputs)
    loader = reveal(_by_name(edge, "local-config").inputs)
    (mount,) = proxy["mounts"]
    assert mount == {"type": "volume", "source": "supabase-edge-data", "target": "/data"}
    assert loader["mounts"] == proxy["mounts"]
    # Caddy keeps certificates under XDG_DATA_HOME and its autosave under XDG_CONFIG_HOME:
    # both on the volume, so a replaced proxy resumes with both.
    env = dict(item.split("=", 1) for item in proxy["envs"])
    assert env == {"XDG_DATA_HOME": "/data", "XDG_CONFIG_HOME": "/data/config"}
    # `caddy run --resume --config F`: the uploaded bootstrap is F.
    run_, resume, flag, path = proxy["command"][1:]
    assert (run_, resume, flag) == ("run", "--resume", "--config")
    assert path in _uploads(_by_name(edge, "local-proxy"))
    # `caddy reload --force --config F --address A`: the loader's upload is F, the admin
    # API the probe asks is A.
    assert loader["command"][:5] == ["caddy", "reload", "--force", "--config", "/load/caddy.json"]
    assert loader["command"][5:] == ["--address", "localhost:2019"]
    check = proxy["healthcheck"]
    assert check["tests"] == ["CMD", "wget", "-q", "-O", "/dev/null",
                              "http://localhost:2019/config/"]  # fmt: skip
    # A fast probe: the proxy is the whole engine's entry, so `up` waits at most 30 s on it.
    assert (check["interval"], check["timeout"], check["retries"]) == ("2s", "2s", 15)
    assert (proxy["restart"], proxy["mustRun"], proxy["wait"]) == ("unless-stopped", True, True)
    # In-flight requests get time to finish when the proxy itself is replaced.
    assert proxy["destroyGraceSeconds"] == 30
    # The loader runs once, to completion, and its output shows in `pulumi up`.
    assert (loader["mustRun"], loader["attach"], loader["logs"]) == (False, True, True)


def test_proxy_binds_the_configured_address_and_trusts_the_test_root() -> None:
    result = run_edge(
        {
            "certificates": {"mode": "acme", "email": "ops@example.com", "caRoot": "ROOT-PEM"},
            "routes": ROUTES[:1],
            "bindAddress": "127.0.0.1",
        }
    )
    ports = reveal(_by_name(result, "local-proxy").inputs["ports"])
    assert [(p["internal"], p["external"], p["ip"]) for p in ports] == [
        (80, 80, "127.0.0.1"),
        (443, 443, "127.0.0.1"),
    ]
    raw = _by_name(result, "local-config").inputs["uploads"]
    # Nothing secret to load: `pulumi preview` shows route changes in plain text.
    assert not is_secret(raw) and not any(is_secret(item["content"]) for item in raw)
    uploads = _uploads_of(raw)
    assert uploads["/data/files/acme-ca-root.pem"] == "ROOT-PEM"
    config = json.loads(uploads["/load/caddy.json"])
    assert "/data/files/acme-ca-root.pem" in json.dumps(config)


def _keys_sorted(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(map(_keys_sorted, value.values()))
    if isinstance(value, list):
        return all(map(_keys_sorted, value))
    return True


def test_config_files_are_written_in_a_stable_key_order(edge: Run) -> None:
    """Same routes, same bytes: a reordered dict must not replace the loader."""
    for name, path in (("local-proxy", "/etc/caddy/bootstrap.json"),
                       ("local-config", "/load/caddy.json")):  # fmt: skip
        assert _keys_sorted(json.loads(reveal(_uploads(_by_name(edge, name)))[path]))
