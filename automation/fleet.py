"""The fleet commands: create, up, preview, refresh, pause, resume, delete, list, status,
credentials and logs, over the stack files, the Pulumi workspace and the Docker engines.

Every command checks its input completely before it writes or deploys anything, so bad
input changes nothing. Pulumi and Docker are reached only through the ``Workspace``
protocol and an engine factory, which tests replace with fakes.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol, TextIO

from automation import stackfiles
from automation.containers import ContainerState
from automation.engine import EngineSpec, EngineUnreachable
from automation.errors import FleetError
from automation.inventory import load_inventory, placement_order, spec_for_stack
from automation.names import check_ref, generate_ref
from automation.releases import (
    check_release,
    credential_env,
    older_release_note,
    render_credentials,
    stack_release,
    stack_services,
    write_private,
)
from automation.runner import Operation, Report, exit_code, run_many, short_error
from automation.settings import FleetConfig
from automation.slots import PortClaim, blocked_slots, lowest_free_slot
from automation.stackfiles import StackFile
from automation.status import (
    ProjectStatus,
    Status,
    UpdateRecord,
    derive_status,
    enabled_services,
    last_deploy,
)
from automation.workspace import Output, Workspace
from components.ports import PortPlanError, plan_ports, slot_ports
from components.releases import NEWEST_RELEASE, RELEASES

#: Statuses that count as fine for the exit code of ``status``.
HEALTHY = (Status.ACTIVE, Status.PAUSED)
#: How ``credentials`` labels each output, in the order ``supabase status`` prints them.
CREDENTIALS = (
    ("API URL", "apiUrl"),
    ("DB URL", "dbUrl"),
    ("Studio URL", "studioUrl"),
    ("JWT secret", "jwtSecret"),
    ("anon key", "anonKey"),
    ("service_role key", "serviceRoleKey"),
    ("Dashboard user", "dashboardUsername"),
    ("Dashboard password", "dashboardPassword"),
)


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

    def logs(
        self, ref: str, service: str, *, tail: int = 200, follow: bool = False
    ) -> Iterator[str]:
        """Log lines of one service's container."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


EngineFactory = Callable[[EngineSpec], EngineLike]


@dataclass(frozen=True)
class Plan:
    """A new project, checked and placed, before its stack file is written."""

    ref: str
    spec: EngineSpec
    slot: int
    settings: dict[str, object]


@dataclass
class Observed:
    """A project as ``list`` and ``status`` see it."""

    status: ProjectStatus
    stack: StackFile | None = None
    containers: list[ContainerState] = field(default_factory=list)


def format_changes(changes: dict[str, int]) -> str:
    """Preview change counts as ``create 12, update 1``, or ``no changes``."""
    shown = [f"{op} {count}" for op, count in sorted(changes.items()) if op != "same" and count]
    return ", ".join(shown) or "no changes"


def public_urls(outputs: dict[str, Output]) -> str:
    """The non-secret URLs of a project, for a summary line."""
    urls = [
        f"{label} {outputs[key].value}"
        for label, key in (("API", "apiUrl"), ("Studio", "studioUrl"))
        if key in outputs and not outputs[key].secret
    ]
    return ", ".join(urls) or "up"


def _tty_confirm(prompt: str) -> bool:
    """Ask on the terminal; never assume yes when there is nobody to ask."""
    if not sys.stdin.isatty():
        return False
    return input(prompt).strip().lower() in ("y", "yes")


