"""The fleet tool's only door to Docker: reads project containers, ports, volumes and logs.

Everything the fleet tool asks a Docker engine goes through ``Engine``, so connection
handling, error messages and the cost of a sweep over hundreds of projects are decided in
one place. Objects are found by the labels in ``components.naming``, never by name
patterns, so the component that creates them and this layer cannot drift apart.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import docker
import docker.errors
import requests.exceptions
import urllib3.exceptions

from automation.containers import ContainerState
from components.naming import PROJECT_LABEL, SERVICE_LABEL

#: Docker's list ``Status`` text carries health and exit code, e.g. "Up 2 minutes
#: (unhealthy)" or "Exited (3) 5 seconds ago"; reading it spares one inspect per container.
_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT_IN_STATUS = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")


#: An image with no files, imported from an empty tar (no registry needed): probe containers
#: are created from it, inspected and removed, never started.
PROBE_IMAGE = "supabase-fleet/probe:empty"
_EMPTY_TAR = b"\0" * 1024  # a tar archive is two empty 512-byte blocks


@dataclass(frozen=True)
class EngineFacts:
    """What the daemon itself decides for every container, read once per engine."""

    log_driver: str
    """The daemon's default log driver (``docker info`` LoggingDriver)."""
    log_opts: dict[str, str]
    """The daemon's default log options (``log-opts`` of daemon.json), as it applies them."""
    rootless: bool
    """Whether the daemon runs rootless (``docker info`` SecurityOptions)."""


class EngineUnreachable(Exception):
    """A Docker engine could not be reached or refused a request; the message says which."""


@dataclass(frozen=True)
class EngineSpec:
    """One Docker engine (host) of the fleet, as the inventory describes it."""

    name: str
    """Short name the inventory and the stacks use for the host."""
    url: str
    """``unix:///path``, ``ssh://user@host[:port]`` or ``tcp://host:port``."""
    capacity: int
    """How many projects the host may run."""
    cert_path: str | None = None
    """For ``tcp://``: directory with ``ca.pem``, ``cert.pem`` and ``key.pem``; TLS is
    then used and the server certificate verified."""
    socket_path: str = "/var/run/docker.sock"
    """Where the Docker socket lives on that host, for services that mount it; the fleet
    tool itself connects through ``url``."""


