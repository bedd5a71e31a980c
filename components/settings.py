"""Stack configuration, read once and validated before any resource exists.

Every other module works from the frozen ``Settings`` this module returns, so a bad value
fails here, with a message that names the setting and the fix, and nothing is created.
The per-value checks (types, patterns, bounds, unknown keys) live on the pydantic models of
``components.stack_config``; this module turns their errors into messages with a working
``pulumi config`` command, and applies the rules that tie settings together.
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

from components.ports import HostPorts, PortPlanError, plan_ports
from components.releases import DEFAULT_RELEASE, RELEASES, Release
from components.setting_types import check_cert_dir, url_host
from components.stack_config import (
    KEYS,
    NAMESPACE,
    SECRET_KEYS,
    AuthConfig,
    PortsConfig,
    ResourceConfig,
    SmtpConfig,
    StackConfig,
)

#: Every service of the default (2024-04) release, in catalog order.
ALL_SERVICES: tuple[str, ...] = RELEASES[DEFAULT_RELEASE].services


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
    """``load_settings`` defaults it to true when no SMTP host is set (nobody gets mail)."""
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
        """The host clients use for published ports (the Docker host's address), as it goes
        into a URL: an IPv6 address comes in brackets (``[2001:db8::7]``)."""
        parsed = urlsplit(self.docker_host)
        if parsed.scheme == "unix" or not parsed.hostname:
            return "localhost"
        return url_host(parsed.hostname)

    def enabled(self, service: str) -> bool:
        """Whether the project runs ``service``."""
        return service in self.enabled_services


Reader = Callable[[str], str | None]
"""Returns the raw string of a config key (None when unset), like ``pulumi.Config.get``."""
SecretCheck = Callable[[str], bool]
"""Says whether a config key was stored as a secret (``--secret``)."""

#: What to set instead of each ``docker:`` key: the program builds its own Docker provider
#: from ``supabase:`` settings, so the default provider's config would be silently ignored.
DOCKER_KEYS_INSTEAD = {
    "host": "`pulumi config set dockerHost <url>`",
    "certPath": "`pulumi config set dockerCertPath <dir>`",
    "caMaterial": "`pulumi config set dockerCertPath <dir with ca.pem, cert.pem, key.pem>`",
    "certMaterial": "`pulumi config set dockerCertPath <dir with ca.pem, cert.pem, key.pem>`",
    "keyMaterial": "`pulumi config set dockerCertPath <dir with ca.pem, cert.pem, key.pem>`",
    "sshOpts": "ssh options in ~/.ssh/config for the host of `dockerHost`",
    "registryAuth": "`pulumi config set registryMirror <host/path>` or `images`",
}
#: Keys of other models by the loc prefix pydantic reports, for "did you mean" hints.
NESTED_MODELS: dict[str, type] = {
    "smtp": SmtpConfig,
    "auth": AuthConfig,
    "ports": PortsConfig,
    "resources": ResourceConfig,
}


def load_settings(
    source: Mapping[str, Any] | Reader,
    *,
    stack: str,
    is_secret: SecretCheck,
    other_keys: Iterable[str] = (),
) -> Settings:
    """Read and validate every setting; raise ``SettingsError`` naming each bad one.

    ``source`` is the ``supabase:`` namespace's raw values by key (no prefix): a mapping is
    the whole namespace, so a key it holds that is not a setting is refused; a reader (like
    ``pulumi.Config.get``) can only be asked for the known keys. ``other_keys`` are the full
    names of the other namespaces' keys: ``docker:*`` ones are refused (see
    ``DOCKER_KEYS_INSTEAD``), the rest are left alone. Empty values count as unset.
    """
    if isinstance(source, Mapping):
        raw = {key: value for key, value in source.items() if value not in (None, "")}
    else:
        raw = {key: value for key in KEYS if (value := source(key)) not in (None, "")}
    problems = [_docker_key(key) for key in sorted(other_keys) if key.startswith("docker:")]
    problems += [
        f"{key} is stored in plain text in the stack file; set it with "
        f"`pulumi config set --secret {key} <value>`"
        for key in sorted(SECRET_KEYS & raw.keys())
        if not is_secret(key)
    ]
    try:
        model = StackConfig.model_validate(raw)
    except ValidationError as error:
        problems += [_describe(detail) for detail in error.errors()]
    if problems:
        raise SettingsError(_join(problems))
    return _settings(model, stack)


def runtime_config() -> tuple[dict[str, str], list[str], set[str]]:
    """The whole stack config the Pulumi runtime holds: this namespace's values by key, the
    other namespaces' keys, and the keys stored as secrets (all without the prefix).

    ``pulumi.Config`` reads one named key at a time, so it cannot find a misspelt one. The
    language host hands the program the whole config as ``PULUMI_CONFIG`` (and the secret
    keys as ``PULUMI_CONFIG_SECRET_KEYS``) and loads both into ``pulumi.runtime.config``;
    the test mocks and the Automation API's inline programs set that map directly.
    """
    from pulumi.runtime import config as runtime

    values = {**runtime.get_config_env(), **runtime.CONFIG.get()}
    secret = set(runtime.get_config_secret_keys_env()) | {
        key for key in values if runtime.is_config_secret(key)
    }
    prefix = f"{NAMESPACE}:"
    own = {key.removeprefix(prefix): v for key, v in values.items() if key.startswith(prefix)}
    others = [key for key in values if not key.startswith(prefix)]
    return own, others, {key.removeprefix(prefix) for key in secret if key.startswith(prefix)}


def _join(problems: list[str]) -> str:
    if len(problems) == 1:
        return problems[0]
    return f"{len(problems)} settings need fixing:\n" + "\n".join(f"- {p}" for p in problems)


def _docker_key(key: str) -> str:
    name = key.removeprefix("docker:")
    instead = DOCKER_KEYS_INSTEAD.get(
        name, "the `dockerHost`, `dockerCertPath` and `dockerSocket` settings"
    )
    return (
        f"{key} is not read by this program (it makes its own Docker provider from "
        f"`{NAMESPACE}:` settings); use {instead}, and remove it with `pulumi config rm {key}`"
    )


def _path(loc: tuple[Any, ...]) -> str:
    """A pydantic location as a ``pulumi config set --path`` path: ``resources.db.cpus``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$]*", str(part)):
            text += f".{part}" if text else str(part)
        else:
            text += f'["{part}"]'
    return text


