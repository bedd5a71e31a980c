"""automation.engine against real Docker: two private dockerd standing in for two hosts.

What the status, slot and placement logic believes about Docker is checked here against
the real thing: labels, health, exit codes, published ports, volumes and logs.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from engines import IMAGE, PrivateDockerd, PrivateSshd, run_project, start_engines, stop_engines

from automation import inventory, stackfiles
from automation.engine import PROBE_IMAGE, Engine, EngineFacts, EngineSpec, EngineUnreachable
from automation.observe import log_notes
from components.naming import container_name, volume_name


def connect(dockerd: PrivateDockerd, capacity: int = 10) -> Engine:
    return Engine(EngineSpec(name=dockerd.name, url=dockerd.url, capacity=capacity))


@pytest.fixture
def engine(engine_a: PrivateDockerd) -> Iterator[Engine]:
    connected = connect(engine_a)
    yield connected
    connected.close()


def free_ports(count: int) -> list[int]:
    """Distinct ports nothing listens on right now (the kernel picks them)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("0.0.0.0", 0))
        return [sock.getsockname()[1] for sock in sockets]


def test_containers_are_found_by_project_with_their_status_inputs(
    engine_a: PrivateDockerd, engine: Engine
) -> None:
    services = {
        "db": "healthy",
        "auth": "unhealthy",
        "rest": "starting",
        "storage": "exited",
        "meta": "created",
        "kong": "running",
    }
    run_project(engine_a.client, "shop", services)
    run_project(engine_a.client, "blog", {"db": "running"}, network=False)
    engine_a.client.containers.create(IMAGE, ["true"], name="not-a-project")

    inspected: list[str] = []
    inspect = engine._client.api.inspect_container

    def counting_inspect(container: str) -> dict:
        inspected.append(container)
        return inspect(container)

    engine._client.api.inspect_container = counting_inspect
    by_project = engine.containers_by_project()

    assert sorted(by_project) == ["blog", "shop"]
    shop = {state.service: state for state in by_project["shop"]}
    # "realtime" and the others were never created: missing services are simply absent.
    assert sorted(shop) == sorted(services)
    assert [state.service for state in by_project["shop"]] == sorted(services)
    assert shop["db"].name == container_name("shop", "db")
    assert (shop["db"].state, shop["db"].health, shop["db"].health_log) == (
        "running",
        "healthy",
        "",
    )
    assert (shop["auth"].state, shop["auth"].health) == ("running", "unhealthy")
    assert shop["auth"].health_log == "database not ready"
    assert (shop["rest"].state, shop["rest"].health) == ("running", "starting")
    assert (shop["storage"].state, shop["storage"].exit_code) == ("exited", 3)
    assert (shop["meta"].state, shop["meta"].health, shop["meta"].exit_code) == (
        "created",
        None,
        None,
    )
    assert (shop["kong"].state, shop["kong"].health, shop["kong"].exit_code) == (
        "running",
        None,
        None,
    )
    assert all(state.project == "shop" for state in by_project["shop"])
    # The sweep inspects only the unhealthy container, for its probe output.
    assert inspected == [engine_a.client.containers.get(container_name("shop", "auth")).id]

    assert engine.project_containers("shop") == by_project["shop"]
    assert engine.project_containers("blog") == by_project["blog"]
    assert engine.project_containers("nope") == []


def test_ports_in_use_sees_published_and_host_held_ports(
    engine_a: PrivateDockerd, engine: Engine
) -> None:
    running, created, exited, held, free = free_ports(5)
    run_project(
        engine_a.client,
        "ports",
        {"kong": "healthy", "db": "created", "rest": "exited"},
        ports={"kong": running, "db": created, "rest": exited},
    )
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", held))
        listener.listen()
        taken = engine.ports_in_use([running, created, exited, held, free])
    # A created or exited container claims its port again on start, so it counts.
    assert taken == {running, created, exited, held}
    assert engine.ports_in_use([free]) == set()


