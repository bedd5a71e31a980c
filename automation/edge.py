"""The fleet's side of the edge proxy: domains for projects, routes for each host's edge stack.

How the edge learns its routes (explicit and reproducible): the project stack files are the
source of truth. For each inventory host with an ``edge`` section, ``sync`` derives the routes
``{ref, hosts, upstream, paused}`` of the projects on that host that have a ``domain`` and
writes them, with the host's edge settings, into ``edge/stacks/Pulumi.<host>.yaml``; then it
runs ``pulumi up`` on that stack. The file is reviewable and plain ``pulumi up`` in ``edge/``
gives the same result; rerunning ``sync`` with no project change rewrites the same file.
Every check (host names, names used twice, certificate files, ACME preflight) runs before
anything is written.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from automation import stackfiles
from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.inventory import spec_for_stack
from automation.stackfiles import StackFile
from components.edge_settings import (
    EdgeSettings,
    EdgeSettingsError,
    check_hostname,
)
from components.naming import EDGE_VOLUME, gateway_upstream

if TYPE_CHECKING:
    from automation.context import FleetContext

EDGE_NAMESPACE = "supabase-edge"
#: Inventory keys of a host this module reads (``automation.inventory`` allows them).
HOST_KEYS = ("baseDomain", "edge")
EDGE_KEYS = ("certificates", "httpPort", "httpsPort", "bindAddress", "image", "tlsFiles")
OnOutput = Callable[[str], None]


@dataclass(frozen=True)
class EdgeHost:
    """One inventory host's edge: its base domain, proxy settings and certificate files."""

    name: str
    base_domain: str | None
    settings: Mapping[str, Any]
    """The edge stack's settings except routes and the Docker host (camelCase keys)."""
    tls_files: tuple[tuple[Path, Path], ...] = ()
    """(certificate, key) files on this machine, for mode ``files``."""

    @property
    def mode(self) -> str:
        return str(self.settings.get("certificates", {}).get("mode", "acme"))

    @property
    def ports(self) -> tuple[int, int]:
        return int(self.settings.get("httpPort", 80)), int(self.settings.get("httpsPort", 443))


def parse_edge_hosts(data: object, *, source: str, base_dir: Path) -> dict[str, EdgeHost]:
    """The hosts of the inventory YAML that have ``baseDomain`` or ``edge``, validated."""
    hosts: dict[str, EdgeHost] = {}
    for index, host in enumerate((data or {}).get("hosts") or [] if isinstance(data, dict) else []):
        if not isinstance(host, dict) or not any(key in host for key in HOST_KEYS):
            continue
        where = f"{source}: hosts[{index}] ({host.get('name')}): "
        base = host.get("baseDomain")
        if base is not None:
            try:
                base = check_hostname(str(base), "baseDomain")
            except EdgeSettingsError as error:
                raise FleetError(f"{where}{error}") from None
        edge = host.get("edge") or {}
        if not isinstance(edge, dict):
            raise FleetError(f"{where}`edge` must be a mapping")
        unknown = sorted(set(edge) - set(EDGE_KEYS))
        if unknown:
            raise FleetError(f"{where}edge: unknown keys {unknown}; known: {list(EDGE_KEYS)}")
        settings = {key: edge[key] for key in EDGE_KEYS if key in edge and key != "tlsFiles"}
        certificates = dict(settings.get("certificates") or {})
        if "caRoot" in certificates:  # a path in the inventory, PEM text in the stack
            certificates["caRoot"] = _read(base_dir / str(certificates["caRoot"]), where)
        settings["certificates"] = certificates
        try:
            EdgeSettings.model_validate(settings)
        except ValidationError as error:
            first = error.errors()[0]
            loc = ".".join(str(part) for part in first["loc"])
            raise FleetError(f"{where}edge.{loc}: {first['msg']}") from None
        items = edge.get("tlsFiles") or []
        if not isinstance(items, list) or any(
            not isinstance(item, dict) or set(item) != {"certificate", "key"} for item in items
        ):
            raise FleetError(f"{where}edge.tlsFiles must be a list of {{certificate, key}} paths")
        files = tuple(
            (base_dir / str(item["certificate"]), base_dir / str(item["key"])) for item in items
        )
        if certificates.get("mode") == "files" and not files:
            raise FleetError(
                f"{where}edge.certificates.mode is files: list the certificate and key files "
                "under edge.tlsFiles: [{certificate: PATH, key: PATH}]"
            )
        hosts[str(host.get("name"))] = EdgeHost(str(host.get("name")), base, settings, files)
    return hosts