def _example(loc: tuple[Any, ...]) -> str:
    names = [str(part) for part in loc if not isinstance(part, int)]
    model = NESTED_MODELS.get(names[0]) if len(names) > 1 else StackConfig
    name = names[-1]
    fields = {f.alias: f for f in (model.model_fields.values() if model else ())}
    examples = fields[name].examples if name in fields else None
    if not examples:
        return "<value>"
    value = examples[0]
    if isinstance(value, list):
        value = value[0]
    return str(value).lower() if isinstance(value, bool) else str(value)


#: A whole mapping or list is set one entry at a time: the entry each hint shows.
ENTRY_EXAMPLES: dict[str, tuple[tuple[Any, ...], str]] = {
    "smtp": (("smtp", "host"), "smtp.example.com"),
    "auth": (("auth", "emailAutoconfirm"), "true"),
    "ports": (("ports", "kongHttp"), "8000"),
    "resources": (("resources", "db", "memoryMb"), "2048"),
    "images": (("images", "auth"), "registry.example.com/supabase/gotrue:v2.149.0"),
    "additionalRedirectUrls": (("additionalRedirectUrls", 0), "https://app.example.com/**"),
    "customDomains": (("customDomains", 0), "api.example.org"),
    "exclude": (("exclude", 0), "studio"),
}


