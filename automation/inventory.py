"""The inventory of Docker engines and the placement of new projects on them.

A fleet grows past one machine by listing more engines here: Docker on each host, Pulumi
over them. Each engine has a capacity (how many projects it may run); a new project goes
to the engine with the most room left, counted from the ``dockerHost`` in the stack files.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlparse

import yaml
from pydantic import TypeAdapter, ValidationError

from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.stackfiles import StackFile
from components.ports import MAX_SLOT
from components.setting_types import AbsolutePath, DockerHost

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DEFAULT_SOCKET_PATH = "/var/run/docker.sock"
DEFAULT_CAPACITY = 20
LOCAL_NAME = "local"
SCHEMES = ("unix", "ssh", "tcp")
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")
#: ``baseDomain`` and ``edge`` (the host's HTTPS edge proxy) are read by automation.edge.
HOST_KEYS = {"name", "url", "capacity", "certPath", "socketPath", "baseDomain", "edge"}
MAX_CAPACITY = MAX_SLOT + 1
"""One project per port slot at most."""
#: The program's own checks of ``dockerHost`` and of paths, so the inventory accepts exactly
#: the engine URLs a stack file may hold (no ``ssh://-o...``, no control characters).
_URL = TypeAdapter(DockerHost)
_PATH = TypeAdapter(AbsolutePath)


def _checked(adapter: TypeAdapter, value: object, what: str, where: str) -> str:
    """``value`` as ``adapter`` accepts it, else FleetError naming ``what`` and why."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"].replace("Input should be", "must be")
        raise FleetError(f"{where}{what} {value!r} {reason}") from None


def default_inventory() -> list[EngineSpec]:
    """One engine, the local Docker socket, when there is no inventory file."""
    return [
        EngineSpec(
            name=LOCAL_NAME,
            url=DEFAULT_DOCKER_HOST,
            capacity=DEFAULT_CAPACITY,
            socket_path=DEFAULT_SOCKET_PATH,
        )
    ]


def load_inventory(path: Path) -> list[EngineSpec]:
    """The engines of the inventory file, or the local engine when the file is absent."""
    if not path.exists():
        return default_inventory()
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise FleetError(f"cannot read the inventory {path}: {exc}") from exc
    return parse_inventory(data, source=str(path), base_dir=path.parent)


def engine_spec(
    name: str,
    url: str,
    capacity: int,
    cert_path: str | None = None,
    socket_path: str | None = None,
    *,
    where: str = "",
) -> EngineSpec:
    """An EngineSpec checked for a usable URL and TLS material; ``where`` prefixes errors."""
    parsed = urlparse(url)
    if parsed.scheme not in SCHEMES or not (parsed.netloc or parsed.path):
        raise FleetError(
            f"{where}url {url!r} is not a Docker host URL; use unix:///path/to/docker.sock, "
            "ssh://user@host or tcp://host:2376 (with certPath)"
        )
    _checked(_URL, url, "url", where)
    if socket_path is not None:
        _checked(_PATH, socket_path, "socketPath", where)
    if parsed.scheme == "tcp" and not cert_path:
        raise FleetError(
            f"{where}url {url!r} is plain tcp://; give certPath (a directory with "
            f"{', '.join(TLS_FILES)}) so the engine is reached over TLS, or use ssh://"
        )
    if cert_path:
        missing = [f for f in TLS_FILES if not (Path(cert_path) / f).is_file()]
        if missing:
            raise FleetError(f"{where}certPath {cert_path} lacks {', '.join(missing)}")
    if socket_path is None:
        socket_path = parsed.path if parsed.scheme == "unix" else DEFAULT_SOCKET_PATH
    return EngineSpec(
        name=name, url=url, capacity=capacity, cert_path=cert_path, socket_path=socket_path
    )


