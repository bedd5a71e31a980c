"""The inventory's defaults and the exact place each of its errors points at."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from automation.errors import FleetError
from automation.inventory import (
    DEFAULT_SOCKET_PATH,
    MAX_CAPACITY,
    TLS_FILES,
    default_inventory,
    engine_spec,
    free_capacity,
    load_inventory,
    parse_inventory,
    placement_order,
    spec_for_stack,
)
from automation.stackfiles import StackFile, new_stack_data
from components.ports import MAX_SLOT


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


def test_capacity_runs_from_zero_to_one_project_per_port_slot() -> None:
    (spec,) = parse([{"name": "a", "url": "ssh://u@a", "capacity": MAX_CAPACITY}])
    assert spec.capacity == MAX_CAPACITY == MAX_SLOT + 1
    for bad in (MAX_CAPACITY + 1, -1, 2.0, "3", False):
        with pytest.raises(FleetError) as raised:
            parse([{"name": "a", "url": "ssh://u@a", "capacity": bad}])
        assert str(raised.value) == (
            f"fleet.yaml: hosts[0]: `capacity` must be a whole number from 0 to "
            f"{MAX_CAPACITY}, got {bad!r}"
        )


def test_a_misspelt_key_gets_the_nearest_known_one() -> None:
    with pytest.raises(FleetError) as raised:
        parse([{"name": "a", "url": "ssh://u@a", "capacity": 1, "capactiy": 2, "zzz": 1}])
    assert str(raised.value) == (
        "fleet.yaml: hosts[0]: unknown keys ['capactiy', 'zzz'] (did you mean `capacity` for "
        "`capactiy`?); known: ['baseDomain', 'capacity', 'certPath', 'edge', 'name', "
        "'socketPath', 'url']"
    )


@pytest.mark.parametrize(
    ("host", "message"),
    [
        ({"name": 5}, "fleet.yaml: hosts[0]: `name` must be a non-empty string"),
        ({"name": " a"}, "fleet.yaml: hosts[0]: `name` ' a' must be printable, without outer "
         "spaces"),
        ({"name": "a\tb"}, "fleet.yaml: hosts[0]: `name` 'a\\tb' must be printable, without "
         "outer spaces"),
        ({"certPath": 7}, "fleet.yaml: hosts[0]: `certPath` must be a path string, got 7"),
        ({"socketPath": "run/d.sock"}, "fleet.yaml: hosts[0]: socketPath 'run/d.sock' must be an "
         "absolute path without control characters, ':' or ','"),
        ({"url": "ssh://-oProxyCommand=x"}, "fleet.yaml: hosts[0]: url 'ssh://-oProxyCommand=x' "
         "must not have a host or user starting with '-' (ssh would read it as an option)"),
        ({"url": "unix://"}, "fleet.yaml: hosts[0]: url 'unix://' is not a Docker host URL"),
        ({"url": "ssh:"}, "fleet.yaml: hosts[0]: url 'ssh:' is not a Docker host URL"),
    ],
)  # fmt: skip
def test_each_bad_host_setting_is_named_with_the_fix(host: dict, message: str) -> None:
    with pytest.raises(FleetError) as raised:
        parse([{"name": "a", "url": "ssh://u@a", "capacity": 1} | host])
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("data", [None, [], {"hosts": "a"}, {"hosts": []}, {"host": [{}]}])
def test_an_inventory_without_a_list_of_hosts_says_what_it_needs(data: object) -> None:
    with pytest.raises(FleetError) as raised:
        parse_inventory(data, source="fleet.yaml", base_dir=Path("/srv"))
    assert str(raised.value) == "fleet.yaml: expected `hosts:` with a list of at least one host"


def test_a_cert_path_is_read_relative_to_the_inventory_or_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in (tmp_path / "inv" / "tls", tmp_path / "home" / "tls"):
        folder.mkdir(parents=True)
        for name in TLS_FILES:
            (folder / name).write_text("x")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    tcp = {"url": "tcp://h:2376", "capacity": 1}
    near, home = parse_inventory(
        {"hosts": [{"name": "a", "certPath": "tls", **tcp},
                   {"name": "b", "certPath": "~/tls", **tcp | {"url": "tcp://i:2376"}}]},
        source="fleet.yaml", base_dir=tmp_path / "inv",
    )  # fmt: skip
    assert near.cert_path == str(tmp_path / "inv" / "tls")
    assert home.cert_path == str(tmp_path / "home" / "tls")
    assert near.socket_path == DEFAULT_SOCKET_PATH  # not the TCP URL's (empty) path
    (tmp_path / "inv" / "tls" / "key.pem").unlink()
    (tmp_path / "inv" / "tls" / "ca.pem").unlink()
    (tmp_path / "inv" / "tls" / "ca.pem").mkdir()  # a folder is not the file
    with pytest.raises(FleetError) as raised:
        parse_inventory({"hosts": [{"name": "a", "certPath": "tls", **tcp}]},
                        source="fleet.yaml", base_dir=tmp_path / "inv")  # fmt: skip
    assert str(raised.value) == (
        f"fleet.yaml: hosts[0]: certPath {tmp_path / 'inv' / 'tls'} lacks ca.pem, key.pem"
    )


def test_room_is_counted_per_listed_host_and_others_are_not_counted() -> None:
    specs = parse(
        [
            {"name": "a", "url": "ssh://u@a", "capacity": 2},
            {"name": "b", "url": "ssh://u@b", "capacity": 3},
        ]
    )
    stacks = [stack_on("ssh://u@a"), stack_on("ssh://u@elsewhere"), stack_on("ssh://u@a")]
    assert free_capacity(specs, stacks) == {"a": 0, "b": 3}
    assert [spec.name for spec in placement_order(specs, stacks)] == ["b"]
    over = [stack_on("ssh://u@b")] * 4
    assert free_capacity(specs, over) == {"a": 2, "b": -1}
    assert [spec.name for spec in placement_order(specs, over)] == ["a"]
    assert [spec.name for spec in placement_order(specs, [], host="a")] == ["a"]