def load_edge_hosts(path: Path) -> dict[str, EdgeHost]:
    """The edge hosts of the inventory file (none when the file is absent)."""
    if not path.exists():
        return {}
    return parse_edge_hosts(
        yaml.safe_load(path.read_text()), source=str(path), base_dir=path.parent
    )


def _read(path: Path, where: str) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise FleetError(f"{where}cannot read {path}: {error}") from None


# -- names ---------------------------------------------------------------------------------


def project_names(stack: StackFile) -> list[str]:
    """The host names of a project: its ``domain``, then its ``customDomains``."""
    domain = stack.get("domain")
    custom = stack.get("customDomains") or []
    if isinstance(custom, str):  # written as JSON by hand
        custom = json.loads(custom)
    return [str(name) for name in ([domain] if domain else []) + list(custom)]


def check_names(stacks: Iterable[StackFile]) -> dict[str, str]:
    """Every project host name -> its ref; FleetError on a bad name or one used twice.

    A custom domain equal to another project's base name is a name used twice.
    """
    owners: dict[str, str] = {}
    for stack in stacks:
        for name in project_names(stack):
            key = "domain" if name == stack.get("domain") else "customDomains"
            try:
                name = check_hostname(name, f"{stack.path}: {key}")
            except EdgeSettingsError as error:
                raise FleetError(f"{error}; fix the stack file") from None
            if name in owners:
                raise FleetError(
                    f"{stack.path}: {key} {name!r} is already used by project "
                    f"{owners[name]!r}; a host name reaches one project only, choose another"
                )
            owners[name] = stack.ref
    return owners


def project_settings(ref: str, host: EdgeHost | None) -> dict[str, object]:
    """Stack settings a new project on ``host`` gets: its domain under the base domain."""
    if host is None or host.base_domain is None:
        return {}
    return {"domain": f"{ref}.{host.base_domain}"}


def routes_for(stacks: Iterable[StackFile]) -> list[dict[str, object]]:
    """The edge routes of the projects (one host's), sorted by ref."""
    routes = []
    for stack in sorted(stacks, key=lambda s: s.ref):
        names = project_names(stack)
        if not names:
            continue
        release = stack.release
        routes.append(
            {
                "ref": stack.ref,
                "hosts": [name.lower() for name in names],
                "upstream": gateway_upstream(stack.ref, release.gateway_service),
                "paused": stack.paused,
            }
        )
    return routes


def edge_config(host: EdgeHost, spec: EngineSpec, stacks: Iterable[StackFile]) -> dict[str, Any]:
    """The edge stack's whole (non-secret) config for one host; validated."""
    config: dict[str, Any] = {"dockerHost": spec.url, **host.settings}
    if spec.cert_path:
        config["dockerCertPath"] = spec.cert_path
    config["routes"] = routes_for(stacks)
    try:
        EdgeSettings.model_validate(config)
    except ValidationError as error:
        first = error.errors()[0]
        raise FleetError(f"edge of host {host.name}: {first['msg']}") from None
    return config


# -- certificate files ---------------------------------------------------------------------


def _matches(name: str, pattern: str) -> bool:
    """Whether a certificate name (``*.example.com`` covers one label) covers ``name``."""
    pattern = pattern.lower()
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return name == pattern


