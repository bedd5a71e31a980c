"""The ``edge`` subcommands of ``supabase-fleet``: ``edge status|sync|remove <host>``.

Registered like the other command modules (``register(commands, parents)``, each verb
setting ``run(ctx, args)``).
"""

from __future__ import annotations

import argparse

from automation.context import FleetContext
from automation.edge import edge_of, remove_edge, sync_edges
from automation.errors import FleetError


def _inventory_host(ctx: FleetContext, name: str):
    specs = {spec.name: spec for spec in ctx.inventory}
    if name not in specs:
        raise FleetError(f"unknown host {name!r}; the inventory has: {', '.join(specs)}")
    return specs[name]


def _host(ctx: FleetContext, name: str):
    """An inventory host with an edge section."""
    spec = _inventory_host(ctx, name)
    if name not in edge_of(ctx).hosts:
        raise FleetError(f"host {name!r} has no edge section in {ctx.config.inventory_path}")
    return spec


def status(ctx: FleetContext, host: str) -> int:
    """Routes of the host's edge and the certificate the proxy serves for each name."""
    ctx.say(edge_of(ctx).status(host, _host(ctx, host)))
    return 0


def sync(ctx: FleetContext, host: str) -> int:
    """Rewrite the host's edge stack from the stack files and bring it up."""
    _host(ctx, host)
    sync_edges(ctx, [host])
    return 0


def remove(ctx: FleetContext, host: str, *, yes: bool) -> int:
    """Destroy the host's edge stack (refused while projects are behind it); the host needs
    no edge section any more, so the section can be removed first."""
    _inventory_host(ctx, host)
    prompt = f"Remove the edge proxy of host {host} (certificates are kept)? [y/N] "
    if not yes and not ctx.confirm(prompt):
        ctx.say("nothing removed (confirm, or pass --yes)")
        return 1
    remove_edge(ctx, host)
    return 0


def register(
    commands: argparse._SubParsersAction, parents: dict[str, argparse.ArgumentParser]
) -> None:
    """Add ``edge status``, ``edge sync`` and ``edge remove``.

    The state options (``--home``, ``--backend-url``...) belong to each verb only: given
    before the verb, argparse would accept them and then let the verb's defaults replace
    them, so the command would run against another backend than the one asked for.
    """
    edge = commands.add_parser("edge", help="the HTTPS edge proxy of a host")
    verbs = edge.add_subparsers(dest="edge_command", required=True, metavar="VERB")
    for verb, run, text in (
        ("status", status, "routes and the certificate served for each name"),
        ("sync", sync, "rewrite the host's edge stack from the projects and bring it up"),
    ):
        parser = verbs.add_parser(verb, parents=[parents["state"]], help=text)
        parser.add_argument("host", help="inventory host name")
        parser.set_defaults(run=lambda ctx, a, run=run: run(ctx, a.host))
    parser = verbs.add_parser(
        "remove", parents=[parents["state"]], help="destroy the host's edge (keeps certificates)"
    )
    parser.add_argument("host", help="inventory host name")
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask first")
    parser.set_defaults(run=lambda ctx, a: remove(ctx, a.host, yes=a.yes))
