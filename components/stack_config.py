"""The stack file's settings as pydantic models: a closed set of keys, each value bounded.

``StackConfig`` checks each value on its own (type, pattern, bounds) and refuses any key it
does not know; ``components.settings`` adds the rules that tie settings together (release,
gateway, ports, exclude) and builds the plain ``Settings``. The JSON Schema editors use for
``stacks/Pulumi.<stack>.yaml`` is generated from these models (``stack_file_schema``), so
the schema and the checks cannot drift apart.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, WithJsonSchema
from pydantic.alias_generators import to_camel

from components.ports import MAX_SLOT
from components.releases import ALL_SERVICE_NAMES, RELEASES
from components.setting_types import (
    CPUS_SCHEMA,
    MAX_API_KEY_DAYS,
    MAX_FILE_SIZE,
    MAX_JWT_EXPIRY,
    MAX_LOG_FILES,
    MAX_MEMORY_MB,
    MIN_MEMORY_MB,
    AbsolutePath,
    BaseUrl,
    BindAddress,
    ConfigBool,
    Cpus,
    DockerHost,
    Email,
    HostName,
    HostOrIp,
    ImageReference,
    Json,
    LogSize,
    PlainText,
    RedirectUrl,
    RegistryMirror,
    SiteUrl,
    StrictBool,
    StrictInt,
    UrlSafe,
    config_int,
    fail,
    unique,
    unique_list,
)

NAMESPACE = "supabase"
MIN_JWT_SECRET = 32
MIN_PASSWORD = 16
MIN_DASHBOARD_PASSWORD = 12
MAX_SECRET = 1024
SCHEMA_ID = "https://github.com/supabase-on-docker/schema/stack-config.schema.json"


def pattern(regex: str, what: str) -> Any:
    """Whole-string match of ``regex`` (also published in the schema); ``what`` says the form."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            fail(f"must be {what}")
        return value

    return Annotated[
        str, Strict(), AfterValidator(check), Field(json_schema_extra={"pattern": f"^(?:{regex})$"})
    ]


