"""Every address one container uses to reach another names a port the other listens on.

Kong's routes, the services' URLs to each other and each service's own healthcheck are
written in different modules; a port changed in one place alone would leave a route or a
healthcheck knocking on a closed port. The listening port of a service is read from what
the container is told (its port variable) or checks on itself (its healthcheck).
"""

from __future__ import annotations

import re

import pytest
import yaml
from pulumi_harness import Run, env_of, reveal, run_main

#: The variable that sets the port a service listens on, where its image has one.
LISTEN_VARIABLES = {
    "auth": "GOTRUE_API_PORT",
    "meta": "PG_META_PORT",
    "realtime": "PORT",
    "imgproxy": "IMGPROXY_BIND",
}
URL = re.compile(r"https?://([a-z][a-z0-9.-]*):(\d+)")


@pytest.fixture(scope="module")
def project() -> Run:
    return run_main({"portSlot": 8}, stack="ports")


def listening(project: Run) -> dict[str, set[int]]:
    """The ports each service is told to listen on or checks itself on."""
    ports: dict[str, set[int]] = {}
    for service, container in project.mocks.containers().items():
        found = ports.setdefault(service, set())
        variable = LISTEN_VARIABLES.get(service)
        if variable:
            found.add(int(env_of(container)[variable].rsplit(":", 1)[-1]))
        check = " ".join(reveal(container.inputs.get("healthcheck", {})).get("tests", []))
        found |= {int(port) for host, port in URL.findall(check) if host == "localhost"}
    return ports


def aliases(project: Run) -> dict[str, str]:
    """Service by each network alias it answers to."""
    by_alias = {}
    for service, container in project.mocks.containers().items():
        for network in reveal(container.inputs["networksAdvanced"]):
            by_alias |= dict.fromkeys(network["aliases"], service)
    return by_alias


def test_each_service_s_port_variable_and_healthcheck_agree(project: Run) -> None:
    ports = listening(project)
    for service in LISTEN_VARIABLES:
        assert len(ports[service]) == 1, (service, ports[service])


def test_kong_routes_to_ports_the_services_listen_on(project: Run) -> None:
    kong = project.mocks.containers()["kong"]
    uploads = {u["file"]: u["content"] for u in reveal(kong.inputs["uploads"])}
    (declarative,) = [text for path, text in uploads.items() if path.endswith(".yml")]
    ports, by_alias = listening(project), aliases(project)
    checked = 0
    for route in yaml.safe_load(declarative)["services"]:
        host, port = URL.match(route["url"]).groups()
        service = by_alias[host]
        if ports[service]:
            assert int(port) in ports[service], (route["name"], service, ports[service])
            checked += 1
    assert checked >= len(LISTEN_VARIABLES)


def test_services_call_each_other_on_ports_that_listen(project: Run) -> None:
    ports, by_alias = listening(project), aliases(project)
    checked = 0
    for service, container in project.mocks.containers().items():
        for variable, value in env_of(container).items():
            for host, port in URL.findall(value):
                target = by_alias.get(host)
                if target and ports[target]:
                    assert int(port) in ports[target], (service, variable, value)
                    checked += 1
    assert checked >= 3  # storage to imgproxy, studio to meta and to analytics at least
