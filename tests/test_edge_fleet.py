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
    PulumiEdgeWorkspace,
    certificate_state,
    check_names,
    dns_problems,
    edge_of,
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
