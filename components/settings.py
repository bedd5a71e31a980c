"""Stack configuration, read once and validated before any resource exists.

Every other module works from the frozen ``Settings`` this module returns, so a bad value
fails here, with a message that names the setting and the fix, and nothing is created.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlparse

from components.edge_settings import EdgeSettingsError, check_hostname
from components.naming import REF_PATTERN
from components.ports import HostPorts, PortPlanError, plan_ports
from components.releases import ALL_SERVICE_NAMES, DEFAULT_RELEASE, RELEASES, Release

#: Every service of the default (2024-04) release, in catalog order.
ALL_SERVICES: tuple[str, ...] = RELEASES[DEFAULT_RELEASE].services
#: Services a 2024-04 project may leave out with ``exclude``, and what leaves with each.
OPTIONAL_SERVICES: dict[str, tuple[str, ...]] = dict(RELEASES[DEFAULT_RELEASE].optional)
MIN_JWT_SECRET = 32
MIN_PASSWORD = 16
MIN_DASHBOARD_PASSWORD = 12
DOCKER_HOST_SCHEMES = ("unix", "ssh", "tcp")
#: A Docker image reference: optional registry/path, then name, then a tag and/or digest.
IMAGE_PATTERN = re.compile(
    r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*"
    r"(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
#: Postgres may only use these characters in a password that goes into connection URLs.
URL_SAFE_PASSWORD = re.compile(r"^[A-Za-z0-9._~-]+$")
LOG_SIZE_PATTERN = re.compile(r"^[1-9][0-9]*[kmg]$")


class SettingsError(ValueError):
    """A stack setting that cannot work; the message names the setting and the fix."""


class SecretValue:
    """A user-given secret that never shows in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plain value, for wrapping into a Pulumi secret straight away."""
        return self._value

    def __repr__(self) -> str:
        return "SecretValue(***)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class SmtpSettings:
    """Where GoTrue sends confirmation and recovery mail."""

    host: str = ""
    port: int = 587
    user: str = ""
    admin_email: str = ""
    sender_name: str = ""
    password: SecretValue | None = None


@dataclass(frozen=True)
class AuthSettings:
    """GoTrue's sign-up switches."""

    disable_signup: bool = False
    email_signup: bool = True
    email_autoconfirm: bool = False
    anonymous_users: bool = False
    phone_signup: bool = True
    phone_autoconfirm: bool = True


@dataclass(frozen=True)
class ResourceLimits:
    """CPU and memory caps of one container (None: no cap)."""

    cpus: float | None = None
    memory_mb: int | None = None


@dataclass(frozen=True)
class Settings:
    """One project's validated configuration, in plain values."""

    ref: str
    ports: HostPorts
    release: str = DEFAULT_RELEASE
    gateway: str = "kong"
    logs: bool = True
    domain: str | None = None
    """The project's public host name behind the edge proxy (https://<domain>), if any."""
    custom_domains: tuple[str, ...] = ()
    publish_gateway_ports: bool = True
    """Whether the gateway's host ports are published (off by default behind the edge)."""
    port_slot: int | None = None
    kong_bind_address: str = "0.0.0.0"
    postgres_bind_address: str = "127.0.0.1"
    site_url: str = "http://localhost:3000"
    api_external_url: str = ""
    additional_redirect_urls: tuple[str, ...] = ()
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    dashboard_username: str = "supabase"
    dashboard_password: SecretValue | None = None
    jwt_secret: SecretValue | None = None
    postgres_password: SecretValue | None = None
    jwt_expiry: int = 3600
    api_key_lifetime_days: int = 3650
    file_size_limit: int = 52428800
    functions_verify_jwt: bool = False
    imgproxy_webp_detection: bool = True
    rest_schemas: str = "public,storage,graphql_public"
    studio_organization: str = "Default Organization"
    studio_project: str = "Default Project"
    enabled_services: frozenset[str] = frozenset(ALL_SERVICES)
    resources: Mapping[str, ResourceLimits] = field(default_factory=dict)
    image_overrides: Mapping[str, str] = field(default_factory=dict)
    registry_mirror: str = ""
    docker_host: str = "unix:///var/run/docker.sock"
    docker_socket: str = "/var/run/docker.sock"
    docker_cert_path: str | None = None
    paused: bool = False
    log_max_size: str = "10m"
    log_max_files: int = 3

    @property
    def release_info(self) -> Release:
        """The release's data (services, gateways, ports, Postgres major)."""
        return RELEASES[self.release]

    @property
    def gateway_service(self) -> str:
        """The catalog key of the project's API gateway (``kong`` or ``api-gw``)."""
        return self.release_info.gateway_service

    @property
    def public_host(self) -> str:
        """The host name clients use for published ports (the Docker host's address)."""
        parsed = urlparse(self.docker_host)
        if parsed.scheme == "unix" or not parsed.hostname:
            return "localhost"
        return parsed.hostname

    def enabled(self, service: str) -> bool:
        """Whether the project runs ``service``."""
        return service in self.enabled_services