def _fix(loc: tuple[Any, ...]) -> str:
    """A ``pulumi config`` command that sets the value at ``loc`` (quoted for the shell)."""
    key = str(loc[0])
    if key in SECRET_KEYS:
        return f"`pulumi config set --secret {key} <value>`"
    if key not in ENTRY_EXAMPLES:
        return f"`pulumi config set {key} {shlex.quote(_example(loc))}`"
    entry, example = ENTRY_EXAMPLES[key]
    if len(loc) == 1 or (key == "resources" and len(loc) == 2):
        loc = (*loc, *entry[len(loc) :])
    else:
        example = _example(loc) if _example(loc) != "<value>" else example
    return f"`pulumi config set --path '{_path(loc)}' {shlex.quote(example)}`"


def _describe(detail: Any) -> str:
    """One pydantic error as a line naming the setting, what was given and the fix."""
    loc = tuple(part for part in detail["loc"] if part != "[key]")
    path, kind = _path(loc), detail["type"]
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if detail["loc"][-1] == "[key]":  # only `resources` and `images` are keyed: by service
        return (
            f"{path} is not a service of this program: "
            f"{detail['msg'].replace('Input should be', 'use')}; "
            f"remove it with `pulumi config rm --path '{path}'`"
        )
    message = re.sub(r"^\w+ should (be )?", lambda m: "must " + (m[1] or ""), detail["msg"])
    message = re.sub(r" or instance of \w+$", "", message)
    if kind == "bool_type":
        message = "must be true or false"
    if loc[0] in SECRET_KEYS:
        if kind == "string_too_short":
            return (
                f"{path} is too short ({len(detail['input'])} characters, at least "
                f"{detail['ctx']['min_length']} needed); set it with {_fix(loc)}, or remove it "
                "to have one generated"
            )
        return f"{path} {message}; set it with {_fix(loc)}"  # never echo a secret
    return f"{path} {message}, got {detail['input']!r}; fix it with {_fix(loc)}"


def _unknown_key(loc: tuple[Any, ...]) -> str:
    """An unknown key, with the nearest known one (case and spelling slips)."""
    *parent, name = (str(part) for part in loc)
    model = NESTED_MODELS[parent[0]] if parent else StackConfig  # only models refuse keys
    known = [f.alias for f in model.model_fields.values()]
    lowered = {key.lower(): key for key in known}
    near = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    hint = f" (did you mean `{lowered[near[0]]}`?)" if near else ""
    if not parent:
        return (
            f"{NAMESPACE}:{name} is not a setting{hint}; remove it with "
            f"`pulumi config rm {name}` (the settings are listed in README.md and "
            "schema/stack-config.schema.json)"
        )
    where = _path(tuple(parent))
    extra = " (the SMTP password is the secret `smtpPassword`)" if parent == ["smtp"] else ""
    return (
        f"{_path(loc)} is not a setting of {where}{hint}; its keys are {sorted(known)}{extra}; "
        f"remove it with `pulumi config rm --path '{_path(loc)}'`"
    )