def check_certificate_files(
    files: Sequence[tuple[Path, Path]],
    names: Iterable[str],
    *,
    now: datetime.datetime | None = None,
) -> list[dict[str, str]]:
    """The files as ``{certificate, key}`` PEM text, after checking them; else FleetError.

    Each leaf must be valid now, match its key, and every name must be covered by one.
    """
    now = now or datetime.datetime.now(datetime.timezone.utc)
    loaded: list[dict[str, str]] = []
    covered: list[str] = []
    for cert_path, key_path in files:
        where = f"certificate file {cert_path}"
        cert_pem, key_pem = _read(cert_path, ""), _read(key_path, "")
        try:
            leaf = x509.load_pem_x509_certificates(cert_pem.encode())[0]
            key = serialization.load_pem_private_key(key_pem.encode(), password=None)
        except ValueError as error:
            raise FleetError(f"{where} or its key {key_path} is not PEM: {error}") from None
        if leaf.not_valid_after_utc <= now:
            raise FleetError(
                f"{where} expired on {leaf.not_valid_after_utc:%Y-%m-%d}; renew it and "
                "point edge.tlsFiles at the new files"
            )
        if leaf.not_valid_before_utc > now:
            raise FleetError(f"{where} is not valid before {leaf.not_valid_before_utc}")
        public = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if key.public_key().public_bytes(der, public) != leaf.public_key().public_bytes(
            der, public
        ):
            raise FleetError(f"{where} does not match its key {key_path}")
        try:
            sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            covered += sans.value.get_values_for_type(x509.DNSName)
        except x509.ExtensionNotFound:
            pass
        loaded.append({"certificate": cert_pem, "key": key_pem})
    missing = [name for name in names if not any(_matches(name, p) for p in covered)]
    if missing:
        raise FleetError(
            f"the certificate files cover {sorted(set(covered)) or 'no names'} but not "
            f"{missing}; add a certificate for them (a wildcard *.<base domain> covers every "
            "project) to edge.tlsFiles"
        )
    return loaded


# -- preflight -----------------------------------------------------------------------------


def _resolve(name: str) -> set[str]:
    try:
        return {info[4][0] for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)}
    except OSError:
        return set()


def _is_local(address: str) -> bool:
    """Whether ``address`` belongs to this machine (binding to it works only then)."""
    family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def engine_address(spec: EngineSpec) -> str:
    """Where the engine's published ports are reached: its host name, or loopback if local."""
    from urllib.parse import urlparse

    parsed = urlparse(spec.url)
    return "127.0.0.1" if parsed.scheme == "unix" or not parsed.hostname else parsed.hostname


def dns_problems(names: Iterable[str], spec: EngineSpec, resolve=_resolve, is_local=_is_local):
    """Names that do not resolve to the engine's host (ACME's HTTP/TLS checks would fail)."""
    address = engine_address(spec)
    local = address == "127.0.0.1"
    targets = set() if local else resolve(address)
    problems = []
    for name in names:
        found = resolve(name)
        if not found:
            problems.append(f"{name} does not resolve; add a DNS A/AAAA record for the host")
        elif local and not any(is_local(ip) for ip in found):
            problems.append(f"{name} resolves to {sorted(found)}, not to this machine")
        elif not local and not found & targets:
            problems.append(
                f"{name} resolves to {sorted(found)}, not to host {spec.name} {sorted(targets)}"
            )
    return problems


# -- status --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertificateState:
    """What the proxy presents for a name, read by a TLS handshake."""

    name: str
    issuer: str = ""
    not_after: datetime.datetime | None = None
    error: str = ""

    def describe(self, now: datetime.datetime | None = None) -> str:
        if self.error:
            return f"no certificate ({self.error})"
        now = now or datetime.datetime.now(datetime.timezone.utc)
        days = (self.not_after - now).days if self.not_after else 0
        return f"issuer {self.issuer}, expires {self.not_after:%Y-%m-%d} ({days} days)"