Reader = Callable[[str], str | None]
"""Returns the raw string of a config key (None when unset), like ``pulumi.Config.get``."""
SecretCheck = Callable[[str], bool]
"""Says whether a config key was stored as a secret (``--secret``)."""


def load_settings(read: Reader, *, stack: str, is_secret: SecretCheck) -> Settings:
    """Read and validate every setting; raise ``SettingsError`` on the first bad one."""
    raw = _RawConfig(read, is_secret)
    ref = raw.string("ref") or stack
    if not REF_PATTERN.match(ref):
        source = "ref" if raw.string("ref") else "the stack name (the default for ref)"
        raise SettingsError(
            f"ref {ref!r} from {source} is not a valid project ref: use 1 to 63 lowercase "
            "letters, digits and hyphens, not starting or ending with a hyphen; fix it with "
            "`pulumi config set ref <ref>`"
        )
    release_name = raw.string("release") or DEFAULT_RELEASE
    if release_name not in RELEASES:
        raise SettingsError(
            f"release {release_name!r} is not known; the releases are {sorted(RELEASES)}; "
            "fix it with `pulumi config set release 2026-09`"
        )
    release = RELEASES[release_name]
    gateway = raw.string("gateway") or release.default_gateway
    if gateway not in release.gateways:
        raise SettingsError(
            f"gateway {gateway!r} is not offered by release {release_name}; it offers "
            f"{list(release.gateways)}; "
            f"fix it with `pulumi config set gateway {release.default_gateway}`"
        )
    logs = raw.boolean("logs")
    logs = release.logs_default if logs is None else logs
    domain, custom_domains = _domains(raw)
    publish_gateway_ports = raw.boolean("publishGatewayPorts")
    if publish_gateway_ports is None:
        publish_gateway_ports = domain is None
    slot = raw.integer("portSlot")
    try:
        ports = plan_ports(slot, raw.mapping("ports"), release.port_names)
    except PortPlanError as error:
        raise SettingsError(str(error)) from None
    given = {
        "ref": ref,
        "ports": ports,
        "release": release_name,
        "gateway": gateway,
        "logs": logs,
        "domain": domain,
        "custom_domains": custom_domains,
        "publish_gateway_ports": publish_gateway_ports,
        "port_slot": slot,
        "kong_bind_address": raw.ip("kongBindAddress"),
        "postgres_bind_address": raw.ip("postgresBindAddress"),
        "site_url": raw.url("siteUrl"),
        "api_external_url": raw.url("apiExternalUrl"),
        "additional_redirect_urls": tuple(raw.url_list("additionalRedirectUrls")),
        "smtp": _smtp(raw),
        "auth": _auth(raw),
        "dashboard_username": raw.string("dashboardUsername"),
        "dashboard_password": raw.secret("dashboardPassword", MIN_DASHBOARD_PASSWORD),
        "jwt_secret": raw.secret("jwtSecret", MIN_JWT_SECRET),
        "postgres_password": raw.secret("postgresPassword", MIN_PASSWORD, url_safe=True),
        "jwt_expiry": raw.integer("jwtExpiry", minimum=60),
        "api_key_lifetime_days": raw.integer("apiKeyLifetimeDays", minimum=1),
        "file_size_limit": raw.integer("fileSizeLimit", minimum=1),
        "functions_verify_jwt": raw.boolean("functionsVerifyJwt"),
        "imgproxy_webp_detection": raw.boolean("imgproxyWebpDetection"),
        "rest_schemas": raw.string("restSchemas"),
        "studio_organization": raw.string("studioOrganization"),
        "studio_project": raw.string("studioProject"),
        "enabled_services": _enabled_services(raw, release, logs),
        "resources": _resources(raw),
        "image_overrides": _images(raw),
        "registry_mirror": _registry_mirror(raw),
        "docker_host": _docker_host(raw),
        "docker_socket": _absolute_path(raw, "dockerSocket"),
        "docker_cert_path": raw.string("dockerCertPath"),
        "paused": raw.boolean("paused"),
        "log_max_size": _log_max_size(raw),
        "log_max_files": raw.integer("logMaxFiles", minimum=1),
    }
    # Unset settings take the defaults declared once, on the Settings dataclass.
    settings = Settings(**{name: value for name, value in given.items() if value is not None})
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", settings.dashboard_username):
        raise SettingsError(
            "dashboardUsername may use letters, digits and _ . @ - (1 to 64 characters); "
            "fix it with `pulumi config set dashboardUsername <name>`"
        )
    if not settings.api_external_url:
        default_url = (
            f"https://{settings.domain}"
            if settings.domain
            else f"http://{settings.public_host}:{ports.kong_http}"
        )
        settings = replace(settings, api_external_url=default_url)
    return settings


