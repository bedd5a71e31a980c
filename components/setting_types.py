"""Value types of the stack settings: pydantic annotated types with exact checks.

Every pattern matches the whole string (``fullmatch``), so a trailing newline never slips
through. A check only says what is wrong with the value; ``components.settings`` adds the
setting's name, what was given and the command that fixes it.

Pulumi hands a program every top-level config value as text (objects and lists as JSON), while
the stack file and values inside objects are typed: the ``Config*`` types accept both forms.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn
from urllib.parse import SplitResult, urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, Strict
from pydantic_core import PydanticCustomError

#: Limits, with why: each one keeps a value inside what the consumer really accepts.
MAX_CPUS = 512
"""Docker takes any positive nano-CPU count; no host we target has more than 512 CPUs."""
CPU_STEP = Decimal("0.01")
"""The provider reads ``cpus`` back from nano-CPUs as a decimal string; hundredths survive
that round trip exactly, finer values show as a change on every ``pulumi up``."""
MAX_MEMORY_MB = 1024 * 1024
"""1 TiB: far above any single container here, low enough to catch a byte count typed as MiB."""
MIN_MEMORY_MB = 6
"""Docker's own minimum memory limit."""
MAX_JWT_EXPIRY = 7 * 24 * 3600
"""One week, the most Supabase's own dashboard allows for user JWTs."""
MAX_API_KEY_DAYS = 36500
"""100 years: ``exp`` stays a real calendar date for every JWT library (64-bit time); a cap
that moved with the clock (2038) would turn a valid stack invalid over time."""
MAX_FILE_SIZE = 500 * 1024**3
"""500 GiB, Supabase's largest upload limit; Storage keeps it as a JavaScript number."""
MAX_LOG_FILES = 100
MAX_LOG_SIZE_BYTES = 1024**3
"""1 GiB per log file; ``logMaxFiles`` of them per container."""

DNS_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"{DNS_LABEL}(?:\.{DNS_LABEL})*")
#: A redirect URL host may hold GoTrue's glob wildcards.
_WILDCARD_LABEL = r"[a-z0-9*](?:[a-z0-9*-]*[a-z0-9*])?"
WILDCARD_HOST = re.compile(rf"{_WILDCARD_LABEL}(?:\.{_WILDCARD_LABEL})*")
#: Docker's image reference grammar (distribution/reference): registry, path, tag, digest.
_DOMAIN_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
_PORT = r"(?::[0-9]{1,5})"
# Docker takes the first component for a registry host only with a dot, a port or "localhost".
_DOMAIN = (
    rf"(?:(?:{_DOMAIN_LABEL}(?:\.{_DOMAIN_LABEL})+|localhost|\[[0-9a-fA-F:]+\]){_PORT}?"
    rf"|{_DOMAIN_LABEL}{_PORT})"
)
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?"
)
#: A registry mirror: a registry host with an optional path; never a tag or digest.
REGISTRY_PREFIX = re.compile(rf"{_DOMAIN}(?:/{_PATH_COMPONENT})*")
URL_SAFE_PASSWORD = re.compile(r"[A-Za-z0-9._~-]+")
LOG_SIZE = re.compile(r"([1-9][0-9]{0,9})([kmg])")
_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}
#: Unicode categories no setting may hold: controls (C0, C1), invisible format characters
#: (zero-width space, bidi overrides that make text read differently than it is) and
#: line/paragraph separators. ``unicodedata`` knows them all; a regex range would not.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
CERT_FILES = ("ca.pem", "cert.pem", "key.pem")


def fail(message: str) -> NoReturn:
    """Refuse a value; ``message`` says what the value must be."""
    raise PydanticCustomError("setting", message)


def has_hidden(value: str, *, spaces: bool = False) -> bool:
    """Whether ``value`` holds a control, invisible or separator character (and, with
    ``spaces``, any white space at all, Unicode's included)."""
    return any(
        unicodedata.category(char) in HIDDEN_CATEGORIES or (spaces and char.isspace())
        for char in value
    )


# --- text as Pulumi hands it to the program ------------------------------------------------


def _int_text(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"[+-]?[0-9]{1,18}", value):
        return int(value)
    return value