def certificate_state(name: str, address: str, port: int, timeout: float = 5) -> CertificateState:
    """The certificate served for ``name`` (SNI) at ``address:port``; not verified, only read."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except OSError as error:
        return CertificateState(name, error=str(error) or type(error).__name__)
    cert = x509.load_der_x509_certificate(der)
    issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    label = str(issuer[0].value) if issuer else cert.issuer.rfc4514_string()
    return CertificateState(name, label, cert.not_valid_after_utc)


# -- the edge stacks -----------------------------------------------------------------------


class EdgeWorkspace(Protocol):
    """What the fleet asks Pulumi about edge stacks (tests substitute a fake)."""

    def up(
        self, host: str, secret_config: Mapping[str, str], on_output: OnOutput
    ) -> Mapping[str, object]:
        """Set the secret config keys, deploy the edge stack of ``host``; its outputs."""
        ...

    def remove(self, host: str, on_output: OnOutput) -> bool:
        """Destroy the edge stack of ``host`` and remove it; False if it was never deployed."""
        ...


class PulumiEdgeWorkspace:
    """EdgeWorkspace on a LocalWorkspace over ``edge/`` (same backend and secrets)."""

    def __init__(self, edge_dir: Path, env: Mapping[str, str], secrets_provider: str | None):
        self._edge_dir, self._env, self._secrets = edge_dir, dict(env), secrets_provider

    def _workspace(self):
        from pulumi import automation as auto

        try:
            return auto.LocalWorkspace(
                work_dir=str(self._edge_dir), env_vars=self._env, secrets_provider=self._secrets
            )
        except FileNotFoundError as exc:
            raise FleetError("the Pulumi CLI is not installed or not on PATH") from exc

    def up(
        self, host: str, secret_config: Mapping[str, str], on_output: OnOutput
    ) -> Mapping[str, object]:
        from pulumi import automation as auto

        stack = auto.Stack.create_or_select(host, self._workspace())
        for key, value in secret_config.items():
            stack.set_config(key, auto.ConfigValue(value=value, secret=True))
        result = stack.up(on_output=on_output, color="never", show_secrets=False)
        return {name: value.value for name, value in result.outputs.items()}

    def remove(self, host: str, on_output: OnOutput) -> bool:
        from pulumi import automation as auto

        workspace = self._workspace()
        try:
            stack = auto.Stack.select(host, workspace)
        except auto.StackNotFoundError:
            return False
        stack.destroy(on_output=on_output, color="never")
        # `stack rm` also deletes edge/stacks/Pulumi.<host>.yaml (no --preserve-config).
        workspace.remove_stack(host)
        return True


def write_edge_stack(edge_dir: Path, host: str, config: Mapping[str, Any]) -> Path:
    """Write ``edge/stacks/Pulumi.<host>.yaml``'s plain keys, keeping secure keys and salt.

    Replaced atomically, so a crash never leaves a half-written file.
    """
    stacks = edge_dir / "stacks"
    stacks.mkdir(parents=True, exist_ok=True)
    path = stacks / f"Pulumi.{host}.yaml"
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {} if path.exists() else {}
    kept = {
        key: value
        for key, value in (data.get("config") or {}).items()
        if isinstance(value, dict) and "secure" in value
    }
    data["config"] = {f"{EDGE_NAMESPACE}:{key}": value for key, value in config.items()} | kept
    fd, tmp = tempfile.mkstemp(dir=stacks, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(yaml.safe_dump(data, sort_keys=False))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_edge_stack(edge_dir: Path, host: str) -> dict[str, Any]:
    """The plain config of a host's edge stack file (empty when there is none)."""
    path = edge_dir / "stacks" / f"Pulumi.{host}.yaml"
    if not path.exists():
        return {}
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    prefix = f"{EDGE_NAMESPACE}:"
    return {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}