def _settings(config: StackConfig, stack: str) -> Settings:
    """The rules that tie settings together, then the plain ``Settings``."""
    ref = config.ref or stack
    if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", ref):
        raise SettingsError(
            f"ref {ref!r} from the stack name (the default for ref) is not a valid project ref: "
            "use 1 to 63 lowercase letters, digits and hyphens, not starting or ending with a "
            "hyphen; fix it with `pulumi config set ref <ref>`"
        )
    release = RELEASES[config.release or DEFAULT_RELEASE]
    gateway = config.gateway or release.default_gateway
    if gateway not in release.gateways:
        raise SettingsError(
            f"gateway {gateway!r} is not offered by release {release.name}; it offers "
            f"{list(release.gateways)}; "
            f"fix it with `pulumi config set gateway {release.default_gateway}`"
        )
    logs = release.logs_default if config.logs is None else config.logs
    publish = config.domain is None if config.publish_gateway_ports is None else None
    publish = config.publish_gateway_ports if publish is None else publish
    if not publish and config.domain is None:
        raise SettingsError(
            "publishGatewayPorts is false and no domain is set, so nothing could reach the "
            "project's API; set `pulumi config set domain <host name>` (served by the edge "
            "proxy), or `pulumi config set publishGatewayPorts true`"
        )
    custom = tuple(config.custom_domains or ())
    if custom and config.domain is None:
        raise SettingsError(
            "customDomains need the project behind the edge proxy, which serves `domain`; "
            "set it with `pulumi config set domain <host name>`"
        )
    if config.domain is not None and config.domain in custom:
        raise SettingsError(
            f"customDomains lists {config.domain!r}, which is already `domain`; "
            "remove it with `pulumi config rm --path "
            f"'customDomains[{custom.index(config.domain)}]'`"
        )
    ports = _ports(config, release)
    _check_services(config, release)
    docker_host = config.docker_host
    if config.docker_cert_path is not None:
        if not (docker_host or "").startswith("tcp://"):
            raise SettingsError(
                f"dockerCertPath is set but dockerHost {docker_host or '(the local socket)'!r} "
                "is not a tcp:// engine, so the certificates would never be used; remove it "
                "with `pulumi config rm dockerCertPath`, or point dockerHost at the TLS engine "
                "with `pulumi config set dockerHost tcp://<host>:2376`"
            )
        _cert_dir(config.docker_cert_path)
    if docker_host and docker_host.startswith("tcp://") and config.docker_cert_path is None:
        raise SettingsError(
            f"dockerHost {docker_host!r} is a TCP engine, which needs TLS: set "
            "`pulumi config set dockerCertPath <dir>` to a directory holding ca.pem, cert.pem "
            "and key.pem (an engine on plain TCP is open to anyone who reaches the port)"
        )
    smtp = _smtp(config)
    given = {
        "ref": ref,
        "ports": ports,
        "release": release.name,
        "gateway": gateway,
        "logs": logs,
        "domain": config.domain,
        "custom_domains": custom,
        "publish_gateway_ports": publish,
        "port_slot": config.port_slot,
        "kong_bind_address": config.kong_bind_address,
        "postgres_bind_address": config.postgres_bind_address,
        "site_url": config.site_url,
        "api_external_url": config.api_external_url,
        "additional_redirect_urls": tuple(config.additional_redirect_urls or ()),
        "smtp": smtp,
        "auth": _auth(config, smtp),
        "dashboard_username": config.dashboard_username,
        "dashboard_password": _secret(config.dashboard_password),
        "jwt_secret": _secret(config.jwt_secret),
        "postgres_password": _secret(config.postgres_password),
        "jwt_expiry": config.jwt_expiry,
        "api_key_lifetime_days": config.api_key_lifetime_days,
        "file_size_limit": config.file_size_limit,
        "functions_verify_jwt": config.functions_verify_jwt,
        "imgproxy_webp_detection": config.imgproxy_webp_detection,
        "rest_schemas": config.rest_schemas,
        "studio_organization": config.studio_organization,
        "studio_project": config.studio_project,
        "enabled_services": _enabled_services(config, release, logs),
        "resources": {
            service: ResourceLimits(cpus=limits.cpus, memory_mb=limits.memory_mb)
            for service, limits in (config.resources or {}).items()
        },
        "image_overrides": dict(config.images or {}),
        "registry_mirror": config.registry_mirror,
        "docker_host": docker_host,
        "docker_socket": config.docker_socket,
        "docker_cert_path": config.docker_cert_path,
        "paused": config.paused,
        "log_max_size": config.log_max_size,
        "log_max_files": config.log_max_files,
    }
    # Unset settings take the defaults declared once, on the Settings dataclass.
    settings = Settings(**{name: value for name, value in given.items() if value is not None})
    if settings.api_external_url:
        return settings
    default_url = (
        f"https://{settings.domain}"
        if settings.domain
        else f"http://{settings.public_host}:{ports.kong_http}"
    )
    return replace(settings, api_external_url=default_url)


