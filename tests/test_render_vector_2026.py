"""vector.yml for 2026-09's logs override: the gateway is api-gw, the db ships directly.

The Envoy gateway writes nginx "combined" access-log lines (``ACCESS_LOG_FORMAT``); a
line formatted from it is run through the rendered gateway VRL with a real VRL compiler.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.naming import SERVICE_LABEL
from components.releases import RELEASES
from components.render.envoy import ACCESS_LOG_FORMAT
from components.render.vector import render_vector_config

RELEASE = RELEASES["2026-09"]
ENABLED = frozenset(RELEASE.services)


def _render(**extra: Any) -> dict[str, Any]:
    text = render_vector_config(
        project_ref="shop",
        enabled_services=ENABLED,
        gateway_service=RELEASE.gateway_service,
        db_logs_via_gateway=False,
        **extra,
    )
    return yaml.safe_load(text)


def test_gateway_logs_come_from_the_api_gw_container() -> None:
    routes = _render()["transforms"]["router"]["route"]
    gateway_condition = routes["kong"]
    assert f'"{SERVICE_LABEL}" == "{RELEASE.gateway_service}"' in gateway_condition
    assert not any('== "kong"' in condition for condition in routes.values())


def test_db_logs_go_to_logflare_directly() -> None:
    sinks = _render()["sinks"]
    # 2026-09's gateways route nothing to analytics, so nothing may go through them.
    assert all(sink["uri"].startswith("http://analytics:4000/") for sink in sinks.values())


def test_2024_layout_is_the_default() -> None:
    config = yaml.safe_load(
        render_vector_config(project_ref="shop", enabled_services={"kong", "db", "analytics"})
    )
    assert config["sinks"]["logflare_db"]["uri"].startswith("http://kong:8000/analytics/v1/")
    assert '== "kong"' in config["transforms"]["router"]["route"]["kong"]


def _envoy_line() -> str:
    """One access-log line as Envoy writes it with ACCESS_LOG_FORMAT."""
    values = {
        "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%": "172.18.0.1",
        "%START_TIME(%d/%b/%Y:%H:%M:%S %z)%": "28/Nov/2026:04:30:00 +0000",
        "%REQ(:METHOD)%": "POST",
        "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%": "/rest/v1/todos?select=*",
        "%PROTOCOL%": "HTTP/1.1",
        "%RESPONSE_CODE%": "201",
        "%BYTES_SENT%": "57",
        "%REQ(REFERER)%": "-",
        "%REQ(USER-AGENT)%": "supabase-js/2.50",
    }
    line = ACCESS_LOG_FORMAT
    for operator, value in values.items():
        line = line.replace(operator, value)
    assert "%" not in line, line  # every operator of the format was given a value
    return line.rstrip("\n")


def test_envoy_access_lines_parse_as_gateway_logs() -> None:
    pyvrl = pytest.importorskip("pyvrl")  # in requirements-dev.txt
    program = _render()["transforms"]["kong_logs"]["source"]
    event = {
        "message": _envoy_line(),
        "container_name": "supabase-shop-api-gw",
        "timestamp": "2026-11-28T04:30:00Z",
    }
    parsed = pyvrl.Transform(program + "\n.").remap(event)  # abort would raise
    assert parsed["metadata"]["response"]["status_code"] == 201
    headers = parsed["metadata"]["request"]["headers"]
    assert (headers["cf_connecting_ip"], headers["user_agent"]) == (
        "172.18.0.1",
        "supabase-js/2.50",
    )
    assert str(parsed["timestamp"]).startswith("2026-11-28 04:30:00")
