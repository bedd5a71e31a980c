"""Observation commands: list, status, credentials and logs.

``observe`` gathers one picture of the fleet (stack files, backend history, live
containers and each daemon's log defaults, engines asked in parallel) and ``views``
draws it; a broken stack file, an unreachable host or a failing backend shows up as a
problem of what it concerns, never hiding the rest of the fleet.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.live import Live

from automation import stackfiles, views
from automation.cliargs import positive_int, ref_arg
from automation.containers import ContainerState
from automation.context import FleetContext
from automation.edge import say_urls
from automation.engine import EngineFacts, EngineSpec, EngineUnreachable
from automation.errors import FleetError
from automation.inventory import project_host_url, spec_for_stack
from automation.releases import OUTPUT_FORMATS, credentials_text, write_private
from automation.runner import short_error
from automation.slots import PortClaim, port_clashes
from automation.stackfiles import StackFile
from automation.status import (
    ProjectStatus,
    Status,
    UpdateRecord,
    derive_status,
    enabled_services,
    last_deploy,
)
from automation.views import FleetView, HostView, Observed
from components.provider_shapes import json_file_log_opts
from components.releases import ALL_SERVICE_NAMES
from components.settings import Settings

#: Statuses that count as fine for the exit code of ``status``.
HEALTHY = (Status.ACTIVE, Status.PAUSED)
#: The log driver and options a project container gets with default settings.
PROJECT_LOG_DRIVER = "json-file"
PROJECT_LOG_OPTS = json_file_log_opts(Settings.log_max_size, Settings.log_max_files)
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

#: One engine's containers by ref (None when unreachable) and why it could not answer.
EngineAnswer = tuple[dict[str, list[ContainerState]] | None, str]


def log_notes(facts: EngineFacts) -> list[str]:
    """What of the daemon's log defaults differs from what projects set.

    Projects name the json-file driver and every one of its options
    (``components.provider_shapes``), so no daemon default reaches their containers; the
    note says so, since other containers on that host do get the daemon's defaults.
    """
    if facts.log_driver != PROJECT_LOG_DRIVER:
        return [
            f"daemon default log driver is {facts.log_driver!r}; projects set "
            f"{PROJECT_LOG_DRIVER} with every option named, so this does not reach them"
        ]
    differ = {
        key: value
        for key, value in sorted(facts.log_opts.items())
        if PROJECT_LOG_OPTS.get(key) != value
    }
    if not differ:
        return []
    shown = ", ".join(f"{key}={value}" for key, value in differ.items())
    return [
        f"daemon log-opts {shown} differ from what projects set; projects name every "
        "json-file option, so these do not reach their containers"
    ]


def _matches(stack: StackFile, ref: str) -> bool:
    return ref in (stack.ref, stack.name)


def observe(ctx: FleetContext, ref: str | None = None) -> FleetView:
    """Status of one project (by ref or stack name) or of all."""
    found = ctx.scan()
    stacks = [s for s in found.stacks if ref is None or _matches(s, ref)]
    if ref is not None and not stacks:
        known = ", ".join(stack.ref for stack in found.stacks) or "none"
        raise FleetError(f"unknown project {ref!r} (known projects: {known})")
    backend = set(ctx.workspace.list_stacks())
    specs: dict[str, EngineSpec | None] = {}
    problems: dict[str, list[str]] = {s.name: [] for s in stacks}
    for stack in stacks:
        try:
            specs[stack.name] = None if stack.error else spec_for_stack(ctx.inventory, stack)
        except FleetError as exc:
            specs[stack.name] = None
            problems[stack.name].append(str(exc))
    engines = {spec.url: spec for spec in specs.values() if spec is not None}
    if ref is None:
        engines |= {spec.url: spec for spec in ctx.inventory}
    known = [s.name for s in stacks if s.name in backend and not s.error]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(lambda s: _containers(ctx, s), engines.values())
        live = dict(zip(engines, answers, strict=True))
        facts = pool.map(lambda s: _notes(ctx, s), engines.values())
        notes = dict(zip(engines, facts, strict=True))
        histories = dict(zip(known, pool.map(lambda n: _history(ctx, n), known), strict=True))
    _flag_fleet_problems(found, stacks, problems)
    observed = [
        _observe_one(stack, specs[stack.name], live, histories, problems[stack.name])
        for stack in stacks
    ]
    if ref is None:
        readable = {s.ref for s in found.stacks} | {s.name for s in found.stacks}
        observed.extend(_strays(readable, backend, engines, live))
    # Inventory hosts first, in inventory order; then hosts only stack files name.
    order = [spec.url for spec in ctx.inventory]
    urls = sorted(engines, key=lambda url: order.index(url) if url in order else len(order))
    hosts = [HostView(engines[url].name, engines[url], notes[url]) for url in urls]
    return FleetView(hosts, observed)


def _flag_fleet_problems(
    found: stackfiles.Scan, stacks: list[StackFile], problems: dict[str, list[str]]
) -> None:
    """Port clashes and refs claimed twice, across the whole fleet."""
    readable = [s for s in found.stacks if not s.error]
    claims = []
    for stack in readable:
        try:
            claims.append(PortClaim.of(stack, project_host_url(stack)))
        except FleetError:
            continue
    clashes = port_clashes(claims)
    duplicates = found.duplicate_refs()
    for stack in stacks:
        if stack.error:
            continue
        problems[stack.name].extend(clashes.get(stack.ref, []))
        if stack.ref in duplicates:
            others = [str(s.path) for s in duplicates[stack.ref] if s is not stack]
            problems[stack.name].append(
                f"ref {stack.ref!r} is also claimed by {', '.join(others)}; give each project "
                "its own `supabase:ref`"
            )


def _observe_one(
    stack: StackFile,
    spec: EngineSpec | None,
    live: dict[str, EngineAnswer],
    histories: dict[str, tuple[list[UpdateRecord], str]],
    problems: list[str],
) -> Observed:
    if stack.error or spec is None:
        why = [stack.error] if stack.error else problems
        return Observed(ProjectStatus(stack.ref, "?", Status.FAILED, why), stack, [], None)
    by_project, error = live[spec.url]
    history, history_error = histories.get(stack.name, ([], ""))
    containers = None if by_project is None else by_project.get(stack.ref, [])
    try:
        services = enabled_services(stack.exclude, stack.release, stack.logs)
    except FleetError as exc:
        services, config_error = list(ALL_SERVICE_NAMES), str(exc)
    else:
        config_error = ""
    try:
        ports: dict[str, int] | None = PortClaim.of(stack).ports().by_setting()
    except (FleetError, ValueError) as exc:
        ports = None
        problems.append(f"unusable port settings: {exc}")
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
    # The fleet's own findings (clashes, duplicate refs, bad settings) come first: they
    # explain the rest, and `list` shows only the first problem.
    status.problems[:0] = [p for p in (*problems, config_error, history_error) if p]
    if problems and status.status != Status.DELETED:
        status = ProjectStatus(status.ref, status.host, Status.FAILED, status.problems)
    return Observed(status, stack, list(containers or []), ports, spec)


def _containers(ctx: FleetContext, spec: EngineSpec) -> EngineAnswer:
    try:
        return ctx.engine(spec).containers_by_project(), ""
    except EngineUnreachable as exc:
        return None, str(exc)


def _notes(ctx: FleetContext, spec: EngineSpec) -> list[str]:
    try:
        return log_notes(ctx.engine(spec).facts())
    except EngineUnreachable:
        return []  # the projects on it say so already


def _history(ctx: FleetContext, name: str) -> tuple[list[UpdateRecord], str]:
    try:
        return ctx.workspace.history(name), ""
    except Exception as exc:  # a broken stack must not hide the rest of the fleet
        return [], f"cannot read the stack history: {short_error(exc)}"


def _strays(
    with_files: set[str],
    backend: set[str],
    engines: dict[str, EngineSpec],
    live: dict[str, EngineAnswer],
) -> list[Observed]:
    """Stacks without a stack file, and containers of projects that no longer exist."""
    strays = [
        Observed(
            ProjectStatus(
                name,
                "(no stack file)",
                Status.FAILED,
                [f"the stack exists in the backend but stacks/Pulumi.{name}.yaml is missing"],
            )
        )
        for name in sorted(backend - with_files)
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


# -- showing -----------------------------------------------------------------------------


def show(
    ctx: FleetContext,
    ref: str | None,
    renderers: views.Renderers,
    *,
    as_json: bool,
    watch: float | None,
) -> FleetView | None:
    """Observe and print once (returning what was seen), or every ``watch`` seconds.

    On a terminal rich draws tables in colour (``--watch`` redraws in place with
    ``Live``); elsewhere the output is plain lines, each watch round after a timestamp.
    """
    plain, fancy = renderers
    console = Console(file=ctx.out, force_terminal=ctx.live, highlight=False)

    def draw() -> tuple[FleetView, object]:
        view = observe(ctx, ref)
        if as_json:
            return view, json.dumps(views.as_json(view), indent=2)
        return view, fancy(view) if ctx.live else plain(view)

    if not watch:
        view, shown = draw()
        if isinstance(shown, str):
            ctx.say(shown)
        else:
            console.print(shown)
        return view
    try:
        if ctx.live and not as_json:
            with Live(console=console, auto_refresh=False) as live:
                while True:
                    live.update(draw()[1], refresh=True)  # type: ignore[arg-type]
                    time.sleep(watch)
        while True:
            ctx.say(f"\n[{time.strftime('%H:%M:%S')}]\n{draw()[1]}")
            time.sleep(watch)
    except KeyboardInterrupt:
        return None


def list_projects(ctx: FleetContext, *, as_json: bool = False, watch: float | None = None) -> int:
    """All projects with their status, grouped by host."""
    show(ctx, None, views.LIST, as_json=as_json, watch=watch)
    return 0


def status(
    ctx: FleetContext, ref: str | None = None, *, as_json: bool = False, watch: float | None = None
) -> int:
    """Status with the reasons for every service that is not healthy.

    Exit code 0 when every project shown is ACTIVE or PAUSED, else 1.
    """
    view = show(ctx, ref, views.STATUS, as_json=as_json, watch=watch)
    if view is None:
        return 0
    if not as_json:  # only projects on a known engine: the others are FAILED already
        say_urls(ctx, [item.stack for item in view.projects if item.stack and item.spec])
    return 0 if all(item.status.status in HEALTHY for item in view.projects) else 1


def credentials(
    ctx: FleetContext, ref: str, *, output: str = "text", file: Path | None = None
) -> int:
    """Print the project's URLs and keys the way ``supabase status`` does.

    ``output`` env/json/yaml uses upstream's ``.env`` names (for its docker/tests scripts);
    ``file`` writes there with mode 0600 instead of printing the secrets.
    """
    [stack] = ctx.select([ref])
    if stack.name not in set(ctx.workspace.list_stacks()):
        raise FleetError(f"project {ref!r} is not deployed yet; run `supabase-fleet up {ref}`")
    outputs = ctx.workspace.outputs(stack.name)
    if not outputs:
        raise FleetError(f"project {ref!r} has no outputs yet; run `supabase-fleet up {ref}`")
    if output == "text":
        width = max(len(label) for label, _ in CREDENTIALS)
        text = "".join(
            f"{label:>{width}}: {outputs[key].value}\n"
            for label, key in CREDENTIALS
            if key in outputs
        )
    else:
        values = {name: value.value for name, value in outputs.items()}
        text = credentials_text(stack.ref, values, output)
    if file is not None:
        write_private(file, text)
        ctx.say(f"wrote the credentials of {ref} to {file} (mode 0600)")
        return 0
    if ctx.out.isatty():
        print(
            "warning: these are the project's secrets; prefer --file PATH (written 0600)",
            file=sys.stderr,
        )
    ctx.out.write(text)
    ctx.out.flush()
    return 0


def logs(
    ctx: FleetContext, ref: str, service: str, *, tail: int = 200, follow: bool = False
) -> int:
    """Print a service's container log."""
    [stack] = ctx.select([ref])
    services = enabled_services(stack.exclude, stack.release, stack.logs)
    if service not in services:
        raise FleetError(
            f"{ref!r} has no service {service!r}; its services are: {', '.join(services)}"
        )
    engine = ctx.engine(spec_for_stack(ctx.inventory, stack))
    try:
        lines = engine.logs(stack.ref, service, tail=tail, follow=follow)
    except ValueError as exc:  # the engine has no container for that service
        raise FleetError(str(exc)) from exc
    try:
        for line in lines:
            ctx.out.write(line if line.endswith("\n") else line + "\n")
            ctx.out.flush()
    except KeyboardInterrupt:
        pass
    return 0


