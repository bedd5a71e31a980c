"""What every fleet command works with: settings, Pulumi, engines, stack files, the user.

A ``FleetContext`` holds the shared plumbing and no command: the commands are functions in
one module per concern (``lifecycle``, ``observe``, ...) taking a context. Pulumi and
Docker are reached only through the ``Workspace`` protocol and an engine factory, which
tests replace with fakes.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TextIO

from automation import stackfiles
from automation.containers import ContainerState
from automation.engine import EngineFacts, EngineSpec
from automation.errors import FleetError
from automation.inventory import load_inventory
from automation.runner import Operation, exit_code, run_many
from automation.settings import FleetConfig
from automation.stackfiles import Scan, StackFile
from automation.workspace import Workspace


class EngineLike(Protocol):
    """The part of ``automation.engine.Engine`` the fleet uses."""

    spec: EngineSpec

    def ping(self) -> None:
        """Raise EngineUnreachable unless the engine answers."""
        ...

    def containers_by_project(self) -> dict[str, list[ContainerState]]:
        """All project containers on the engine, by ref."""
        ...

    def project_containers(self, ref: str) -> list[ContainerState]:
        """The containers of one project."""
        ...

    def ports_in_use(self, ports: Iterable[int]) -> set[int]:
        """Which of ``ports`` are taken on the engine's host."""
        ...

    def project_volumes(self, ref: str) -> list[str]:
        """Names of the project's volumes."""
        ...

    def remove_volumes(self, names: Iterable[str]) -> list[str]:
        """Remove volumes; returns the names removed."""
        ...

    def path_exists(self, path: str) -> bool:
        """Whether ``path`` exists on the engine's host."""
        ...

    def facts(self) -> EngineFacts:
        """The daemon's log defaults and whether it runs rootless."""
        ...

    def cpu_count(self) -> int | None:
        """The host's CPU count, None when the engine does not say."""
        ...

    def logs(
        self, ref: str, service: str, *, tail: int = 200, follow: bool = False
    ) -> Iterator[str]:
        """Log lines of one service's container."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


EngineFactory = Callable[[EngineSpec], EngineLike]


def tty_confirm(prompt: str) -> bool:
    """Ask on the terminal; never assume yes when there is nobody to ask."""
    if not sys.stdin.isatty():
        return False
    return input(prompt).strip().lower() in ("y", "yes")


class FleetContext:
    """Settings, Pulumi workspace, engines (opened once per run) and the user's terminal."""

    def __init__(
        self,
        config: FleetConfig,
        workspace: Workspace,
        engine_factory: EngineFactory,
        *,
        inventory: list[EngineSpec] | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
        confirm: Callable[[str], bool] = tty_confirm,
        live: bool | None = None,
    ):
        self.config = config
        self.workspace = workspace
        self._engine_factory = engine_factory
        self._inventory = inventory
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.confirm = confirm
        self.live = self.out.isatty() if live is None else live
        self._engines: dict[str, EngineLike] = {}
        self._engines_lock = threading.Lock()

    @property
    def inventory(self) -> list[EngineSpec]:
        """The engines of the inventory file (loaded once)."""
        if self._inventory is None:
            self._inventory = load_inventory(self.config.inventory_path)
        return self._inventory

    def engine(self, spec: EngineSpec) -> EngineLike:
        """The engine of ``spec``, opened once per run."""
        with self._engines_lock:
            if spec.url not in self._engines:
                self._engines[spec.url] = self._engine_factory(spec)
            return self._engines[spec.url]

    def close(self) -> None:
        """Close every engine this run opened."""
        with self._engines_lock:
            for engine in self._engines.values():
                engine.close()
            self._engines.clear()

    def say(self, message: str) -> None:
        """One line for the user."""
        self.out.write(message + "\n")
        self.out.flush()

    def warn(self, message: str) -> None:
        """One warning line on stderr, so piped output stays clean."""
        self.err.write(f"warning: {message}\n")
        self.err.flush()

    def scan(self) -> Scan:
        """Every stack file, with a warning for each file that is not one."""
        found = stackfiles.scan(self.config.stacks_dir)
        for warning in found.warnings():
            self.warn(warning)
        return found

    def select(self, refs: Sequence[str], *, all_: bool = False) -> list[StackFile]:
        """The stacks of ``refs`` (by ref, or by stack name) or of every project.

        Refuses unknown refs, unreadable stack files and refs two stack files claim, so an
        operation never acts on the wrong project.
        """
        found = self.scan()
        if all_:
            if refs:
                raise FleetError("give refs or --all, not both")
            chosen = found.stacks
            if not chosen:
                raise FleetError(f"there are no projects in {self.config.stacks_dir}")
        else:
            if not refs:
                raise FleetError("name at least one project ref, or pass --all")
            if len(set(refs)) != len(refs):
                raise FleetError("a ref is given more than once")
            chosen = [_find(found, ref, self.config) for ref in refs]
        duplicates = found.duplicate_refs()
        for stack in chosen:
            if stack.error:
                raise FleetError(f"{stack.error}; fix the file or move it away")
            if stack.ref in duplicates:
                files = ", ".join(str(s.path) for s in duplicates[stack.ref])
                raise FleetError(
                    f"ref {stack.ref!r} is claimed by more than one stack file ({files}); "
                    "give each project its own `supabase:ref`"
                )
        return chosen

    def run(self, stacks: Sequence[StackFile], operation: Operation, parallel: int) -> int:
        """Run ``operation`` per project (keyed by ref) with progress; the exit code."""
        outcomes = run_many(
            [s.ref for s in stacks], operation, parallel=parallel, out=self.out, live=self.live
        )
        return exit_code(outcomes)


def _find(found: Scan, ref: str, config: FleetConfig) -> StackFile:
    for stack in found.stacks:
        if stack.ref == ref:
            return stack
    for stack in found.stacks:
        if stack.name == ref:
            return stack
    known = ", ".join(stack.ref for stack in found.stacks) or "none"
    path = stackfiles.stack_path(config.stacks_dir, ref)
    raise FleetError(f"unknown project {ref!r}: no {path} (known projects: {known})")
