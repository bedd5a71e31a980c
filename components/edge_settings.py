"""Settings of the edge stack (one HTTPS proxy per Docker engine), validated with pydantic.

The fleet writes them into ``edge/stacks/Pulumi.<host>.yaml`` and plain ``pulumi up`` in
``edge/`` reads the same file, so routes are data in one reviewed file, never state kept
elsewhere. The config is closed: an unknown key, a bad host name or a name used twice fails
with a message that names the setting and the fix, before any resource exists.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from components.naming import REF_PATTERN

#: Let's Encrypt's production directory, the default ACME CA.
LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
#: A DNS host name: dot-separated labels of letters, digits and inner hyphens, at most 253
#: characters, at least two labels (a bare label cannot get a public certificate).
HOSTNAME_PATTERN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)
#: ``<container name>:<port>`` on the edge network.
UPSTREAM_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*:[0-9]{1,5}$")
Port = Annotated[int, Field(ge=1, le=65535)]


class EdgeSettingsError(ValueError):
    """An edge setting that cannot work; the message names the setting and the fix."""


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def check_hostname(name: str, setting: str) -> str:
    """``name`` lower-cased if it is a valid DNS host name; else EdgeSettingsError."""
    lowered = name.strip().lower()
    if not HOSTNAME_PATTERN.match(lowered):
        raise EdgeSettingsError(
            f"{setting}: {name!r} is not a valid host name; use dot-separated labels of "
            "letters, digits and hyphens, e.g. shop.example.com"
        )
    return lowered


class Route(_Closed):
    """One project behind the edge: its host names and its gateway on the edge network."""

    ref: str
    hosts: tuple[str, ...] = Field(min_length=1)
    upstream: str
    paused: bool = False

    @field_validator("ref")
    @classmethod
    def _ref(cls, ref: str) -> str:
        if not REF_PATTERN.match(ref):
            raise ValueError(f"{ref!r} is not a project ref (a DNS label)")
        return ref

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(check_hostname(host, "hosts") for host in hosts)
        except EdgeSettingsError as error:
            raise ValueError(str(error)) from None

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, upstream: str) -> str:
        if not UPSTREAM_PATTERN.match(upstream):
            raise ValueError(f"{upstream!r} is not <container>:<port>")
        return upstream


class CertificateFile(_Closed):
    """A certificate chain and its key the user supplies (PEM), e.g. a wildcard."""

    certificate: str
    key: str


class Certificates(_Closed):
    """How the proxy gets certificates: ACME, its own CA, or files the user supplies."""

    mode: Literal["acme", "internal", "files"] = "acme"
    email: str | None = None
    """ACME account email (expiry notices); required for ``acme``."""
    ca: str = LETS_ENCRYPT
    """ACME directory URL."""
    ca_root: str | None = Field(default=None, alias="caRoot")
    """PEM of the ACME server's root, when it is not publicly trusted (test CAs)."""

    @model_validator(mode="after")
    def _mode_needs(self) -> Certificates:
        if self.mode == "acme" and not self.email:
            raise ValueError(
                "mode acme needs an account email: set certificates.email (expiry notices go "
                "there), or use mode internal for development"
            )
        if not self.ca.startswith("https://"):
            raise ValueError(f"ca {self.ca!r} must be an https:// ACME directory URL")
        return self


class EdgeSettings(_Closed):
    """Everything the edge stack needs, as plain validated values."""

    docker_host: str = Field(default="unix:///var/run/docker.sock", alias="dockerHost")
    docker_cert_path: str | None = Field(default=None, alias="dockerCertPath")
    image: str = "caddy:2.10.2"
    http_port: Port = Field(default=80, alias="httpPort")
    https_port: Port = Field(default=443, alias="httpsPort")
    bind_address: str = Field(default="0.0.0.0", alias="bindAddress")
    certificates: Certificates = Field(default_factory=Certificates)
    routes: tuple[Route, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> EdgeSettings:
        if self.http_port == self.https_port:
            raise ValueError("httpPort and httpsPort must differ")
        refs: set[str] = set()
        owners: dict[str, str] = {}
        for route in self.routes:
            if route.ref in refs:
                raise ValueError(f"routes: project {route.ref!r} is listed twice")
            refs.add(route.ref)
            for host in route.hosts:
                if host in owners:
                    raise ValueError(
                        f"routes: host {host!r} is used by both {owners[host]!r} and "
                        f"{route.ref!r}; give each project its own names"
                    )
                owners[host] = route.ref
        return self

    @property
    def hosts(self) -> tuple[str, ...]:
        """Every host name the proxy serves, in route order."""
        return tuple(host for route in self.routes for host in route.hosts)


def parse_edge_settings(
    raw: dict[str, object], *, files: list[dict[str, str]] | None = None
) -> tuple[EdgeSettings, tuple[CertificateFile, ...]]:
    """Validate the edge stack's config; EdgeSettingsError names the setting and the fix.

    ``files`` are the certificate files of mode ``files`` (kept apart: their keys are secrets).
    """
    try:
        settings = EdgeSettings.model_validate(raw)
        certs = tuple(CertificateFile.model_validate(item) for item in files or ())
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "edge settings"
        raise EdgeSettingsError(
            f"{where}: {first['msg']}; fix it in edge/stacks/Pulumi.<host>.yaml "
            "(the fleet rewrites it: `supabase-fleet edge sync <host>`)"
        ) from None
    if settings.certificates.mode == "files" and not certs:
        raise EdgeSettingsError(
            "certificates.mode is files but tlsFiles is empty; fix it with "
            '`pulumi config set --secret tlsFiles \'[{"certificate": ..., "key": ...}]\'`'
        )
    return settings, certs
