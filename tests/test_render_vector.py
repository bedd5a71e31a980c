"""vector.yml: one project's logs only, routed by service label, no secret in the file."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from components.render.vector import LOG_SOURCES, LOGFLARE_API_KEY_REF, render_vector_config

ALL_SERVICES = frozenset(
    {
        "db", "kong", "auth", "rest", "realtime", "storage", "imgproxy", "meta",
        "functions", "analytics", "vector", "studio",
    }
)  # fmt: skip
LOGGED = {"kong", "auth", "rest", "realtime", "storage", "functions", "db"}


def render(ref: str = "shop", enabled: frozenset[str] | set[str] = ALL_SERVICES) -> dict[str, Any]:
    return yaml.safe_load(render_vector_config(project_ref=ref, enabled_services=enabled))


def transforms_fed_by(config: dict[str, Any], service: str) -> set[str]:
    return {
        name
        for name, transform in config["transforms"].items()
        if transform.get("inputs") == [f"router.{service}"]
    }


def test_source_reads_only_this_projects_containers() -> None:
    source = render("shop")["sources"]["docker_host"]
    assert source["type"] == "docker_logs"
    assert source["include_labels"] == ["supabase.project=shop"]
    assert source["exclude_containers"] == ["supabase-shop-vector"]


def test_two_projects_filter_on_disjoint_labels() -> None:
    one = set(render("alpha")["sources"]["docker_host"]["include_labels"])
    two = set(render("beta")["sources"]["docker_host"]["include_labels"])
    assert one == {"supabase.project=alpha"}
    assert two == {"supabase.project=beta"}
    assert one.isdisjoint(two)


def test_api_listens_for_the_healthcheck() -> None:
    assert render()["api"] == {"enabled": True, "address": "0.0.0.0:9001"}


def test_logged_services_are_the_ones_studio_shows() -> None:
    assert set(LOG_SOURCES) == LOGGED


def test_every_logged_service_has_a_route_transforms_and_a_sink() -> None:
    config = render()
    routes = config["transforms"]["router"]["route"]
    assert config["transforms"]["router"]["inputs"] == ["docker_host"]
    assert set(routes) == LOGGED
    for service in LOGGED:
        assert routes[service] == f'.label."supabase.service" == "{service}"'
        fed = transforms_fed_by(config, service)
        assert fed, service
        sink = config["sinks"][f"logflare_{service}"]
        assert set(sink["inputs"]) == fed
        assert sink["type"] == "http"
        assert sink["encoding"] == {"codec": "json"}
        assert f"source_name={LOG_SOURCES[service]}&" in sink["uri"]
    assert set(config["sinks"]) == {f"logflare_{service}" for service in LOGGED}


def test_routing_uses_the_service_label_not_container_names() -> None:
    routes = render()["transforms"]["router"]["route"].values()
    assert all(".label." in condition for condition in routes)
    assert not any("appname" in condition or "container_name" in condition for condition in routes)


def test_sinks_go_to_this_projects_analytics_and_db_through_kong() -> None:
    sinks = render()["sinks"]
    for name, sink in sinks.items():
        base = (
            "http://kong:8000/analytics/v1/api/logs?"
            if name == "logflare_db"
            else "http://analytics:4000/api/logs?"
        )
        assert sink["uri"].startswith(base), name
        assert sink["uri"].endswith(f"&api_key={LOGFLARE_API_KEY_REF}"), name


def test_kong_logs_are_parsed_as_access_and_error_log() -> None:
    config = render()
    assert transforms_fed_by(config, "kong") == {"kong_logs", "kong_err"}
    assert (
        'parse_nginx_log(.event_message, "combined")' in config["transforms"]["kong_logs"]["source"]
    )
    assert 'parse_nginx_log(.event_message, "error")' in config["transforms"]["kong_err"]["source"]


@pytest.mark.parametrize("excluded", ["functions", "imgproxy", "studio"])
def test_excluded_services_lose_their_route_and_sink(excluded: str) -> None:
    config = render(enabled=ALL_SERVICES - {excluded})
    kept = LOGGED - {excluded}
    assert set(config["transforms"]["router"]["route"]) == kept
    assert set(config["sinks"]) == {f"logflare_{service}" for service in kept}
    assert transforms_fed_by(config, excluded) == set()


def test_without_analytics_vector_has_nowhere_to_ship() -> None:
    with pytest.raises(ValueError, match="analytics"):
        render(enabled=ALL_SERVICES - {"analytics", "vector"})


@pytest.mark.parametrize("ref", ["", "Shop", "a=b", "shop,other=1", "-shop"])
def test_bad_refs_are_refused(ref: str) -> None:
    with pytest.raises(ValueError, match="ref"):
        render(ref)


def test_file_holds_no_secret() -> None:
    text = render_vector_config(project_ref="shop", enabled_services=ALL_SERVICES)
    assert LOGFLARE_API_KEY_REF == "${LOGFLARE_API_KEY?LOGFLARE_API_KEY is required}"
    # Every api_key is vector's env interpolation, written on one line.
    assert text.count("api_key=") == len(LOGGED)
    assert text.count(f"api_key={LOGFLARE_API_KEY_REF}") == len(LOGGED)
    assert "eyJ" not in text  # no JWT
    assert not re.search(r"[A-Za-z0-9+/_-]{32,}", text)  # no key-like token


def test_output_is_deterministic() -> None:
    first = render_vector_config(project_ref="shop", enabled_services=ALL_SERVICES)
    again = render_vector_config(project_ref="shop", enabled_services=sorted(ALL_SERVICES))
    assert first == again


def test_vrl_compiles() -> None:
    """Every remap program and route condition is valid VRL (a recent VRL compiler)."""
    pyvrl = pytest.importorskip("pyvrl")  # in requirements-dev.txt; absent only outside it
    config = render()
    for transform in config["transforms"].values():
        programs = (
            transform["route"].values() if transform["type"] == "route" else [transform["source"]]
        )
        for program in programs:
            pyvrl.Transform(program)


def test_sinks_post_json_and_retry_like_upstreams() -> None:
    """Upstream's volumes/logs/vector.yml: method 'post' (vector's enum is lowercase) and
    retries given up after 10 s, so a Logflare outage does not pile up events."""
    for name, sink in render()["sinks"].items():
        assert sink["method"] == "post", name
        assert sink["request"] == {"retry_max_duration_secs": 10}, name


def test_every_service_transform_is_a_remap_with_the_common_shape_first() -> None:
    config = render()
    for service in LOGGED:
        for name in transforms_fed_by(config, service):
            transform = config["transforms"][name]
            assert transform["type"] == "remap", name
            assert transform["source"].startswith('.project = "default"\n'), name


def test_vrl_is_written_as_readable_blocks_and_values_on_one_line() -> None:
    """A reader of vector.yml sees each VRL program line for line (a literal block), and
    each one-line value (the sink URIs vector interpolates on the raw text) on its key's line."""
    text = render_vector_config(project_ref="shop", enabled_services=ALL_SERVICES)
    lines = text.splitlines()
    config = yaml.safe_load(text)
    for name, transform in config["transforms"].items():
        if transform["type"] == "remap":
            assert "    source: |" in lines, name
            for line in transform["source"].splitlines():
                assert f"      {line}".rstrip() in lines, (name, line)
    for name, sink in config["sinks"].items():
        assert f"    uri: {sink['uri']}" in lines, name
    assert "  address: 0.0.0.0:9001" in lines


def test_without_analytics_the_message_says_what_to_do() -> None:
    with pytest.raises(ValueError) as refused:
        render(enabled=ALL_SERVICES - {"analytics"})
    assert str(refused.value) == "vector needs the analytics service; leave vector out instead"


def test_the_file_reads_in_pipeline_order() -> None:
    """Keys keep the order a reader follows the logs in: the source, the router, each
    service's remaps, then the sinks (not alphabetical, which would put sinks first)."""
    config = render()
    assert list(config) == ["api", "sources", "transforms", "sinks"]
    transforms = list(config["transforms"])
    assert transforms[0] == "router"
    assert transforms.index("kong_logs") < transforms.index("kong_err")
    assert list(config["sinks"]["logflare_kong"])[:2] == ["type", "inputs"]
