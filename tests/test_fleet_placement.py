"""The inventory of engines and placement on the host with the most free capacity."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.inventory import (
    DEFAULT_CAPACITY,
    free_capacity,
    load_inventory,
    parse_inventory,
    placement_order,
    spec_for_stack,
)
from automation.stackfiles import StackFile, new_stack_data


def spec(name: str, capacity: int) -> EngineSpec:
    return EngineSpec(name=name, url=f"ssh://deploy@{name}", capacity=capacity)


def stack(ref: str, host: str | None) -> StackFile:
    settings = {"portSlot": 0} | ({"dockerHost": f"ssh://deploy@{host}"} if host else {})
    return StackFile(ref, Path(f"Pulumi.{ref}.yaml"), new_stack_data(settings))


def parse(hosts: object, base: Path = Path("/")) -> list[EngineSpec]:
    return parse_inventory({"hosts": hosts}, source="hosts.yaml", base_dir=base)


def certs(tmp_path: Path) -> Path:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    return tmp_path


def test_most_free_capacity_wins() -> None:
    specs = [spec("a", 10), spec("b", 10), spec("c", 4)]
    stacks = [stack("p1", "a"), stack("p2", "a"), stack("p3", "b")]
    assert free_capacity(specs, stacks) == {"a": 8, "b": 9, "c": 4}
    assert [s.name for s in placement_order(specs, stacks)] == ["b", "a", "c"]


def test_ties_keep_inventory_order_and_full_hosts_are_skipped() -> None:
    specs = [spec("a", 1), spec("b", 2), spec("c", 2)]
    stacks = [stack("p1", "a"), stack("p2", "b")]
    assert [s.name for s in placement_order(specs, stacks)] == ["c", "b"]


def test_a_full_fleet_is_reported_with_counts() -> None:
    specs = [spec("a", 1), spec("b", 0)]
    with pytest.raises(FleetError, match=r"every host is full \(a 1/1, b 0/0\)"):
        placement_order(specs, [stack("p1", "a")])


def test_an_explicit_host_must_exist_and_have_room() -> None:
    specs = [spec("a", 1), spec("b", 5)]
    assert [s.name for s in placement_order(specs, [], host="a")] == ["a"]
    with pytest.raises(FleetError, match="unknown host 'z'; the inventory has: a, b"):
        placement_order(specs, [], host="z")
    with pytest.raises(FleetError, match="every host is full"):
        placement_order(specs, [stack("p", "a")], host="a")


def test_projects_without_docker_host_count_on_the_local_socket() -> None:
    local = load_inventory(Path("/nonexistent/hosts.yaml"))
    assert [(s.name, s.url, s.capacity) for s in local] == [
        ("local", "unix:///var/run/docker.sock", DEFAULT_CAPACITY)
    ]
    assert free_capacity(local, [stack("p", None)]) == {"local": DEFAULT_CAPACITY - 1}


def test_load_inventory_file(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "hosts": [
                    {"name": "local", "url": "unix:///run/user/1000/docker.sock", "capacity": 5},
                    {"name": "edge", "url": "ssh://ops@edge", "capacity": 30},
                    {
                        "name": "tls",
                        "url": "tcp://10.0.0.5:2376",
                        "capacity": 10,
                        "certPath": "certs",
                        "socketPath": "/run/docker.sock",
                    },
                ]
            }
        )
    )
    (tmp_path / "certs").mkdir()
    certs(tmp_path / "certs")
    local, edge, tls = load_inventory(path)
    assert local.socket_path == "/run/user/1000/docker.sock"  # rootless: from the URL
    assert edge.socket_path == "/var/run/docker.sock"
    assert tls.cert_path == str(tmp_path / "certs")
    assert tls.socket_path == "/run/docker.sock"


@pytest.mark.parametrize(
    ("hosts", "message"),
    [
        ([], "at least one host"),
        (["x"], r"hosts\[0\]: expected a mapping"),
        ([{"name": "a", "url": "http://a", "capacity": 1}], "not a Docker host URL"),
        ([{"name": "a", "url": "tcp://a:2375", "capacity": 1}], "plain tcp://"),
        ([{"name": "a", "url": "ssh://a", "capacity": -1}], "capacity"),
        ([{"name": "a", "url": "ssh://a", "capacity": True}], "capacity"),
        ([{"name": "", "url": "ssh://a", "capacity": 1}], "name"),
        ([{"name": "a", "url": "ssh://a", "capacity": 1, "cpu": 2}], r"unknown keys \['cpu'\]"),
        (
            [
                {"name": "a", "url": "ssh://a", "capacity": 1},
                {"name": "a", "url": "ssh://b", "capacity": 1},
            ],
            "two hosts have the name 'a'",
        ),
        (
            [
                {"name": "a", "url": "ssh://a", "capacity": 1},
                {"name": "b", "url": "ssh://a", "capacity": 1},
            ],
            "two hosts have the url 'ssh://a'",
        ),
    ],
)
def test_bad_inventories_are_named(hosts: object, message: str) -> None:
    with pytest.raises(FleetError, match=message):
        parse(hosts)


def test_missing_tls_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("x")
    with pytest.raises(FleetError, match="lacks cert.pem, key.pem"):
        parse([{"name": "a", "url": "tcp://a:2376", "capacity": 1, "certPath": str(tmp_path)}])


def test_unreadable_inventory_is_named(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts: [unclosed")
    with pytest.raises(FleetError, match="cannot read the inventory"):
        load_inventory(path)
    path.write_text("hosts: 3")
    with pytest.raises(FleetError, match="expected `hosts:`"):
        load_inventory(path)


def test_a_project_on_a_host_missing_from_the_inventory_still_has_an_engine() -> None:
    specs = [spec("a", 3)]
    found = spec_for_stack(specs, stack("p", "a"))
    assert found is specs[0]
    other = spec_for_stack(specs, stack("q", "gone"))
    assert (other.name, other.url, other.capacity) == ("ssh://deploy@gone", "ssh://deploy@gone", 0)