def _domains(raw: _RawConfig) -> tuple[str | None, tuple[str, ...]]:
    """``domain`` and ``customDomains``: valid host names, each once, the latter only with
    the former (custom names reach the project through the same edge route)."""
    domain = raw.string("domain")
    custom = [str(name) for name in raw.structured("customDomains", list)]
    if custom and not domain:
        raise SettingsError(
            "customDomains need the project behind the edge proxy; set its domain with "
            "`pulumi config set domain <ref>.<base domain>` (the fleet sets it from the host)"
        )
    checked: list[str] = []
    for index, name in enumerate([domain, *custom] if domain else []):
        setting = "domain" if index == 0 else "customDomains"
        try:
            name = check_hostname(name, setting)
        except EdgeSettingsError as error:
            fix = "domain <name>" if index == 0 else "--path 'customDomains[N]' <name>"
            raise SettingsError(f"{error}; fix it with `pulumi config set {fix}`") from None
        if name in checked:
            raise SettingsError(f"{setting}: {name!r} is listed twice; list each host name once")
        checked.append(name)
    return (checked[0] if checked else None), tuple(checked[1:])


class _RawConfig:
    """Typed access to raw config strings, with errors that name the setting."""

    def __init__(self, read: Reader, is_secret: SecretCheck) -> None:
        self._read = read
        self._is_secret = is_secret

    def string(self, key: str) -> str | None:
        value = self._read(key)
        return value.strip() if value is not None and value.strip() else None

    def integer(self, key: str, *, minimum: int | None = None) -> int | None:
        value = self.string(key)
        if value is None:
            return None
        if not re.fullmatch(r"-?[0-9]+", value):
            raise SettingsError(
                f"{key} must be a whole number, got {value!r}; "
                f"fix it with `pulumi config set {key} <number>`"
            )
        number = int(value)
        if minimum is not None and number < minimum:
            raise SettingsError(
                f"{key} must be at least {minimum}, got {number}; "
                f"fix it with `pulumi config set {key} <number>`"
            )
        return number

    def boolean(self, key: str) -> bool | None:
        value = self.string(key)
        if value is None:
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise SettingsError(
            f"{key} must be true or false, got {value!r}; "
            f"fix it with `pulumi config set {key} true|false`"
        )

    def structured(self, key: str, kind: type) -> Any:
        value = self.string(key)
        if value is None:
            return kind()
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = None
        if not isinstance(parsed, kind):
            shape = "a mapping" if kind is dict else "a list"
            raise SettingsError(
                f"{key} must be {shape}, got {value!r}; fix it in the stack file, e.g. "
                f"`pulumi config set --path '{key}...'`"
            )
        return parsed

    def mapping(self, key: str) -> dict[str, Any]:
        return self.structured(key, dict)

    def url(self, key: str) -> str | None:
        value = self.string(key)
        if value is None:
            return None
        _check_url(key, value)
        return value.rstrip("/")

    def url_list(self, key: str) -> list[str]:
        values = self.structured(key, list)
        for index, value in enumerate(values):
            _check_url(f"{key}[{index}]", value, allow_wildcards=True)
        return values

    def ip(self, key: str) -> str | None:
        value = self.string(key)
        if value is None:
            return None
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise SettingsError(
                f"{key} must be an IP address such as 127.0.0.1 or 0.0.0.0, got {value!r}; "
                f"fix it with `pulumi config set {key} <address>`"
            ) from None
        return value

    def secret(self, key: str, min_length: int, *, url_safe: bool = False) -> SecretValue | None:
        value = self._read(key)
        if value is None or value == "":
            return None
        fix = f"set it with `pulumi config set --secret {key} <value>`"
        if not self._is_secret(key):
            raise SettingsError(f"{key} is stored in plain text in the stack file; {fix}")
        if len(value) < min_length:
            raise SettingsError(
                f"{key} is too short ({len(value)} characters, at least {min_length} needed); "
                f"{fix}, or remove it to have one generated"
            )
        if url_safe and not URL_SAFE_PASSWORD.match(value):
            raise SettingsError(
                f"{key} may only use letters, digits and . _ ~ - (it goes into connection "
                f"URLs); {fix}, or remove it to have one generated"
            )
        return SecretValue(value)


