"""Runs the real program or component under ``pulumi.runtime.set_mocks``, as Pulumi's unit
testing guide does, and records every resource registration with its inputs.

The mocks return generated values in plain text (the real engine would mark random results
secret): so any secrecy seen in the tests comes from the program itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import runpy
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as runtime_settings

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "supabase"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270"
#: What the mocks give every random resource's ``result`` before a test asks otherwise.
FIXED_ISSUED_AT = 1764000000

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass
class Registered:
    """One resource the program registered: its type token, logical name, inputs and the
    resource options the engine would see."""

    typ: str
    name: str
    inputs: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)
    """Logical names of the resources it explicitly depends on."""
    parent: str = ""
    retain_on_delete: bool = False
    ignore_changes: list[str] = field(default_factory=list)
    provider: str = ""


class RecordingMonitor(pulumi.runtime.mocks.MockMonitor):
    """Adds the registration's resource options to what the mocks record."""

    def RegisterResource(self, request: Any) -> Any:
        # Registrations arrive on several threads: key the options by the unique name.
        self.mocks.options[request.name] = {
            "depends_on": [urn.rsplit("::", 1)[-1] for urn in request.dependencies],
            "parent": request.parent.rsplit("::", 1)[-1],
            "retain_on_delete": request.retainOnDelete,
            "ignore_changes": list(request.ignoreChanges),
            "provider": request.provider,
        }
        return super().RegisterResource(request)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Records registrations and answers like the providers would, deterministically."""

    resources: list[Registered] = field(default_factory=list)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    previous_outputs: dict[str, Any] = field(default_factory=dict)
    """What a StackReference reads: the stack's outputs from its last deploy ({}: none)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(
            Registered(args.typ, args.name, args.inputs, **self.options.get(args.name, {}))
        )
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            length = int(args.inputs["length"])
            digest = hashlib.sha256(args.name.encode()).hexdigest() * 4
            outputs["result"] = digest[:length]
        elif args.typ == "random:index/randomInteger:RandomInteger":
            outputs["result"] = FIXED_ISSUED_AT
        elif args.typ == "random:index/randomBytes:RandomBytes":
            seed = hashlib.sha256(args.name.encode()).digest() * 4
            outputs["base64"] = base64.b64encode(seed[: int(args.inputs["length"])]).decode()
        elif args.typ == "pulumi:pulumi:StackReference":
            outputs = {"name": args.inputs["name"], "outputs": dict(self.previous_outputs)}
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = mock_image_id(reveal(args.inputs["name"]))
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        return {}

    def named(self, name: str) -> Registered:
        """The resource with logical name ``name``."""
        (found,) = [r for r in self.resources if r.name == name]
        return found

    def of_type(self, suffix: str) -> list[Registered]:
        """Registrations whose type token ends with ``suffix`` (e.g. ``Container``)."""
        return [r for r in self.resources if r.typ.endswith(suffix)]

    def containers(self) -> dict[str, Registered]:
        """Containers by their service label."""
        return {service_label(r): r for r in self.of_type(":Container")}


@dataclass
class Run:
    """The outcome of one program run: registrations and resolved stack outputs."""

    mocks: RecordingMocks
    outputs: dict[str, Any]
    secret_outputs: set[str]


def mock_image_id(image: str) -> str:
    """The image id the mocks report for a pulled image."""
    return "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def is_secret(value: Any) -> bool:
    """Whether an input value arrived marked secret."""
    return isinstance(value, dict) and value.get(SECRET_SIG) == SECRET_VALUE


def reveal(value: Any) -> Any:
    """The value with every secret marker removed, recursively."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, dict):
        return {key: reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal(item) for item in value]
    return value


def service_label(resource: Registered) -> str:
    labels = {item["label"]: item["value"] for item in reveal(resource.inputs["labels"])}
    return labels["supabase.service"]


def env_of(container: Registered) -> dict[str, str]:
    """A container's env as a dict."""
    return dict(item.split("=", 1) for item in reveal(container.inputs["envs"]))


def stack_config(path: Path) -> dict[str, str]:
    """A stack file's config as the engine hands it to the program (objects as JSON)."""
    document = yaml.safe_load(path.read_text()) or {}
    config: dict[str, str] = {}
    for key, value in (document.get("config") or {}).items():
        name = key.split(":", 1)[1] if key.startswith(f"{PROJECT}:") else key
        if isinstance(value, bool):
            config[name] = "true" if value else "false"
        elif isinstance(value, (dict, list)):
            config[name] = json.dumps(value)
        else:
            config[name] = str(value)
    return config


def run(
    program: Callable[[], None],
    config: Mapping[str, Any] | None = None,
    *,
    stack: str = "dev",
    secret_keys: Iterable[str] = (),
    previous_outputs: Mapping[str, Any] | None = None,
) -> Run:
    """Run ``program`` under mocks with ``config`` (keys without the project prefix).

    ``previous_outputs`` are the stack's outputs from its last deploy, as a StackReference
    to the stack reads them (none: a first deploy).
    """
    mocks = RecordingMocks(previous_outputs=dict(previous_outputs or {}))
    # Each run gets its own root stack (set_mocks keeps an existing one), so outputs of an
    # earlier run, even a failed one, never mix into this run's.
    runtime_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(
        mocks,
        project=PROJECT,
        stack=stack,
        preview=False,
        monitor=RecordingMonitor(mocks),
        organization="organization",
    )
    pulumi.runtime.set_all_config(
        {f"{PROJECT}:{key}": _config_string(value) for key, value in (config or {}).items()},
        [f"{PROJECT}:{key}" for key in secret_keys],
    )
    loop = asyncio.get_event_loop()
    program()
    try:
        loop.run_until_complete(pulumi.runtime.stack.wait_for_rpcs())
    except Exception:
        # A failed program leaves registrations waiting on what failed: drop them, so the
        # next run in this event loop does not wait on (and fail with) them.
        runtime_settings.SETTINGS.outputs.clear()
        raise
    root = runtime_settings.get_root_resource()
    outputs: dict[str, Any] = {}
    secrets: set[str] = set()

    async def resolve() -> None:
        for key, value in (root.outputs if root else {}).items():
            output = pulumi.Output.from_input(value)
            outputs[key] = await output.future()
            if await output.is_secret():
                secrets.add(key)

    loop.run_until_complete(resolve())
    return Run(mocks, outputs, secrets)


def run_main(config: Mapping[str, Any] | None = None, **kwargs: Any) -> Run:
    """Run the repository's ``__main__.py`` itself."""
    return run(
        lambda: runpy.run_path(str(ROOT / "__main__.py"), run_name="__main__"), config, **kwargs
    )


def _config_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