class Fleet:
    """The fleet commands; each returns the process exit code or raises FleetError."""

    def __init__(
        self,
        config: FleetConfig,
        workspace: Workspace,
        engine_factory: EngineFactory,
        *,
        inventory: list[EngineSpec] | None = None,
        out: TextIO | None = None,
        confirm: Callable[[str], bool] = _tty_confirm,
        live: bool | None = None,
    ):
        self.config = config
        self.workspace = workspace
        self._engine_factory = engine_factory
        self._inventory = inventory
        self.out = out or sys.stdout
        self._confirm = confirm
        self._live = live
        self._engines: dict[str, EngineLike] = {}
        self._engines_lock = threading.Lock()

    # -- plumbing --------------------------------------------------------------------------

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

    def _stacks(self, refs: Sequence[str], *, all_: bool = False) -> list[StackFile]:
        """The stack files of ``refs`` (or of every project); unknown refs are an error."""
        if all_:
            if refs:
                raise FleetError("give refs or --all, not both")
            stacks = stackfiles.list_stacks(self.config.stacks_dir)
            if not stacks:
                raise FleetError(f"there are no projects in {self.config.stacks_dir}")
            return stacks
        if not refs:
            raise FleetError("name at least one project ref, or pass --all")
        if len(set(refs)) != len(refs):
            raise FleetError("a ref is given more than once")
        return [stackfiles.read_stack(self.config.stacks_dir, ref) for ref in refs]

    def _run(self, refs: Sequence[str], operation: Operation, parallel: int) -> int:
        outcomes = run_many(refs, operation, parallel=parallel, out=self.out, live=self._live)
        return exit_code(outcomes)

    # -- create ------------------------------------------------------------------------------

    def create(
        self,
        refs: Sequence[str] = (),
        *,
        count: int = 1,
        host: str | None = None,
        exclude: Sequence[str] = (),
        parallel: int = 1,
        release: str = NEWEST_RELEASE,
    ) -> int:
        """Check, place and write new projects (``release`` written out), then bring them up."""
        check_release(release)
        for name in exclude:
            if name not in RELEASES[release].optional:
                raise FleetError(
                    f"--exclude {name}: release {release} lets you leave out only "
                    f"{sorted(RELEASES[release].optional)}"
                )
        existing = stackfiles.list_stacks(self.config.stacks_dir)
        backend = set(self.workspace.list_stacks())
        taken = {stack.ref for stack in existing} | backend
        if refs and count != 1:
            raise FleetError("give refs or --count, not both")
        if count < 1:
            raise FleetError("--count must be at least 1")
        wanted = [check_ref(ref) for ref in refs]
        if len(set(wanted)) != len(wanted):
            raise FleetError("a ref is given more than once")
        for ref in wanted:
            if ref in {stack.ref for stack in existing}:
                path = stackfiles.stack_path(self.config.stacks_dir, ref)
                raise FleetError(f"project {ref!r} exists already ({path})")
            if ref in backend:
                raise FleetError(
                    f"a stack {ref!r} exists in the Pulumi backend without a stack file; "
                    f"remove it with `pulumi stack rm {ref}` or choose another ref"
                )
        while len(wanted) < (len(refs) or count):
            wanted.append(generate_ref(taken | set(wanted)))
        plans: list[Plan] = []
        for ref in wanted:
            known = existing + [self._planned_stack(plan) for plan in plans]
            plans.append(self._plan(ref, known, host=host, exclude=exclude))
            plans[-1].settings["release"] = release
        for plan in plans:
            stackfiles.write_new_stack(self.config.stacks_dir, plan.ref, plan.settings)
            ports = slot_ports(plan.slot)
            self.say(
                f"{plan.ref}: on host {plan.spec.name}, slot {plan.slot} (API port "
                f"{ports.kong_http}, Postgres port {ports.postgres}); wrote "
                f"{stackfiles.stack_path(self.config.stacks_dir, plan.ref)}"
            )
        return self._run([plan.ref for plan in plans], self._up_operation, parallel)

    def _planned_stack(self, plan: Plan) -> StackFile:
        """A plan as the stack file it will become, so later plans count it."""
        path = stackfiles.stack_path(self.config.stacks_dir, plan.ref)
        return StackFile(plan.ref, path, stackfiles.new_stack_data(plan.settings))

    def _plan(
        self, ref: str, known: list[StackFile], *, host: str | None, exclude: Sequence[str]
    ) -> Plan:
        """Pick a reachable host with room and a slot whose ports are free there."""
        unreachable: list[str] = []
        for spec in placement_order(self.inventory, known, host=host):
            try:
                engine = self.engine(spec)
                engine.ping()
                leftovers = engine.project_volumes(ref)
                containers = engine.project_containers(ref)
            except EngineUnreachable as exc:
                if host is not None:
                    raise FleetError(f"host {spec.name} is unreachable: {exc}") from exc
                unreachable.append(f"{spec.name}: {exc}")
                self.say(f"{ref}: host {spec.name} is unreachable, trying the next one ({exc})")
                continue
            if leftovers or containers:
                fixes = []
                if containers:
                    names = " ".join(c.name for c in containers)
                    fixes.append(f"`docker -H {spec.url} rm -f {names}`")
                if leftovers:
                    fixes.append(f"`docker -H {spec.url} volume rm {' '.join(leftovers)}`")
                raise FleetError(
                    f"host {spec.name} still has containers or volumes of an earlier project "
                    f"{ref!r}; a new database would keep the old passwords. Choose another "
                    f"ref, or remove them with {' and '.join(fixes)}"
                )
            slot = self._free_slot(ref, engine, known)
            settings: dict[str, object] = {
                "portSlot": slot,
                "dockerHost": spec.url,
                "dockerSocket": spec.socket_path,
            }
            if spec.cert_path:
                settings["dockerCertPath"] = spec.cert_path
            if exclude:
                settings["exclude"] = list(exclude)
            return Plan(ref, spec, slot, settings)
        raise FleetError("no reachable host with room: " + "; ".join(unreachable))

    def _free_slot(self, ref: str, engine: EngineLike, known: list[StackFile]) -> int:
        """The lowest free slot whose ports are also free on the engine's host."""
        blocked = blocked_slots(PortClaim.of(stack) for stack in known)
        while True:
            slot = lowest_free_slot(blocked)
            ports = slot_ports(slot).by_setting().values()
            busy = engine.ports_in_use(ports)
            if not busy:
                return slot
            self.say(
                f"{ref}: slot {slot} ports {sorted(busy)} are in use on host "
                f"{engine.spec.name}, trying the next free slot"
            )
            blocked.add(slot)

    # -- deploy operations -----------------------------------------------------------------

    def _up_operation(self, ref: str, report: Report) -> str:
        return public_urls(self.workspace.up(ref, report))

    def up(self, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
        """Deploy projects as their stack files say."""
        stacks = self._stacks(refs, all_=all_)
        return self._run([s.ref for s in stacks], self._up_operation, parallel)

    def preview(self, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
        """Show what ``up`` would change."""
        stacks = self._stacks(refs, all_=all_)

        def operation(ref: str, report: Report) -> str:
            return format_changes(self.workspace.preview(ref, report))

        return self._run([s.ref for s in stacks], operation, parallel)

    def refresh(self, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
        """Read the real state of the projects' resources into their stacks."""
        stacks = self._stacks(refs, all_=all_)

        def operation(ref: str, report: Report) -> str:
            self.workspace.refresh(ref, report)
            return "refreshed"

        return self._run([s.ref for s in stacks], operation, parallel)

    def _set_paused(self, refs: Sequence[str], paused: bool, all_: bool, parallel: int) -> int:
        stacks = self._stacks(refs, all_=all_)

        def operation(ref: str, report: Report) -> str:
            stackfiles.set_setting(self.config.stacks_dir, ref, "paused", paused)
            outputs = self.workspace.up(ref, report)
            return "paused" if paused else public_urls(outputs)

        return self._run([s.ref for s in stacks], operation, parallel)

    def pause(self, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
        """Stop projects' containers, keeping all their data."""
        return self._set_paused(refs, True, all_, parallel)

    def resume(self, refs: Sequence[str], *, all_: bool = False, parallel: int = 1) -> int:
        """Start paused projects again."""
        return self._set_paused(refs, False, all_, parallel)

    def delete(
        self,
        refs: Sequence[str],
        *,
        yes: bool = False,
        delete_data: bool = False,
        parallel: int = 1,
    ) -> int:
        """Destroy projects and remove their stacks; data volumes stay unless asked."""
        stacks = {stack.ref: stack for stack in self._stacks(refs)}
        specs = {ref: spec_for_stack(self.inventory, stack) for ref, stack in stacks.items()}
        backend = set(self.workspace.list_stacks())
        data = "and their data volumes" if delete_data else "(data volumes are kept)"
        if not yes and not self._confirm(f"Delete {', '.join(stacks)} {data}? [y/N] "):
            self.say("nothing deleted (confirm, or pass --yes)")
            return 1

        def operation(ref: str, report: Report) -> str:
            if ref in backend:
                report("destroying")
                self.workspace.destroy(ref, report)
                self.workspace.remove_stack(ref)
            stacks[ref].path.unlink(missing_ok=True)
            spec = specs[ref]
            try:
                engine = self.engine(spec)
                volumes = engine.project_volumes(ref)
                removed = engine.remove_volumes(volumes) if delete_data else []
            except EngineUnreachable as exc:
                if delete_data:
                    raise RuntimeError(f"deleted, but its volumes were not removed: {exc}") from exc
                return f"deleted; could not list its kept volumes on {spec.name}: {exc}"
            kept = [volume for volume in volumes if volume not in removed]
            if delete_data and kept:
                raise RuntimeError(
                    f"deleted, but volumes still in use were not removed: {', '.join(kept)}"
                )
            if delete_data:
                return f"deleted; removed volumes: {', '.join(removed) or 'none'}"
            if not kept:
                return "deleted; it had no volumes left"
            return (
                f"deleted; kept data volumes on {spec.name}: {', '.join(kept)} (remove them "
                f"with `docker -H {spec.url} volume rm {' '.join(kept)}`)"
            )

        return self._run(list(stacks), operation, parallel)

    # -- observing ---------------------------------------------------------------------------

    def observe(self, ref: str | None = None) -> list[Observed]:
        """Status of one project or of all, from stack history and live containers."""
        stacks = (
            [stackfiles.read_stack(self.config.stacks_dir, ref)]
            if ref
            else stackfiles.list_stacks(self.config.stacks_dir)
        )
        backend = set(self.workspace.list_stacks())
        specs = {stack.ref: spec_for_stack(self.inventory, stack) for stack in stacks}
        engines = {spec.url: spec for spec in [*specs.values(), *([] if ref else self.inventory)]}
        with ThreadPoolExecutor(max_workers=8) as pool:
            live = dict(zip(engines, pool.map(self._containers, engines.values()), strict=True))
            known = [stack.ref for stack in stacks if stack.ref in backend]
            histories = dict(zip(known, pool.map(self._history, known), strict=True))
        observed = []
        for stack in stacks:
            spec = specs[stack.ref]
            by_project, error = live[spec.url]
            history, history_error = histories.get(stack.ref, ([], ""))
            containers = None if by_project is None else by_project.get(stack.ref, [])
            try:
                services, config_error = stack_services(stack), ""
            except FleetError as exc:
                services, config_error = enabled_services(()), str(exc)
            status = derive_status(
                stack.ref,
                spec.name,
                stack_exists=True,
                last_update=last_deploy(history),
                paused=stack.paused,
                services=services,
                containers=containers,
                unreachable=error,
            )
            status.problems.extend(p for p in (history_error, config_error) if p)
            observed.append(Observed(status, stack, list(containers or [])))
        if not ref:
            observed.extend(self._strays({s.ref for s in stacks}, backend, engines, live))
        return observed

    def _containers(self, spec: EngineSpec) -> tuple[dict[str, list[ContainerState]] | None, str]:
        try:
            return self.engine(spec).containers_by_project(), ""
        except EngineUnreachable as exc:
            return None, str(exc)

    def _history(self, ref: str) -> tuple[list[UpdateRecord], str]:
        try:
            return self.workspace.history(ref), ""
        except Exception as exc:  # a broken stack must not hide the rest of the fleet
            return [], f"cannot read the stack history: {short_error(exc)}"

    def _strays(
        self,
        with_files: set[str],
        backend: set[str],
        engines: dict[str, EngineSpec],
        live: dict[str, tuple[dict[str, list[ContainerState]] | None, str]],
    ) -> list[Observed]:
        """Stacks without a stack file, and containers of projects that no longer exist."""
        strays = [
            Observed(
                ProjectStatus(
                    ref,
                    "(no stack file)",
                    Status.FAILED,
                    [f"the stack exists in the backend but stacks/Pulumi.{ref}.yaml is missing"],
                )
            )
            for ref in sorted(backend - with_files)
        ]
        for url, spec in engines.items():
            by_project = live[url][0] or {}
            for ref in sorted(set(by_project) - with_files - backend):
                containers = by_project[ref]
                status = derive_status(
                    ref,
                    spec.name,
                    stack_exists=False,
                    last_update=None,
                    paused=False,
                    services=(),
                    containers=containers,
                )
                strays.append(Observed(status, None, containers))
        return strays

    def _render_list(self, observed: list[Observed]) -> str:
        """One block per host, every inventory host shown even when empty."""
        lines: list[str] = []
        hosts = {spec.name: spec for spec in self.inventory}
        groups: dict[str, list[Observed]] = {}
        for item in observed:
            groups.setdefault(item.status.host, []).append(item)
        for name in [*hosts, *sorted(set(groups) - set(hosts))]:
            items = groups.get(name, [])
            spec = hosts.get(name)
            projects = sum(1 for item in items if item.stack is not None)
            head = f"{name} ({spec.url}) {projects}/{spec.capacity} projects" if spec else name
            lines.append(head)
            if not items:
                lines.append("  (no projects)")
            for item in items:
                lines.append("  " + self._row(item))
        return "\n".join(lines)

    @staticmethod
    def _row(item: Observed) -> str:
        """One project's line: ref, status, host ports and the first problem."""
        status = item.status
        ports = "-"
        if item.stack is not None:
            try:
                slot = item.stack.port_slot
                plan = plan_ports(
                    slot if isinstance(slot, int) else None, item.stack.port_overrides
                )
                ports = f"{plan.kong_http}/{plan.kong_https}/{plan.postgres}"
            except (PortPlanError, FleetError):
                ports = "invalid"
        first = f"  {status.problems[0]}" if status.problems else ""
        more = f" (+{len(status.problems) - 1} more)" if len(status.problems) > 1 else ""
        release = _release_name(item.stack)
        return f"{status.ref:<30} {status.status.value:<13} {ports:<18} {release:<8}{first}{more}"

    def _render_status(self, observed: list[Observed]) -> str:
        """Every problem and every container's state, for finding out why."""
        lines: list[str] = []
        for item in observed:
            status = item.status
            release = _release_name(item.stack)
            lines.append(
                f"{status.ref}: {status.status.value} on host {status.host}, release {release}"
            )
            lines.extend(f"  - {problem}" for problem in status.problems)
            note = _older_release(item.stack)
            if note:
                lines.append(f"  * {note}")
            for container in sorted(item.containers, key=lambda c: c.service):
                health = f", {container.health}" if container.health else ""
                lines.append(f"    {container.service:<10} {container.state}{health}")
        return "\n".join(lines)

    def _watch(self, render: Callable[[], str], interval: float) -> int:
        """Redraw until interrupted; on a terminal the screen is cleared each time."""
        tty = self.out.isatty()
        try:
            while True:
                text = render()
                stamp = time.strftime("%H:%M:%S")
                self.out.write(("\x1b[H\x1b[2J" if tty else "\n") + f"[{stamp}]\n{text}\n")
                self.out.flush()
                time.sleep(interval)
        except KeyboardInterrupt:
            return 0

    def list_projects(self, *, as_json: bool = False, watch: float | None = None) -> int:
        """All projects with their status, grouped by host."""
        self._show(None, self._render_list, as_json=as_json, watch=watch)
        return 0

    def status(
        self, ref: str | None = None, *, as_json: bool = False, watch: float | None = None
    ) -> int:
        """Status with the reasons for every service that is not healthy.

        Exit code 0 when every project shown is ACTIVE or PAUSED, else 1.
        """
        if ref is not None:
            check_ref(ref)
        observed = self._show(ref, self._render_status, as_json=as_json, watch=watch)
        if observed is None:
            return 0
        return 0 if all(item.status.status in HEALTHY for item in observed) else 1

    def _show(
        self,
        ref: str | None,
        render_text: Callable[[list[Observed]], str],
        *,
        as_json: bool,
        watch: float | None,
    ) -> list[Observed] | None:
        """Observe and print once (returning what was seen), or every ``watch`` seconds."""
        observed: list[Observed] = []

        def render() -> str:
            observed[:] = self.observe(ref)
            if as_json:
                return json.dumps(
                    [
                        _status_json(item.status)
                        | {
                            "release": _release_name(item.stack),
                            "olderRelease": _older_release(item.stack),
                        }
                        for item in observed
                    ],
                    indent=2,
                )
            return render_text(observed)

        if watch:
            self._watch(render, watch)
            return None
        self.say(render())
        return observed

    def credentials(self, ref: str, *, output: str = "text", file: Path | None = None) -> int:
        """Print the project's URLs and keys the way ``supabase status`` does.

        ``output`` env/json/yaml gives upstream's ``.env`` names (for its docker/tests);
        ``file`` writes them there with mode 0600 instead of printing them.
        """
        stackfiles.read_stack(self.config.stacks_dir, ref)
        if ref not in set(self.workspace.list_stacks()):
            raise FleetError(f"project {ref!r} is not deployed yet; run `supabase-fleet up {ref}`")
        outputs = self.workspace.outputs(ref)
        if not outputs:
            raise FleetError(f"project {ref!r} has no outputs yet; run `supabase-fleet up {ref}`")
        if output == "text":
            text = "".join(
                f"{label:>{max(len(label) for label, _ in CREDENTIALS)}}: {outputs[key].value}\n"
                for label, key in CREDENTIALS
                if key in outputs
            )
        else:
            values = {name: output_.value for name, output_ in outputs.items()}
            text = render_credentials(credential_env(ref, values), output)
        if file is not None:
            write_private(file, text)
            self.say(f"wrote {ref}'s credentials to {file} (mode 0600)")
            return 0
        if self.out.isatty():
            print(
                "warning: these are the project's secrets; prefer --file PATH (written 0600)",
                file=sys.stderr,
            )
        self.out.write(text)
        self.out.flush()
        return 0

    def logs(self, ref: str, service: str, *, tail: int = 200, follow: bool = False) -> int:
        """Print a service's container log."""
        stack = stackfiles.read_stack(self.config.stacks_dir, ref)
        services = stack_services(stack)
        if service not in services:
            raise FleetError(
                f"{ref!r} has no service {service!r}; its services are: {', '.join(services)}"
            )
        engine = self.engine(spec_for_stack(self.inventory, stack))
        try:
            lines = engine.logs(ref, service, tail=tail, follow=follow)
        except ValueError as exc:  # the engine has no container for that service
            raise FleetError(str(exc)) from exc
        try:
            for line in lines:
                self.out.write(line if line.endswith("\n") else line + "\n")
                self.out.flush()
        except KeyboardInterrupt:
            pass
        return 0


def _release_name(stack: StackFile | None) -> str:
    """The release a project's stack file names ("-" for strays, "invalid" for bad ones)."""
    if stack is None:
        return "-"
    try:
        return stack_release(stack).name
    except FleetError:
        return "invalid"


def _older_release(stack: StackFile | None) -> str | None:
    try:
        return None if stack is None else older_release_note(stack)
    except FleetError:
        return None


def _status_json(status: ProjectStatus) -> dict[str, object]:
    data = asdict(status)
    data["status"] = status.status.value
    return data
