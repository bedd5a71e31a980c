"""Stack files ``stacks/Pulumi.<stack>.yaml``: the fleet's record of which projects exist.

The fleet reads every stack file to find used port slots, host placements and refs, and
writes the few settings it owns. Edits go through ruamel.yaml's round-trip mode, so a
user's comments, key order and every other key (``encryptionsalt``, secrets) survive, and
it never overwrites a stack file that already exists. A stack file that cannot be read
is reported as such instead of hiding the rest of the fleet.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError as RuamelError

from automation.errors import FleetError
from automation.names import check_ref
from components.naming import REF_PATTERN
from components.releases import DEFAULT_RELEASE, RELEASES, Release

NAMESPACE = "supabase"
PREFIX = "Pulumi."
SUFFIX = ".yaml"
LOCK_NAME = ".fleet.lock"


def stack_path(stacks_dir: Path, name: str) -> Path:
    """The stack file of the stack ``name``."""
    return stacks_dir / f"{PREFIX}{name}{SUFFIX}"


def _as_int(value: object) -> object:
    """Pulumi writes config set from the CLI as strings; read "3" as 3."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


#: Settings the fleet acts on, read as strictly as the program reads them: a value the
#: program would refuse must not steer the fleet (``paused: "yes"`` is not "not paused").
_BOOLEAN_KEYS = ("paused", "logs", "publishGatewayPorts")


def _check_fleet_keys(path: Path, config: Mapping[str, Any]) -> None:
    for key in _BOOLEAN_KEYS:
        value = config.get(f"{NAMESPACE}:{key}")
        text = value.lower() if isinstance(value, str) else None
        if value is not None and not isinstance(value, bool) and text not in ("true", "false"):
            raise FleetError(
                f"{path}: `{NAMESPACE}:{key}` must be true or false, got {value!r}; "
                f"fix it with `pulumi config set {key} true|false`"
            )
    slot = _as_int(config.get(f"{NAMESPACE}:portSlot"))
    if slot is not None and (isinstance(slot, bool) or not isinstance(slot, int)):
        raise FleetError(
            f"{path}: `{NAMESPACE}:portSlot` must be a whole number, got {slot!r}; "
            "fix it with `pulumi config set portSlot <N>`"
        )


def _structured(path: Path, key: str, value: object, kind: type) -> Any:
    """An object setting, written as YAML or as the JSON string `pulumi config set` stores."""
    if isinstance(value, str):
        with contextlib.suppress(json.JSONDecodeError):
            value = json.loads(value)
    if not isinstance(value, kind):
        shape = "a mapping" if kind is dict else "a list"
        raise FleetError(f"{path}: `{NAMESPACE}:{key}` must be {shape}, got {value!r}")
    return value