def _check_url(key: str, value: object, *, allow_wildcards: bool = False) -> None:
    parsed = urlparse(value) if isinstance(value, str) else None
    host_ok = (
        parsed is not None and bool(parsed.netloc) and (allow_wildcards or "*" not in parsed.netloc)
    )
    if parsed is None or parsed.scheme not in ("http", "https") or not host_ok:
        raise SettingsError(
            f"{key} must be an http:// or https:// URL with a host, got {value!r}; "
            f"fix it with `pulumi config set {key} https://example.com`"
        )


def _smtp(raw: _RawConfig) -> SmtpSettings:
    smtp = raw.mapping("smtp")
    known = {"host", "port", "user", "adminEmail", "senderName"}
    unknown = sorted(set(smtp) - known)
    if unknown:
        raise SettingsError(
            f"smtp has unknown entries {unknown}; the known ones are {sorted(known)} "
            "(the password goes in `pulumi config set --secret smtpPassword`)"
        )
    port = smtp.get("port", 587)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise SettingsError(f"smtp.port must be a port number, got {port!r}; fix it under smtp:")
    for key in ("host", "user", "adminEmail", "senderName"):
        if not isinstance(smtp.get(key, ""), str):
            raise SettingsError(f"smtp.{key} must be a string; fix it under smtp:")
    return SmtpSettings(
        host=smtp.get("host", ""),
        port=port,
        user=smtp.get("user", ""),
        admin_email=smtp.get("adminEmail", ""),
        sender_name=smtp.get("senderName", ""),
        password=raw.secret("smtpPassword", 1),
    )


AUTH_KEYS = {
    "disableSignup": "disable_signup",
    "emailSignup": "email_signup",
    "emailAutoconfirm": "email_autoconfirm",
    "anonymousUsers": "anonymous_users",
    "phoneSignup": "phone_signup",
    "phoneAutoconfirm": "phone_autoconfirm",
}


def _auth(raw: _RawConfig) -> AuthSettings:
    given = raw.mapping("auth")
    unknown = sorted(set(given) - set(AUTH_KEYS))
    if unknown:
        raise SettingsError(
            f"auth has unknown entries {unknown}; the known ones are {sorted(AUTH_KEYS)}"
        )
    for key, value in given.items():
        if not isinstance(value, bool):
            raise SettingsError(f"auth.{key} must be true or false, got {value!r}")
    return AuthSettings(**{AUTH_KEYS[key]: value for key, value in given.items()})


