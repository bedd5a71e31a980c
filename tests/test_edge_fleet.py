"""The fleet keeps each host's edge stack in step: domains, routes, certificate checks."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fake_pulumi import FakeBackend
from fleet_env import LOCAL, Env

from automation.edge import (
    CertificateState,
    EdgeFleet,
    EdgeHost,
    PulumiEdgeWorkspace,
    _is_local,
    _matches,
    _resolve,
    certificate_state,
    check_certificate_files,
    check_names,
    dns_problems,
    edge_config,
    edge_of,
    engine_address,
    hosts_of,
    load_edge_hosts,
    parse_edge_hosts,
    plan_edges,
    project_lines,
    project_names,
    project_settings,
    read_edge_stack,
    routes_for,
    say_urls,
    sync_edges,
    write_edge_stack,
)
from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.stackfiles import StackFile

NOW = datetime.datetime.now(datetime.timezone.utc)


class FakeEdgeWorkspace:
    def __init__(self, log: list, exit_code: int = 0) -> None:
        self.log = log
        self.exit_code = exit_code

    def up(self, host, secret_config, on_output) -> dict:
        self.log.append(("edge-up", host, dict(secret_config)))
        return {"loaderExitCode": self.exit_code}


class EdgeEnv(Env):
    """Env with an inventory file whose host has an edge, and a fake edge workspace.

    Edge ups go into the fake backend's call list, so their order with project ups shows.
    """

    def __init__(self, root: Path, monkeypatch, edge: dict, base: str = "apps.test") -> None:
        super().__init__(root, monkeypatch=monkeypatch)
        self.config.inventory_path.parent.mkdir(parents=True, exist_ok=True)
        host = {"name": "local", "url": LOCAL, "capacity": 20, "baseDomain": base, "edge": edge}
        self.config.inventory_path.write_text(yaml.safe_dump({"hosts": [host]}))
        self.secrets: list[dict] = []
        self.resolved: dict[str, set[str]] = {}
        self.loader_exit = 0

    @property
    def log(self) -> list[tuple[str, str]]:
        return [call for call in self.calls if call[0] in ("up", "edge-up")]

    def context(self, *, confirm: bool = False):
        ctx = super().context(confirm=confirm)
        edge = edge_of(ctx)
        env = self

        class FakeEdgeWorkspace:
            def up(self, host, secret_config, on_output) -> dict:
                env.backend.calls.append(("edge-up", host))
                env.secrets.append(dict(secret_config))
                return {"loaderExitCode": env.loader_exit}

            def remove(self, host, on_output) -> bool:
                deployed = ("edge-up", host) in env.backend.calls
                env.backend.calls.append(("edge-remove", host))
                return deployed

        edge.workspace_factory = FakeEdgeWorkspace
        edge.resolve = lambda name: self.resolved.get(name, {"127.0.0.1"})
        edge.is_local = lambda address: address.startswith("127.")
        return ctx

    def edge_file(self) -> dict:
        path = self.project / "edge" / "stacks" / "Pulumi.local.yaml"
        return yaml.safe_load(path.read_text())["config"]

    def routes(self) -> list[dict]:
        return self.edge_file()["supabase-edge:routes"]


INTERNAL = {"certificates": {"mode": "internal"}, "httpPort": 18080, "httpsPort": 18443}


@pytest.fixture
def edge_env(tmp_path: Path, monkeypatch) -> EdgeEnv:
    return EdgeEnv(tmp_path, monkeypatch, INTERNAL)


@pytest.mark.parametrize(("release", "gateway"), [("2024-04", "kong"), ("2026-09", "api-gw")])
def test_create_gives_the_project_its_domain_and_the_edge_its_route_first(
    edge_env, release: str, gateway: str
) -> None:
    assert edge_env.main("create", "shop", "--release", release) == 0
    stack = edge_env.stack_files()["Pulumi.shop.yaml"]["config"]
    assert stack["supabase:domain"] == "shop.apps.test"
    assert edge_env.routes() == [
        {"ref": "shop", "hosts": ["shop.apps.test"], "upstream": f"supabase-shop-{gateway}:8000",
         "paused": False}
    ]  # fmt: skip
    config = edge_env.edge_file()
    assert config["supabase-edge:dockerHost"] == LOCAL
    assert config["supabase-edge:httpsPort"] == 18443
    # The edge (and its network) is up before the project's gateway joins it.
    assert edge_env.log == [("edge-up", "local"), ("up", "shop")]
    assert edge_env.secrets == [{}]


def test_delete_removes_only_its_route_and_pause_keeps_the_name(edge_env) -> None:
    assert edge_env.main("create", "shop", "blog") == 0
    assert [r["ref"] for r in edge_env.routes()] == ["blog", "shop"]
    assert edge_env.main("pause", "blog") == 0
    assert {r["ref"]: r["paused"] for r in edge_env.routes()} == {"blog": True, "shop": False}
    assert edge_env.main("resume", "blog") == 0
    assert {r["ref"]: r["paused"] for r in edge_env.routes()} == {"blog": False, "shop": False}
    before = [r for r in edge_env.routes() if r["ref"] == "shop"]
    assert edge_env.main("delete", "blog", "--yes") == 0
    assert edge_env.routes() == before
    assert edge_env.log[-1] == ("edge-up", "local")


def test_a_name_used_twice_is_refused_before_anything_changes(edge_env, capsys) -> None:
    edge_env.write_stack(
        "blog", portSlot=1, domain="blog.apps.test", customDomains=["shop.apps.test"]
    )
    assert edge_env.main("create", "shop") == 2
    assert "'shop.apps.test' is already used by project 'blog'" in capsys.readouterr().err
    assert "Pulumi.shop.yaml" not in edge_env.stack_files()
    assert edge_env.log == []


def test_bad_host_names_are_refused(tmp_path: Path) -> None:
    def stack(ref: str, **config) -> StackFile:
        data = {"config": {f"supabase:{k}": v for k, v in config.items()}}
        return StackFile(ref, tmp_path / f"Pulumi.{ref}.yaml", data)

    with pytest.raises(FleetError, match="'bad_name!' is not a valid host name"):
        check_names([stack("a", domain="bad_name!")])
    with pytest.raises(FleetError, match="customDomains 'a.apps.test' is already used by"):
        check_names(
            [
                stack("a", domain="a.apps.test"),
                stack("b", domain="b.apps.test", customDomains=["A.apps.test"]),
            ]
        )
    assert check_names([stack("a", domain="a.apps.test", customDomains=["www.a.com"])]) == {
        "a.apps.test": "a", "www.a.com": "a"
    }  # fmt: skip


def test_acme_preflight_needs_dns_to_this_host_and_free_ports(tmp_path: Path, monkeypatch) -> None:
    acme = {"certificates": {"mode": "acme", "email": "ops@apps.test"}, "httpsPort": 18443,
            "httpPort": 18080}  # fmt: skip
    env = EdgeEnv(tmp_path, monkeypatch, acme)
    env.resolved["shop.apps.test"] = {"203.0.113.9"}
    assert env.main("create", "shop") == 2
    assert env.log == [] and env.stack_files() == {}
    env.resolved.clear()
    env.engines[LOCAL].busy = {18080}
    assert env.main("create", "shop") == 2
    assert env.log == []
    env.engines[LOCAL].busy = set()
    assert env.main("create", "shop") == 0
    assert env.log[0] == ("edge-up", "local")


def test_dns_problems_for_a_remote_engine() -> None:
    spec = EngineSpec(name="far", url="ssh://deploy@far.example.com", capacity=1)
    table = {"far.example.com": {"198.51.100.7"}, "ok.apps.test": {"198.51.100.7"},
             "bad.apps.test": {"198.51.100.8"}}  # fmt: skip
    problems = dns_problems(["ok.apps.test", "bad.apps.test", "none.apps.test"], spec,
                            resolve=lambda n: table.get(n, set()))  # fmt: skip
    assert len(problems) == 2
    assert "bad.apps.test resolves to ['198.51.100.8'], not to host far" in problems[0]
    assert "none.apps.test does not resolve" in problems[1]


def _certificate(tmp_path: Path, names: list[str], *, days: int = 30, other_key: bool = False):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - datetime.timedelta(days=60))
        .not_valid_after(NOW + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    if other_key:
        key = ec.generate_private_key(ec.SECP256R1())
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


FILES = {"certificates": {"mode": "files"}, "httpsPort": 18443, "httpPort": 18080,
         "tlsFiles": [{"certificate": "cert.pem", "key": "key.pem"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("names", "days", "other_key", "message"),
    [
        (["*.apps.test"], -1, False, "expired on"),
        (["*.other.test"], 30, False, "but not ['shop.apps.test']"),
        (["*.apps.test"], 30, True, "does not match its key"),
    ],
)
def test_bad_certificate_files_are_refused(
    tmp_path, monkeypatch, capsys, names, days, other_key, message
) -> None:
    env = EdgeEnv(tmp_path, monkeypatch, FILES)
    _certificate(env.config.inventory_path.parent, names, days=days, other_key=other_key)
    assert env.main("create", "shop") == 2
    assert message in capsys.readouterr().err
    assert env.log == [] and env.stack_files() == {}


def test_a_wildcard_file_covers_every_project_and_its_key_goes_as_a_secret(
    tmp_path, monkeypatch
) -> None:
    env = EdgeEnv(tmp_path, monkeypatch, FILES)
    cert, key = _certificate(env.config.inventory_path.parent, ["*.apps.test"])
    assert env.main("create", "shop") == 0
    (files,) = json.loads(env.secrets[0]["tlsFiles"])
    assert files == {"certificate": cert.read_text(), "key": key.read_text()}
    assert "PRIVATE KEY" not in (env.project / "edge" / "stacks" / "Pulumi.local.yaml").read_text()


def test_certificate_state_reads_issuer_and_expiry_by_handshake(tmp_path: Path) -> None:
    import socket
    import ssl
    import threading

    cert, key = _certificate(tmp_path, ["shop.apps.test"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    asked: list[str] = []  # the name the client sends (SNI): the proxy picks its cert by it
    context.sni_callback = lambda sock, name, ctx: asked.append(name)
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve() -> None:
            conn, _ = server.accept()
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except OSError:
                pass

        thread = threading.Thread(target=serve)
        thread.start()
        state = certificate_state("shop.apps.test", "127.0.0.1", port)
        thread.join(10)
    assert state.issuer == "shop.apps.test"
    assert asked == ["shop.apps.test"]
    assert (
        state.not_after is not None
        and state.not_after.date() == (NOW + datetime.timedelta(days=30)).date()
    )
    assert "expires" in state.describe()
    closed = certificate_state("shop.apps.test", "127.0.0.1", port, timeout=1)
    assert closed.error and "no certificate" in closed.describe()


def test_a_config_the_proxy_refused_fails_the_command(edge_env, capsys) -> None:
    edge_env.loader_exit = 1
    assert edge_env.main("create", "shop") == 2
    assert "the proxy did not take the new config" in capsys.readouterr().err
    assert ("up", "shop") not in edge_env.log  # the project waits for a working edge


def test_edge_status_lists_routes_and_certificate_state(edge_env, capsys) -> None:
    assert edge_env.main("create", "shop") == 0
    capsys.readouterr()
    assert edge_env.main("edge", "status", "local") == 0
    out = edge_env.out.getvalue()
    assert "edge local: https on 127.0.0.1:18443, 1 routes" in out
    assert "shop                     -> supabase-shop-api-gw:8000" in out  # 2026-09 by default
    assert "https://shop.apps.test  no certificate" in out  # nothing listens in this test


def test_status_shows_each_projects_https_url_and_certificate(edge_env) -> None:
    assert edge_env.main("create", "shop") == 0
    edge_env.main("status", "shop")
    out = edge_env.out.getvalue()
    assert "shop: behind the edge" in out
    assert "https://shop.apps.test:18443/  no certificate" in out


def test_the_edge_stack_file_the_fleet_writes_runs_as_a_plain_pulumi_program(edge_env) -> None:
    from pulumi_harness import reveal
    from test_edge_program import run_edge

    assert edge_env.main("create", "shop", "blog") == 0
    config = {key.split(":", 1)[1]: value for key, value in edge_env.edge_file().items()}
    result = run_edge(config)
    loader = next(r for r in result.mocks.resources if r.name == "local-config")
    uploads = {u["file"]: u["content"] for u in reveal(loader.inputs["uploads"])}
    caddy = json.loads(uploads["/load/caddy.json"])
    routes = caddy["apps"]["http"]["servers"]["edge"]["routes"]
    assert [r["match"][0]["host"] for r in routes if "match" in r] == [
        ["blog.apps.test"],
        ["shop.apps.test"],
    ]
    assert result.outputs["routes"] == {"blog": ["blog.apps.test"], "shop": ["shop.apps.test"]}


@pytest.mark.parametrize(
    ("edge", "message"),
    [
        ({"certificates": {"mode": "acme"}}, "edge.certificates: Value error, mode acme needs"),
        ({"certificates": {"mode": "files"}}, "list the certificate and key files"),
        (
            {"certificates": {"mode": "internal"}, "tlsFiles": [{"cert": "x"}]},
            "edge.tlsFiles must be a list of {certificate, key}",
        ),
        ({"listen": 443}, "edge: unknown keys ['listen']"),
    ],
)
def test_bad_edge_inventory_is_refused(tmp_path, monkeypatch, capsys, edge, message) -> None:
    env = EdgeEnv(tmp_path, monkeypatch, edge)
    assert env.main("create", "shop") == 2
    assert message in capsys.readouterr().err
    assert env.stack_files() == {}


# -- the pieces, one by one -----------------------------------------------------------------


def _stack(tmp_path: Path, ref: str, **config) -> StackFile:
    data = {"config": {f"supabase:{k}": v for k, v in config.items()}}
    return StackFile(ref, tmp_path / f"Pulumi.{ref}.yaml", data)


def test_inventory_hosts_without_an_edge_are_left_out_and_defaults_apply(tmp_path: Path) -> None:
    data = {"hosts": [{"name": "plain", "url": LOCAL}, "not a host",
                      {"name": "web", "url": LOCAL, "baseDomain": "Apps.Test",
                       "edge": {"certificates": {"mode": "internal"}}}]}  # fmt: skip
    hosts = parse_edge_hosts(data, source="inv.yaml", base_dir=tmp_path)
    assert list(hosts) == ["web"]
    web = hosts["web"]
    assert (web.name, web.base_domain, web.tls_files) == ("web", "apps.test", ())
    assert (web.mode, web.ports) == ("internal", (80, 443))
    assert EdgeHost("bare", None, {}).mode == "acme"  # public certificates unless told
    assert parse_edge_hosts(None, source="inv.yaml", base_dir=tmp_path) == {}
    assert parse_edge_hosts(["hosts"], source="inv.yaml", base_dir=tmp_path) == {}
    assert load_edge_hosts(tmp_path / "absent.yaml") == {}


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"baseDomain": "bad_domain"},
         "inv.yaml: hosts[1] (web): baseDomain: 'bad_domain' is not a valid host name"),
        ({"edge": ["internal"]}, "inv.yaml: hosts[1] (web): `edge` must be a mapping"),
        ({"edge": {"httpPort": 0, "certificates": {"mode": "internal"}}},
         "inv.yaml: hosts[1] (web): edge.httpPort: Input should be greater than or equal to 1"),
        ({"edge": {"certificates": {"mode": "internal", "acme": True}}},
         "inv.yaml: hosts[1] (web): edge.certificates.acme: Extra inputs are not permitted"),
        ({"edge": {"certificates": {"mode": "internal", "caRoot": "missing.pem"}}},
         "inv.yaml: hosts[1] (web): cannot read "),
        ({"edge": {"certificates": {"mode": "internal"}, "tlsFiles": {"certificate": "c"}}},
         "inv.yaml: hosts[1] (web): edge.tlsFiles must be a list of {certificate, key} paths"),
    ],
)  # fmt: skip
def test_a_bad_edge_host_is_named_by_its_place(tmp_path: Path, host: dict, message: str) -> None:
    data = {"hosts": [{"name": "first", "url": LOCAL}, {"name": "web", "url": LOCAL, **host}]}
    with pytest.raises(FleetError) as error:
        parse_edge_hosts(data, source="inv.yaml", base_dir=tmp_path)
    assert str(error.value).startswith(message)


def test_edge_files_are_read_relative_to_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "root.pem").write_text("ROOT PEM")
    edge = {"certificates": {"mode": "files", "caRoot": "root.pem"}, "httpPort": 8080,
            "httpsPort": 8443, "tlsFiles": [{"certificate": "c.pem", "key": "k.pem"}]}  # fmt: skip
    data = {"hosts": [{"name": "web", "url": LOCAL, "edge": edge}]}
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(data))
    web = load_edge_hosts(tmp_path / "inventory.yaml")["web"]
    assert web.settings == {
        "certificates": {"mode": "files", "caRoot": "ROOT PEM"},
        "httpPort": 8080,
        "httpsPort": 8443,
    }
    assert web.tls_files == ((tmp_path / "c.pem", tmp_path / "k.pem"),)
    assert (web.mode, web.ports, web.base_domain) == ("files", (8080, 8443), None)


def test_names_of_a_project_are_its_domain_then_its_custom_domains(tmp_path: Path) -> None:
    assert project_names(_stack(tmp_path, "a")) == []
    stack = _stack(tmp_path, "a", domain="a.apps.test", customDomains='["www.a.com", "a.com"]')
    assert project_names(stack) == ["a.apps.test", "www.a.com", "a.com"]
    with pytest.raises(FleetError) as error:
        check_names([_stack(tmp_path, "b", domain="b.apps.test", customDomains=["x_y.com"])])
    assert str(error.value) == (
        f"{tmp_path / 'Pulumi.b.yaml'}: customDomains: 'x_y.com' is not a valid host name; use "
        "dot-separated labels of letters, digits and hyphens, e.g. shop.example.com; fix the "
        "stack file"
    )
    with pytest.raises(FleetError, match=r"Pulumi.c.yaml: domain 'c.apps.test' is already used"):
        check_names(
            [
                _stack(tmp_path, "a", domain="a.apps.test", customDomains=["C.apps.test"]),
                _stack(tmp_path, "c", domain="c.apps.test"),
            ]
        )


def test_a_new_project_gets_a_domain_only_under_a_base_domain() -> None:
    assert project_settings("shop", None) == {}
    assert project_settings("shop", EdgeHost("web", None, {})) == {}
    assert project_settings("shop", EdgeHost("web", "apps.test", {})) == {
        "domain": "shop.apps.test"
    }


def test_routes_are_sorted_lowercased_and_skip_projects_without_names(tmp_path: Path) -> None:
    stacks = [
        _stack(tmp_path, "zed", domain="ZED.apps.test", paused=True, release="2026-09"),
        _stack(tmp_path, "none"),
        _stack(tmp_path, "abc", domain="abc.apps.test", customDomains=["Abc.COM"]),
    ]
    assert routes_for(stacks) == [
        {"ref": "abc", "hosts": ["abc.apps.test", "abc.com"],
         "upstream": "supabase-abc-kong:8000", "paused": False},
        {"ref": "zed", "hosts": ["zed.apps.test"], "upstream": "supabase-zed-api-gw:8000",
         "paused": True},
    ]  # fmt: skip


def test_the_edge_config_carries_the_engine_and_is_validated(tmp_path: Path) -> None:
    host = EdgeHost("web", "apps.test", {"certificates": {"mode": "internal"}})
    spec = EngineSpec("web", "tcp://web.example.com:2376", 5, cert_path="/certs")
    config = edge_config(host, spec, [_stack(tmp_path, "a", domain="a.apps.test")])
    assert config["dockerHost"] == "tcp://web.example.com:2376"
    assert config["dockerCertPath"] == "/certs"
    assert [route["ref"] for route in config["routes"]] == ["a"]
    local = EngineSpec("web", LOCAL, 5)
    assert "dockerCertPath" not in edge_config(host, local, [])
    internal = {"mode": "internal"}
    same = EdgeHost("web", None, {"httpPort": 8443, "httpsPort": 8443, "certificates": internal})
    with pytest.raises(FleetError) as error:
        edge_config(same, local, [])
    assert str(error.value) == "edge of host web: Value error, httpPort and httpsPort must differ"


@pytest.mark.parametrize(
    ("name", "pattern", "covered"),
    [
        ("shop.apps.test", "*.apps.test", True),
        ("shop.apps.test", "*.APPS.test", True),
        ("a.shop.apps.test", "*.apps.test", False),  # a wildcard covers one label
        ("apps.test", "*.apps.test", False),
        (".apps.test", "*.apps.test", False),
        ("shop.apps.test", "shop.apps.test", True),
        ("shop.apps.test", "Shop.Apps.Test", True),
        ("blog.apps.test", "shop.apps.test", False),
    ],
)
def test_a_certificate_name_covers_a_host_name(name: str, pattern: str, covered: bool) -> None:
    assert _matches(name, pattern) is covered


def test_certificate_files_are_valid_only_inside_their_dates(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, ["shop.apps.test"], days=30)
    leaf = x509.load_pem_x509_certificate(cert.read_bytes())
    ends, starts = leaf.not_valid_after_utc, leaf.not_valid_before_utc
    files = [(cert, key)]
    assert check_certificate_files(files, ["shop.apps.test"], now=starts) == [
        {"certificate": cert.read_text(), "key": key.read_text()}
    ]
    with pytest.raises(FleetError) as error:
        check_certificate_files(files, [], now=ends)
    assert str(error.value) == (
        f"certificate file {cert} expired on {ends:%Y-%m-%d}; renew it and point "
        "edge.tlsFiles at the new files"
    )
    early = starts - datetime.timedelta(seconds=1)
    with pytest.raises(FleetError) as error:
        check_certificate_files(files, [], now=early)
    assert str(error.value) == f"certificate file {cert} is not valid before {starts}"
    with pytest.raises(FleetError) as error:
        check_certificate_files(files, ["blog.apps.test", "shop.apps.test"], now=starts)
    assert str(error.value).startswith(
        "the certificate files cover ['shop.apps.test'] but not ['blog.apps.test']; add a "
        "certificate for them"
    )


def test_certificate_files_that_are_not_pem_or_name_nothing_are_refused(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path, ["shop.apps.test"])
    junk = tmp_path / "junk.pem"
    junk.write_text("not a key")
    with pytest.raises(FleetError, match=f"certificate file {cert} or its key {junk} is not PEM"):
        check_certificate_files([(cert, junk)], [])
    with pytest.raises(FleetError, match="cannot read"):
        check_certificate_files([(tmp_path / "absent.pem", key)], [])
    key_obj = serialization.load_pem_private_key(key.read_bytes(), password=None)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shop.apps.test")])
    bare = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key_obj.public_key()).serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=1))
        .sign(key_obj, hashes.SHA256())
    )  # fmt: skip
    cert.write_bytes(bare.public_bytes(serialization.Encoding.PEM))
    assert check_certificate_files([(cert, key)], []) == [
        {"certificate": cert.read_text(), "key": key.read_text()}
    ]
    with pytest.raises(FleetError, match=r"cover no names but not \['shop.apps.test'\]"):
        check_certificate_files([(cert, key)], ["shop.apps.test"])


@pytest.mark.parametrize(
    ("url", "address"),
    [
        (LOCAL, "127.0.0.1"),
        ("ssh://deploy@far.example.com:2222", "far.example.com"),
        ("tcp://198.51.100.7:2376", "198.51.100.7"),
    ],
)
def test_published_ports_are_reached_at_the_engines_host(url: str, address: str) -> None:
    assert engine_address(EngineSpec("h", url, 1)) == address


def test_dns_problems_for_the_local_engine_ask_this_machine() -> None:
    spec = EngineSpec(name="local", url=LOCAL, capacity=1)
    table = {"ok.apps.test": {"127.0.0.1"}, "far.apps.test": {"203.0.113.9", "203.0.113.8"}}
    asked: list[str] = []

    def resolve(name: str) -> set[str]:
        asked.append(name)
        return table.get(name, set())

    problems = dns_problems(
        ["ok.apps.test", "far.apps.test", "none.apps.test"], spec, resolve=resolve,
        is_local=lambda ip: ip.startswith("127."),
    )  # fmt: skip
    assert problems == [
        "far.apps.test resolves to ['203.0.113.8', '203.0.113.9'], not to this machine",
        "none.apps.test does not resolve; add a DNS A/AAAA record for the host",
    ]
    assert asked == ["ok.apps.test", "far.apps.test", "none.apps.test"]  # not the engine's


def test_dns_problems_for_a_remote_engine_name_its_addresses() -> None:
    spec = EngineSpec(name="far", url="ssh://deploy@far.example.com", capacity=1)
    table = {"far.example.com": {"198.51.100.7"}, "bad.apps.test": {"198.51.100.8"}}
    problems = dns_problems(["bad.apps.test"], spec, resolve=lambda n: table.get(n, set()),
                            is_local=lambda ip: True)  # fmt: skip
    assert problems == [
        "bad.apps.test resolves to ['198.51.100.8'], not to host far ['198.51.100.7']"
    ]


def test_the_local_resolver_and_address_check_use_this_machine() -> None:
    assert "127.0.0.1" in _resolve("localhost")
    assert _resolve("no-such-name.invalid") == set()
    assert _is_local("127.0.0.1") is True
    assert _is_local("203.0.113.9") is False


def test_a_certificate_state_says_issuer_expiry_and_days_left() -> None:
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    state = CertificateState(
        "shop.apps.test", "Test CA", now + datetime.timedelta(days=30, hours=5)
    )
    assert state.describe(now) == "issuer Test CA, expires 2026-01-31 (30 days)"
    assert CertificateState("x", error="refused").describe(now) == "no certificate (refused)"


def test_the_edge_stack_file_keeps_secrets_and_salt_and_replaces_plain_keys(
    tmp_path: Path,
) -> None:
    assert read_edge_stack(tmp_path, "web") == {}
    path = write_edge_stack(tmp_path, "web", {"httpPort": 80, "routes": []})
    assert path == tmp_path / "stacks" / "Pulumi.web.yaml"
    data = yaml.safe_load(path.read_text())
    data["encryptionsalt"] = "v1:salt"
    data["config"]["supabase-edge:tlsFiles"] = {"secure": "v1:cipher"}
    data["config"]["other:key"] = "x"
    path.write_text(yaml.safe_dump(data))
    write_edge_stack(tmp_path, "web", {"httpsPort": 8443})
    data = yaml.safe_load(path.read_text())
    assert data == {
        "encryptionsalt": "v1:salt",
        "config": {"supabase-edge:httpsPort": 8443,
                   "supabase-edge:tlsFiles": {"secure": "v1:cipher"}},
    }  # fmt: skip
    assert read_edge_stack(tmp_path, "web") == {
        "httpsPort": 8443,
        "tlsFiles": {"secure": "v1:cipher"},
    }
    assert [p.name for p in path.parent.iterdir()] == ["Pulumi.web.yaml"]  # no temp file left


def _fleet(tmp_path: Path, hosts: dict, said: list[str], ups: list | None = None) -> EdgeFleet:
    class Workspace:
        def up(self, host, secret_config, on_output) -> dict:
            on_output("line")
            ups.append((host, dict(secret_config)))
            return {"loaderExitCode": exit_code.pop(0)}

    exit_code = [0, 0.0, None]
    fleet = EdgeFleet(tmp_path / "edge", tmp_path / "inventory.yaml", Workspace, said.append)
    fleet._hosts = hosts
    return fleet


def test_sync_writes_each_host_then_brings_it_up_and_checks_the_loader(tmp_path: Path) -> None:
    said: list[str] = []
    ups: list = []
    fleet = _fleet(tmp_path, {}, said, ups)
    fleet.workspace_factory = None  # nothing planned: no workspace is made
    fleet.sync({})
    fleet = _fleet(tmp_path, {}, said, ups)
    route = {"ref": "a", "hosts": ["a.apps.test"], "upstream": "u:8000", "paused": False}
    fleet.sync({"web": ({"routes": [route]}, {"tlsFiles": "[]"}), "db": ({"routes": []}, {})})
    path = tmp_path / "edge" / "stacks"
    assert said == [
        f"edge web: 1 routes (a); wrote {path / 'Pulumi.web.yaml'}",
        f"edge db: 0 routes (no projects); wrote {path / 'Pulumi.db.yaml'}",
    ]
    assert ups == [("web", {"tlsFiles": "[]"}), ("db", {})]
    with pytest.raises(FleetError) as error:
        fleet.sync({"web": ({"routes": []}, {})})  # the loader reported nothing
    assert str(error.value) == (
        "edge web: the proxy did not take the new config (loader exit code None); see "
        "`docker logs supabase-edge-config` on that host"
    )


def test_edge_status_of_hosts_without_an_edge_or_a_stack_yet(tmp_path: Path) -> None:
    fleet = _fleet(tmp_path, {"web": EdgeHost("web", "apps.test", {})}, [])
    spec = EngineSpec("web", LOCAL, 1)
    with pytest.raises(FleetError) as error:
        fleet.status("db", spec)
    assert str(error.value) == f"host 'db' has no edge section in {tmp_path / 'inventory.yaml'}"
    assert fleet.status("web", spec) == (
        "edge web: not set up yet (run a create or `edge sync web`)"
    )
    route = {"ref": "a", "hosts": ["a.apps.test"], "upstream": "u:8000", "paused": True}
    write_edge_stack(tmp_path / "edge", "web", {"httpsPort": 1, "routes": [route]})
    lines = fleet.status("web", spec).splitlines()
    assert lines[0] == "edge web: https on 127.0.0.1:1, 1 routes"
    assert lines[1] == f"  {'a':<24} paused (503)"
    assert lines[2].startswith("    https://a.apps.test  no certificate (")


def test_project_urls_show_the_port_only_when_it_is_not_443(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "a", domain="a.apps.test")
    spec = EngineSpec("web", LOCAL, 1)
    fleet = _fleet(tmp_path, {"web": EdgeHost("web", "apps.test", {"httpsPort": 1})}, [])
    [line] = project_lines(fleet, stack, spec)
    assert line.startswith("  https://a.apps.test:1/  no certificate (")
    fleet._hosts = {"web": EdgeHost("web", "apps.test", {})}
    [line] = project_lines(fleet, stack, spec)
    assert line.startswith("  https://a.apps.test/  ")
    assert project_lines(fleet, stack, EngineSpec("db", "ssh://db", 1)) == []


def test_acme_preflight_skips_names_the_edge_already_serves(tmp_path: Path) -> None:
    acme = {"certificates": {"mode": "acme", "email": "ops@apps.test"}, "httpPort": 80,
            "httpsPort": 443}  # fmt: skip
    host = EdgeHost("web", "apps.test", acme)
    spec = EngineSpec("web", LOCAL, 1)
    fleet = _fleet(tmp_path, {"web": host}, [])
    asked: list = []
    fleet.resolve = lambda name: {"203.0.113.9"}
    fleet.is_local = lambda address: False
    fleet.ports_in_use = lambda engine, ports: asked.append(ports) or {443}
    with pytest.raises(FleetError) as error:
        fleet._preflight(host, spec, ["new.apps.test"])
    assert str(error.value) == (
        "cannot enable ACME certificates: new.apps.test resolves to ['203.0.113.9'], not to "
        "this machine; ports [443] are taken on host web; the edge needs them for ACME "
        "challenges (free them, or set edge.httpPort/httpsPort) (or use "
        "edge.certificates.mode internal/files)"
    )
    assert asked == [(80, 443)]
    route = {"ref": "a", "hosts": ["old.apps.test"], "upstream": "u:8000", "paused": False}
    write_edge_stack(fleet.edge_dir, "web", {"routes": [route]})
    fleet._preflight(host, spec, ["old.apps.test"])  # served already; its ports are its own
    assert asked == [(80, 443)]


def test_edge_commands_name_an_unknown_host_or_one_without_an_edge(
    edge_env, capsys, tmp_path: Path
) -> None:
    edge_env.specs.append(EngineSpec("far", "ssh://far", 5))
    assert edge_env.main("edge", "status", "nosuch") == 2
    assert "unknown host 'nosuch'; the inventory has: local, far" in capsys.readouterr().err
    assert edge_env.main("edge", "sync", "far") == 2
    assert (
        f"host 'far' has no edge section in {edge_env.config.inventory_path}"
        in capsys.readouterr().err
    )
    assert edge_env.log == []
    assert edge_env.main("edge", "sync", "local") == 0
    assert edge_env.log == [("edge-up", "local")]
    assert edge_env.routes() == []
    assert edge_env.main("edge", "status", "local") == 0
    assert "edge local: https on 127.0.0.1:18443, 0 routes" in edge_env.out.getvalue()


def test_the_edge_stack_is_deployed_through_pulumi_with_its_secrets(
    tmp_path: Path, monkeypatch
) -> None:
    from pulumi import automation as auto

    edge_dir = tmp_path / "edge"
    backend = FakeBackend(edge_dir / "stacks")
    backend.install(monkeypatch)
    write_edge_stack(edge_dir, "web", {"httpsPort": 8443})
    lines: list[str] = []
    workspace = PulumiEdgeWorkspace(edge_dir, {"PULUMI_BACKEND_URL": "file:///s"}, "passphrase")
    outputs = workspace.up("web", {"tlsFiles": "[]"}, lines.append)
    backend.workspace_cls.assert_called_once_with(
        work_dir=str(edge_dir), env_vars={"PULUMI_BACKEND_URL": "file:///s"},
        secrets_provider="passphrase",
    )  # fmt: skip
    [(stack, key, value)] = backend.config_set
    assert (stack, key, value.value, value.secret) == ("web", "tlsFiles", "[]", True)
    assert backend.options == [("up", "web", {"color": "never", "show_secrets": False})]
    assert lines == ["Updating (web)"]
    assert outputs["apiUrl"] == "http://localhost:20000"  # plain values, not OutputValues
    assert backend.calls[-2:] == [("set_config", "web"), ("up", "web")]

    def missing(**kwargs: object) -> None:
        raise FileNotFoundError("pulumi")

    monkeypatch.setattr(auto, "LocalWorkspace", missing)
    with pytest.raises(FleetError, match="^the Pulumi CLI is not installed or not on PATH$"):
        workspace.up("web", {}, lines.append)


def test_the_contexts_edge_works_over_the_project_and_its_engines(
    tmp_path: Path, monkeypatch
) -> None:
    env = Env(tmp_path, monkeypatch=monkeypatch)
    ctx = env.context()
    edge = edge_of(ctx)
    assert edge_of(ctx) is edge  # made once per run
    assert (edge.edge_dir, edge.inventory_path) == (
        env.project / "edge",
        env.config.inventory_path,
    )
    env.engines[LOCAL].busy = {18443}
    assert edge.ports_in_use(EngineSpec("local", LOCAL, 1), [18080, 18443]) == {18443}
    edge.say("hello")
    assert env.out.getvalue() == "hello\n"
    write_edge_stack(env.project / "edge", "local", {"httpsPort": 18443})
    (env.stacks_dir / "Pulumi.local.yaml").write_text("config: {}\n")  # what the fake reads
    edge.workspace_factory().up("local", {}, lambda line: None)
    env.backend.workspace_cls.assert_called_with(
        work_dir=str(env.project / "edge"),
        env_vars=env.config.workspace_env(),
        secrets_provider=env.config.secrets_provider,
    )


def test_planning_covers_the_named_hosts_with_an_edge_and_only_their_projects(
    tmp_path: Path, monkeypatch
) -> None:
    env = EdgeEnv(tmp_path, monkeypatch, INTERNAL)
    env.specs.append(EngineSpec("far", "ssh://far", 5))
    env.write_stack("a", portSlot=0, dockerHost=LOCAL, domain="a.apps.test")
    env.write_stack("b", portSlot=1, dockerHost="ssh://far", domain="b.apps.test")
    env.write_stack("c", portSlot=2, dockerHost="ssh://gone", domain="c.apps.test")
    env.write_stack("broken", portSlot="x")
    ctx = env.context()
    stacks = [s for s in ctx.scan().stacks if not s.error]
    planned = plan_edges(ctx, stacks, ["local", "far", "ssh://gone", "nosuch"])
    assert list(planned) == ["local"]  # the others have no edge section
    config, secret = planned["local"]
    assert [route["ref"] for route in config["routes"]] == ["a"]
    assert secret == {}
    assert hosts_of(ctx, stacks) == {"local", "far", "ssh://gone"}
    sync_edges(ctx, ["local"])  # the unreadable stack file is left out, not fatal
    assert [route["ref"] for route in env.routes()] == ["a"]
    assert env.log == [("edge-up", "local")]


def test_status_lists_urls_only_for_projects_behind_an_edge(tmp_path: Path, monkeypatch) -> None:
    env = EdgeEnv(tmp_path, monkeypatch, INTERNAL)
    env.specs.append(EngineSpec("far", "ssh://far", 5))
    env.write_stack("a", portSlot=0, domain="a.apps.test")
    env.write_stack("b", portSlot=1, dockerHost="ssh://far", domain="b.apps.test")
    env.write_stack("c", portSlot=2)
    ctx = env.context()
    say_urls(ctx, ctx.scan().stacks)
    lines = env.out.getvalue().splitlines()
    assert lines[0] == "a: behind the edge"
    assert lines[1].startswith("  https://a.apps.test:18443/  no certificate (")
    assert len(lines) == 2


def test_several_certificate_files_cover_names_together(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    first = _certificate(tmp_path / "one", ["shop.apps.test"])
    second = _certificate(tmp_path / "two", ["*.blog.test"])
    loaded = check_certificate_files([first, second], ["shop.apps.test", "www.blog.test"])
    assert [item["certificate"] for item in loaded] == [first[0].read_text(), second[0].read_text()]
    with pytest.raises(FleetError) as error:
        check_certificate_files([first, second], ["a.shop.apps.test"])
    assert str(error.value).startswith(
        "the certificate files cover ['*.blog.test', 'shop.apps.test'] but not "
        "['a.shop.apps.test']; add a certificate for them (a wildcard *.<base domain> covers "
        "every project) to edge.tlsFiles"
    )


def test_the_edge_stack_file_keeps_the_given_order_and_survives_a_failed_write(
    tmp_path: Path,
) -> None:
    path = write_edge_stack(tmp_path, "web", {"routes": [], "httpPort": 80})
    assert list(yaml.safe_load(path.read_text())["config"]) == [
        "supabase-edge:routes",
        "supabase-edge:httpPort",
    ]
    before = path.read_text()
    with pytest.raises(yaml.representer.RepresenterError):
        write_edge_stack(tmp_path, "web", {"routes": object()})
    assert path.read_text() == before
    assert [p.name for p in path.parent.iterdir()] == ["Pulumi.web.yaml"]


def test_edge_status_defaults_to_port_443_and_reads_the_inventory_once(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yaml"
    host = {"name": "web", "url": LOCAL, "edge": {"certificates": {"mode": "internal"}}}
    inventory.write_text(yaml.safe_dump({"hosts": [host]}))
    fleet = EdgeFleet(tmp_path / "edge", inventory, lambda: None, lambda line: None)
    assert list(fleet.hosts) == ["web"]
    inventory.write_text(yaml.safe_dump({"hosts": [host | {"name": "other"}]}))
    assert list(fleet.hosts) == ["web"]  # one inventory per run
    write_edge_stack(tmp_path / "edge", "web", {"routes": []})
    spec = EngineSpec("web", "ssh://deploy@203.0.113.9", 1)
    assert fleet.status("web", spec) == "edge web: https on 203.0.113.9:443, 0 routes"


def test_edge_remove_is_refused_while_a_project_is_behind_it(edge_env, capsys) -> None:
    assert edge_env.main("create", "shop") == 0
    before = edge_env.edge_file()
    assert edge_env.main("edge", "remove", "local", "--yes") == 2
    err = capsys.readouterr().err
    assert "projects shop are behind it; nothing was removed" in err
    assert "supabase-fleet delete <ref>" in err and "publishGatewayPorts true" in err
    assert ("edge-remove", "local") not in edge_env.calls
    assert edge_env.edge_file() == before


def test_edge_remove_destroys_the_edge_and_keeps_its_certificates(edge_env) -> None:
    assert edge_env.main("create", "shop") == 0
    # A project placed on the host without a domain is not behind the edge.
    edge_env.write_stack("plain", portSlot=3)
    assert edge_env.main("delete", "shop", "--yes") == 0
    assert edge_env.main("edge", "remove", "local") == 1  # nobody confirmed
    assert edge_env.answers[-1].startswith("Remove the edge proxy of host local")
    assert "nothing removed (confirm, or pass --yes)" in edge_env.out.getvalue()
    assert ("edge-remove", "local") not in edge_env.calls
    edge_env.out.truncate(0)
    assert edge_env.main("edge", "remove", "local", "--yes") == 0
    out = edge_env.out.getvalue()
    assert edge_env.calls[-1] == ("edge-remove", "local")
    assert not (edge_env.project / "edge" / "stacks" / "Pulumi.local.yaml").exists()
    assert "destroyed its proxy, loader and network" in out
    assert "`docker volume rm supabase-edge-data` on that host" in out
    assert "still has an edge section" in out


def test_edge_remove_of_an_unknown_host_or_with_a_broken_stack_file_changes_nothing(
    edge_env, capsys
) -> None:
    assert edge_env.main("edge", "remove", "nowhere", "--yes") == 2
    assert "unknown host 'nowhere'; the inventory has: local" in capsys.readouterr().err
    (edge_env.stacks_dir / "Pulumi.broken.yaml").write_text("config: [")
    assert edge_env.main("edge", "remove", "local", "--yes") == 2
    assert "Pulumi.broken.yaml first (nothing was removed)" in capsys.readouterr().err
    assert ("edge-remove", "local") not in edge_env.calls


def test_the_pulumi_edge_workspace_destroys_before_it_removes_the_stack(
    tmp_path: Path, monkeypatch
) -> None:
    """Through the Automation API's real signatures: destroy, then `stack rm` (which refuses a
    stack that still has resources and deletes the stack file); never deployed: False."""
    edge_dir = tmp_path / "edge"
    (edge_dir / "stacks").mkdir(parents=True)
    backend = FakeBackend(edge_dir / "stacks")
    backend.install(monkeypatch)
    workspace = PulumiEdgeWorkspace(edge_dir, {}, None)
    assert workspace.remove("local", print) is False
    (edge_dir / "stacks" / "Pulumi.local.yaml").write_text("config: {}\n")
    workspace.up("local", {}, lambda _line: None)
    assert backend.stacks["local"].resources  # the fake's up deployed something
    assert workspace.remove("local", lambda _line: None) is True
    assert [call for call in backend.calls if call[0] != "up"] == [
        ("destroy", "local"),
        ("remove_stack", "local"),
    ]
    assert "local" not in backend.stacks
    assert not (edge_dir / "stacks" / "Pulumi.local.yaml").exists()