@dataclass
class EdgeFleet:
    """Keeps each host's edge stack in step with the projects on it."""

    edge_dir: Path
    inventory_path: Path
    workspace_factory: Callable[[], EdgeWorkspace]
    say: Callable[[str], None]
    resolve: Callable[[str], set[str]] = _resolve
    is_local: Callable[[str], bool] = _is_local
    ports_in_use: Callable[[EngineSpec, Sequence[int]], set[int]] | None = None
    _hosts: dict[str, EdgeHost] | None = field(default=None, repr=False)

    @property
    def hosts(self) -> dict[str, EdgeHost]:
        if self._hosts is None:
            self._hosts = load_edge_hosts(self.inventory_path)
        return self._hosts

    def settings_for(self, ref: str, spec: EngineSpec) -> dict[str, object]:
        """Settings a new project placed on ``spec`` gets (its domain), else none."""
        return project_settings(ref, self.hosts.get(spec.name))

    def check(
        self,
        stacks: Sequence[StackFile],
        specs: Mapping[str, EngineSpec],
        hosts: Mapping[str, EngineSpec],
    ) -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
        """Everything ``sync`` will write for ``hosts``, checked; FleetError before any change.

        ``specs`` maps each ref to its engine, ``hosts`` names the engines whose edge is
        rewritten. Returns host -> (config, secret config); hosts without an edge are left out.
        """
        check_names(stacks)
        planned: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        for name, spec in hosts.items():
            host = self.hosts.get(name)
            if host is None:
                continue
            mine = [stack for stack in stacks if specs[stack.ref].name == name]
            config = edge_config(host, spec, mine)
            names = [h for route in config["routes"] for h in route["hosts"]]
            secret: dict[str, str] = {}
            if host.mode == "files":
                secret["tlsFiles"] = json.dumps(check_certificate_files(host.tls_files, names))
            elif host.mode == "acme":
                self._preflight(host, spec, names)
            planned[name] = (config, secret)
        return planned

    def _preflight(self, host: EdgeHost, spec: EngineSpec, names: list[str]) -> None:
        """ACME only: new names resolve to the host; ports free unless our edge holds them."""
        previous = read_edge_stack(self.edge_dir, host.name)
        known = {h for route in previous.get("routes") or [] for h in route["hosts"]}
        problems = dns_problems(
            [n for n in names if n not in known], spec, self.resolve, self.is_local
        )
        if not previous and self.ports_in_use is not None:
            busy = self.ports_in_use(spec, host.ports)
            if busy:
                problems.append(
                    f"ports {sorted(busy)} are taken on host {spec.name}; the edge needs them "
                    "for ACME challenges (free them, or set edge.httpPort/httpsPort)"
                )
        if problems:
            raise FleetError(
                "cannot enable ACME certificates: " + "; ".join(problems)
                + " (or use edge.certificates.mode internal/files)"
            )  # fmt: skip

    def sync(
        self,
        planned: Mapping[str, tuple[dict[str, Any], dict[str, str]]],
        on_output: OnOutput | None = None,
    ) -> None:
        """Write each planned host's edge stack file and bring the edge up."""
        if not planned:
            return
        workspace = self.workspace_factory()
        for host, (config, secret) in planned.items():
            path = write_edge_stack(self.edge_dir, host, config)
            refs = ", ".join(route["ref"] for route in config["routes"]) or "no projects"
            self.say(f"edge {host}: {len(config['routes'])} routes ({refs}); wrote {path}")
            outputs = workspace.up(host, secret, on_output or (lambda _line: None))
            # The provider records the loader's exit code without failing on it.
            if outputs.get("loaderExitCode") not in (0, 0.0):
                raise FleetError(
                    f"edge {host}: the proxy did not take the new config (loader exit code "
                    f"{outputs.get('loaderExitCode')}); see `docker logs supabase-edge-config` "
                    "on that host"
                )

    def remove(
        self, host: str, stacks: Sequence[StackFile], on_output: OnOutput | None = None
    ) -> None:
        """Take a host's edge down: destroy its stack and drop its stack file.

        ``stacks`` are the projects on that host. Refused while any of them is behind the edge:
        their gateways are attached to the edge network (Docker refuses to remove a network
        in use) and their https URLs would stop answering. The data volume is retained, so a
        later edge on the host serves the same certificates and keeps its ACME account.
        """
        behind = sorted(stack.ref for stack in stacks if project_names(stack))
        if behind:
            raise FleetError(
                f"edge {host}: projects {', '.join(behind)} are behind it; nothing was removed. "
                "Delete them first (`supabase-fleet delete <ref>`), or take each off the edge "
                "(`pulumi config rm domain` and `customDomains`, `pulumi config set "
                "publishGatewayPorts true`, then `supabase-fleet up <ref>`)"
            )
        path = self.edge_dir / "stacks" / f"Pulumi.{host}.yaml"
        deployed = self.workspace_factory().remove(host, on_output or (lambda _line: None))
        path.unlink(missing_ok=True)  # a file for a stack that was never deployed
        done = "destroyed its proxy, loader and network" if deployed else "nothing was deployed"
        self.say(
            f"edge {host}: {done}; the volume {EDGE_VOLUME} (certificates, ACME account) is "
            f"kept: `docker volume rm {EDGE_VOLUME}` on that host removes it"
        )
        if host in self.hosts:
            self.say(
                f"host {host} still has an edge section in {self.inventory_path}: the next "
                "create or sync there sets the edge up again; remove the section to stop that"
            )

    def status(self, host: str, spec: EngineSpec) -> str:
        """Routes of the host's edge stack and the certificate the proxy serves for each name."""
        if host not in self.hosts:
            raise FleetError(f"host {host!r} has no edge section in {self.inventory_path}")
        config = read_edge_stack(self.edge_dir, host)
        if not config:
            return f"edge {host}: not set up yet (run a create or `edge sync {host}`)"
        address, port = engine_address(spec), int(config.get("httpsPort", 443))
        lines = [f"edge {host}: https on {address}:{port}, {len(config['routes'])} routes"]
        for route in config.get("routes") or []:
            state = "paused (503)" if route.get("paused") else f"-> {route['upstream']}"
            lines.append(f"  {route['ref']:<24} {state}")
            for name in route["hosts"]:
                lines.append(
                    f"    https://{name}  {certificate_state(name, address, port).describe()}"
                )
        return "\n".join(lines)