def _enabled_services(raw: _RawConfig, release: Release, logs: bool) -> frozenset[str]:
    excluded = raw.structured("exclude", list)
    optional = release.optional
    enabled = set(release.services)
    if not logs:
        enabled -= set(release.logs_services)
    for name in excluded:
        if name not in optional:
            if name == "vector":
                why = (
                    "vector goes with analytics: exclude analytics to drop both"
                    if "analytics" in optional
                    else "vector goes with analytics: set `logs: false` to drop both"
                )
            elif name == "analytics":
                why = "in this release the log pipeline is off unless `logs: true`"
            elif name in release.services:
                why = f"{name} is required by every project"
            else:
                why = f"{name!r} is not a service of release {release.name}"
            raise SettingsError(
                f"exclude lists {name!r}: {why}; only {sorted(optional)} can be excluded"
            )
        enabled -= set(optional[name])
    return frozenset(enabled)


def _known_service(setting: str, name: str) -> None:
    if name not in ALL_SERVICE_NAMES:
        raise SettingsError(
            f"{setting} names unknown service {name!r}; the services are {list(ALL_SERVICE_NAMES)}"
        )


def _resources(raw: _RawConfig) -> dict[str, ResourceLimits]:
    limits: dict[str, ResourceLimits] = {}
    for service, given in raw.mapping("resources").items():
        _known_service("resources", service)
        if not isinstance(given, dict) or not set(given) <= {"cpus", "memoryMb"}:
            raise SettingsError(
                f"resources.{service} must be a mapping with cpus and/or memoryMb, got {given!r}"
            )
        cpus, memory = given.get("cpus"), given.get("memoryMb")
        if cpus is not None and (
            isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or cpus <= 0
        ):
            raise SettingsError(f"resources.{service}.cpus must be a number above 0, got {cpus!r}")
        if memory is not None and (
            isinstance(memory, bool) or not isinstance(memory, int) or memory < 6
        ):
            raise SettingsError(
                f"resources.{service}.memoryMb must be a whole number of MiB, at least 6 "
                f"(Docker's minimum), got {memory!r}"
            )
        limits[service] = ResourceLimits(
            cpus=None if cpus is None else float(cpus), memory_mb=memory
        )
    return limits


def _images(raw: _RawConfig) -> dict[str, str]:
    images = raw.mapping("images")
    for service, image in images.items():
        _known_service("images", service)
        if not isinstance(image, str) or not IMAGE_PATTERN.match(image):
            raise SettingsError(
                f"images.{service} must be an image reference like "
                f"registry.example.com/supabase/gotrue:v2.149.0, got {image!r}"
            )
    return images


def _registry_mirror(raw: _RawConfig) -> str:
    mirror = (raw.string("registryMirror") or "").rstrip("/")
    if mirror and not IMAGE_PATTERN.match(mirror):
        raise SettingsError(
            f"registryMirror must be a registry host with an optional path, like "
            f"mirror.example.com/dockerhub, got {mirror!r}"
        )
    return mirror


def _docker_host(raw: _RawConfig) -> str | None:
    host = raw.string("dockerHost")
    if host is None:
        return None
    parsed = urlparse(host)
    if parsed.scheme not in DOCKER_HOST_SCHEMES or not (
        parsed.path if parsed.scheme == "unix" else parsed.hostname
    ):
        raise SettingsError(
            f"dockerHost must be unix:///path/to/docker.sock, ssh://user@host or "
            f"tcp://host:2376, got {host!r}; fix it with `pulumi config set dockerHost <url>`"
        )
    return host


def _absolute_path(raw: _RawConfig, key: str) -> str | None:
    path = raw.string(key)
    if path is not None and not path.startswith("/"):
        raise SettingsError(
            f"{key} must be an absolute path on the Docker host, got {path!r}; "
            f"fix it with `pulumi config set {key} /run/user/1000/docker.sock` (say)"
        )
    return path


def _log_max_size(raw: _RawConfig) -> str | None:
    size = raw.string("logMaxSize")
    if size is None:
        return None
    size = size.lower()
    if not LOG_SIZE_PATTERN.match(size):
        raise SettingsError(
            f"logMaxSize must be a size like 10m, 500k or 1g, got {size!r}; "
            "fix it with `pulumi config set logMaxSize 10m`"
        )
    return size
