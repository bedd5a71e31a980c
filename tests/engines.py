"""Private, throwaway Docker engines and labelled "projects" on them, for real-Docker tests.

The tests and the status-sweep benchmark need real engines, never the machine's own one: a
private ``dockerd`` per "host", with its own socket, data root, exec root, containerd
namespace and address pool, that leaves no bridge or iptables rule behind. No image can be
pulled, so each engine gets ``local/busybox:test`` imported from the static busybox binary.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import docker.types
import requests.exceptions

from components.naming import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PROJECT_LABEL,
    SERVICE_LABEL,
    VOLUME_LABEL,
    container_name,
    network_name,
    volume_name,
)

IMAGE = "local/busybox:test"
#: Applets the test containers call; busybox picks the applet from the name it runs as.
APPLETS = ("sh", "wget", "httpd", "nc", "sleep", "mkdir", "cat", "echo", "true", "false")
#: Address pools of the private engines: one /16 each, away from Docker's 172.17+ default.
#: Test sessions running side by side on one machine take different pools (by process id),
#: so their bridges never claim the same subnet.
_POOL_BASE = 100 + (os.getpid() % 36) * 4
POOLS = tuple(f"10.{_POOL_BASE + i}.0.0/16" for i in range(4))
START_DEADLINE = 60.0
STOP_DEADLINE = 30.0
#: Docker turns healthcheck durations into nanoseconds.
SECOND_NS = 1_000_000_000


def unavailable_reason() -> str | None:
    """Why private engines cannot run here, or None when they can."""
    if shutil.which("dockerd") is None:
        return "dockerd is not on PATH (install it with .ci/system-deps.sh)"
    if os.geteuid() != 0:
        return "starting a private dockerd needs root"
    try:
        find_static_busybox()
    except RuntimeError as err:
        return str(err)
    return None


def find_static_busybox() -> Path:
    """The statically linked busybox (Debian's busybox-static) to build the test image from."""
    found = shutil.which("busybox") or "/bin/busybox"
    path = Path(found)
    if not path.is_file():
        raise RuntimeError("busybox is missing (install busybox-static: .ci/system-deps.sh)")
    if _needs_interpreter(path.read_bytes()):
        raise RuntimeError(f"{path} is dynamically linked; install busybox-static instead")
    return path


def _needs_interpreter(elf: bytes) -> bool:
    """Whether a 64-bit little-endian ELF asks for a dynamic loader (has PT_INTERP)."""
    phoff = int.from_bytes(elf[0x20:0x28], "little")
    entsize = int.from_bytes(elf[0x36:0x38], "little")
    count = int.from_bytes(elf[0x38:0x3A], "little")
    pt_interp = 3
    return any(
        int.from_bytes(elf[phoff + i * entsize : phoff + i * entsize + 4], "little") == pt_interp
        for i in range(count)
    )


def busybox_rootfs_tar() -> bytes:
    """A tar of a root filesystem holding only busybox and its applet links."""
    binary = find_static_busybox().read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "tmp", "www"):
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        info = tarfile.TarInfo("bin/busybox")
        info.size, info.mode = len(binary), 0o755
        tar.addfile(info, io.BytesIO(binary))
        for applet in APPLETS:
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
    return buffer.getvalue()


def wait_until(what: str, check: Callable[[], bool], deadline: float, every: float = 0.1) -> None:
    """Poll ``check`` until it is true; fail naming ``what`` once ``deadline`` seconds pass."""
    end = time.monotonic() + deadline
    while not check():
        if time.monotonic() > end:
            raise TimeoutError(f"{what}: not true after {deadline:.0f}s")
        time.sleep(every)