# -- command line ------------------------------------------------------------------------


def register(
    commands: argparse._SubParsersAction, parents: dict[str, argparse.ArgumentParser]
) -> None:
    """Add list, status, credentials and logs; each sets ``run(ctx, args)``."""
    common = [parents["state"], parents["watch"]]
    listing = commands.add_parser("list", parents=common, help="projects by host with status")
    listing.set_defaults(run=lambda ctx, a: list_projects(ctx, as_json=a.json, watch=a.watch))
    status_cmd = commands.add_parser(
        "status", parents=common, help="status and why services are not healthy"
    )
    status_cmd.add_argument("ref", nargs="?", type=ref_arg)
    status_cmd.set_defaults(run=lambda ctx, a: status(ctx, a.ref, as_json=a.json, watch=a.watch))
    creds = commands.add_parser(
        "credentials", parents=[parents["state"]], help="URLs and keys, like `supabase status`"
    )
    creds.add_argument("ref", type=ref_arg)
    creds.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="text",
        help="env/json/yaml: upstream's .env names, for its docker/tests scripts",
    )
    creds.add_argument("--file", type=Path, help="write to FILE (mode 0600), not the terminal")
    creds.set_defaults(run=lambda ctx, a: credentials(ctx, a.ref, output=a.output, file=a.file))
    log_cmd = commands.add_parser("logs", parents=[parents["state"]], help="a service's log")
    log_cmd.add_argument("ref", type=ref_arg)
    log_cmd.add_argument("service", choices=ALL_SERVICE_NAMES)
    log_cmd.add_argument("--tail", type=positive_int, default=200, help="lines of history")
    log_cmd.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    log_cmd.set_defaults(
        run=lambda ctx, a: logs(ctx, a.ref, a.service, tail=a.tail, follow=a.follow)
    )
