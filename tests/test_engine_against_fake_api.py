"""automation.engine's reading of Docker's answers, against an in-memory Docker API.

The real-engine tests (test_engine_docker.py) prove the same paths against dockerd; these
run in milliseconds, so they also serve the mutation run. The fake is built on
``create_autospec(docker.APIClient)``: a call docker-py would reject fails here too, and its
answers are computed from the containers and volumes it holds, filters included.
"""

from __future__ import annotations

import os
import socket
import stat
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import docker
import docker.errors
import pytest
import requests

from automation import engine as engine_module
from automation.engine import Engine, EngineFacts, EngineSpec, EngineUnreachable
from components.naming import PROJECT_LABEL, SERVICE_LABEL

#: The real class, kept before the fixture replaces it in the module under test.
REAL_DOCKER_CLIENT = docker.DockerClient


def _matches(labels: dict[str, str], wanted: str) -> bool:
    """Docker's ``label`` filter: ``key`` (present) or ``key=value``."""
    key, has_value, value = wanted.partition("=")
    return key in labels and (not has_value or labels[key] == value)


@dataclass
class FakeContainer:
    id: str
    labels: dict[str, str]
    state: str | None = "running"
    """None: the list entry has no State (Docker before API 1.23 gave none)."""
    status: str = "Up 1 minute"
    names: list[str] | None = None
    ports: list[dict] = field(default_factory=list)
    bindings: dict[str, list[dict] | None] = field(default_factory=dict)
    health_log: list[dict] = field(default_factory=list)
    logs: list[bytes] = field(default_factory=list)


@dataclass
class FakeDocker:
    """What one engine holds; ``api`` answers from it like docker.APIClient would."""

    containers: list[FakeContainer] = field(default_factory=list)
    volumes: dict[str, dict[str, str]] = field(default_factory=dict)
    volume_errors: dict[str, int] = field(default_factory=dict)
    vanished: set[str] = field(default_factory=set)
    opened_streams: list[mock.Mock] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.api = mock.create_autospec(docker.APIClient, instance=True)
        self.api.containers.side_effect = self._containers
        self.api.inspect_container.side_effect = self._inspect
        self.api.volumes.side_effect = self._volumes
        self.api.remove_volume.side_effect = self._remove_volume
        self.api.logs.side_effect = self._logs

    def _containers(self, all: bool = False, filters: dict | None = None, **_: object) -> list:
        wanted = (filters or {}).get("label")
        return [
            {
                "Id": c.id,
                "Labels": c.labels,
                **({"State": c.state} if c.state is not None else {}),
                "Status": c.status,
                **({"Names": c.names} if c.names is not None else {}),
                "Ports": c.ports if c.state == "running" else [],
            }
            for c in self.containers
            if (all or c.state == "running") and (wanted is None or _matches(c.labels, wanted))
        ]

    def _find(self, ident: str) -> FakeContainer:
        for c in self.containers:
            if ident in (c.id, *(name.lstrip("/") for name in c.names or [])):
                if c.id in self.vanished:
                    break
                return c
        raise docker.errors.NotFound(f"No such container: {ident}")

    def _inspect(self, container: str) -> dict:
        found = self._find(container)
        return {
            "Id": found.id,
            "State": {"Health": {"Log": found.health_log}} if found.health_log else {},
            "HostConfig": {"PortBindings": found.bindings},
        }

    def _volumes(self, filters: dict | None = None) -> dict:
        wanted = (filters or {}).get("label")
        names = [
            n for n, labels in self.volumes.items() if wanted is None or _matches(labels, wanted)
        ]
        return {"Volumes": [{"Name": n} for n in names] or None, "Warnings": None}

    def _remove_volume(self, name: str, force: bool = False) -> None:
        if name in self.volume_errors:
            response = requests.Response()
            response.status_code = self.volume_errors[name]
            raise docker.errors.APIError("volume", response=response, explanation="busy or gone")
        del self.volumes[name]

    def _logs(self, container: str, **kwargs: object) -> mock.Mock:
        stream = mock.MagicMock()
        stream.__iter__.return_value = iter(self._find(container).logs)
        stream.kwargs = kwargs
        self.opened_streams.append(stream)
        return stream


@dataclass
class Clients:
    """Every docker.DockerClient the engine made: its arguments and whether it was closed."""

    docker_state: FakeDocker
    made: list[dict] = field(default_factory=list)
    handles: list[mock.Mock] = field(default_factory=list)

    def __call__(self, **kwargs: object) -> mock.Mock:
        self.made.append(kwargs)
        client = mock.create_autospec(REAL_DOCKER_CLIENT, instance=True)
        client.api = self.docker_state.api
        self.handles.append(client)
        return client