@pytest.fixture
def ssh_engine(
    engine_a: PrivateDockerd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """Engine A reached as ``ssh://root@127.0.0.1:<port>`` through a private sshd."""
    if shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists():
        pytest.skip("sshd is not installed (apt-get install openssh-server)")
    sshd = PrivateSshd(tmp_path / "sshd")
    try:
        sshd.start()
        monkeypatch.setenv("PATH", f"{sshd.bin_dir}:{os.environ['PATH']}")
        url = f"ssh://root@127.0.0.1:{sshd.port}"
        connected = Engine(EngineSpec("ssh-a", url, 1, socket_path=str(engine_a.socket)))
        yield connected
        connected.close()
    finally:
        sshd.stop()


def test_an_ssh_engine_works_through_the_system_ssh_client(
    engine_a: PrivateDockerd, ssh_engine: Engine
) -> None:
    published, held = free_ports(2)
    run_project(
        engine_a.client, "viassh", {"db": "exited", "kong": "created"}, ports={"kong": published}
    )

    assert sorted(ssh_engine.containers_by_project()) == ["viassh"]
    assert sorted(ssh_engine.logs("viassh", "db", follow=True)) == [
        "fatal: no config",
        "starting up",
    ]
    # Over ssh a socket held on this machine says nothing about the engine's host.
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", held))
        listener.listen()
        assert ssh_engine.ports_in_use([published, held]) == {published}
    tunnel_dir = Path(ssh_engine._tunnel.socket).parent
    ssh_engine.close()
    assert not tunnel_dir.exists()
    # The next call opens a new tunnel.
    ssh_engine.ping()


def test_an_ssh_engine_that_refuses_fails_clearly(ssh_engine: Engine) -> None:
    closed = free_ports(1)[0]
    engine = Engine(EngineSpec("ssh-x", f"ssh://root@127.0.0.1:{closed}", 1), timeout=5)
    started = time.monotonic()
    with pytest.raises(EngineUnreachable, match=r"ssh tunnel to root@127.0.0.1 failed: .*refused"):
        engine.ping()
    assert time.monotonic() - started < 5


def test_volumes_are_listed_and_removed_per_project(
    engine_a: PrivateDockerd, engine: Engine
) -> None:
    run_project(engine_a.client, "one", {}, volumes=["db-data", "storage"], network=False)
    run_project(engine_a.client, "two", {}, volumes=["db-data", "functions"], network=False)
    busy = run_project(engine_a.client, "busy", {}, volumes=["db-data"], network=False)
    engine_a.client.containers.create(
        IMAGE, ["true"], volumes={busy.volumes[0]: {"bind": "/data", "mode": "rw"}}
    )

    one = engine.project_volumes("one")
    assert one == [volume_name("one", "db-data"), volume_name("one", "storage")]
    assert engine.remove_volumes([*one, "never-existed"]) == one
    assert engine.project_volumes("one") == []
    assert engine.project_volumes("two") == [
        volume_name("two", "db-data"),
        volume_name("two", "functions"),
    ]
    # A volume a container still uses is left in place and not reported as removed.
    assert engine.remove_volumes(busy.volumes) == []
    assert engine.project_volumes("busy") == busy.volumes


def test_logs_return_the_service_output(engine_a: PrivateDockerd, engine: Engine) -> None:
    run_project(engine_a.client, "logs", {"storage": "exited", "db": "running"}, network=False)

    lines = list(engine.logs("logs", "storage"))
    assert sorted(lines) == ["fatal: no config", "starting up"]
    assert len(list(engine.logs("logs", "storage", tail=1))) == 1
    # Following a stopped container ends once its output is read.
    assert sorted(engine.logs("logs", "storage", follow=True)) == sorted(lines)
    with pytest.raises(ValueError, match=r"no service 'kong'.*known services: db, storage"):
        engine.logs("logs", "kong")


@pytest.mark.parametrize(
    "url",
    ["unix:///tmp/no-such-dir/docker.sock", "tcp://127.0.0.1:{free}"],
    ids=["missing-socket", "closed-tcp-port"],
)
def test_an_unreachable_engine_fails_fast_and_clearly(url: str) -> None:
    url = url.format(free=free_ports(1)[0])
    engine = Engine(EngineSpec(name="gone", url=url, capacity=1), timeout=5)
    for call in (engine.ping, engine.containers_by_project, lambda: engine.logs("x", "db")):
        started = time.monotonic()
        with pytest.raises(EngineUnreachable) as caught:
            call()
        assert time.monotonic() - started < 2
        message = str(caught.value)
        assert "'gone'" in message and url in message and "inventory" in message


def test_two_engines_are_independent(
    engine_a: PrivateDockerd, engine_b: PrivateDockerd, engine: Engine
) -> None:
    run_project(engine_a.client, "alpha", {"db": "running"}, volumes=["db-data"])
    run_project(engine_b.client, "beta", {"db": "running"}, volumes=["db-data"])
    other = connect(engine_b)
    try:
        assert sorted(engine.containers_by_project()) == ["alpha"]
        assert sorted(other.containers_by_project()) == ["beta"]
        assert other.project_containers("alpha") == []
        assert other.project_volumes("alpha") == []
        assert other.remove_volumes([volume_name("alpha", "db-data")]) == []
        assert engine.project_volumes("alpha") == [volume_name("alpha", "db-data")]
    finally:
        other.close()


def test_placement_spreads_projects_over_two_real_engines_by_free_capacity(
    engine_a: PrivateDockerd, engine_b: PrivateDockerd, tmp_path: Path
) -> None:
    """New projects go where most room is left; each then runs only on its engine."""
    dockerds = {engine_a.url: engine_a, engine_b.url: engine_b}
    specs = [
        inventory.engine_spec("host-a", engine_a.url, 3),
        inventory.engine_spec("host-b", engine_b.url, 2),
    ]
    placed: dict[str, str] = {}
    for ref in ("p1", "p2", "p3", "p4", "p5"):
        target = inventory.placement_order(specs, stackfiles.list_stacks(tmp_path))[0]
        stackfiles.write_new_stack(tmp_path, ref, {"dockerHost": target.url, "portSlot": 0})
        run_project(dockerds[target.url].client, ref, {"db": "running"}, network=False)
        placed[ref] = target.name
    # Free (a, b) before each: (3, 2) a; (2, 2) a, ties keep inventory order; (1, 2) b;
    # (1, 1) a; (0, 1) b.
    assert placed == {
        "p1": "host-a",
        "p2": "host-a",
        "p3": "host-b",
        "p4": "host-a",
        "p5": "host-b",
    }
    assert inventory.free_capacity(specs, stackfiles.list_stacks(tmp_path)) == {
        "host-a": 0,
        "host-b": 0,
    }
    with pytest.raises(inventory.FleetError, match="no room"):
        inventory.placement_order(specs, stackfiles.list_stacks(tmp_path))
    for spec in specs:
        engine = Engine(spec)
        try:
            expected = sorted(ref for ref, name in placed.items() if name == spec.name)
            assert sorted(engine.containers_by_project()) == expected
        finally:
            engine.close()


def test_path_exists_asks_the_engine_host_without_running_anything(
    engine_a: PrivateDockerd, engine: Engine
) -> None:
    assert engine.path_exists(str(engine_a.socket))
    assert engine.path_exists("/etc/hostname")
    assert not engine.path_exists("/run/user/4242/docker.sock")
    # The probe left no container and no directory where the path was missing.
    assert engine_a.client.containers.list(all=True) == []
    assert not Path("/run/user/4242/docker.sock").exists()
    assert engine_a.client.images.get(PROBE_IMAGE).attrs["Size"] == 0  # imported, not pulled


def test_facts_read_the_daemon_log_defaults(engine: Engine) -> None:
    # The private engine runs on this machine: its CPUs are the ones this process may use.
    cpus = len(os.sched_getaffinity(0))
    assert engine.facts() == EngineFacts("json-file", {}, rootless=False)
    assert engine.cpu_count() == cpus


def test_facts_see_log_opts_the_daemon_merges_into_containers(
    private_engines: list[PrivateDockerd],
) -> None:
    """A third engine, started with daemon log-opts (as daemon.json would set them)."""
    [dockerd] = start_engines(
        1, pool_offset=2, extra_args=("--log-opt=compress=false", "--log-opt=labels=team")
    )
    try:
        engine = Engine(EngineSpec("opts", dockerd.url, 1))
        facts = engine.facts()
        engine.close()
    finally:
        stop_engines([dockerd])
    assert facts.log_driver == "json-file"
    assert facts.log_opts == {"compress": "false", "labels": "team"}
    [note] = log_notes(facts)
    # compress=false is what projects set too; labels differs (projects set it empty).
    assert note.startswith("daemon log-opts labels=team differ from what projects set")
