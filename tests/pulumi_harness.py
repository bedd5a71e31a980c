"""Runs the real program or component under ``pulumi.runtime.set_mocks``, as Pulumi's unit
testing guide does, and records every resource registration with its inputs.

The random mocks answer as pulumi-random would, from their inputs (a RandomInteger with
min == max returns min; a RandomPassword honours its length and character-class flags),
seeded by the resource's name so the same program gives the same plan. Outputs that the
provider's schema marks secret (the SDK asks the engine for them as
``additionalSecretOutputs``) come back secret, as the engine returns them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import random
import runpy
import string
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
#: Character classes of pulumi-random's RandomPassword/RandomString (terraform-provider-random
#: ``internal/provider/string.go``): the flag that enables each, its minimum and its set.
CHARACTER_CLASSES = (
    ("upper", "minUpper", string.ascii_uppercase),
    ("lower", "minLower", string.ascii_lowercase),
    ("numeric", "minNumeric", string.digits),
    ("special", "minSpecial", "!@#$%&*()-_=+[]{}<>:?"),
)

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
    additional_secret_outputs: list[str] = field(default_factory=list)
    delete_before_replace: bool = False


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
            "additional_secret_outputs": list(request.additionalSecretOutputs),
            "delete_before_replace": request.deleteBeforeReplace,
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
        registered = Registered(args.typ, args.name, args.inputs, **self.options.get(args.name, {}))
        self.resources.append(registered)
        inputs = reveal(args.inputs)
        outputs = dict(args.inputs)
        generate = RANDOM_OUTPUTS.get(args.typ)
        if generate is not None:
            outputs |= generate(inputs, seeded(args.typ, args.name))
        elif args.typ == "pulumi:pulumi:StackReference":
            outputs = {"name": inputs["name"], "outputs": dict(self.previous_outputs)}
        elif args.typ == "docker:index/remoteImage:RemoteImage":
            outputs["imageId"] = mock_image_id(inputs["name"])
        # The engine returns the outputs the SDK asked to keep secret as secrets.
        for key in registered.additional_secret_outputs:
            if key in outputs and not is_secret(outputs[key]):
                outputs[key] = secret(outputs[key])
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


def seeded(typ: str, name: str) -> random.Random:
    """A generator seeded by the resource, so a rerun of the same program plans the same."""
    return random.Random(hashlib.sha256(f"{typ}::{name}".encode()).digest())


def random_string(inputs: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """RandomPassword/RandomString: each enabled class's minimum first, then any enabled
    character, shuffled; ``overrideSpecial`` replaces the special set."""
    length = int(inputs["length"])
    specials = inputs.get("overrideSpecial")
    chosen: list[str] = []
    pool = ""
    for flag, minimum, charset in CHARACTER_CLASSES:
        if flag == "special" and specials is not None:
            charset = specials
        if not inputs.get(flag, True):
            continue
        pool += charset
        chosen += [rng.choice(charset) for _ in range(int(inputs.get(minimum, 0)))]
    if len(chosen) > length:
        raise ValueError(f"the minimums ask for {len(chosen)} characters, length is {length}")
    chosen += [rng.choice(pool) for _ in range(length - len(chosen))]
    rng.shuffle(chosen)
    return {"result": "".join(chosen)}


def random_integer(inputs: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    low, high = int(inputs["min"]), int(inputs["max"])
    if low > high:
        raise ValueError(f"min ({low}) is greater than max ({high})")
    return {"result": low if low == high else rng.randint(low, high)}


def random_bytes(inputs: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    data = rng.randbytes(int(inputs["length"]))
    return {"base64": base64.b64encode(data).decode(), "hex": data.hex()}


def random_id(inputs: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    data = rng.randbytes(int(inputs["byteLength"]))
    prefix = inputs.get("prefix", "")
    url = base64.urlsafe_b64encode(data).decode().rstrip("=")
    return {
        "b64Std": prefix + base64.b64encode(data).decode(),
        "b64Url": prefix + url,
        "hex": prefix + data.hex(),
        "dec": prefix + str(int.from_bytes(data, "big")),
    }


#: What each random resource returns, as a function of its inputs.
RANDOM_OUTPUTS: dict[str, Callable[[dict[str, Any], random.Random], dict[str, Any]]] = {
    "random:index/randomPassword:RandomPassword": random_string,
    "random:index/randomString:RandomString": random_string,
    "random:index/randomInteger:RandomInteger": random_integer,
    "random:index/randomBytes:RandomBytes": random_bytes,
    "random:index/randomId:RandomId": random_id,
}


def secret(value: Any) -> dict[str, Any]:
    """``value`` as the engine sends a secret."""
    return {SECRET_SIG: SECRET_VALUE, "value": value}


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


def plain_parts(value: Any) -> list[Any]:
    """Every leaf of an input that is not under a secret marker."""
    if is_secret(value):
        return []
    if isinstance(value, dict):
        return [part for item in value.values() for part in plain_parts(item)]
    if isinstance(value, list):
        return [part for item in value for part in plain_parts(item)]
    return [value]


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
    # A fresh root stack per run: set_mocks keeps an existing one, whose outputs would
    # carry one run's exports into the next and hide an export the program dropped.
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


def claimed_names_and_ports(result: Run) -> tuple[set[str], set[int]]:
    """The Docker object names and host ports one program run claims on its engine."""
    names = {
        reveal(r.inputs["name"])
        for r in result.mocks.resources
        if r.typ.split(":")[-1] in ("Container", "Network", "Volume")
    }
    ports = {
        p["external"]
        for c in result.mocks.containers().values()
        for p in reveal(c.inputs.get("ports") or [])
    }
    return names, ports