@pytest.fixture
def fake() -> FakeDocker:
    return FakeDocker()


@pytest.fixture
def clients(fake: FakeDocker, monkeypatch: pytest.MonkeyPatch) -> Clients:
    made = Clients(fake)
    monkeypatch.setattr(engine_module.docker, "DockerClient", made)
    return made


def project_container(ref: str, service: str, **kwargs: object) -> FakeContainer:
    return FakeContainer(
        id=f"{ref}-{service}-" + "0" * 52,
        labels={PROJECT_LABEL: ref, SERVICE_LABEL: service},
        names=[f"/supabase-{ref}-{service}"],
        **kwargs,
    )


def local(name: str = "host-a") -> Engine:
    return Engine(EngineSpec(name=name, url="unix:///run/test-docker.sock", capacity=3))


# -- connection ---------------------------------------------------------------------------


def test_a_unix_engine_connects_lazily_once_without_tls(clients: Clients) -> None:
    engine = Engine(EngineSpec("a", "unix:///x.sock", 1, cert_path="/certs"), timeout=7.5)
    assert clients.made == []
    engine.ping()
    engine.ping()
    assert clients.made == [
        {"base_url": "unix:///x.sock", "timeout": 7.5, "tls": False, "version": "auto"}
    ]
    assert clients.handles[0].ping.call_count == 2


def test_a_tcp_engine_with_certs_verifies_the_server_with_the_inventory_files(
    clients: Clients, tmp_path: Path
) -> None:
    certs = tmp_path / "host-b"
    certs.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (certs / name).write_text(f"not a real {name}")  # docker-py checks they exist
    Engine(EngineSpec("b", "tcp://10.0.0.2:2376", 1, cert_path=str(certs))).ping()
    tls = clients.made[0]["tls"]
    assert isinstance(tls, docker.tls.TLSConfig)
    assert tls.cert == (str(certs / "cert.pem"), str(certs / "key.pem"))
    assert tls.ca_cert == str(certs / "ca.pem")
    assert tls.verify is True


def test_a_tcp_engine_without_certs_talks_plain_tcp(clients: Clients) -> None:
    Engine(EngineSpec("c", "tcp://10.0.0.3:2375", 1)).ping()
    assert clients.made[0]["tls"] is False


def test_close_drops_the_client_and_the_next_call_connects_again(clients: Clients) -> None:
    engine = local()
    engine.ping()
    engine.close()
    assert clients.handles[0].close.call_count == 1
    engine.close()  # closing twice is harmless
    assert clients.handles[0].close.call_count == 1
    engine.ping()
    assert len(clients.made) == 2


def test_a_refused_request_names_the_engine_its_url_and_docker_s_reason(
    clients: Clients, fake: FakeDocker
) -> None:
    response = requests.Response()
    response.status_code = 500
    fake.api.containers.side_effect = docker.errors.APIError(
        "500", response=response, explanation="daemon is shutting down"
    )
    with pytest.raises(EngineUnreachable) as raised:
        local("host-z").containers_by_project()
    message = str(raised.value)
    assert "'host-z'" in message
    assert "unix:///run/test-docker.sock" in message
    assert "refused the request: daemon is shutting down" in message
    assert "url/cert_path in the inventory" in message


@pytest.mark.parametrize(
    "error",
    [
        docker.errors.DockerException("no such socket"),
        requests.exceptions.ConnectionError("no such socket"),
        ConnectionRefusedError("no such socket"),
    ],
)
def test_a_connection_error_says_the_engine_is_unreachable(
    clients: Clients, fake: FakeDocker, error: Exception
) -> None:
    fake.api.volumes.side_effect = error
    with pytest.raises(EngineUnreachable, match="is unreachable: .*no such socket") as raised:
        local("host-y").project_volumes("shop")
    assert "'host-y'" in str(raised.value)
    assert "Docker is running on that host" in str(raised.value)
    assert raised.value.__cause__ is error


def test_a_failing_connect_is_reported_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(**_: object) -> None:
        raise docker.errors.DockerException("Error while fetching server API version")

    monkeypatch.setattr(engine_module.docker, "DockerClient", refuse)
    with pytest.raises(EngineUnreachable, match="'down' at tcp://h:1 is unreachable"):
        Engine(EngineSpec("down", "tcp://h:1", 1)).ping()