def _as_bool(value: object) -> bool:
    """Pulumi writes booleans set from the CLI as "true"/"false" strings (checked on load)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


@dataclass(frozen=True)
class StackFile:
    """One stack file; properties read the ``supabase:`` settings the fleet uses.

    ``name`` is the Pulumi stack name (from the file name); ``ref`` the project ref, which
    names the Docker objects and is what the fleet shows: ``supabase:ref`` when set, else
    the stack name. ``error`` says why the file could not be read (then ``data`` is empty).
    """

    name: str
    path: Path
    data: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def config(self) -> dict[str, Any]:
        """The ``config:`` mapping (empty when missing)."""
        config = self.data.get("config") or {}
        if not isinstance(config, dict):
            raise FleetError(f"{self.path}: `config` must be a mapping")
        return config

    def get(self, key: str, default: object = None) -> object:
        """A ``supabase:<key>`` setting."""
        return self.config.get(f"{NAMESPACE}:{key}", default)

    @property
    def ref(self) -> str:
        """The project ref (``supabase:ref``, else the stack name)."""
        if self.error:
            return self.name
        value = self.get("ref")
        return str(value) if value else self.name

    @property
    def release(self) -> Release:
        """The release the project runs (the default when unset)."""
        name = str(self.get("release") or DEFAULT_RELEASE)
        if name not in RELEASES:
            raise FleetError(
                f"{self.path}: unknown release {name!r}; known releases: {sorted(RELEASES)}"
            )
        return RELEASES[name]

    @property
    def port_slot(self) -> object:
        """``portSlot`` as written (an int when well-formed, None when unset)."""
        return _as_int(self.get("portSlot"))

    @property
    def port_overrides(self) -> dict[str, object]:
        """Explicit ``ports:`` overrides, keyed by port setting name."""
        ports = _structured(self.path, "ports", self.get("ports") or {}, dict)
        return {str(name): _as_int(port) for name, port in ports.items()}

    @property
    def docker_host(self) -> str | None:
        """The ``dockerHost`` URL the project runs on (None: the program's default)."""
        value = self.get("dockerHost")
        return str(value) if value else None

    @property
    def docker_cert_path(self) -> str | None:
        """The TLS certificate directory for a ``tcp://`` host."""
        value = self.get("dockerCertPath")
        return str(value) if value else None

    @property
    def docker_socket(self) -> str | None:
        """The host path of the Docker socket the log collector mounts."""
        value = self.get("dockerSocket")
        return str(value) if value else None

    @property
    def paused(self) -> bool:
        """Whether the project is meant to be paused."""
        return _as_bool(self.get("paused", False))

    @property
    def logs(self) -> bool | None:
        """``logs`` as set (None: the release's default)."""
        value = self.get("logs")
        return None if value is None else _as_bool(value)

    @property
    def cpu_limits(self) -> dict[str, float]:
        """Each service's ``resources.<service>.cpus`` that is set and a number (a value
        that is not, the program itself refuses with the fix)."""
        value = _structured(self.path, "resources", self.get("resources") or {}, dict)
        limits = {}
        for service, resources in value.items():
            cpus = resources.get("cpus") if isinstance(resources, dict) else None
            with contextlib.suppress(TypeError, ValueError):
                if not isinstance(cpus, bool):
                    limits[str(service)] = float(cpus)  # `config set --path` may store "1.5"
        return limits

    @property
    def exclude(self) -> list[str]:
        """Optional services switched off for this project."""
        value = _structured(self.path, "exclude", self.get("exclude") or [], list)
        return [str(item) for item in value]


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; Pulumi's YAML parser refuses the file, so
    the fleet must not read a value the program never would."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeyLoader) or {}  # a SafeLoader
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetError(f"{path} cannot be read: {exc}") from exc
    except yaml.YAMLError as exc:
        raise FleetError(f"{path} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("config", {}) or {}, dict):
        raise FleetError(f"{path} must hold a mapping with a `config:` mapping")
    ref = (data.get("config") or {}).get(f"{NAMESPACE}:ref")
    text = str(ref) if isinstance(ref, str | int) and not isinstance(ref, bool) else ""
    if ref is not None and not REF_PATTERN.fullmatch(text):  # Pulumi reads `ref: 7` as "7"
        raise FleetError(
            f"{path}: `{NAMESPACE}:ref` {ref!r} is not a valid project ref (1 to 63 lowercase "
            "letters, digits and hyphens); fix it with `pulumi config set ref <ref>`"
        )
    _check_fleet_keys(path, data.get("config") or {})
    return data


def read_file(path: Path, name: str) -> StackFile:
    """One stack file; an unreadable one comes back with ``error`` set instead of raising."""
    try:
        return StackFile(name=name, path=path, data=_load(path))
    except FleetError as exc:
        return StackFile(name=name, path=path, error=str(exc))


@dataclass(frozen=True)
class Scan:
    """Every stack file of the stacks folder, and the files that are not stack files."""

    stacks: list[StackFile]
    ignored: list[Path] = field(default_factory=list)
    """``Pulumi.*.yaml`` files whose middle part is not a valid stack name (ref)."""

    def duplicate_refs(self) -> dict[str, list[StackFile]]:
        """Refs that more than one stack file claims."""
        by_ref: dict[str, list[StackFile]] = {}
        for stack in self.stacks:
            by_ref.setdefault(stack.ref, []).append(stack)
        return {ref: stacks for ref, stacks in by_ref.items() if len(stacks) > 1}

    def warnings(self) -> list[str]:
        """What ``list`` and every command say about files they leave out."""
        return [
            f"ignoring {path}: {path.name[len(PREFIX) : -len(SUFFIX)]!r} is not a valid "
            "stack name (a ref: lowercase letters, digits and hyphens)"
            for path in self.ignored
        ]


def scan(stacks_dir: Path) -> Scan:
    """Every stack file in ``stacks_dir``, sorted by stack name."""
    if not stacks_dir.is_dir():
        return Scan([])
    stacks: list[StackFile] = []
    ignored: list[Path] = []
    for path in sorted(stacks_dir.glob(f"{PREFIX}*{SUFFIX}")):
        name = path.name[len(PREFIX) : -len(SUFFIX)]
        if not REF_PATTERN.match(name):
            ignored.append(path)
            continue
        stacks.append(read_file(path, name))
    return Scan(stacks, ignored)


def list_stacks(stacks_dir: Path) -> list[StackFile]:
    """The readable stack files; FleetError naming the first unreadable one."""
    stacks = scan(stacks_dir).stacks
    broken = [stack.error for stack in stacks if stack.error]
    if broken:
        raise FleetError(broken[0])
    return stacks


def read_stack(stacks_dir: Path, name: str) -> StackFile:
    """The stack file of stack ``name``; FleetError when missing or unreadable."""
    check_ref(name)
    path = stack_path(stacks_dir, name)
    if not path.is_file():
        raise FleetError(f"unknown project {name!r}: no {path}")
    return StackFile(name=name, path=path, data=_load(path))


def new_stack_data(settings: Mapping[str, object]) -> dict[str, Any]:
    """The content of a new stack file holding ``supabase:<key>`` settings."""
    return {"config": {f"{NAMESPACE}:{key}": value for key, value in settings.items()}}


def write_new_stack(stacks_dir: Path, ref: str, settings: Mapping[str, object]) -> Path:
    """Create the stack file of ``ref``; refuses (FleetError) if it exists already."""
    check_ref(ref)
    stacks_dir.mkdir(parents=True, exist_ok=True)
    path = stack_path(stacks_dir, ref)
    text = yaml.safe_dump(new_stack_data(settings), sort_keys=False)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError as exc:
        raise FleetError(
            f"project {ref!r} exists already ({path}); if its create failed, "
            f"run `supabase-fleet up {ref}` to try again"
        ) from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def _round_trip() -> YAML:
    handler = YAML(typ="rt")
    handler.preserve_quotes = True
    handler.width = 4096  # never re-wrap the user's long lines
    return handler


def set_setting(stacks_dir: Path, name: str, key: str, value: object) -> None:
    """Set ``supabase:<key>`` in an existing stack file, keeping comments and all else.

    The file is replaced atomically so a crash never leaves a half-written stack file.
    """
    path = stack_path(stacks_dir, name)
    handler = _round_trip()
    try:
        data = handler.load(path.read_text())
    except (OSError, RuamelError) as exc:
        raise FleetError(f"{path} cannot be updated: {exc}") from exc
    if data is None:
        data = handler.load("config: {}\n")
    if data.get("config") is None:
        data["config"] = {}
    data["config"][f"{NAMESPACE}:{key}"] = value
    text = io.StringIO()
    handler.dump(data, text)
    fd, tmp = tempfile.mkstemp(dir=stacks_dir, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text.getvalue())
        os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def locked(stacks_dir: Path) -> Iterator[None]:
    """Hold the fleet's lock on the stacks folder (``fcntl.flock``, released on exit).

    Planning a new project and writing its stack file happen under it, so two ``create``
    runs, in threads or processes, never pick the same slot or overfill a host.
    """
    stacks_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(stacks_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
