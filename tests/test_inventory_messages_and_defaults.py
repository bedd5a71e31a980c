"""The inventory's defaults and the exact place each of its errors points at."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from automation.errors import FleetError
from automation.inventory import (
    TLS_FILES,
    default_inventory,
    engine_spec,
    load_inventory,
    parse_inventory,
    placement_order,
    spec_for_stack,
)
from automation.stackfiles import StackFile, new_stack_data


def parse(hosts: list[object]) -> list:
    return parse_inventory({"hosts": hosts}, source="fleet.yaml", base_dir=Path("/srv"))


def test_without_an_inventory_the_local_engine_serves_its_own_socket(tmp_path: Path) -> None:
    (local,) = load_inventory(tmp_path / "absent.yaml")
    assert local == default_inventory()[0]
    assert local.url.startswith("unix://")
    assert local.socket_path == urlparse(local.url).path
    assert local.capacity > 0


def test_errors_in_an_inventory_file_start_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("hosts:\n  - {name: a, url: 'ftp://x', capacity: 1}\n")
    with pytest.raises(FleetError) as raised:
        load_inventory(path)
    assert str(raised.value).startswith(f"{path}: hosts[0]: url 'ftp://x'")


def test_a_url_error_without_a_place_starts_with_the_url() -> None:
    with pytest.raises(FleetError) as raised:
        engine_spec("a", "http://x", 1)
    message = str(raised.value)
    assert message.startswith("url 'http://x' is not a Docker host URL")
    for example in ("unix:///path/to/docker.sock", "ssh://user@host", "tcp://host:2376"):
        assert example in message
    assert "(with certPath)" in message


def test_plain_tcp_names_the_tls_files_to_provide() -> None:
    with pytest.raises(FleetError) as raised:
        engine_spec("a", "tcp://h:2376", 1)
    assert f"a directory with {', '.join(TLS_FILES)})" in str(raised.value)


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"name": "a", "url": "", "capacity": 1}, "fleet.yaml: hosts[0]: `url` must be a string"),
        ({"name": "a", "url": 3, "capacity": 1}, "fleet.yaml: hosts[0]: `url` must be a string"),
        (
            {"name": "a", "url": "unix:///d.sock", "capacity": 1, "socketPath": 5},
            "fleet.yaml: hosts[0]: `socketPath` must be a path string",
        ),
    ],
)
def test_each_bad_field_is_named_exactly(host: dict, message: str) -> None:
    with pytest.raises(FleetError) as raised:
        parse([host])
    assert str(raised.value) == message


def test_a_host_with_no_room_is_a_valid_entry() -> None:
    (spec,) = parse([{"name": "a", "url": "ssh://u@a", "capacity": 0}])
    assert spec.capacity == 0


def test_a_parsed_host_keeps_its_capacity_and_socket() -> None:
    (spec,) = parse(
        [{"name": "a", "url": "ssh://u@a", "capacity": 7, "socketPath": "/run/user/docker.sock"}]
    )
    assert (spec.name, spec.url, spec.capacity) == ("a", "ssh://u@a", 7)
    assert spec.socket_path == "/run/user/docker.sock"


def test_a_url_error_in_the_second_host_points_at_it() -> None:
    hosts = [
        {"name": "a", "url": "ssh://u@a", "capacity": 1},
        {"name": "b", "url": "gopher://b", "capacity": 1},
    ]
    with pytest.raises(FleetError, match=r"^fleet\.yaml: hosts\[1\]: url 'gopher://b'"):
        parse(hosts)


def stack_on(url: str, **settings: object) -> StackFile:
    data = new_stack_data({"portSlot": 0, "dockerHost": url, **settings})
    return StackFile("shop", Path("stacks/Pulumi.shop.yaml"), data)


def test_an_unlisted_host_takes_its_certs_and_socket_from_the_stack(tmp_path: Path) -> None:
    for name in TLS_FILES:
        (tmp_path / name).write_text("x")
    stack = stack_on(
        "tcp://10.1.1.1:2376", dockerCertPath=str(tmp_path), dockerSocket="/run/other.sock"
    )
    spec = spec_for_stack([], stack)
    assert (spec.name, spec.url, spec.capacity) == ("tcp://10.1.1.1:2376",) * 2 + (0,)
    assert spec.cert_path == str(tmp_path)
    assert spec.socket_path == "/run/other.sock"


def test_an_unlisted_host_s_bad_url_points_at_the_stack_file() -> None:
    with pytest.raises(FleetError) as raised:
        spec_for_stack([], stack_on("tcp://10.1.1.1:2376"))
    assert str(raised.value).startswith("stacks/Pulumi.shop.yaml: url 'tcp://10.1.1.1:2376'")


def test_a_full_fleet_shows_each_host_s_use_over_its_capacity() -> None:
    specs = parse(
        [
            {"name": "a", "url": "ssh://u@a", "capacity": 2},
            {"name": "b", "url": "ssh://u@b", "capacity": 1},
        ]
    )
    stacks = [stack_on("ssh://u@a"), stack_on("ssh://u@a"), stack_on("ssh://u@b")]
    with pytest.raises(FleetError) as raised:
        placement_order(specs, stacks)
    message = str(raised.value)
    assert "every host is full (a 2/2, b 1/1)" in message
    assert message.endswith("or add a host in the inventory, or delete a project")