# -- containers ---------------------------------------------------------------------------


def test_containers_are_grouped_by_project_and_sorted_by_service(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.containers = [
        project_container("shop", "rest"),
        project_container("blog", "db"),
        project_container("shop", "auth", state="exited", status="Exited (0) 1 second ago"),
        project_container("shop", "db"),
        FakeContainer("f" * 64, {"other": "x"}, names=["/not-a-project"]),
    ]
    found = local().containers_by_project()
    assert sorted(found) == ["blog", "shop"]
    assert [s.service for s in found["shop"]] == ["auth", "db", "rest"]
    assert [s.name for s in found["blog"]] == ["supabase-blog-db"]
    assert found["shop"][0].state == "exited"


def test_one_project_s_containers_are_found_by_its_label_value(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.containers = [
        project_container("shop", "rest"),
        project_container("shopping", "db"),
        project_container("shop", "db"),
    ]
    states = local().project_containers("shop")
    assert [(s.project, s.service) for s in states] == [("shop", "db"), ("shop", "rest")]


@pytest.mark.parametrize(
    ("status", "health", "exit_code"),
    [
        ("Up 2 minutes (healthy)", "healthy", None),
        ("Up 5 seconds (health: starting)", "starting", None),
        ("Up 2 hours", None, None),
        ("Exited (3) 5 seconds ago", None, 3),
        ("Exited (-1) 1 second ago", None, -1),
        ("Restarting (137) 2 seconds ago", None, 137),
        ("Created", None, None),
    ],
)
def test_health_and_exit_code_come_from_the_list_status(
    clients: Clients, fake: FakeDocker, status: str, health: str | None, exit_code: int | None
) -> None:
    fake.containers = [project_container("shop", "db", status=status)]
    (state,) = local().project_containers("shop")
    assert (state.health, state.exit_code, state.health_log) == (health, exit_code, "")
    fake.api.inspect_container.assert_not_called()


def test_an_unhealthy_container_carries_its_last_failing_probe(
    clients: Clients, fake: FakeDocker
) -> None:
    probes = [
        {"ExitCode": 1, "Output": "first failure\n"},
        {"ExitCode": 0, "Output": "fine"},
        {"ExitCode": 1, "Output": "  connection refused on 5432\n"},
        {"ExitCode": 0, "Output": "fine again"},
    ]
    fake.containers = [project_container("shop", "db", status="Up (unhealthy)", health_log=probes)]
    (state,) = local().project_containers("shop")
    assert state.health == "unhealthy"
    assert state.health_log == "connection refused on 5432"


def test_an_unhealthy_container_without_failed_probes_or_gone_has_no_log(
    clients: Clients, fake: FakeDocker
) -> None:
    passing = [{"ExitCode": 0, "Output": "ok"}]
    fake.containers = [
        project_container("shop", "db", status="Up (unhealthy)", health_log=passing),
        project_container("shop", "auth", status="Up (unhealthy)"),
        project_container("shop", "rest", status="Up (unhealthy)"),
    ]
    fake.vanished.add(fake.containers[2].id)
    states = {s.service: s for s in local().project_containers("shop")}
    assert {s.health_log for s in states.values()} == {""}
    assert {s.health for s in states.values()} == {"unhealthy"}


def test_a_container_without_names_or_labels_is_named_by_its_short_id(
    clients: Clients, fake: FakeDocker
) -> None:
    bare = FakeContainer("abcdef0123456789" * 4, {PROJECT_LABEL: "shop"}, state="created")
    fake.containers = [bare]
    (state,) = local().project_containers("shop")
    assert state.name == bare.id[:12]
    assert state.service == ""
    assert state.state == "created"


def test_a_list_entry_without_a_state_reads_as_an_empty_state(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.containers = [project_container("shop", "db", state=None, status="")]
    (state,) = local().project_containers("shop")
    assert (state.state, state.health, state.exit_code) == ("", None, None)


# -- ports --------------------------------------------------------------------------------


def test_ports_of_running_and_stopped_containers_are_taken(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.containers = [
        FakeContainer("r" * 64, {}, ports=[{"PrivatePort": 80}, {"PublicPort": 54321}]),
        FakeContainer(
            "s" * 64,
            {},
            state="exited",
            bindings={
                "8000/tcp": [{"HostIp": "", "HostPort": "54400-54402"}],
                "9000/tcp": [{"HostPort": ""}],
                "7000/tcp": None,
            },
        ),
        FakeContainer("g" * 64, {}, state="created", bindings={"1/tcp": [{"HostPort": "54500"}]}),
    ]
    fake.vanished.add("g" * 64)  # removed between list and inspect: its ports are free
    wanted = [54321, 54399, 54400, 54401, 54402, 54403, 54500]
    engine = Engine(EngineSpec("remote", "tcp://10.0.0.9:2376", 1))
    assert engine.ports_in_use(wanted) == {54321, 54400, 54401, 54402}
    inspected = {c.args[0] for c in fake.api.inspect_container.call_args_list}
    assert inspected == {"s" * 64, "g" * 64}  # running containers need no inspect


def test_a_local_engine_also_counts_ports_held_outside_docker(
    clients: Clients, fake: FakeDocker
) -> None:
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", 0))
        holder.listen()
        held = holder.getsockname()[1]
        with socket.socket() as probe:
            probe.bind(("0.0.0.0", 0))
            free = probe.getsockname()[1]
        assert local().ports_in_use([held, free]) == {held}
        # A remote engine's host is not this machine: its own sockets say nothing.
        remote = Engine(EngineSpec("remote", "tcp://10.0.0.9:2376", 1))
        assert remote.ports_in_use([held, free]) == set()
        # A port Docker publishes is taken even where nothing on this host holds it now.
        fake.containers = [FakeContainer("p" * 64, {}, ports=[{"PublicPort": free}])]
        assert local().ports_in_use([held, free]) == {held, free}


# -- volumes ------------------------------------------------------------------------------


def test_project_volumes_are_the_labelled_ones_sorted(clients: Clients, fake: FakeDocker) -> None:
    fake.volumes = {
        "supabase-shop-storage": {PROJECT_LABEL: "shop"},
        "supabase-shop-db-data": {PROJECT_LABEL: "shop"},
        "supabase-shopping-db-data": {PROJECT_LABEL: "shopping"},
        "unlabelled": {},
    }
    engine = local()
    assert engine.project_volumes("shop") == ["supabase-shop-db-data", "supabase-shop-storage"]
    assert engine.project_volumes("nothing") == []


def test_removing_volumes_reports_only_those_removed(clients: Clients, fake: FakeDocker) -> None:
    fake.volumes = {name: {} for name in ("gone-ok", "in-use", "missing", "kept")}
    fake.volume_errors = {"in-use": 409, "missing": 404}
    assert local().remove_volumes(["gone-ok", "in-use", "missing"]) == ["gone-ok"]
    assert sorted(fake.volumes) == ["in-use", "kept", "missing"]


def test_a_volume_error_other_than_gone_or_in_use_is_raised(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.volumes = {"broken": {}}
    fake.volume_errors = {"broken": 500}
    with pytest.raises(EngineUnreachable, match="refused the request: busy or gone"):
        local().remove_volumes(["broken"])


# -- logs ---------------------------------------------------------------------------------


def test_logs_are_split_into_lines_across_chunks(clients: Clients, fake: FakeDocker) -> None:
    fake.containers = [
        project_container(
            "shop", "db", logs=[b"first li", b"ne\nsecond\nthi", b"rd \xff\n", b"no newline"]
        )
    ]
    lines = list(local().logs("shop", "db", tail=30))
    assert lines == ["first line", "second", "third \ufffd", "no newline"]
    (stream,) = fake.opened_streams
    assert stream.kwargs == {"stream": True, "follow": False, "tail": 30}
    stream.close.assert_called_once()
    assert len(clients.made) == 1


def test_a_stream_that_fails_to_close_still_gives_every_line(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.containers = [project_container("shop", "db", logs=[b"a\nb\n"])]
    engine = local()
    lines = engine.logs("shop", "db")
    assert next(lines) == "a"
    fake.opened_streams[0].close.side_effect = docker.errors.DockerException("ssh stream")
    assert list(lines) == ["b"]
    fake.opened_streams[0].close.assert_called_once()


def test_followed_logs_use_their_own_client_without_timeout_and_close_it(
    clients: Clients, fake: FakeDocker
) -> None:
    fake.containers = [project_container("shop", "db", logs=[b"a\n"])]
    engine = local()
    engine.ping()
    assert list(engine.logs("shop", "db", follow=True)) == ["a"]
    assert [made["timeout"] for made in clients.made] == [10.0, None]
    assert fake.opened_streams[0].kwargs["follow"] is True
    assert fake.opened_streams[0].kwargs["tail"] == 200
    assert clients.handles[1].close.call_count == 1
    assert clients.handles[0].close.call_count == 0


def test_logs_of_an_unknown_service_name_the_known_ones(clients: Clients, fake: FakeDocker) -> None:
    fake.containers = [project_container("shop", "db"), project_container("shop", "auth")]
    with pytest.raises(ValueError, match="known services: auth, db") as raised:
        local("host-q").logs("shop", "kong")
    assert "'shop' has no service 'kong' on engine 'host-q'" in str(raised.value)
    with pytest.raises(ValueError, match="known services: none"):
        local().logs("blog", "db")


# -- probes -------------------------------------------------------------------------------


def api_error(status: int, explanation: str) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError("create", response=response, explanation=explanation)


@pytest.fixture
def probe_api(clients: Clients, fake: FakeDocker) -> mock.Mock:
    """The probe's calls: no probe image yet, creating works, inspecting shows a log config."""
    api = fake.api
    api.images.side_effect = None
    api.images.return_value = []
    api.create_host_config.side_effect = lambda **kwargs: {"made": kwargs}
    api.create_container.side_effect = None
    api.create_container.return_value = {"Id": "probe-1"}
    api.inspect_container.side_effect = None
    api.inspect_container.return_value = {
        "Id": "probe-1",
        "HostConfig": {"LogConfig": {"Type": "local", "Config": {"max-size": 5, "mode": "x"}}},
    }
    api.info.side_effect = None
    api.info.return_value = {
        "LoggingDriver": "json-file",
        "SecurityOptions": ["name=seccomp"],
        "NCPU": 4,
    }
    return api


def test_a_path_probe_mounts_the_path_read_only_in_a_container_never_started(
    probe_api: mock.Mock,
) -> None:
    assert local().path_exists("/run/d.sock") is True
    probe_api.import_image_from_data.assert_called_once_with(
        b"\0" * 1024, repository="supabase-fleet/probe", tag="empty"
    )
    [mount] = probe_api.create_host_config.call_args.kwargs["mounts"]
    assert (mount["Target"], mount["Source"], mount["Type"], mount["ReadOnly"]) == (
        "/probe",
        "/run/d.sock",
        "bind",
        True,
    )
    probe_api.create_container.assert_called_once_with(
        "supabase-fleet/probe:empty",
        command=["probe"],
        host_config={"made": {"mounts": [mount]}},
        labels={"supabase.fleet-probe": "true"},
    )
    probe_api.inspect_container.assert_called_once_with("probe-1")
    probe_api.remove_container.assert_called_once_with("probe-1", force=True)
    probe_api.start.assert_not_called()


def test_a_path_missing_on_the_host_is_no_error_and_the_image_is_imported_once(
    probe_api: mock.Mock,
) -> None:
    probe_api.images.return_value = [{"Id": "sha256:probe"}]
    probe_api.create_container.side_effect = api_error(
        400, "invalid mount config: bind source path does not exist: /run/user/1/docker.sock"
    )
    assert local().path_exists("/run/user/1/docker.sock") is False
    probe_api.images.assert_called_once_with(name="supabase-fleet/probe:empty")
    probe_api.import_image_from_data.assert_not_called()
    probe_api.remove_container.assert_not_called()


@pytest.mark.parametrize(
    ("status", "explanation"),
    [(400, "invalid mount config: bad mode"), (500, "bind source path does not exist")],
)
def test_other_probe_refusals_are_the_engine_s_error(
    probe_api: mock.Mock, status: int, explanation: str
) -> None:
    probe_api.create_container.side_effect = api_error(status, explanation)
    with pytest.raises(EngineUnreachable, match=f"refused the request: {explanation}"):
        local().path_exists("/srv")
    with pytest.raises(EngineUnreachable, match=f"refused the request: {explanation}"):
        local().facts()  # without a mount, no refusal means "missing"


def test_facts_read_the_driver_from_info_and_the_options_from_a_probe(
    probe_api: mock.Mock,
) -> None:
    facts = local().facts()
    assert facts == EngineFacts("json-file", {"max-size": "5", "mode": "x"}, rootless=False)
    assert probe_api.create_host_config.call_args.kwargs == {"mounts": None}
    probe_api.remove_container.assert_called_once_with("probe-1", force=True)


def test_cpu_count_asks_info_only(probe_api: mock.Mock) -> None:
    """Checked before every up with CPU limits: no probe container for it."""
    assert local().cpu_count() == 4
    probe_api.create_container.assert_not_called()
    probe_api.info.return_value = {}
    assert local().cpu_count() is None


def test_facts_fall_back_to_the_probe_s_driver_and_see_rootless(probe_api: mock.Mock) -> None:
    probe_api.info.return_value = {"SecurityOptions": ["name=seccomp", "name=rootless"]}
    assert local().facts() == EngineFacts("local", {"max-size": "5", "mode": "x"}, rootless=True)
    probe_api.info.return_value = {}
    probe_api.inspect_container.return_value = {"Id": "probe-1"}
    assert local().facts() == EngineFacts("", {}, rootless=False)


# -- ssh ----------------------------------------------------------------------------------


def fake_ssh(tmp_path: Path, script: str) -> Path:
    """An ``ssh`` on PATH that records its arguments and then runs ``script``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    ssh = bin_dir / "ssh"
    ssh.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path / "args"}\n'
        f"readlink /proc/self/fd/0 > {tmp_path / 'stdin'}\n" + textwrap.dedent(script)
    )
    ssh.chmod(ssh.stat().st_mode | stat.S_IXUSR)
    return bin_dir


#: A fake ssh that makes the forwarded socket (the argument after -L, up to the colon) and
#: then stays up, as ``ssh -N`` does.
FORWARDING_SSH = """
while [ "$1" != "-L" ]; do shift; done
python3 -c "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "${2%%:*}"
exec sleep 30
"""


def test_an_ssh_engine_forwards_a_private_socket_to_the_remote_docker_socket(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_ssh(tmp_path, FORWARDING_SSH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    spec = EngineSpec("ssh-a", "ssh://deploy@db.example:2222", 1, socket_path="/run/d.sock")
    engine = Engine(spec, timeout=2.6)
    engine.ping()
    args = (tmp_path / "args").read_text().split("\n")[:-1]
    local_socket = clients.made[0]["base_url"].removeprefix("unix://")
    assert args == [
        "-N", "-T", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes",
        "-o", "ConnectTimeout=3", "-L", f"{local_socket}:/run/d.sock",
        "-p", "2222", "--", "deploy@db.example",
    ]  # fmt: skip
    assert stat.S_ISSOCK(os.stat(local_socket).st_mode)
    # ssh must never wait on the user's terminal: its input is /dev/null.
    assert (tmp_path / "stdin").read_text().strip() == os.devnull
    engine.ping()  # the tunnel is alive: reused, not reopened
    assert len(clients.made) == 1
    engine.close()
    assert not os.path.exists(os.path.dirname(local_socket))


def test_a_dead_ssh_tunnel_is_replaced_and_its_folder_removed(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_ssh(tmp_path, FORWARDING_SSH)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    engine = Engine(EngineSpec("ssh-c", "ssh://db.example", 1), timeout=5)
    engine.ping()
    first = os.path.dirname(clients.made[0]["base_url"].removeprefix("unix://"))
    engine._tunnel._process.kill()  # the connection dropped: ssh exited
    engine._tunnel._process.wait()
    engine._connect(None)  # a new client (a followed log stream) needs a new tunnel
    second = os.path.dirname(clients.made[1]["base_url"].removeprefix("unix://"))
    assert second != first
    assert not os.path.exists(first)
    engine.close()
    assert not os.path.exists(second)


def test_an_ssh_engine_whose_login_fails_reports_ssh_s_message(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_ssh(tmp_path, "echo 'Permission denied (publickey).' >&2\nexit 255\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    engine = Engine(EngineSpec("ssh-b", "ssh://db.example", 1), timeout=5)
    with pytest.raises(EngineUnreachable) as raised:
        engine.ping()
    assert "ssh tunnel to db.example failed: Permission denied (publickey)." in str(raised.value)
    args = (tmp_path / "args").read_text().split("\n")[:-1]
    assert args[-2:] == ["--", "db.example"]
    assert "-p" not in args
    assert clients.made == []


def test_an_ssh_tunnel_that_never_opens_times_out(
    clients: Clients, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = fake_ssh(tmp_path, "exec sleep 30\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    engine = Engine(EngineSpec("ssh-c", "ssh://u@h", 1), timeout=0.3)
    with pytest.raises(EngineUnreachable, match="ssh tunnel to u@h failed: no tunnel after 0s"):
        engine.ping()
    args = (tmp_path / "args").read_text().split("\n")[:-1]
    assert "ConnectTimeout=1" in args  # never below one second
