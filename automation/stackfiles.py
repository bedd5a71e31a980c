"""Stack files ``stacks/Pulumi.<ref>.yaml``: the fleet's record of which projects exist.

The fleet reads every stack file to find used port slots and host placements, and writes
the few settings it owns. It keeps every other key (``encryptionsalt``, secrets, user
settings) as it is, and never overwrites a stack file that already exists.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from automation.errors import FleetError
from automation.names import check_ref

NAMESPACE = "supabase"
PREFIX = "Pulumi."
SUFFIX = ".yaml"


def stack_path(stacks_dir: Path, ref: str) -> Path:
    """The stack file of ``ref``."""
    return stacks_dir / f"{PREFIX}{ref}{SUFFIX}"


def _as_int(value: object) -> object:
    """Pulumi writes config set from the CLI as strings; read "3" as 3."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


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
    """Pulumi writes booleans set from the CLI as "true"/"false" strings."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


@dataclass(frozen=True)
class StackFile:
    """One parsed stack file; properties read the ``supabase:`` settings the fleet uses."""

    ref: str
    path: Path
    data: dict[str, Any] = field(default_factory=dict)

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
    def port_slot(self) -> object:
        """``portSlot`` as written (an int when well-formed, None when unset)."""
        return _as_int(self.get("portSlot"))

    @property
    def port_overrides(self) -> dict[str, object]:
        """Explicit ``ports:`` overrides, keyed kongHttp/kongHttps/postgres."""
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
    def exclude(self) -> list[str]:
        """Optional services switched off for this project."""
        value = _structured(self.path, "exclude", self.get("exclude") or [], list)
        return [str(item) for item in value]


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise FleetError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FleetError(f"{path} must hold a mapping with a `config:` key")
    return data


def read_stack(stacks_dir: Path, ref: str) -> StackFile:
    """The stack file of ``ref``; an unknown ref is a FleetError naming the known ones."""
    check_ref(ref)
    path = stack_path(stacks_dir, ref)
    if not path.is_file():
        known = ", ".join(stack.ref for stack in list_stacks(stacks_dir)) or "none"
        raise FleetError(f"unknown project {ref!r}: no {path} (known projects: {known})")
    return StackFile(ref=ref, path=path, data=_load(path))


def list_stacks(stacks_dir: Path) -> list[StackFile]:
    """Every stack file in ``stacks_dir``, sorted by ref."""
    if not stacks_dir.is_dir():
        return []
    stacks = []
    for path in sorted(stacks_dir.glob(f"{PREFIX}*{SUFFIX}")):
        ref = path.name[len(PREFIX) : -len(SUFFIX)]
        stacks.append(StackFile(ref=ref, path=path, data=_load(path)))
    return stacks


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
        raise FleetError(f"project {ref!r} exists already ({path})") from exc
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return path


def set_setting(stacks_dir: Path, ref: str, key: str, value: object) -> StackFile:
    """Set ``supabase:<key>`` in an existing stack file, keeping all other keys.

    The file is replaced atomically so a crash never leaves a half-written stack file.
    """
    stack = read_stack(stacks_dir, ref)
    data = dict(stack.data)
    data["config"] = {**stack.config, f"{NAMESPACE}:{key}": value}
    fd, tmp = tempfile.mkstemp(dir=stacks_dir, prefix=f".{stack.path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(yaml.safe_dump(data, sort_keys=False))
        os.chmod(tmp, stack.path.stat().st_mode & 0o777)
        os.replace(tmp, stack.path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return StackFile(ref=ref, path=stack.path, data=data)