@dataclass
class PrivateDockerd:
    """One private dockerd, standing in for one Docker host of the fleet."""

    name: str
    root: Path
    pool: str
    extra_args: tuple[str, ...] = ()
    """More dockerd flags, e.g. daemon log-opts."""
    process: subprocess.Popen | None = None
    client: docker.DockerClient | None = None
    #: More dockerd flags, e.g. daemon-wide ``--log-opt`` defaults a test depends on.
    extra_args: tuple[str, ...] = ()

    @property
    def socket(self) -> Path:
        return self.root / "docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        """Start the daemon; ``wait_ready`` blocks until it answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        command = [
            "dockerd",
            f"--data-root={self.root / 'data'}",
            f"--exec-root={self.root / 'exec'}",
            f"--host={self.url}",
            f"--pidfile={self.root / 'dockerd.pid'}",
            # No default bridge and no iptables: nothing a host's own Docker owns is
            # touched (dockerd with iptables on flushes the shared DOCKER chains). Ports
            # are still published, by docker-proxy, on project networks.
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            "--ip-forward=false",
            f"--default-address-pool=base={self.pool},size=24",
            # A host containerd, if any, may be shared: keep our containers apart in it.
            f"--containerd-namespace=supabase-test-{self.name}",
            f"--containerd-plugins-namespace=supabase-test-{self.name}-plugins",
            "--shutdown-timeout=1",
            *self.extra_args,
        ]
        log = (self.root / "dockerd.log").open("wb")
        # containerd drops goroutine dumps into TMPDIR when dockerd restarts it under load:
        # keep them inside the engine's directory, which stop() deletes.
        (self.root / "tmp").mkdir()
        env = {**os.environ, "TMPDIR": str(self.root / "tmp")}
        # Own session: a Ctrl-C meant for pytest must not kill the engine before teardown.
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        log.close()

    def wait_ready(self) -> None:
        """Block until the daemon answers; on failure show the tail of its log."""
        # A fixed API version: "auto" would ask the engine at construction, before it is up.
        probe = docker.APIClient(base_url=self.url, version="1.41", timeout=2)

        def answers() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"dockerd {self.name} exited:\n{self.log_tail()}")
            try:
                return bool(probe.ping())
            except (docker.errors.DockerException, requests.exceptions.RequestException):
                return False

        try:
            wait_until(f"dockerd {self.name} answering on {self.url}", answers, START_DEADLINE)
        except TimeoutError as err:
            raise TimeoutError(f"{err}\n{self.log_tail()}") from err
        finally:
            probe.close()
        self.client = docker.DockerClient(base_url=self.url, version="auto", timeout=60)

    def import_busybox(self, rootfs: bytes) -> None:
        """Make ``local/busybox:test`` from the busybox rootfs tar (nothing can be pulled)."""
        repository, tag = IMAGE.split(":")
        self.client.api.import_image_from_data(rootfs, repository=repository, tag=tag)

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "dockerd.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def clean(self) -> None:
        """Remove every container, network and volume, as if the engine were new."""
        # In parallel: a benchmark engine holds hundreds of containers.
        with ThreadPoolExecutor(max_workers=8) as pool:
            removals = [
                pool.submit(container.remove, force=True, v=True)
                for container in self.client.containers.list(all=True)
            ]
        for removal in removals:
            removal.result()
        self.client.networks.prune()
        for volume in self.client.volumes.list():
            volume.remove(force=True)

    def stop(self) -> None:
        """Stop the daemon and delete its directories.

        Containers and networks go first: dockerd would wait for each container on
        shutdown, and bridge interfaces of networks outlive the daemon.
        """
        problem: Exception | None = None
        if self.client is not None:
            try:
                self.clean()
            except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
                problem = err
            finally:
                self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_DEADLINE)
        if self.root.exists():
            shutil.rmtree(self.root)
        if problem is not None:
            raise RuntimeError(
                f"cleaning dockerd {self.name} before stopping it failed"
            ) from problem


def start_engines(
    count: int, *, pool_offset: int = 0, extra_args: tuple[str, ...] = ()
) -> list[PrivateDockerd]:
    """Start ``count`` private engines side by side, each with the busybox image.

    ``pool_offset`` picks address pools other engines of this session do not use.

    The root is created directly in /tmp because unix socket paths are limited to 107
    bytes and containerd's sockets live deep inside the exec root.
    """
    base = Path(tempfile.mkdtemp(prefix="sbd-", dir="/tmp"))
    engines = [
        PrivateDockerd(
            name=chr(ord("a") + i + pool_offset),
            root=base / chr(ord("a") + i),
            pool=POOLS[i + pool_offset],
            extra_args=extra_args,
        )
        for i in range(count)
    ]
    try:
        for engine in engines:
            engine.start()
        rootfs = busybox_rootfs_tar()
        for engine in engines:
            engine.wait_ready()
            engine.import_busybox(rootfs)
    except BaseException:
        stop_engines(engines)
        raise
    return engines


def stop_engines(engines: Iterable[PrivateDockerd]) -> None:
    """Stop every engine even if one fails, then remove their common directory."""
    engines = list(engines)
    errors = []
    for engine in engines:
        try:
            engine.stop()
        except Exception as err:
            errors.append(f"{engine.name}: {err}")
    if errors:
        raise RuntimeError("stopping private dockerd failed: " + "; ".join(errors))
    if engines:
        engines[0].root.parent.rmdir()


# -- labelled projects ---------------------------------------------------------------------