# -- the fleet's hooks -----------------------------------------------------------------------


def edge_of(ctx: FleetContext) -> EdgeFleet:
    """The context's EdgeFleet, made on first use (tests set ``ctx.edge`` to their own)."""
    edge = getattr(ctx, "edge", None)
    if edge is None:
        config = ctx.config
        edge = EdgeFleet(
            edge_dir=config.project_dir / "edge",
            inventory_path=config.inventory_path,
            workspace_factory=lambda: PulumiEdgeWorkspace(
                config.project_dir / "edge", config.workspace_env(), config.secrets_provider
            ),
            say=ctx.say,
            ports_in_use=lambda spec, ports: ctx.engine(spec).ports_in_use(ports),
        )
        ctx.edge = edge  # type: ignore[attr-defined]
    return edge


def plan_edges(
    ctx: FleetContext, stacks: Sequence[StackFile], hosts: Iterable[str]
) -> dict[str, tuple[dict[str, Any], dict[str, str]]]:
    """The edge stacks of ``hosts`` as they would be with ``stacks``: checked, not written."""
    specs = {stack.ref: spec_for_stack(ctx.inventory, stack) for stack in stacks}
    engines = {spec.name: spec for spec in [*ctx.inventory, *specs.values()]}
    chosen = {name: engines[name] for name in hosts if name in engines}
    return edge_of(ctx).check(stacks, specs, chosen)


def sync_edges(ctx: FleetContext, hosts: Iterable[str]) -> None:
    """Rewrite and bring up the edges of ``hosts`` from the stack files as they are now."""
    stacks = [stack for stack in stackfiles.scan(ctx.config.stacks_dir).stacks if not stack.error]
    edge_of(ctx).sync(plan_edges(ctx, stacks, hosts))


def remove_edge(ctx: FleetContext, host: str) -> None:
    """Take the edge of inventory host ``host`` down (see EdgeFleet.remove)."""
    stacks = stackfiles.scan(ctx.config.stacks_dir).stacks
    broken = [str(stack.path) for stack in stacks if stack.error]
    if broken:  # an unreadable file may be a project behind this edge
        raise FleetError(
            f"edge {host}: cannot tell which projects are behind it; fix {', '.join(broken)} "
            "first (nothing was removed)"
        )
    mine = [stack for stack in stacks if spec_for_stack(ctx.inventory, stack).name == host]
    edge_of(ctx).remove(host, mine)


def hosts_of(ctx: FleetContext, stacks: Iterable[StackFile]) -> set[str]:
    """The inventory host names the projects run on."""
    return {spec_for_stack(ctx.inventory, stack).name for stack in stacks}


def say_urls(ctx: FleetContext, stacks: Iterable[StackFile]) -> None:
    """For ``status``: each project's https URLs and the certificate served for each."""
    edge = edge_of(ctx)
    for stack in stacks:
        lines = project_lines(edge, stack, spec_for_stack(ctx.inventory, stack))
        if lines:
            ctx.say(f"{stack.ref}: behind the edge")
            for line in lines:
                ctx.say(line)


def project_lines(edge: EdgeFleet, stack: StackFile, spec: EngineSpec) -> list[str]:
    """For ``status``: the project's https URLs and the certificate served for each."""
    host = edge.hosts.get(spec.name)
    if host is None:
        return []
    address, port = engine_address(spec), host.ports[1]
    suffix = "" if port == 443 else f":{port}"
    return [
        f"  https://{name}{suffix}/  {certificate_state(name, address, port).describe()}"
        for name in project_names(stack)
    ]
