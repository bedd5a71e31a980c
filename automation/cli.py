"""The ``supabase-fleet`` command line (also ``python -m automation``).

Parses arguments, builds a Fleet over the real Pulumi workspace and Docker engines, and
turns bad input into one clear ``error:`` line with exit code 2. Exit code 1 means some
project operation failed; 0 that everything succeeded.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from automation.backups import cli as backups_cli
from automation.engine import Engine, EngineUnreachable
from automation.errors import FleetError
from automation.fleet import Fleet
from automation.names import check_ref
from automation.settings import HOME_ENV, FleetConfig
from automation.workspace import PulumiWorkspace
from components.settings import ALL_SERVICES, OPTIONAL_SERVICES

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
BULK_COMMANDS = ("up", "preview", "refresh", "pause", "resume")


def ref_arg(value: str) -> str:
    """argparse type for a project ref."""
    try:
        return check_ref(value)
    except FleetError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def positive_int(value: str) -> int:
    """argparse type for counts such as --parallel."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value!r}")
    return number


def seconds(value: str) -> float:
    """argparse type for --watch intervals."""
    try:
        number = float(value)
    except ValueError:
        number = 0.0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {value!r}")
    return number


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    common = argparse.ArgumentParser(add_help=False)
    state = common.add_argument_group("state")
    state.add_argument("--home", help=f"fleet home (default ${HOME_ENV} or ~/.supabase-fleet)")
    state.add_argument("--project-dir", help="directory holding Pulumi.yaml (default: this repo)")
    state.add_argument(
        "--backend-url", help="Pulumi backend (default $PULUMI_BACKEND_URL or file://<home>/state)"
    )
    state.add_argument("--secrets-provider", help="Pulumi secrets provider (default passphrase)")
    state.add_argument("--inventory", help="hosts file (default <home>/hosts.yaml)")
    parallel = argparse.ArgumentParser(add_help=False)
    parallel.add_argument(
        "--parallel", type=positive_int, default=1, metavar="N", help="projects at a time"
    )
    watch = argparse.ArgumentParser(add_help=False)
    watch.add_argument("--json", action="store_true", help="machine-readable output")
    watch.add_argument("--watch", type=seconds, metavar="SECONDS", help="redraw every SECONDS")

    parser = argparse.ArgumentParser(
        prog="supabase-fleet",
        description="Run a fleet of self-hosted Supabase projects, one Pulumi stack each.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = commands.add_parser(
        "create", parents=[common, parallel], help="create projects and bring them up"
    )
    create.add_argument("refs", nargs="*", type=ref_arg, metavar="ref", help="default: generated")
    create.add_argument("--count", type=positive_int, default=1, help="projects to generate")
    create.add_argument("--host", help="inventory host to use (default: the most free)")
    create.add_argument(
        "--exclude",
        action="append",
        default=[],
        choices=sorted(OPTIONAL_SERVICES),
        help="leave out an optional service (repeatable)",
    )
    helps = {
        "up": "deploy projects as their stack files say",
        "preview": "show what up would change",
        "refresh": "read the real state into the stacks",
        "pause": "stop projects, keeping their data",
        "resume": "start paused projects",
    }
    for name in BULK_COMMANDS:
        bulk = commands.add_parser(name, parents=[common, parallel], help=helps[name])
        bulk.add_argument("refs", nargs="*", type=ref_arg, metavar="ref")
        bulk.add_argument("--all", action="store_true", dest="all_", help="every project")
    delete = commands.add_parser(
        "delete", parents=[common, parallel], help="destroy projects (data volumes kept)"
    )
    delete.add_argument("refs", nargs="+", type=ref_arg, metavar="ref")
    delete.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    delete.add_argument(
        "--delete-data", action="store_true", help="also remove the projects' data volumes"
    )
    commands.add_parser("list", parents=[common, watch], help="projects by host with status")
    status = commands.add_parser(
        "status", parents=[common, watch], help="status and why services are not healthy"
    )
    status.add_argument("ref", nargs="?", type=ref_arg)
    credentials = commands.add_parser(
        "credentials", parents=[common], help="URLs and keys, like `supabase status`"
    )
    credentials.add_argument("ref", type=ref_arg)
    logs = commands.add_parser("logs", parents=[common], help="a service's container log")
    logs.add_argument("ref", type=ref_arg)
    logs.add_argument("service", choices=ALL_SERVICES)
    logs.add_argument("--tail", type=positive_int, default=200, help="lines of history")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    backups_cli.add_parsers(commands, common, parallel)
    return parser


def make_fleet(args: argparse.Namespace) -> Fleet:
    """A Fleet over the real Pulumi workspace and Docker engines."""
    config = FleetConfig.resolve(
        home=args.home,
        project_dir=args.project_dir,
        backend_url=args.backend_url,
        secrets_provider=args.secrets_provider,
        inventory=args.inventory,
    )
    workspace = PulumiWorkspace(config.project_dir, config.workspace_env(), config.secrets_provider)
    return Fleet(config, workspace, Engine)


def run_command(fleet: Fleet, args: argparse.Namespace) -> int:
    """Dispatch parsed arguments to the Fleet command."""
    command = args.command
    if command in backups_cli.COMMANDS:
        return backups_cli.run(fleet, args)
    if command == "create":
        return fleet.create(
            args.refs,
            count=args.count,
            host=args.host,
            exclude=args.exclude,
            parallel=args.parallel,
        )
    if command in BULK_COMMANDS:
        method = getattr(fleet, command)
        return method(args.refs, all_=args.all_, parallel=args.parallel)
    if command == "delete":
        return fleet.delete(
            args.refs, yes=args.yes, delete_data=args.delete_data, parallel=args.parallel
        )
    if command == "list":
        return fleet.list_projects(as_json=args.json, watch=args.watch)
    if command == "status":
        return fleet.status(args.ref, as_json=args.json, watch=args.watch)
    if command == "credentials":
        return fleet.credentials(args.ref)
    return fleet.logs(args.ref, args.service, tail=args.tail, follow=args.follow)


def main(
    argv: Sequence[str] | None = None,
    fleet_factory: Callable[[argparse.Namespace], Fleet] = make_fleet,
) -> int:
    """Entry point of ``supabase-fleet``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        fleet = fleet_factory(args)
        try:
            return run_command(fleet, args)
        finally:
            fleet.close()
    except (FleetError, EngineUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
