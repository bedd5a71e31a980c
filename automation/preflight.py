"""Checks on the engine before a project's ``up``: the Docker socket, CPU limits the host
can give, and stale containers.

- Vector mounts ``dockerSocket`` from the Docker host. On a remote or rootless engine
  that path may not exist there, and Docker would then create an empty directory in its
  place. The fleet asks the engine itself (a probe container it creates but never starts;
  see ``Engine.path_exists``) and refuses the ``up`` with the fix instead.
- Docker refuses a container whose ``--cpus`` is above the host's CPU count, mid-``up``,
  after the containers before it were made. The fleet compares each ``resources.<service>
  .cpus`` with the engine's CPU count first.
- A container whose health wait timed out stays in the stack's state, and a second plain
  ``pulumi up`` then counts it as done without any health check (pulumi/pulumi#1836). So
  every container the state records that is missing, stopped or unhealthy on the engine is
  replaced (``up --replace <urn>``), which runs its health wait again. One still starting
  is left to finish its checks.
"""

from __future__ import annotations

from automation.context import FleetContext
from automation.inventory import spec_for_stack
from automation.runner import Report
from automation.stackfiles import StackFile
from automation.status import enabled_services

#: Services that mount the Docker socket.
SOCKET_USERS = ("vector",)


def check_socket(ctx: FleetContext, stack: StackFile) -> None:
    """Raise RuntimeError when a service mounts a socket path missing on the engine."""
    if stack.paused:
        return
    services = enabled_services(stack.exclude, stack.release, stack.logs)
    if not any(service in services for service in SOCKET_USERS):
        return
    spec = spec_for_stack(ctx.inventory, stack)
    socket = stack.docker_socket or spec.socket_path
    engine = ctx.engine(spec)
    if engine.path_exists(socket):
        return
    rootless = engine.facts().rootless
    hint = " (this engine runs rootless: its socket is /run/user/<uid>/docker.sock)"
    raise RuntimeError(
        f"dockerSocket {socket} does not exist on host {spec.name}, and vector mounts it"
        f"{hint if rootless else ''}; set the engine's real socket path with "
        f"`pulumi config set dockerSocket <path> --stack {stack.name}` or set "
        "`logs: false`"
    )


def check_cpus(ctx: FleetContext, stack: StackFile) -> None:
    """Raise RuntimeError when a service asks for more CPUs than its host has."""
    limits = stack.cpu_limits
    if stack.paused or not limits:
        return
    spec = spec_for_stack(ctx.inventory, stack)
    host_cpus = ctx.engine(spec).cpu_count()
    if host_cpus is None:
        return
    over = {service: cpus for service, cpus in sorted(limits.items()) if cpus > host_cpus}
    if over:
        service = next(iter(over))
        raise RuntimeError(
            f"resources {', '.join(f'{s}.cpus={c:g}' for s, c in over.items())}: host "
            f"{spec.name} has {host_cpus} CPUs and Docker refuses a container more; set at "
            f"most {host_cpus}, e.g. `pulumi config set --path resources.{service}.cpus "
            f"{host_cpus} --stack {stack.name}`"
        )


def stale_containers(ctx: FleetContext, stack: StackFile, report: Report) -> list[str]:
    """URNs of containers the state records that are missing, stopped or unhealthy."""
    if stack.paused:  # its containers are going away anyway
        return []
    recorded = ctx.workspace.containers(stack.name)
    if not recorded:
        return []
    live = {
        c.name: c
        for c in ctx.engine(spec_for_stack(ctx.inventory, stack)).project_containers(stack.ref)
    }
    stale = []
    for name, urn in sorted(recorded.items()):
        container = live.get(name)
        if container is None:
            why = "missing"
        elif container.state != "running":
            why = container.state
        elif container.health == "starting":
            # Still inside its health checks: replacing it now (Postgres in recovery, say)
            # would only start that work over. It is left alone and reported.
            report(f"{name} is still starting; run `up` again if it turns unhealthy")
            continue
        elif container.health not in (None, "healthy"):
            why = container.health
        else:
            continue
        report(f"replacing {name} ({why}): recorded as created, but not running and healthy")
        stale.append(urn)
    return stale