def parse_inventory(data: object, *, source: str, base_dir: Path) -> list[EngineSpec]:
    """Validate inventory YAML (``hosts: [{name, url, capacity, certPath?, socketPath?}]``)."""
    if not isinstance(data, dict) or not isinstance(data.get("hosts"), list) or not data["hosts"]:
        raise FleetError(f"{source}: expected `hosts:` with a list of at least one host")
    specs: list[EngineSpec] = []
    for index, host in enumerate(data["hosts"]):
        where = f"{source}: hosts[{index}]: "
        if not isinstance(host, dict):
            raise FleetError(f"{where}expected a mapping with name, url and capacity")
        unknown = sorted(set(host) - HOST_KEYS)
        if unknown:
            near = [difflib.get_close_matches(key, sorted(HOST_KEYS), n=1) for key in unknown]
            hints = "".join(
                f" (did you mean `{match[0]}` for `{key}`?)"
                for key, match in zip(unknown, near, strict=True)
                if match
            )
            raise FleetError(f"{where}unknown keys {unknown}{hints}; known: {sorted(HOST_KEYS)}")
        name, url, capacity = host.get("name"), host.get("url"), host.get("capacity")
        if not isinstance(name, str) or not name:
            raise FleetError(f"{where}`name` must be a non-empty string")
        if not isinstance(url, str) or not url:
            raise FleetError(f"{where}`url` must be a string")
        if (
            isinstance(capacity, bool)
            or not isinstance(capacity, int)
            or not 0 <= capacity <= MAX_CAPACITY
        ):
            raise FleetError(
                f"{where}`capacity` must be a whole number from 0 to {MAX_CAPACITY}, "
                f"got {capacity!r}"
            )
        if name != name.strip() or any(not char.isprintable() for char in name):
            raise FleetError(f"{where}`name` {name!r} must be printable, without outer spaces")
        cert_path = host.get("certPath")
        if cert_path is not None and not isinstance(cert_path, str):
            raise FleetError(f"{where}`certPath` must be a path string, got {cert_path!r}")
        if cert_path is not None:
            cert_path = str((base_dir / Path(str(cert_path)).expanduser()).absolute())
        socket_path = host.get("socketPath")
        if socket_path is not None and not isinstance(socket_path, str):
            raise FleetError(f"{where}`socketPath` must be a path string")
        specs.append(engine_spec(name, url, capacity, cert_path, socket_path, where=where))
    for attr in ("name", "url"):
        seen: set[str] = set()
        for spec in specs:
            value = getattr(spec, attr)
            if value in seen:
                raise FleetError(f"{source}: two hosts have the {attr} {value!r}")
            seen.add(value)
    return specs


def project_host_url(stack: StackFile) -> str:
    """The Docker host URL a project runs on (the program's default when unset)."""
    return stack.docker_host or DEFAULT_DOCKER_HOST


def spec_for_stack(specs: Iterable[EngineSpec], stack: StackFile) -> EngineSpec:
    """The inventory engine of a project, or one built from its stack file if not listed."""
    url = project_host_url(stack)
    for spec in specs:
        if spec.url == url:
            return spec
    return engine_spec(
        url, url, 0, stack.docker_cert_path, stack.docker_socket, where=f"{stack.path}: "
    )


def free_capacity(specs: Iterable[EngineSpec], stacks: Iterable[StackFile]) -> dict[str, int]:
    """Room left per engine name: capacity minus the projects recorded on it."""
    specs = list(specs)
    used = {spec.url: 0 for spec in specs}
    for stack in stacks:
        url = project_host_url(stack)
        if url in used:
            used[url] += 1
    return {spec.name: spec.capacity - used[spec.url] for spec in specs}


def placement_order(
    specs: Iterable[EngineSpec], stacks: Iterable[StackFile], *, host: str | None = None
) -> list[EngineSpec]:
    """Engines with room, most free first (inventory order on ties); FleetError if none.

    With ``host`` only that engine is considered.
    """
    specs = list(specs)
    free = free_capacity(specs, stacks)
    if host is not None:
        chosen = [spec for spec in specs if spec.name == host]
        if not chosen:
            names = ", ".join(spec.name for spec in specs)
            raise FleetError(f"unknown host {host!r}; the inventory has: {names}")
        specs = chosen
    ranked = sorted(
        (spec for spec in specs if free[spec.name] > 0), key=lambda spec: -free[spec.name]
    )
    if not ranked:
        detail = ", ".join(
            f"{spec.name} {spec.capacity - free[spec.name]}/{spec.capacity}" for spec in specs
        )
        raise FleetError(
            f"no room for a new project: every host is full ({detail}); raise a capacity "
            "or add a host in the inventory, or delete a project"
        )
    return ranked