class Engine:
    """A lazily connected client of one Docker engine.

    ``ssh://`` engines are reached through the system ``ssh`` client forwarding a local
    unix socket to ``spec.socket_path`` on the host (OpenSSH socket forwarding), because
    docker-py's own ssh support needs paramiko even in its ssh-client mode. Keys, agent
    and ``~/.ssh/config`` work as for the ``docker`` CLI; the host must be known already
    (BatchMode, no prompts) and the remote user allowed to use that socket. Every Docker or
    connection error surfaces as ``EngineUnreachable`` naming the engine and its URL.
    """

    def __init__(self, spec: EngineSpec, timeout: float = 10.0) -> None:
        self.spec = spec
        self._timeout = timeout
        self._docker: docker.DockerClient | None = None
        self._tunnel: _SshTunnel | None = None

    # -- connection -------------------------------------------------------------------

    def _connect(self, timeout: float | None) -> docker.DockerClient:
        """A new client; connecting asks the engine its API version, so errors show here."""
        url = self.spec.url
        with self._errors():
            if url.startswith("ssh://"):
                if self._tunnel is None or not self._tunnel.alive():
                    if self._tunnel is not None:  # a dead one still holds its folder
                        self._tunnel.close()
                    self._tunnel = _SshTunnel(url, self.spec.socket_path, self._timeout)
                url = f"unix://{self._tunnel.socket}"
            tls: docker.tls.TLSConfig | bool = False
            if url.startswith("tcp://") and self.spec.cert_path:
                certs = self.spec.cert_path
                tls = docker.tls.TLSConfig(
                    client_cert=(os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem")),
                    ca_cert=os.path.join(certs, "ca.pem"),
                    verify=True,
                )
            return docker.DockerClient(base_url=url, timeout=timeout, tls=tls, version="auto")

    @property
    def _client(self) -> docker.DockerClient:
        if self._docker is None:
            self._docker = self._connect(self._timeout)
        return self._docker

    @property
    def docker(self) -> docker.DockerClient:
        """The connected client, for layers that stream through the engine (backups)."""
        return self._client

    def errors(self) -> contextlib.AbstractContextManager[None]:
        """Docker SDK and transport errors inside become ``EngineUnreachable``."""
        return self._errors()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn Docker SDK and transport errors into ``EngineUnreachable``."""
        where = f"Docker engine {self.spec.name!r} at {self.spec.url}"
        hint = (
            "check this engine's url/cert_path in the inventory (or DOCKER_HOST) and that "
            "Docker is running on that host"
        )
        try:
            yield
        except docker.errors.APIError as err:
            reason = err.explanation or str(err)
            raise EngineUnreachable(f"{where} refused the request: {reason}; {hint}") from err
        except (
            docker.errors.DockerException,
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            OSError,
        ) as err:
            raise EngineUnreachable(f"{where} is unreachable: {err}; {hint}") from err

    def ping(self) -> None:
        """Raise ``EngineUnreachable`` unless the engine answers."""
        with self._errors():
            self._client.ping()

    def close(self) -> None:
        """Drop the connection (and ssh tunnel); the next call connects again."""
        if self._docker is not None:
            self._docker.close()
            self._docker = None
        if self._tunnel is not None:
            self._tunnel.close()
            self._tunnel = None

    # -- containers -------------------------------------------------------------------

    def _list(self, label: str) -> list[dict]:
        with self._errors():
            return self._client.api.containers(all=True, filters={"label": label})

    def _state(self, entry: dict) -> ContainerState:
        """A ``ContainerState`` from one list entry; inspects only unhealthy containers."""
        labels = entry.get("Labels") or {}
        status = entry.get("Status") or ""
        health_match = _HEALTH_IN_STATUS.search(status)
        health = None
        if health_match:
            health = health_match.group(1).removeprefix("health: ")
        exit_match = _EXIT_IN_STATUS.match(status)
        names = entry.get("Names") or [entry["Id"][:12]]
        return ContainerState(
            project=labels.get(PROJECT_LABEL, ""),
            service=labels.get(SERVICE_LABEL, ""),
            name=names[0].lstrip("/"),
            state=entry.get("State", ""),
            health=health,
            health_log=self._health_log(entry["Id"]) if health == "unhealthy" else "",
            exit_code=int(exit_match.group(1)) if exit_match else None,
        )

    def _health_log(self, container_id: str) -> str:
        """Output of the last failing health probe ("" if the container vanished)."""
        with self._errors():
            try:
                info = self._client.api.inspect_container(container_id)
            except docker.errors.NotFound:
                return ""
        probes = ((info.get("State") or {}).get("Health") or {}).get("Log") or []
        failed = [probe for probe in probes if probe.get("ExitCode") != 0]
        return (failed[-1].get("Output") or "").strip() if failed else ""

    def containers_by_project(self) -> dict[str, list[ContainerState]]:
        """Every project's containers on this engine, from one list call, keyed by ref."""
        found: dict[str, list[ContainerState]] = {}
        for entry in self._list(PROJECT_LABEL):
            state = self._state(entry)
            found.setdefault(state.project, []).append(state)
        for states in found.values():
            states.sort(key=lambda s: s.service)
        return found

    def project_containers(self, ref: str) -> list[ContainerState]:
        """One project's containers, sorted by service."""
        states = [self._state(entry) for entry in self._list(f"{PROJECT_LABEL}={ref}")]
        return sorted(states, key=lambda s: s.service)

    # -- probes -----------------------------------------------------------------------

    def _probe_container(self, mount: str | None = None) -> dict:
        """Create (never start) a container of ``PROBE_IMAGE``, inspect it and remove it.

        Docker checks a bind mount's source path on the host when it creates a container,
        and fills in the default log driver and options then: both are read this way,
        with nothing running and nothing pulled. With ``mount`` the answer is {} when
        the path does not exist on the engine's host.
        """
        api = self._client.api
        with self._errors():
            if not api.images(name=PROBE_IMAGE):
                api.import_image_from_data(
                    _EMPTY_TAR, repository=PROBE_IMAGE.split(":")[0], tag=PROBE_IMAGE.split(":")[1]
                )
            mounts = [docker.types.Mount("/probe", mount, type="bind", read_only=True)]
            host_config = api.create_host_config(mounts=mounts if mount else None)
            try:
                created = api.create_container(
                    PROBE_IMAGE,
                    command=["probe"],
                    host_config=host_config,
                    labels={"supabase.fleet-probe": "true"},
                )
            except docker.errors.APIError as err:
                if mount and err.status_code == 400 and "does not exist" in str(err.explanation):
                    return {}
                raise
            try:
                return api.inspect_container(created["Id"])
            finally:
                api.remove_container(created["Id"], force=True)

    def path_exists(self, path: str) -> bool:
        """Whether ``path`` exists on the engine's host, as Docker sees it for bind mounts."""
        return bool(self._probe_container(path))

    def facts(self) -> EngineFacts:
        """The daemon's default log driver and options, and whether it runs rootless."""
        with self._errors():
            info = self._client.api.info()
        log_config = (self._probe_container().get("HostConfig") or {}).get("LogConfig") or {}
        return EngineFacts(
            log_driver=str(info.get("LoggingDriver") or log_config.get("Type") or ""),
            log_opts={str(k): str(v) for k, v in (log_config.get("Config") or {}).items()},
            rootless=any("rootless" in str(o) for o in info.get("SecurityOptions") or ()),
        )

    def cpu_count(self) -> int | None:
        """The host's CPU count (``docker info`` NCPU): Docker refuses a ``--cpus`` above it.
        Only ``info``: unlike ``facts``, no probe container."""
        with self._errors():
            count = self._client.api.info().get("NCPU")
        return int(count) if count else None

    # -- ports ------------------------------------------------------------------------

    def ports_in_use(self, ports: Iterable[int]) -> set[int]:
        """The given host ports that are taken on this engine's host.

        A port is taken when any container on the engine publishes it, running or not (a
        created or stopped container claims it again on start; Docker lists ports only
        for running ones, so those others are inspected). On a local engine (unix socket)
        a port nothing can bind on 0.0.0.0 is taken too, whoever holds it.
        """
        wanted = set(ports)
        published: set[int] = set()
        with self._errors():
            for entry in self._client.api.containers(all=True):
                if entry.get("State") == "running":
                    published.update(p["PublicPort"] for p in entry["Ports"] if "PublicPort" in p)
                    continue
                try:
                    info = self._client.api.inspect_container(entry["Id"])
                except docker.errors.NotFound:
                    continue
                bindings = (info.get("HostConfig") or {}).get("PortBindings") or {}
                for binds in bindings.values():
                    for bind in binds or []:
                        published.update(_host_ports(bind.get("HostPort") or ""))
        taken = wanted & published
        if self.spec.url.startswith("unix://"):
            taken |= {port for port in wanted - taken if not _bindable(port)}
        return taken

    # -- volumes ----------------------------------------------------------------------

    def project_volumes(self, ref: str) -> list[str]:
        """Names of the project's volumes, sorted."""
        with self._errors():
            answer = self._client.api.volumes(filters={"label": f"{PROJECT_LABEL}={ref}"})
        return sorted(volume["Name"] for volume in answer.get("Volumes") or [])

    def remove_volumes(self, names: Iterable[str]) -> list[str]:
        """Remove the named volumes; return those removed.

        A volume that is already gone or still used by a container is left out of the
        answer (and, if used, left in place), so the caller can report what remains.
        """
        removed = []
        for name in names:
            with self._errors():
                try:
                    self._client.api.remove_volume(name)
                except docker.errors.APIError as err:
                    if err.status_code in (404, 409):  # already gone / still mounted
                        continue
                    raise
            removed.append(name)
        return removed

    # -- logs -------------------------------------------------------------------------

    def logs(
        self, ref: str, service: str, *, tail: int = 200, follow: bool = False
    ) -> Iterator[str]:
        """Lines of one service's output (stdout and stderr), the last ``tail`` first.

        Raises ``ValueError`` at once, naming the known services, when the project has no
        such service. With ``follow`` the iterator waits for new lines without a read
        timeout until the container stops or the iterator is closed.
        """
        states = self.project_containers(ref)
        match = [state for state in states if state.service == service]
        if not match:
            known = ", ".join(state.service for state in states) or "none"
            raise ValueError(
                f"project {ref!r} has no service {service!r} on engine {self.spec.name!r}; "
                f"known services: {known}"
            )
        return self._log_lines(match[0].name, tail=tail, follow=follow)

    def _log_lines(self, container: str, *, tail: int, follow: bool) -> Iterator[str]:
        # A followed stream may stay quiet for long, so it gets its own client without a
        # read timeout instead of the shared one's.
        client = self._connect(None) if follow else self._client
        try:
            with self._errors():
                chunks = client.api.logs(container, stream=True, follow=follow, tail=tail)
                try:
                    pending = b""
                    for chunk in chunks:
                        pending += chunk
                        *lines, pending = pending.split(b"\n")
                        for line in lines:
                            yield line.decode("utf-8", errors="replace")
                    if pending:
                        yield pending.decode("utf-8", errors="replace")
                finally:
                    # Frees the connection when the caller stops early; docker-py cannot
                    # cancel streams over ssh, where closing the client below does it.
                    with contextlib.suppress(docker.errors.DockerException, OSError):
                        chunks.close()
        finally:
            if follow:
                client.close()


class _SshTunnel:
    """``ssh -L`` from a private local unix socket to the Docker socket of a remote host."""

    def __init__(self, url: str, remote_socket: str, timeout: float) -> None:
        parsed = urllib.parse.urlparse(url)
        target = f"{parsed.username}@{parsed.hostname}" if parsed.username else parsed.hostname
        self._dir = tempfile.mkdtemp(prefix="supabase-ssh-")
        self.socket = os.path.join(self._dir, "docker.sock")
        command = [
            "ssh", "-N", "-T",
            "-o", "BatchMode=yes",
            "-o", "ExitOnForwardFailure=yes",
            "-o", f"ConnectTimeout={max(1, round(timeout))}",
            "-L", f"{self.socket}:{remote_socket}",
        ]  # fmt: skip
        if parsed.port:
            command += ["-p", str(parsed.port)]
        command += ["--", str(target)]
        self._stderr = os.path.join(self._dir, "ssh.err")
        with open(self._stderr, "wb") as stderr:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr
            )
        # ssh opens the local socket only once logged in and forwarding: wait for it.
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.socket):
            if self._process.poll() is not None or time.monotonic() > deadline:
                with open(self._stderr, errors="replace") as err:
                    reason = err.read().strip() or f"no tunnel after {timeout:.0f}s"
                self.close()
                raise OSError(f"ssh tunnel to {target} failed: {reason}")
            time.sleep(0.05)

    def alive(self) -> bool:
        return self._process.poll() is None

    def close(self) -> None:
        if self.alive():
            self._process.terminate()
            self._process.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


def _host_ports(host_port: str) -> set[int]:
    """Ports of a binding's ``HostPort``: "" (Docker picks one), "8000" or "8000-8010"."""
    if not host_port:
        return set()
    low, _, high = host_port.partition("-")
    return set(range(int(low), int(high or low) + 1))


def _bindable(port: int) -> bool:
    """Whether a listener could bind ``port`` on all IPv4 addresses right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Without SO_REUSEADDR a recently closed connection in TIME_WAIT would look busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True
