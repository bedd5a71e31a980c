"""argparse types and shared option groups every command module uses."""

from __future__ import annotations

import argparse

from automation.errors import FleetError
from automation.names import check_ref
from automation.settings import HOME_ENV


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


def parent_parsers() -> dict[str, argparse.ArgumentParser]:
    """Option groups shared by subcommands: ``state``, ``parallel`` and ``watch``."""
    state = argparse.ArgumentParser(add_help=False)
    group = state.add_argument_group("state")
    group.add_argument("--home", help=f"fleet home (default ${HOME_ENV} or ~/.supabase-fleet)")
    group.add_argument("--project-dir", help="directory holding Pulumi.yaml (default: this repo)")
    group.add_argument(
        "--backend-url", help="Pulumi backend (default $PULUMI_BACKEND_URL or file://<home>/state)"
    )
    group.add_argument("--secrets-provider", help="Pulumi secrets provider (default passphrase)")
    group.add_argument("--inventory", help="hosts file (default <home>/hosts.yaml)")
    parallel = argparse.ArgumentParser(add_help=False)
    parallel.add_argument(
        "--parallel", type=positive_int, default=1, metavar="N", help="projects at a time"
    )
    watch = argparse.ArgumentParser(add_help=False)
    watch.add_argument("--json", action="store_true", help="machine-readable output")
    watch.add_argument("--watch", type=seconds, metavar="SECONDS", help="redraw every SECONDS")
    return {"state": state, "parallel": parallel, "watch": watch}