def _bool_text(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _json_text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # the type check then says a mapping or a list is needed


def config_int(low: int, high: int) -> Any:
    """A whole number from ``low`` to ``high``, typed or as the text Pulumi passes (``"3"``)."""
    return Annotated[int, Strict(), Field(ge=low, le=high), BeforeValidator(_int_text)]


ConfigBool = Annotated[bool, Strict(), BeforeValidator(_bool_text)]
"""true or false, typed or as text."""
Json = BeforeValidator(_json_text)
"""Marks a mapping or list setting that arrives as JSON text."""
StrictInt = Annotated[int, Strict()]
StrictBool = Annotated[bool, Strict()]


# --- names and addresses -----------------------------------------------------------------


def _host_name(value: str) -> str:
    if len(value) > 253 or not HOST_NAME.fullmatch(value) or value.rpartition(".")[2].isdigit():
        fail(
            "must be a DNS host name in lowercase (labels of letters, digits and hyphens, "
            "at most 63 characters each, 253 in all), not an IP address"
        )
    return value


HostName = Annotated[
    str,
    Strict(),
    AfterValidator(_host_name),
    Field(max_length=253, json_schema_extra={"pattern": f"^{HOST_NAME.pattern}$"}),
]


def _ip(value: str, message: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        fail(message)


def _host_or_ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        _host_name(value)
    return value


HostOrIp = Annotated[str, Strict(), AfterValidator(_host_or_ip)]


def _bind_address(value: str) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        fail("must be an IP address such as 127.0.0.1, 0.0.0.0 (all addresses) or ::")
    plain = getattr(address, "ipv4_mapped", None) or address
    if plain.is_multicast or plain == ipaddress.IPv4Address("255.255.255.255"):
        fail("must be a unicast address (not multicast or broadcast) to bind ports to")
    if getattr(address, "scope_id", None):
        fail("must be an address without a %zone")
    return value


BindAddress = Annotated[str, Strict(), AfterValidator(_bind_address)]


def url_host(host: str) -> str:
    """``host`` as it goes into a URL: IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host else host


def _split_url(value: str, *, wildcards: bool) -> SplitResult:
    if has_hidden(value, spaces=True):
        fail("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        fail("must be a URL with a valid host and a port from 1 to 65535")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        fail("must be an http:// or https:// URL with a host")
    if parts.fragment or value.endswith("#"):
        fail("must be a URL without a #fragment")
    if parts.username is not None:
        fail("must be a URL without user:password@")
    if port is not None and port == 0:
        fail("must be a URL with a port from 1 to 65535")
    host = parts.hostname
    if "[" in parts.netloc:
        if "%" in host:
            fail("must be a URL without an IPv6 %zone (browsers do not take one)")
    elif host.rpartition(".")[2].isdigit():
        _ip(host, "must be an http:// or https:// URL with a valid IPv4 address")
    else:
        valid = WILDCARD_HOST.fullmatch(host) if wildcards else HOST_NAME.fullmatch(host)
        if not valid or len(host) > 253:
            fail("must be an http:// or https:// URL with a valid host name or IP address")
    return parts


def _base_url(value: str) -> str:
    parts = _split_url(value, wildcards=False)
    if parts.query:
        fail("must be a base URL without a ?query")
    return value.rstrip("/")


def _site_url(value: str) -> str:
    _split_url(value, wildcards=False)
    return value.rstrip("/")


def _redirect_url(value: str) -> str:
    _split_url(value, wildcards=True)
    return value


BaseUrl = Annotated[str, Strict(), AfterValidator(_base_url)]
"""A URL other paths are appended to (``apiExternalUrl``)."""
SiteUrl = Annotated[str, Strict(), AfterValidator(_site_url)]
RedirectUrl = Annotated[str, Strict(), AfterValidator(_redirect_url)]
"""An allowed redirect URL; GoTrue's ``*`` wildcards are allowed."""


# --- Docker ------------------------------------------------------------------------------


#: An ssh user name as ``useradd`` takes it; no ``%`` escapes, no leading ``-``.
SSH_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")


def _docker_host(value: str) -> str:
    if has_hidden(value, spaces=True):
        fail("must be a URL without spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        fail("must have a port from 1 to 65535")
    usage = "must be unix:///path/to/docker.sock, ssh://user@host or tcp://host:2376"
    if parts.scheme == "unix":
        if parts.netloc or not parts.path.startswith("/"):
            fail(f"{usage} (a unix socket takes an absolute path after unix://)")
        return value
    if parts.scheme not in ("ssh", "tcp") or not parts.hostname:
        fail(usage)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        fail(f"{usage} (no path, query or fragment)")
    if parts.scheme == "ssh" and (
        parts.hostname.startswith("-") or (parts.username or "").startswith("-")
    ):
        fail("must not have a host or user starting with '-' (ssh would read it as an option)")
    if parts.scheme == "ssh" and parts.password is not None:
        fail("must not hold a password (use an ssh key)")
    if (
        parts.scheme == "ssh"
        and parts.username is not None
        and not SSH_USER.fullmatch(parts.username)
    ):
        fail("must have an ssh user of letters, digits and _ . - (no %-escapes)")
    _host_or_ip(parts.hostname)
    return value


DockerHost = Annotated[str, Strict(), AfterValidator(_docker_host)]


def _absolute_path(value: str) -> str:
    if not value.startswith("/") or has_hidden(value) or ":" in value or "," in value:
        fail("must be an absolute path without control characters, ':' or ','")
    return value


AbsolutePath = Annotated[str, Strict(), Field(max_length=4096), AfterValidator(_absolute_path)]


def check_cert_dir(path: str) -> None:
    """Refuse a TLS material directory that does not hold ``ca.pem``, ``cert.pem``, ``key.pem``."""
    directory = Path(path)
    if not directory.is_dir():
        fail("must be a directory that exists on this machine (it holds the engine's TLS files)")
    missing = [name for name in CERT_FILES if not (directory / name).is_file()]
    if missing:
        fail(f"must hold {', '.join(CERT_FILES)}; missing: {', '.join(missing)}")


def _registry_port(value: str, usage: str) -> None:
    """Refuse a registry ``host:port`` whose port is outside 1 to 65535 (the reference
    grammar only says "digits"). The registry is the part before the first ``/``."""
    if "/" not in value:
        return
    found = re.fullmatch(r"(?:\[[^\]]*\]|[^:]*)(?::([0-9]+))?", value.partition("/")[0])
    if found and found[1] and not 1 <= int(found[1]) <= 65535:
        fail(f"{usage}; the registry port must be from 1 to 65535")


def _image(value: str) -> str:
    usage = "must be an image reference like registry.example.com/supabase/gotrue:v2.149.0"
    if len(value) > 1024 or not IMAGE_REFERENCE.fullmatch(value):
        fail(usage)
    _registry_port(value, usage)
    return value


ImageReference = Annotated[str, Strict(), AfterValidator(_image)]


def _mirror(value: str) -> str:
    value = value.rstrip("/")
    usage = (
        "must be a registry host in lowercase with an optional path, like "
        "mirror.example.com/dockerhub (no scheme, tag or digest)"
    )
    # Lowercase only: Docker lowercases nothing, so "Mirror.Example.com" would make image
    # names that differ from the same mirror written in lowercase (a diff on every up).
    if not REGISTRY_PREFIX.fullmatch(value) or len(value) > 255 or value != value.lower():
        fail(usage)
    _registry_port(f"{value}/", usage)
    return value


RegistryMirror = Annotated[str, Strict(), AfterValidator(_mirror)]


def _cpus(value: float) -> float:
    exact = Decimal(str(value))  # any float's str() is a decimal literal, inf and nan too
    if not exact.is_finite() or not CPU_STEP <= exact <= MAX_CPUS:
        fail(f"must be a number of CPUs from 0.01 to {MAX_CPUS}")
    if exact % CPU_STEP:
        fail("must be a multiple of 0.01 (Docker reads finer values back differently)")
    return float(exact)


def _decimal_text(value: Any) -> Any:
    """``pulumi config set --path`` stores ``2`` as a number but ``1.5`` as text."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,6}(?:\.[0-9]{1,6})?", value):
        return float(value)
    return value


Cpus = Annotated[float, Strict(), AfterValidator(_cpus), BeforeValidator(_decimal_text)]
"""A number of CPUs, typed or as the decimal text ``pulumi config set --path`` writes."""
CPUS_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0.01, "maximum": MAX_CPUS},
        {"type": "string", "pattern": "^[0-9]{1,6}(\\.[0-9]{1,6})?$"},
    ]
}


def _log_size(value: str) -> str:
    found = LOG_SIZE.fullmatch(value)
    if not found:
        fail("must be a size like 10m, 500k or 1g")
    if int(found[1]) * _UNITS[found[2]] > MAX_LOG_SIZE_BYTES:
        fail("must be at most 1g")
    return value


LogSize = Annotated[str, Strict(), AfterValidator(_log_size)]


def _text(value: str) -> str:
    if has_hidden(value):
        fail("must be text without control or invisible characters (newlines, tabs, bidi marks)")
    if value != value.strip():
        fail("must be text without leading or trailing spaces")
    return value


PlainText = Annotated[str, Strict(), Field(max_length=256), AfterValidator(_text)]


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    usage = "must be an email address like admin@example.com"
    if not at or not local or "@" in local or has_hidden(local, spaces=True) or len(local) > 64:
        fail(usage)
    try:
        _host_name(domain)
    except PydanticCustomError:
        fail(f"{usage} (its domain in lowercase)")
    return value


Email = Annotated[str, Strict(), AfterValidator(_email)]


def _url_safe(value: str) -> str:
    if not URL_SAFE_PASSWORD.fullmatch(value):
        fail("may only use letters, digits and . _ ~ - (it goes into connection URLs)")
    return value


UrlSafe = AfterValidator(_url_safe)


def unique(items: list[Any]) -> list[Any]:
    """Refuse a list that names something twice."""
    seen: list[Any] = []
    for item in items:
        if item in seen:
            fail(f"must not list {item!r} twice")
        seen.append(item)
    return items


def unique_list(item: Any) -> Any:
    """A list (JSON text or typed) without repeats."""
    return Annotated[
        list[item], Json, AfterValidator(unique), Field(json_schema_extra={"uniqueItems": True})
    ]
