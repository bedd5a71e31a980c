"""The ``supabase-fleet`` command line (also ``python -m automation``).

Thin: each command module (``lifecycle``, ``observe``, ...) adds its subcommands with
``register(commands, parents)``, each setting ``run(ctx, args)``; this module parses,
builds the context and turns every backend, CLI or input error into one ``error:`` line
with exit code 2, never a traceback. Exit code 1 means some project operation failed;
0 that everything succeeded.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from automation import edge_cli, lifecycle, observe
from automation.backups import cli as backups
from automation.cliargs import parent_parsers
from automation.context import FleetContext
from automation.engine import Engine, EngineUnreachable
from automation.errors import FleetError
from automation.settings import FleetConfig
from automation.workspace import PulumiWorkspace

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shell tools end when the reader goes away
#: Modules that add subcommands, in help order.
COMMAND_MODULES = (lifecycle, observe, edge_cli, backups)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every module's subcommands."""
    parser = argparse.ArgumentParser(
        prog="supabase-fleet",
        description="Run a fleet of self-hosted Supabase projects, one Pulumi stack each.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parents = parent_parsers()
    for module in COMMAND_MODULES:
        module.register(commands, parents)
    return parser


def make_context(args: argparse.Namespace) -> FleetContext:
    """A context over the real Pulumi workspace and Docker engines."""
    config = FleetConfig.resolve(
        home=args.home,
        project_dir=args.project_dir,
        backend_url=args.backend_url,
        secrets_provider=args.secrets_provider,
        inventory=args.inventory,
    )
    workspace = PulumiWorkspace(config.project_dir, config.workspace_env(), config.secrets_provider)
    return FleetContext(config, workspace, Engine)


def main(
    argv: Sequence[str] | None = None,
    context_factory: Callable[[argparse.Namespace], FleetContext] = make_context,
) -> int:
    """Entry point of ``supabase-fleet``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        ctx = context_factory(args)
        try:
            return args.run(ctx, args)
        finally:
            ctx.close()
    except (FleetError, EngineUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader (`| head`) is gone: end quietly, and keep Python's own flush of the
        # dead stdout at exit from printing a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except OSError as exc:  # an unwritable home or stacks folder, a full disk
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