SECURE_VALUE = {
    "type": "object",
    "description": "set with `pulumi config set --secret <key> <value>`",
    "properties": {"secure": {"type": "string"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def secret(min_length: int, *extra: Any) -> Any:
    """A user-given secret: plain text to the program, ``{secure: ...}`` in the stack file."""
    metadata = (
        Strict(),
        Field(min_length=min_length, max_length=MAX_SECRET),
        *extra,
        WithJsonSchema(SECURE_VALUE),
    )
    return Annotated.__class_getitem__((str, *metadata))  # type: ignore[attr-defined]


Port = Annotated[StrictInt, Field(ge=1, le=65535)]
ServiceName = Literal[ALL_SERVICE_NAMES]  # type: ignore[valid-type]
OPTIONAL_NAMES = tuple(sorted({name for r in RELEASES.values() for name in r.optional}))
ExcludeName = Annotated[str, Strict(), Field(json_schema_extra={"enum": list(OPTIONAL_NAMES)})]
Ref = pattern(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
    "a valid project ref: 1 to 63 lowercase letters, digits and hyphens, not starting or "
    "ending with a hyphen",
)
IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"
RestSchemas = Annotated[
    pattern(rf"{IDENTIFIER}(?:,{IDENTIFIER})*", "schema names separated by commas, without spaces"),
    AfterValidator(lambda value: ",".join(unique(value.split(",")))),
]
DashboardUsername = pattern(r"[A-Za-z0-9_.@-]{1,64}", "letters, digits and _ . @ - (1 to 64)")
SmtpPassword = secret(1)
DashboardPassword = secret(MIN_DASHBOARD_PASSWORD)
JwtSecret = secret(MIN_JWT_SECRET)
PostgresPassword = secret(MIN_PASSWORD, UrlSafe)
ReleaseName = Literal[tuple(RELEASES)]  # type: ignore[valid-type]
GatewayName = Literal[tuple(sorted({g for r in RELEASES.values() for g in r.gateways}))]  # type: ignore[valid-type]


class Closed(BaseModel):
    """Refuses unknown keys; keys are the stack file's camelCase names."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        strict=True,
        alias_generator=to_camel,
        populate_by_name=False,
        use_attribute_docstrings=True,
    )


class PortsConfig(Closed):
    """Host port overrides; which names a project may use depends on its release."""

    kong_http: Port | None = Field(None, description="the gateway's HTTP port")
    kong_https: Port | None = Field(None, description="the gateway's HTTPS port")
    postgres: Port | None = Field(None, description="Postgres (release 2024-04)")
    pooler_session: Port | None = Field(None, description="Supavisor session mode (2026-09)")
    pooler_transaction: Port | None = Field(None, description="Supavisor transaction (2026-09)")


class SmtpConfig(Closed):
    """Where GoTrue sends mail; the password is the secret ``smtpPassword``."""

    host: HostOrIp | None = Field(None, examples=["smtp.example.com"])
    port: Port | None = Field(None, examples=[587])
    user: PlainText | None = Field(None, examples=["apikey"])
    admin_email: Email | None = Field(None, examples=["admin@example.com"])
    sender_name: PlainText | None = Field(None, examples=["Example"])


class AuthConfig(Closed):
    """GoTrue's sign-up switches."""

    disable_signup: StrictBool | None = None
    email_signup: StrictBool | None = None
    email_autoconfirm: StrictBool | None = Field(
        None, description="default: true without smtp.host, false with it"
    )
    anonymous_users: StrictBool | None = None
    phone_signup: StrictBool | None = None
    phone_autoconfirm: StrictBool | None = None


class ResourceConfig(Closed):
    """CPU and memory caps of one container."""

    cpus: Annotated[Cpus, WithJsonSchema(CPUS_SCHEMA)] | None = Field(
        None, examples=[1.5], description="0.01 to 512, in steps of 0.01"
    )
    memory_mb: Annotated[StrictInt, Field(ge=MIN_MEMORY_MB, le=MAX_MEMORY_MB)] | None = Field(
        None, examples=[2048]
    )


class StackConfig(Closed):
    """Every ``supabase:`` key of a stack file. None means unset: the default applies.

    The attribute docstrings become the schema's descriptions, which editors show.
    """

    ref: Ref | None = Field(None, examples=["shop"])
    """Project ref, a DNS label; names every Docker object. Default: the stack name."""
    release: ReleaseName | None = Field(None, examples=["2026-09"])
    """The Supabase stack the project runs. Default: 2024-04."""
    gateway: GatewayName | None = Field(None, examples=["kong"])
    """API gateway, one the release offers (2024-04: kong; 2026-09: envoy or kong)."""
    logs: ConfigBool | None = Field(None, examples=[True])
    """Run the log pipeline (analytics, vector). Default: true for 2024-04, false for 2026-09."""
    domain: HostName | None = Field(None, examples=["api.example.com"])
    """Public host name behind the edge proxy (https://<domain>)."""
    custom_domains: unique_list(HostName) | None = Field(None, examples=[["api.example.org"]])
    """More host names of the project, served beside `domain`."""
    publish_gateway_ports: ConfigBool | None = Field(None, examples=[True])
    """Publish the gateway's host ports. Default: false when `domain` is set, else true."""
    port_slot: config_int(0, MAX_SLOT) | None = Field(None, examples=[0])
    """Host port block: ports 20000+10*N to 20000+10*N+9."""
    ports: Annotated[PortsConfig, Json] | None = None
    """Host port overrides; each release publishes its own set."""
    kong_bind_address: BindAddress | None = Field(None, examples=["0.0.0.0"])
    """Host address the gateway's ports bind to. Default: 0.0.0.0."""
    postgres_bind_address: BindAddress | None = Field(None, examples=["127.0.0.1"])
    """Host address the database ports bind to. Default: 127.0.0.1."""
    api_external_url: BaseUrl | None = Field(None, examples=["https://api.example.com"])
    """Public API URL. Default: https://<domain>, else http://<docker host>:<kongHttp>."""
    site_url: SiteUrl | None = Field(None, examples=["https://app.example.com"])
    """The app's URL, for auth redirects. Default: http://localhost:3000."""
    additional_redirect_urls: unique_list(RedirectUrl) | None = Field(
        None, examples=[["https://app.example.com/**"]]
    )
    """More allowed redirect URLs (GoTrue's * wildcards allowed)."""
    smtp: Annotated[SmtpConfig, Json] | None = None
    """Mail server for confirmation and recovery mail."""
    smtp_password: SmtpPassword | None = None
    """SMTP password: `pulumi config set --secret smtpPassword <password>`."""
    auth: Annotated[AuthConfig, Json] | None = None
    """GoTrue's sign-up switches."""
    dashboard_username: DashboardUsername | None = Field(None, examples=["supabase"])
    """Studio basic-auth user. Default: supabase."""
    dashboard_password: DashboardPassword | None = None
    """Studio password (at least 12 characters, --secret). Default: generated."""
    jwt_secret: JwtSecret | None = None
    """JWT signing secret (at least 32 characters, --secret). Default: generated."""
    postgres_password: PostgresPassword | None = None
    """Postgres password (16+ of A-Za-z0-9._~-, --secret). Default: generated."""
    jwt_expiry: config_int(60, MAX_JWT_EXPIRY) | None = Field(None, examples=[3600])
    """User JWT lifetime in seconds, at most one week. Default: 3600."""
    api_key_lifetime_days: config_int(1, MAX_API_KEY_DAYS) | None = Field(None, examples=[3650])
    """Lifetime of the anon and service_role keys, in days. Default: 3650."""
    file_size_limit: config_int(1, MAX_FILE_SIZE) | None = Field(None, examples=[52428800])
    """Storage upload limit in bytes, at most 500 GiB. Default: 52428800 (50 MiB)."""
    functions_verify_jwt: ConfigBool | None = Field(None, examples=[True])
    """Edge functions require a valid JWT. Default: false."""
    imgproxy_webp_detection: ConfigBool | None = Field(None, examples=[True])
    """imgproxy serves WebP to browsers that accept it. Default: true."""
    rest_schemas: RestSchemas | None = Field(None, examples=["public,storage,graphql_public"])
    """Schemas PostgREST exposes. Default: public,storage,graphql_public."""
    studio_organization: PlainText | None = Field(None, examples=["Example Org"])
    """Organization name shown in Studio."""
    studio_project: PlainText | None = Field(None, examples=["Example Project"])
    """Project name shown in Studio."""
    exclude: unique_list(ExcludeName) | None = Field(None, examples=[["studio"]])
    """Optional services to leave out (2026-09 has no analytics here: use `logs`)."""
    resources: Annotated[dict[ServiceName, ResourceConfig], Json] | None = None
    """CPU and memory caps per service."""
    images: Annotated[dict[ServiceName, ImageReference], Json] | None = None
    """Image per service instead of the pinned one, taken as written."""
    registry_mirror: RegistryMirror | None = Field(None, examples=["mirror.example.com/dockerhub"])
    """Registry host and path the pinned images are pulled through."""
    docker_host: DockerHost | None = Field(None, examples=["ssh://deploy@engine.example.com"])
    """The Docker engine: unix:///path, ssh://user@host or tcp://host:2376 (with certs)."""
    docker_cert_path: AbsolutePath | None = Field(None, examples=["/etc/docker/engine-1"])
    """Directory with ca.pem, cert.pem, key.pem on the machine running Pulumi (tcp://)."""
    docker_socket: AbsolutePath | None = Field(None, examples=["/var/run/docker.sock"])
    """The socket path on the Docker host that Vector mounts."""
    paused: ConfigBool | None = Field(None, examples=[True])
    """Remove the containers, keep everything else. Default: false."""
    log_max_size: LogSize | None = Field(None, examples=["10m"])
    """Container log file size before rotation (1k to 1g). Default: 10m."""
    log_max_files: config_int(1, MAX_LOG_FILES) | None = Field(None, examples=[3])
    """Rotated container log files kept (1 to 100). Default: 3."""


#: The stack-file keys whose values are secrets.
SECRET_KEYS = frozenset(
    to_camel(name)
    for name in ("smtp_password", "dashboard_password", "jwt_secret", "postgres_password")
)
#: Every key of the namespace, by its stack-file name.
KEYS: tuple[str, ...] = tuple(
    field.alias or name for name, field in StackConfig.model_fields.items()
)


def _accept_text(schema: dict[str, Any]) -> dict[str, Any]:
    """Top-level numbers and booleans may be written as text (`pulumi config set` does).

    ``schema`` is a property as ``_tidy`` leaves it: one type, its ``null`` alternative gone.
    """
    if schema.get("type") == "integer":
        text = {"type": "string", "pattern": "^[+-]?[0-9]+$"}
    elif schema.get("type") == "boolean":
        text = {"type": "string", "enum": ["true", "false"]}
    else:
        return schema
    keep = {key: schema.pop(key) for key in ("description", "examples") if key in schema}
    return {**keep, "anyOf": [schema, text]}


def _tidy(node: Any) -> Any:
    """The stack file's view of a model schema: no generated titles ("Portslot"), and no
    ``null`` alternatives or ``null`` defaults (None only means "unset" to the models)."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {
        key: _tidy(value)
        for key, value in node.items()
        if key != "title" and not (key == "default" and value is None)
    }
    options = [option for option in node.pop("anyOf", []) if option != {"type": "null"}]
    if len(options) == 1:
        node.update(options[0])
    elif options:
        node["anyOf"] = options
    return node


def stack_file_schema() -> dict[str, Any]:
    """The JSON Schema of ``stacks/Pulumi.<stack>.yaml``: ``config: {supabase:<key>: value}``.

    Unknown ``supabase:`` keys are refused, as are ``docker:`` keys (this program configures
    its own Docker provider); other namespaces are left alone.
    """
    model = _tidy(StackConfig.model_json_schema(by_alias=True))
    properties = {
        f"{NAMESPACE}:{key}": _accept_text(schema) for key, schema in model["properties"].items()
    }
    known = sorted(properties)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Pulumi stack file of a Supabase project (stacks/Pulumi.<stack>.yaml)",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": properties,
                "propertyNames": {
                    "anyOf": [{"enum": known}, {"not": {"pattern": f"^({NAMESPACE}|docker):"}}]
                },
            },
        },
        "$defs": model.get("$defs", {}),
    }
