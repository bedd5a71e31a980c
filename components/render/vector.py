"""Vector's config (vector.yml) for one project: ship its containers' logs to its Logflare.

Many projects share one Docker host and vector reads the host's Docker socket, so the
source is filtered on the project label: a project's analytics never see another
project's logs. Events are routed by the service label, which does not depend on how
containers are named. The Logflare API key stays out of the file: vector fills in
``${LOGFLARE_API_KEY}`` from its environment when it loads the config.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import yaml

from components import naming

#: Vector's own environment interpolation; loading fails loudly if the variable is unset.
LOGFLARE_API_KEY_REF = "${LOGFLARE_API_KEY?LOGFLARE_API_KEY is required}"

_SOURCE = "docker_host"
_ROUTER = "router"
_ANALYTICS_URL = "http://analytics:4000"
#: Logflare behind kong, see the db stream below.
_ANALYTICS_VIA_KONG_URL = "http://kong:8000/analytics/v1"
#: Wide enough that no value is ever folded onto a second line, which would break the
#: ``${...}`` interpolation vector does on the raw text.
_YAML_WIDTH = 1 << 16

#: Every transform starts here: the same event shape as the official setup, whose
#: Logflare sources and Studio's log queries expect it. The service parts below never
#: fail at run time, since a failing remap would pass the event on without this part.
_COMMON_VRL = """\
.project = "default"
.event_message = del(.message)
.appname = del(.container_name)
del(.container_created_at)
del(.container_id)
del(.source_type)
del(.stream)
del(.label)
del(.image)
del(.host)
"""

# Kong's access log; other lines (start-up noise) are dropped.
_KONG_ACCESS_VRL = """\
req, err = parse_nginx_log(.event_message, "combined")
if err != null {
  abort
}
.timestamp = req.timestamp
.metadata.request.headers.referer = req.referer
.metadata.request.headers.user_agent = req.agent
.metadata.request.headers.cf_connecting_ip = req.client
.metadata.request.method = req.method
.metadata.request.path = req.path
.metadata.request.protocol = req.protocol
.metadata.response.status_code = req.status
"""

# Kong's nginx error log; other lines are dropped.
_KONG_ERROR_VRL = """\
.metadata.request.method = "GET"
.metadata.response.status_code = 200
parsed, err = parse_nginx_log(.event_message, "error")
if err != null {
  abort
}
.timestamp = parsed.timestamp
.severity = parsed.severity
.metadata.request.host = parsed.host
.metadata.request.headers.cf_connecting_ip = parsed.client
url, err = split(parsed.request, " ")
if err != null {
  abort
}
.metadata.request.method = url[0]
.metadata.request.path = url[1]
.metadata.request.protocol = url[2]
"""

# GoTrue logs JSON, which Studio parses itself; metadata keeps the fields too.
_AUTH_VRL = """\
parsed, err = parse_json(.event_message)
if err == null && is_object(parsed) {
  .metadata.timestamp = parsed.time
  .metadata = merge!(.metadata, parsed)
}
"""

# PostgREST prefixes each line with its time ("01/Apr/2024:10:00:00 +0000: ...").
_REST_VRL = """\
parsed, err = parse_regex(.event_message, r'^(?P<time>.*?): (?P<msg>.*)$')
if err == null {
  .event_message = parsed.msg
  .timestamp = parse_timestamp(parsed.time, format: "%d/%b/%Y:%H:%M:%S %z") ?? .timestamp
  .metadata.host = .project
}
"""

# Realtime's lines carry a level (their time has no date, so the event's is kept).
_REALTIME_VRL = """\
.metadata.project = del(.project)
.metadata.external_id = .metadata.project
parsed, err = parse_regex(.event_message, r'^(?P<time>\\d+:\\d+:\\d+\\.\\d+) \\[(?P<level>\\w+)\\] (?P<msg>.*)$')
if err == null {
  .event_message = parsed.msg
  .metadata.level = parsed.level
}
"""  # noqa: E501 (a VRL regex literal cannot be split)

# Storage logs JSON objects.
_STORAGE_VRL = """\
.metadata.project = del(.project)
.metadata.tenantId = .metadata.project
parsed, err = parse_json(.event_message)
if err == null && is_object(parsed) {
  .event_message = parsed.msg
  .metadata.level = parsed.level
  .metadata.timestamp = parsed.time
  .metadata.context[0].host = parsed.hostname
  .metadata.context[0].pid = parsed.pid
}
"""

# Postgres writes some messages on stderr; the severity comes from the message text.
_DB_VRL = """\
.metadata.host = "db-default"
.metadata.parsed.timestamp = .timestamp
parsed, err = parse_regex(.event_message, r'.*(?P<level>INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC?):.*', numeric_groups: true)
if err != null || parsed == null {
  .metadata.parsed.error_severity = "info"
}
if parsed != null {
  .metadata.parsed.error_severity = parsed.level
}
if .metadata.parsed.error_severity == "info" {
  .metadata.parsed.error_severity = "log"
}
.metadata.parsed.error_severity = upcase!(.metadata.parsed.error_severity)
"""  # noqa: E501 (a VRL regex literal cannot be split)


@dataclass(frozen=True)
class _LogStream:
    """The logs of one service: how they are reshaped and which Logflare source gets them."""

    service: str
    source_name: str
    #: (transform id, VRL run after the common part), in order.
    transforms: tuple[tuple[str, str], ...]
    #: Logflare is reached through kong instead of directly (see the db stream).
    via_kong: bool = False


#: The services whose logs Studio shows, each with the Logflare source Studio queries.
_STREAMS: tuple[_LogStream, ...] = (
    _LogStream(
        "kong",
        "cloudflare.logs.prod",
        (("kong_logs", _KONG_ACCESS_VRL), ("kong_err", _KONG_ERROR_VRL)),
    ),
    _LogStream("auth", "gotrue.logs.prod", (("auth_logs", _AUTH_VRL),)),
    _LogStream("rest", "postgREST.logs.prod", (("rest_logs", _REST_VRL),)),
    _LogStream("realtime", "realtime.logs.prod", (("realtime_logs", _REALTIME_VRL),)),
    _LogStream("storage", "storage.logs.prod.2", (("storage_logs", _STORAGE_VRL),)),
    _LogStream("functions", "deno-relay-logs", (("functions_logs", ""),)),
    # The db starts logging before Logflare is ready, and logs ingested that early break
    # Studio's queries. Kong starts only once Logflare is healthy, so going through kong
    # holds the db's logs back (vector retries) until then.
    _LogStream("db", "postgres.logs", (("db_logs", _DB_VRL),), via_kong=True),
)

#: Services whose logs vector ships, to the Logflare source named here.
LOG_SOURCES: dict[str, str] = {stream.service: stream.source_name for stream in _STREAMS}


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (the VRL programs) as readable literal blocks."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _sink(stream: _LogStream, *, via_gateway: bool) -> dict[str, Any]:
    base = _ANALYTICS_VIA_KONG_URL if stream.via_kong and via_gateway else _ANALYTICS_URL
    return {
        "type": "http",
        "inputs": [transform_id for transform_id, _ in stream.transforms],
        "encoding": {"codec": "json"},
        "method": "post",
        "request": {"retry_max_duration_secs": 10},
        "uri": f"{base}/api/logs?source_name={stream.source_name}&api_key={LOGFLARE_API_KEY_REF}",
    }


def render_vector_config(
    *,
    project_ref: str,
    enabled_services: Collection[str],
    gateway_service: str = "kong",
    db_logs_via_gateway: bool = True,
) -> str:
    """vector.yml for one project, shipping the logs of the services it runs.

    ``gateway_service`` is the service whose access log feeds the gateway stream (2026-09:
    ``api-gw``, whose Envoy or Kong writes the same nginx "combined" lines). 2026-09's
    gateways have no analytics route, so there the db logs go to Logflare directly
    (``db_logs_via_gateway=False``; vector starts only once Logflare is healthy).

    Raises ``ValueError`` for a ref that is no DNS label (it goes into the label filter)
    and when analytics is not enabled: vector would have nowhere to send the logs, so it
    must not run at all.
    """
    if not naming.REF_PATTERN.match(project_ref):
        raise ValueError(f"not a project ref: {project_ref!r}")
    enabled = set(enabled_services)
    if "analytics" not in enabled:
        raise ValueError("vector needs the analytics service; leave vector out instead")
    # The container label each stream's logs carry: the gateway's is the release's.
    labels = {s.service: gateway_service if s.service == "kong" else s.service for s in _STREAMS}
    streams = [stream for stream in _STREAMS if labels[stream.service] in enabled]
    transforms: dict[str, Any] = {
        _ROUTER: {
            "type": "route",
            "inputs": [_SOURCE],
            "route": {
                stream.service: f'.label."{naming.SERVICE_LABEL}" == "{labels[stream.service]}"'
                for stream in streams
            },
        }
    }
    for stream in streams:
        for transform_id, vrl in stream.transforms:
            transforms[transform_id] = {
                "type": "remap",
                "inputs": [f"{_ROUTER}.{stream.service}"],
                "source": _COMMON_VRL + vrl,
            }
    config = {
        "api": {"enabled": True, "address": "0.0.0.0:9001"},
        "sources": {
            _SOURCE: {
                "type": "docker_logs",
                "include_labels": [f"{naming.PROJECT_LABEL}={project_ref}"],
                "exclude_containers": [naming.container_name(project_ref, "vector")],
            }
        },
        "transforms": transforms,
        "sinks": {
            f"logflare_{stream.service}": _sink(stream, via_gateway=db_logs_via_gateway)
            for stream in streams
        },
    }
    return yaml.dump(config, Dumper=_Dumper, sort_keys=False, width=_YAML_WIDTH)
