"""A stand-in for the Pulumi CLI and backend behind the real Automation API classes' signatures.

``install`` replaces ``pulumi.automation.LocalWorkspace`` and ``Stack`` with
``create_autospec`` mocks, so every call the fleet's ``PulumiWorkspace`` makes is checked
against the real signatures (an unknown keyword or a wrong argument is a TypeError), and
gives them behaviour like the real CLI's:

- ``up`` reads the stack file from disk, as the CLI does, so a setting the fleet writes
  after asking for ``up`` is not seen; it records the config it read;
- ``create_or_select`` creates the stack; a failed ``up`` leaves the stack behind with
  a failed history entry; ``preview`` of a never-deployed stack plans only creates;
- ``history`` pages (``page_size``/``page``) newest first; refreshes are entries too;
- ``stack rm`` refuses a stack that still has resources, and deletes its stack file.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import yaml
from pulumi import automation as auto
from pulumi.automation._cmd import CommandResult

from automation.status import enabled_services
from automation.workspace import CONTAINER_TYPE
from components.releases import DEFAULT_RELEASE, RELEASES

#: The real classes, kept before ``install`` patches the module.
REAL_STACK = auto.Stack
REAL_WORKSPACE = auto.LocalWorkspace
PROJECT = "supabase"
#: Resources a project has besides its containers (network, volumes, secrets, ...).
OTHER_RESOURCES = 10


@dataclass
class FakeStack:
    """One stack in the fake backend."""

    name: str
    history: list[auto.UpdateSummary] = field(default_factory=list)  # newest first
    resources: list[dict] = field(default_factory=list)
    outputs: dict[str, auto.OutputValue] = field(default_factory=dict)


def _summary(kind: str, result: str, config: dict | None = None) -> auto.UpdateSummary:
    now = datetime.datetime.now()
    shown = {f"{PROJECT}:{k}": {"value": v, "secret": False} for k, v in (config or {}).items()}
    return auto.UpdateSummary(kind, now, "", {}, shown, result, now)


def _fail(message: str) -> auto.CommandError:
    return auto.CommandError(CommandResult("", f"error: {message}", 255))


class FakeBackend:
    """The backend and CLI: stacks, their state and history, and what was asked."""

    def __init__(self, stacks_dir: Path, url: str = "file:///fake-state") -> None:
        self.stacks_dir = stacks_dir
        self.url = url
        self.stacks: dict[str, FakeStack] = {}
        self.fail: set[str] = set()
        self.calls: list[tuple[str, str]] = []
        self.seen: list[tuple[str, dict]] = []
        """(stack, config) read from the stack file by each up, in order."""
        self.replaced: list[tuple[str, list[str]]] = []
        self.options: list[tuple[str, str, dict]] = []
        """(operation, stack, keyword arguments other than on_output) of each operation."""
        self.config_set: list[tuple[str, str, auto.ConfigValue]] = []
        """(stack, key, value) of each ``pulumi config set``."""
        self.delay = 0.0
        self.on_deploy: Callable[[str, dict], None] = lambda name, config: None
        self._lock = threading.Lock()

    # -- install -----------------------------------------------------------------------

    def install(self, monkeypatch) -> None:
        """Replace the Automation API classes with autospec'd fakes over this backend."""
        workspace_cls = mock.create_autospec(REAL_WORKSPACE)
        ws = workspace_cls.return_value
        ws.list_stacks.side_effect = self._list_stacks
        ws.remove_stack.side_effect = self._remove_stack
        stack_cls = mock.create_autospec(REAL_STACK)
        stack_cls.select.side_effect = lambda stack_name, workspace: self._stack(stack_name)
        stack_cls.create_or_select.side_effect = lambda stack_name, workspace: self._stack(
            stack_name, create=True
        )
        monkeypatch.setattr(auto, "LocalWorkspace", workspace_cls)
        monkeypatch.setattr(auto, "Stack", stack_cls)
        self.workspace_cls = workspace_cls

    def _record(self, op: str, name: str) -> None:
        with self._lock:
            self.calls.append((op, name))

    def _list_stacks(self, include_all: bool | None = None) -> list[auto.StackSummary]:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            return [auto.StackSummary(f"organization/{PROJECT}/{n}", False) for n in self.stacks]

    def _remove_stack(self, stack_name: str, force=None, preserve_config=None) -> None:
        self._record("remove_stack", stack_name)
        with self._lock:
            stack = self.stacks.get(stack_name)
            if stack is None:
                raise auto.StackNotFoundError(CommandResult("", "no stack named", 255))
            if stack.resources and not force:
                raise _fail(f"'{stack_name}' still has resources; use --force")
            del self.stacks[stack_name]
        if not preserve_config:
            (self.stacks_dir / f"Pulumi.{stack_name}.yaml").unlink(missing_ok=True)

    def _stack(self, name: str, *, create: bool = False) -> mock.NonCallableMagicMock:
        with self._lock:
            if name not in self.stacks:
                if not create:
                    raise auto.StackNotFoundError(CommandResult("", f"no stack {name}", 255))
                self.stacks[name] = FakeStack(name)
        stack = mock.create_autospec(REAL_STACK, instance=True)
        stack.name = name
        stack.up.side_effect = lambda **kw: self._up(name, **self._note("up", name, kw))
        stack.preview.side_effect = lambda **kw: self._preview(
            name, **self._note("preview", name, kw)
        )
        stack.refresh.side_effect = lambda **kw: self._simple(
            name, "refresh", **self._note("refresh", name, kw)
        )
        stack.destroy.side_effect = lambda **kw: self._destroy(
            name, **self._note("destroy", name, kw)
        )
        stack.set_config.side_effect = lambda key, value, path=False: self._set_config(
            name, key, value
        )
        stack.outputs.side_effect = lambda: self._outputs(name)
        stack.history.side_effect = lambda **kw: self._history(name, **kw)
        stack.export_stack.side_effect = lambda: auto.Deployment(
            3, {"resources": list(self.stacks[name].resources)}
        )
        return stack

    def _note(self, op: str, name: str, kwargs: dict) -> dict:
        with self._lock:
            self.options.append((op, name, {k: v for k, v in kwargs.items() if k != "on_output"}))
        return kwargs

    def _set_config(self, name: str, key: str, value: auto.ConfigValue) -> None:
        self._record("set_config", name)
        with self._lock:
            self.config_set.append((name, key, value))

    # -- operations --------------------------------------------------------------------

    def read_config(self, name: str) -> dict:
        """The ``supabase:`` settings of the stack file, as the CLI reads them now."""
        data = yaml.safe_load((self.stacks_dir / f"Pulumi.{name}.yaml").read_text()) or {}
        return {
            key.split(":", 1)[1]: value
            for key, value in (data.get("config") or {}).items()
            if key.startswith(f"{PROJECT}:")
        }

    def containers_of(self, name: str, config: dict) -> list[dict]:
        """Container resources the program would declare for this config."""
        if config.get("paused") in (True, "true"):
            return []
        ref = config.get("ref") or name
        release = RELEASES[config.get("release", DEFAULT_RELEASE)]
        services = enabled_services(config.get("exclude") or [], release, config.get("logs"))
        return [
            {
                "urn": f"urn:pulumi:{name}::{PROJECT}::supabase:index:Project$"
                f"{CONTAINER_TYPE}::{ref}-{service}",
                "type": CONTAINER_TYPE,
                "outputs": {"name": f"supabase-{ref}-{service}"},
            }
            for service in services
        ]

    def _up(self, name: str, on_output=None, replace=None, **kwargs) -> auto.UpResult:
        self._record("up", name)
        config = self.read_config(name)
        with self._lock:
            self.seen.append((name, config))
            if replace:
                self.replaced.append((name, list(replace)))
        if on_output is not None:
            on_output(f"Updating ({name})")
        if self.delay:
            time.sleep(self.delay)
        stack = self.stacks[name]
        if name in self.fail:
            stack.history.insert(0, _summary("update", "failed", config))
            raise _fail(f"update of {name} failed\n  a health check timed out")
        stack.resources = self.containers_of(name, config)
        port = 20000 + 10 * int(config.get("portSlot", 0))
        stack.outputs = {
            "apiUrl": auto.OutputValue(f"http://localhost:{port}", False),
            "studioUrl": auto.OutputValue(f"http://localhost:{port}", False),
            "anonKey": auto.OutputValue(f"anon-key-of-{name}", True),
            "dashboardPassword": auto.OutputValue("dash-pw", True),
        }
        stack.history.insert(0, _summary("update", "succeeded", config))
        self.on_deploy(name, config)
        return auto.UpResult("", "", stack.history[0], dict(stack.outputs))

    def _preview(self, name: str, on_output=None, **kwargs) -> auto.PreviewResult:
        self._record("preview", name)
        if on_output is not None:
            on_output(f"Previewing update ({name})")
        stack = self.stacks[name]
        planned = len(self.containers_of(name, self.read_config(name))) + OTHER_RESOURCES
        if not stack.history:  # never deployed: everything is new
            return auto.PreviewResult("", "", {auto.OpType.CREATE: planned})
        return auto.PreviewResult("", "", {auto.OpType.SAME: planned})

    def _outputs(self, name: str) -> dict[str, auto.OutputValue]:
        self._record("outputs", name)
        return dict(self.stacks[name].outputs)

    def _simple(self, name: str, kind: str, on_output=None, **kwargs) -> None:
        self._record(kind, name)
        if on_output is not None:
            on_output(f"{kind.capitalize()}ing ({name})")
        self.stacks[name].history.insert(0, _summary(kind, "succeeded"))

    def _destroy(self, name: str, on_output=None, **kwargs) -> None:
        self._record("destroy", name)
        if on_output is not None:
            on_output(f"Destroying ({name})")
        stack = self.stacks[name]
        stack.resources = []
        stack.outputs = {}
        stack.history.insert(0, _summary("destroy", "succeeded"))
        self.on_deploy(name, {"paused": True})

    def _history(
        self, name: str, page_size: int | None = None, page: int | None = None, show_secrets=True
    ) -> list[auto.UpdateSummary]:
        self._record("history", name)
        entries = self.stacks[name].history
        if page_size is None:
            return list(entries)
        start = ((page or 1) - 1) * page_size
        return entries[start : start + page_size]