#: What a test service does. Each kind is one container of the busybox image.
HTTPD = "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"
KINDS: dict[str, dict] = {
    # httpd serving /health, probed with wget: becomes healthy within a second.
    "healthy": {
        "command": ["sh", "-c", HTTPD],
        "healthcheck": {"test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]},
    },
    # A probe that fails with a message: unhealthy after one failure, message in the log.
    "unhealthy": {
        "command": ["sleep", "3600"],
        "healthcheck": {"test": ["CMD-SHELL", "echo database not ready; exit 1"]},
    },
    # The first probe only runs after an hour, so health stays "starting".
    "starting": {
        "command": ["sleep", "3600"],
        "healthcheck": {"test": ["CMD", "true"], "interval": 3600 * SECOND_NS},
    },
    # Running without a healthcheck.
    "running": {"command": ["sleep", "3600"]},
    # Prints to stdout and stderr, then exits with code 3.
    "exited": {"command": ["sh", "-c", "echo starting up; echo fatal: no config >&2; exit 3"]},
    # Created, never started.
    "created": {"command": ["sleep", "3600"]},
}


@dataclass
class LabelledProject:
    """Containers, volumes and network of one labelled test project."""

    ref: str
    containers: dict[str, str] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    network: str | None = None


def run_project(
    client: docker.DockerClient,
    ref: str,
    services: dict[str, str],
    *,
    ports: dict[str, int] | None = None,
    volumes: Iterable[str] = (),
    network: bool = True,
    probe_every: float = 0.2,
    wait: bool = True,
) -> LabelledProject:
    """Create a project labelled exactly as the Pulumi component labels one.

    ``services`` maps a service name to a kind of ``KINDS``; ``ports`` maps a service to a
    host port published from its container port 8080; ``volumes`` are volume kinds
    ("db-data", ...). Without ``network`` containers get no network (cheap, for the
    benchmark). Health probes run every ``probe_every`` seconds. With ``wait`` this returns
    once every container shows its kind's state.
    """
    project = LabelledProject(ref)
    labels = {PROJECT_LABEL: ref, MANAGED_BY_LABEL: MANAGED_BY}
    if network:
        project.network = network_name(ref)
        client.networks.create(project.network, driver="bridge", labels={PROJECT_LABEL: ref})
    for kind in volumes:
        name = volume_name(ref, kind)
        client.volumes.create(name, labels={PROJECT_LABEL: ref, VOLUME_LABEL: kind})
        project.volumes.append(name)
    for service, kind in services.items():
        spec = KINDS[kind]
        healthcheck = None
        if "healthcheck" in spec:
            probe = {
                "interval": int(probe_every * SECOND_NS),
                "timeout": 2 * SECOND_NS,
                "retries": 1,
            }
            healthcheck = docker.types.Healthcheck(**(probe | spec["healthcheck"]))
        published = {}
        if ports and service in ports:
            published = {"8080/tcp": ports[service]}
        container = client.containers.create(
            IMAGE,
            spec["command"],
            name=container_name(ref, service),
            labels=labels | {SERVICE_LABEL: service},
            healthcheck=healthcheck,
            ports=published,
            network=project.network,
            network_mode=None if network else "none",
        )
        project.containers[service] = container.id
        if kind != "created":
            container.start()
    if wait:
        wait_for_project(client, project, services)
    return project


def wait_for_project(
    client: docker.DockerClient, project: LabelledProject, services: dict[str, str]
) -> None:
    """Block until each container reached the state its kind promises."""
    for service, kind in services.items():
        container = client.containers.get(project.containers[service])
        if kind == "exited":
            container.wait(timeout=START_DEADLINE)
        elif kind in ("healthy", "unhealthy"):

            def reached(container=container, kind=kind) -> bool:
                container.reload()
                return container.attrs["State"].get("Health", {}).get("Status") == kind

            wait_until(f"{container.name} {kind}", reached, START_DEADLINE)


# -- an ssh "host" -------------------------------------------------------------------------


@dataclass
class PrivateSshd:
    """A throwaway sshd on 127.0.0.1 letting root in with a fresh key, for ssh:// engines.

    ``bin_dir`` holds an ``ssh`` wrapper that adds this key and host key; put it first on
    PATH so code that runs plain ``ssh`` reaches this sshd without touching ~/.ssh.
    """

    root: Path
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    def start(self) -> None:
        self.root.mkdir(parents=True)
        self.bin_dir.mkdir()
        for key in ("host", "client"):
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(self.root / key)],
                check=True,
            )
        shutil.copy(self.root / "client.pub", self.root / "authorized_keys")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        log = (self.root / "sshd.log").open("wb")
        self.process = subprocess.Popen(
            [
                shutil.which("sshd") or "/usr/sbin/sshd", "-D", "-e", "-f", "/dev/null",
                "-o", f"ListenAddress=127.0.0.1:{self.port}",
                "-o", f"HostKey={self.root / 'host'}",
                "-o", f"AuthorizedKeysFile={self.root / 'authorized_keys'}",
                "-o", "PermitRootLogin=prohibit-password",
                "-o", "StrictModes=no",
                "-o", "PidFile=none",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        host_key = (self.root / "host.pub").read_text().split()
        (self.root / "known_hosts").write_text(
            f"[127.0.0.1]:{self.port} {' '.join(host_key[:2])}\n"
        )
        (self.root / "config").write_text(
            f"IdentityFile {self.root / 'client'}\nIdentitiesOnly yes\n"
            f"UserKnownHostsFile {self.root / 'known_hosts'}\nStrictHostKeyChecking yes\n"
        )
        wrapper = self.bin_dir / "ssh"
        wrapper.write_text(
            f'#!/bin/sh\nexec {shutil.which("ssh")} -F {self.root / "config"} "$@"\n'
        )
        wrapper.chmod(0o755)

        def listening() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.root / 'sshd.log').read_text()}")
            with socket.socket() as client:
                return client.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(f"sshd on port {self.port}", listening, START_DEADLINE)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(STOP_DEADLINE)
        shutil.rmtree(self.root, ignore_errors=True)
