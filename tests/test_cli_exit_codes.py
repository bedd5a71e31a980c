"""What ``supabase-fleet`` returns and prints when a command fails, and the context it builds."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
from pathlib import Path

import pytest

from automation import cli, edge_cli
from automation.engine import Engine, EngineUnreachable
from automation.errors import FleetError


class Spy:
    """A context that only records being closed."""

    closed = 0

    def close(self) -> None:
        self.closed += 1


def _run(failure: BaseException | None, *argv: str) -> tuple[int, Spy]:
    spy = Spy()

    def factory(args: argparse.Namespace) -> Spy:
        def run(ctx, parsed):
            assert ctx is spy and parsed is args
            if failure is not None:
                raise failure
            return 7

        args.run = run
        return spy

    return cli.main(list(argv or ["list"]), context_factory=factory), spy


@pytest.mark.parametrize(
    ("failure", "code", "printed"),
    [
        (None, 7, ""),
        (FleetError("project 'x' is unknown"), 2, "error: project 'x' is unknown\n"),
        (EngineUnreachable("engine 'a' is down"), 2, "error: engine 'a' is down\n"),
        (PermissionError(13, "Permission denied"), 2, "error: [Errno 13] Permission denied\n"),
        (KeyboardInterrupt(), 130, ""),
    ],
)
def test_failures_end_in_one_line_and_an_exit_code(capsys, failure, code, printed):
    result, spy = _run(failure)
    assert result == code
    captured = capsys.readouterr()
    assert captured.err == printed and captured.out == ""
    assert spy.closed == 1  # engines are released whatever happened


def test_a_reader_going_away_ends_quietly_with_sigpipes_code(monkeypatch, capsys):
    redirected: list[tuple[int, int]] = []
    monkeypatch.setattr(cli.os, "dup2", lambda src, dst: redirected.append((src, dst)))
    with open(__file__) as stream:  # any object with a real file descriptor
        monkeypatch.setattr(cli.sys, "stdout", stream)
        result, spy = _run(BrokenPipeError())
        assert result == 141 and spy.closed == 1
        [(_, target)] = redirected
        assert target == stream.fileno()


def test_an_error_building_the_context_is_one_line_too(capsys):
    def factory(args):
        raise FleetError("/nowhere has no Pulumi.yaml; --project-dir must point at it")

    assert cli.main(["list"], context_factory=factory) == 2
    assert capsys.readouterr().err == (
        "error: /nowhere has no Pulumi.yaml; --project-dir must point at it\n"
    )


def test_unexpected_errors_are_not_hidden():
    with pytest.raises(ZeroDivisionError):
        _run(ZeroDivisionError())


def test_every_command_module_adds_its_commands():
    parser = cli.build_parser()
    assert parser.prog == "supabase-fleet"
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("create", "up", "list", "status", "credentials", "edge", "backup", "backups"):
        assert name in commands.choices, name
    with pytest.raises(SystemExit):
        parser.parse_args([])  # a command is required
    args = parser.parse_args(["edge", "sync", "host-a", "--home", "/h"])
    assert (args.command, args.edge_command, args.host, args.home) == (
        "edge",
        "sync",
        "host-a",
        "/h",
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["edge"])  # a verb is required


def test_edge_verbs_run_with_the_named_host(monkeypatch):
    called: list[tuple[str, object, str]] = []
    monkeypatch.setattr(edge_cli, "status", lambda ctx, host: called.append(("status", ctx, host)))
    monkeypatch.setattr(edge_cli, "sync", lambda ctx, host: called.append(("sync", ctx, host)))
    parser = cli.build_parser()
    for verb in ("status", "sync"):
        args = parser.parse_args(["edge", verb, "h1"])
        args.run("ctx", args)
    assert [(verb, host) for verb, _, host in called] == [("status", "h1"), ("sync", "h1")]


def test_the_real_context_uses_the_flags(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "Pulumi.yaml").write_text("name: supabase\n")
    args = cli.build_parser().parse_args(
        ["list", "--home", str(tmp_path / "home"), "--project-dir", str(tmp_path / "proj"),
         "--inventory", str(tmp_path / "hosts.yaml"), "--backend-url", "file:///srv/state"]
    )  # fmt: skip
    ctx = cli.make_context(args)
    try:
        assert ctx.config.home == tmp_path / "home"
        assert ctx.config.project_dir == tmp_path / "proj"
        assert ctx.config.inventory_path == tmp_path / "hosts.yaml"
        assert ctx.config.backend_url == "file:///srv/state"
        assert ctx.workspace.backend_url == "file:///srv/state"
        assert ctx._engine_factory is Engine
    finally:
        ctx.close()


def test_the_real_context_gives_pulumi_the_secrets_provider_and_backend(
    tmp_path: Path, monkeypatch
):
    from unittest import mock

    from pulumi import automation as auto

    workspaces = mock.MagicMock()
    workspaces.return_value.list_stacks.return_value = []
    monkeypatch.setattr(auto, "LocalWorkspace", workspaces)
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "Pulumi.yaml").write_text("name: supabase\n")
    args = cli.build_parser().parse_args(
        ["list", "--home", str(tmp_path / "home"), "--project-dir", str(tmp_path / "proj"),
         "--backend-url", "s3://fleet-state", "--secrets-provider", "awskms://alias/fleet"]
    )  # fmt: skip
    ctx = cli.make_context(args)
    try:
        assert ctx.workspace.list_stacks() == []
    finally:
        ctx.close()
    kwargs = workspaces.call_args.kwargs
    assert kwargs["secrets_provider"] == "awskms://alias/fleet"
    assert kwargs["work_dir"] == str(tmp_path / "proj")
    assert kwargs["env_vars"] == {"PULUMI_BACKEND_URL": "s3://fleet-state"}


def test_help_says_what_each_state_option_defaults_to(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["status", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for option, says in (
        ("--home HOME", "fleet home (default $SUPABASE_FLEET_HOME or ~/.supabase-fleet)"),
        ("--project-dir PROJECT_DIR", "directory holding Pulumi.yaml (default: this repo)"),
        (
            "--backend-url BACKEND_URL",
            "Pulumi backend (default $PULUMI_BACKEND_URL or file://<home>/state)",
        ),
        ("--secrets-provider SECRETS_PROVIDER", "Pulumi secrets provider (default passphrase)"),
        ("--inventory INVENTORY", "hosts file (default <home>/hosts.yaml)"),
        ("--watch SECONDS", "redraw every SECONDS"),
        ("--json", "machine-readable output"),
    ):
        assert f"{option} {says}" in text, option
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["up", "--help"])
    assert "--parallel N projects at a time" in " ".join(capsys.readouterr().out.split())


def test_help_lists_the_observation_commands_with_what_they_show(capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    for command, says in (
        ("list", "projects by host with status"),
        ("status", "status and why services are not healthy"),
        ("credentials", "URLs and keys, like `supabase status`"),
        ("logs", "a service's log"),
    ):
        assert f"{command} {says}" in text, command


def test_dead_stdout_is_pointed_at_dev_null(monkeypatch):
    sources: list[int] = []
    monkeypatch.setattr(cli.os, "dup2", lambda src, dst: sources.append(src))
    with open(__file__) as stream:
        monkeypatch.setattr(cli.sys, "stdout", stream)
        assert _run(BrokenPipeError())[0] == 141
    [source] = sources
    assert os.readlink(f"/proc/self/fd/{source}") == "/dev/null"
    os.close(source)


def test_help_names_the_tool_and_its_commands():
    text = cli.build_parser().format_help()
    assert text.startswith("usage: supabase-fleet [-h] COMMAND ...")
    assert "Run a fleet of self-hosted Supabase projects, one Pulumi stack each." in text


def test_edge_help_names_the_host_argument():
    edge = cli.build_parser().parse_args(["edge", "sync", "h"])  # the parser accepts the verb
    assert edge.edge_command == "sync"
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()) as out:
        cli.build_parser().parse_args(["edge", "sync", "--help"])
    assert re.search(r"^  host +inventory host name$", out.getvalue(), re.MULTILINE)
    assert "usage: supabase-fleet edge sync" in out.getvalue()


def test_edge_sync_rewrites_only_the_named_host(monkeypatch):
    synced: list[list[str]] = []
    monkeypatch.setattr(edge_cli, "_host", lambda ctx, name: None)
    monkeypatch.setattr(edge_cli, "sync_edges", lambda ctx, hosts: synced.append(list(hosts)))
    assert edge_cli.sync("ctx", "h1") == 0
    assert synced == [["h1"]]


def test_state_options_go_after_the_edge_verb_and_are_never_dropped(capsys):
    parser = cli.build_parser()
    args = parser.parse_args(["edge", "sync", "h1", "--backend-url", "s3://fleet-state"])
    assert (args.host, args.backend_url) == ("h1", "s3://fleet-state")
    with pytest.raises(SystemExit) as exit_info:  # before the verb: refused, not ignored
        parser.parse_args(["edge", "--backend-url", "s3://fleet-state", "sync", "h1"])
    assert exit_info.value.code == 2
    assert "usage: supabase-fleet edge [-h] VERB ...\n" in capsys.readouterr().err
