"""The fleet's test bed: fake engines, the fake Pulumi backend, a project folder and a
context over them, shared by the fleet's command tests."""

from __future__ import annotations

import io
import os
import select
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
import yaml
from fake_pulumi import FakeBackend

from automation import cli
from automation.containers import ContainerState
from automation.context import FleetContext
from automation.engine import EngineFacts, EngineSpec, EngineUnreachable
from automation.settings import FleetConfig
from automation.workspace import PulumiWorkspace
from components.settings import ALL_SERVICES

LOCAL = "unix:///var/run/docker.sock"


class FakeEngine:
    """An in-memory Docker engine."""

    def __init__(self, spec: EngineSpec, *, reachable: bool = True) -> None:
        self.spec = spec
        self.reachable = reachable
        self.containers: dict[str, list[ContainerState]] = {}
        self.volumes: dict[str, list[str]] = {}
        self.busy: set[int] = set()
        self.removed: list[str] = []
        self.in_use: set[str] = set()
        self.closed = False
        self.paths = {"/var/run/docker.sock", "/run/d.sock"}
        self.log_facts = EngineFacts("json-file", {}, rootless=False)
        self.cpus: int | None = 4
        self.delay = 0.0
        """Seconds each ping and port check takes, to widen race windows."""

    def _check(self) -> None:
        if not self.reachable:
            raise EngineUnreachable(f"Docker engine {self.spec.name!r} at {self.spec.url} is down")

    def ping(self) -> None:
        time.sleep(self.delay)
        self._check()

    def containers_by_project(self) -> dict[str, list[ContainerState]]:
        self._check()
        return self.containers

    def project_containers(self, ref: str) -> list[ContainerState]:
        self._check()
        return self.containers.get(ref, [])

    def ports_in_use(self, ports: Iterable[int]) -> set[int]:
        time.sleep(self.delay)
        self._check()
        return set(ports) & self.busy

    def project_volumes(self, ref: str) -> list[str]:
        self._check()
        return self.volumes.get(ref, [])

    def remove_volumes(self, names: Iterable[str]) -> list[str]:
        self._check()
        removed = [name for name in names if name not in self.in_use]
        self.removed.extend(removed)
        return removed

    def path_exists(self, path: str) -> bool:
        self._check()
        return path in self.paths

    def facts(self) -> EngineFacts:
        self._check()
        return self.log_facts

    def cpu_count(self) -> int | None:
        self._check()
        return self.cpus

    def logs(
        self, ref: str, service: str, *, tail: int = 200, follow: bool = False
    ) -> Iterator[str]:
        self._check()
        return iter([f"{ref}/{service} line {n}" for n in range(min(tail, 3))])

    def close(self) -> None:
        self.closed = True


def healthy(ref: str, services: Iterable[str] = ALL_SERVICES) -> list[ContainerState]:
    return [
        ContainerState(
            ref,
            s,
            f"supabase-{ref}-{s}",
            "running",
            None if s in ("rest", "functions") else "healthy",
        )
        for s in services
    ]


class Env:
    """A project directory, the fake Pulumi backend, fake engines and a context over them."""

    def __init__(
        self,
        root: Path,
        specs: list[EngineSpec] | None = None,
        monkeypatch: pytest.MonkeyPatch | None = None,
        *,
        fresh: bool = True,
    ) -> None:
        self.project = root / "project"
        (self.project / "stacks").mkdir(parents=True, exist_ok=not fresh)
        (self.project / "Pulumi.yaml").write_text("name: supabase\nstackConfigDir: stacks\n")
        self.config = FleetConfig(
            home=root / "home",
            project_dir=self.project,
            backend_url=f"file://{root / 'home' / 'state'}",
            secrets_provider=None,
            inventory_path=root / "home" / "hosts.yaml",
        )
        self.specs = specs or [EngineSpec(name="local", url=LOCAL, capacity=20)]
        self.engines = {spec.url: FakeEngine(spec) for spec in self.specs}
        self.backend = FakeBackend(self.project / "stacks", self.config.backend_url)
        self.backend.install(monkeypatch)
        self.backend.on_deploy = self._deployed
        self.workspace = PulumiWorkspace(
            self.project, {"PULUMI_BACKEND_URL": self.config.backend_url}, None
        )
        self.out = io.StringIO()
        self.err = io.StringIO()
        self.answers: list[str] = []

    def _deployed(self, name: str, config: dict) -> None:
        """What a real up does on the engine: the project's containers, healthy or gone."""
        engine = self.engines[config.get("dockerHost") or LOCAL] if config else None
        if engine is None:
            return
        containers = self.backend.containers_of(name, config)
        ref = config.get("ref") or name
        engine.containers[ref] = healthy(
            ref, [c["outputs"]["name"].removeprefix(f"supabase-{ref}-") for c in containers]
        )

    def deployed(self, *names: str) -> None:
        """Stacks brought up before the test (history, state, containers), calls forgotten."""
        for name in names:
            self.backend._stack(name, create=True)
            self.backend._up(name)
        self.backend.calls.clear()
        self.backend.seen.clear()

    @property
    def calls(self) -> list[tuple[str, str]]:
        """What the fleet asked Pulumi to do, reads (history) left out."""
        return [call for call in self.backend.calls if call[0] != "history"]

    def context(self, *, confirm: bool = False) -> FleetContext:
        def ask(prompt: str) -> bool:
            self.answers.append(prompt)
            return confirm

        return FleetContext(
            self.config,
            self.workspace,
            lambda spec: self.engines[spec.url],
            inventory=self.specs,
            out=self.out,
            err=self.err,
            confirm=ask,
            live=False,
        )

    def main(self, *argv: str, confirm: bool = False) -> int:
        return cli.main(list(argv), context_factory=lambda args: self.context(confirm=confirm))

    @property
    def stacks_dir(self) -> Path:
        return self.project / "stacks"

    def stack_files(self) -> dict[str, dict]:
        return {
            p.name: yaml.safe_load(p.read_text()) for p in sorted(self.stacks_dir.glob("*.yaml"))
        }

    def write_stack(self, name: str, /, **config: object) -> None:
        data = {"config": {f"supabase:{k}": v for k, v in config.items()}}
        (self.stacks_dir / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump(data))


def read_all(fd: int) -> str:
    """Everything written to a pseudo-terminal so far."""
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()
