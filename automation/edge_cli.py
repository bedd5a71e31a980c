"""The ``edge`` subcommands of ``supabase-fleet``: ``edge status <host>``, ``edge sync <host>``.

Kept apart from ``automation.cli``, which only registers and dispatches them.
"""

from __future__ import annotations

import argparse

from automation import stackfiles
from automation.errors import FleetError
from automation.fleet import Fleet
from automation.inventory import spec_for_stack


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add ``edge status`` and ``edge sync`` to the command parser."""
    edge = commands.add_parser("edge", parents=[common], help="the HTTPS edge proxy of a host")
    verbs = edge.add_subparsers(dest="edge_command", required=True, metavar="VERB")
    for verb, text in (
        ("status", "routes and the certificate served for each name"),
        ("sync", "rewrite the host's edge stack from the projects and bring it up"),
    ):
        parser = verbs.add_parser(verb, parents=[common], help=text)
        parser.add_argument("host", help="inventory host name")


def run(fleet: Fleet, args: argparse.Namespace) -> int:
    """Run one ``edge`` verb; 0 on success."""
    specs = {spec.name: spec for spec in fleet.inventory}
    if args.host not in specs:
        raise FleetError(f"unknown host {args.host!r}; the inventory has: {', '.join(specs)}")
    if args.edge_command == "status":
        fleet.say(fleet.edge.status(args.host, specs[args.host]))
        return 0
    stacks = stackfiles.list_stacks(fleet.config.stacks_dir)
    by_ref = {stack.ref: spec_for_stack(fleet.inventory, stack) for stack in stacks}
    planned = fleet.edge.check(stacks, by_ref, {args.host: specs[args.host]})
    if not planned:
        raise FleetError(f"host {args.host!r} has no edge section in the inventory")
    fleet.edge.sync(planned)
    return 0