def _cert_dir(path: str) -> None:
    try:
        check_cert_dir(path)
    except PydanticCustomError as error:
        raise SettingsError(
            f"dockerCertPath {error.message()}, got {path!r}; fix it with "
            "`pulumi config set dockerCertPath <dir>` on the machine that runs Pulumi"
        ) from None


def _ports(config: StackConfig, release: Release) -> HostPorts:
    given = (config.ports or PortsConfig()).model_dump(by_alias=True, exclude_none=True)
    for name in given:
        if name not in release.port_names:
            owners = [r.name for r in RELEASES.values() if name in r.port_names]
            raise SettingsError(
                f"ports.{name} is not published by release {release.name} (only by "
                f"{', '.join(owners)}); its ports are {list(release.port_names)}; remove it "
                f"with `pulumi config rm --path 'ports.{name}'`"
            )
    try:
        return plan_ports(config.port_slot, given, release.port_names)
    except PortPlanError as error:
        raise SettingsError(str(error)) from None


def _check_services(config: StackConfig, release: Release) -> None:
    for setting in ("resources", "images"):
        for service in getattr(config, setting) or {}:
            if service not in release.services:
                raise SettingsError(
                    f"{setting}.{service}: {service!r} is not a service of release "
                    f"{release.name}; its services are {list(release.services)}; remove it "
                    f"with `pulumi config rm --path '{_path((setting, service))}'`"
                )


def _smtp(config: StackConfig) -> SmtpSettings:
    smtp = config.smtp or SmtpConfig()
    given = {
        "host": smtp.host,
        "port": smtp.port,
        "user": smtp.user,
        "admin_email": smtp.admin_email,
        "sender_name": smtp.sender_name,
        "password": _secret(config.smtp_password),
    }
    return SmtpSettings(**{name: value for name, value in given.items() if value is not None})


def _auth(config: StackConfig, smtp: SmtpSettings) -> AuthSettings:
    """GoTrue's switches; without SMTP, email sign-ups confirm themselves unless told not to."""
    given = (config.auth or AuthConfig()).model_dump(exclude_none=True)
    given.setdefault("email_autoconfirm", not smtp.host)
    auth = AuthSettings(**given)
    emails_needed = auth.email_signup and not auth.disable_signup and not auth.email_autoconfirm
    if emails_needed and not smtp.host:
        raise SettingsError(
            "auth.emailAutoconfirm is false but no smtp.host is set, so GoTrue could not send "
            "the confirmation mail and every email sign-up would fail; set the mail server with "
            "`pulumi config set --path 'smtp.host' smtp.example.com` (and "
            "`pulumi config set --secret smtpPassword <password>`), or remove "
            "`auth.emailAutoconfirm`"
        )
    return auth


def _enabled_services(config: StackConfig, release: Release, logs: bool) -> frozenset[str]:
    optional = release.optional
    enabled = set(release.services)
    if not logs:
        enabled -= set(release.logs_services)
    for index, name in enumerate(config.exclude or ()):
        if name not in optional:
            if name == "vector":
                why = (
                    "vector goes with analytics: exclude analytics to drop both"
                    if "analytics" in optional
                    else "vector goes with analytics: drop both with `pulumi config set logs false`"
                )
            elif name == "analytics":
                why = "in this release the log pipeline is off unless `pulumi config set logs true`"
            elif name in release.services:
                why = f"{name} is required by every project"
            else:
                why = f"{name!r} is not a service of release {release.name}"
            raise SettingsError(
                f"exclude lists {name!r}: {why}; only {sorted(optional)} can be excluded; "
                f"remove it with `pulumi config rm --path 'exclude[{index}]'`"
            )
        enabled -= set(optional[name])
    return frozenset(enabled)


def _secret(value: str | None) -> SecretValue | None:
    return None if value is None else SecretValue(value)
