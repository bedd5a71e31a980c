"""Which projects a command acts on, engines opened once, and what reaches the terminal."""

from __future__ import annotations

import io

import pytest
from fleet_env import LOCAL, Env

from automation import context
from automation.engine import EngineSpec
from automation.errors import FleetError


def test_refs_pick_by_ref_before_stack_name(env: Env):
    env.write_stack("shop", portSlot=0)
    env.write_stack("legacy", portSlot=1, ref="web")
    env.write_stack("web2", portSlot=2, ref="legacy")  # a ref equal to another stack's name
    ctx = env.context()
    assert [s.name for s in ctx.select(["shop"])] == ["shop"]
    assert [s.name for s in ctx.select(["web"])] == ["legacy"]
    assert [s.name for s in ctx.select(["legacy"])] == ["web2"]  # the ref wins
    assert [s.name for s in ctx.select(["web2"])] == ["web2"]  # the stack name as fallback
    assert sorted(s.name for s in ctx.select([], all_=True)) == ["legacy", "shop", "web2"]


def test_selection_mistakes_are_refused_with_the_fix(env: Env):
    ctx = env.context()
    with pytest.raises(FleetError) as error:
        ctx.select([], all_=True)
    assert str(error.value) == f"there are no projects in {env.stacks_dir}"
    env.write_stack("shop", portSlot=0)
    for refs, all_, message in (
        (["shop"], True, "give refs or --all, not both"),
        ([], False, "name at least one project ref, or pass --all"),
        (["shop", "shop"], False, "a ref is given more than once"),
    ):
        with pytest.raises(FleetError) as error:
            ctx.select(refs, all_=all_)
        assert str(error.value) == message
    with pytest.raises(FleetError) as error:
        ctx.select(["nope"])
    assert str(error.value) == (
        f"unknown project 'nope': no {env.stacks_dir / 'Pulumi.nope.yaml'} (known projects: shop)"
    )
    (env.stacks_dir / "Pulumi.shop.yaml").unlink()
    with pytest.raises(FleetError, match=r"\(known projects: none\)"):
        ctx.select(["nope"])


def test_broken_and_doubly_claimed_stack_files_are_refused(env: Env):
    env.write_stack("a", portSlot=0, ref="same")
    env.write_stack("b", portSlot=1, ref="same")
    env.write_stack("ok", portSlot=2)
    (env.stacks_dir / "Pulumi.bad.yaml").write_text("config: [unclosed\n")
    ctx = env.context()
    assert [s.name for s in ctx.select(["ok"])] == ["ok"]  # others' problems do not block
    with pytest.raises(FleetError) as error:
        ctx.select(["same"])
    message = str(error.value)
    assert message.startswith("ref 'same' is claimed by more than one stack file (")
    assert str(env.stacks_dir / "Pulumi.a.yaml") in message
    assert str(env.stacks_dir / "Pulumi.b.yaml") in message
    assert message.endswith("); give each project its own `supabase:ref`")
    with pytest.raises(FleetError, match="; fix the file or move it away$"):
        ctx.select(["bad"])
    with pytest.raises(FleetError):
        ctx.select([], all_=True)


def test_engines_open_once_per_url_and_all_close(env: Env):
    opened: list[str] = []

    def factory(spec: EngineSpec):
        opened.append(spec.url)
        return env.engines[LOCAL]

    ctx = context.FleetContext(env.config, env.workspace, factory, inventory=env.specs,
                               out=io.StringIO(), err=io.StringIO(), live=False)  # fmt: skip
    spec = env.specs[0]
    assert ctx.engine(spec) is ctx.engine(spec) is env.engines[LOCAL]
    other = EngineSpec(name="b", url="tcp://b:2376", capacity=1)
    ctx.engine(other)
    assert opened == [LOCAL, "tcp://b:2376"]
    ctx.close()
    assert env.engines[LOCAL].closed
    ctx.engine(spec)
    assert opened == [LOCAL, "tcp://b:2376", LOCAL]  # reopened after close


def test_inventory_is_loaded_from_the_file_once(env: Env):
    env.config.inventory_path.parent.mkdir(parents=True, exist_ok=True)
    env.config.inventory_path.write_text(
        "hosts:\n  - name: a\n    url: unix:///var/run/docker.sock\n    capacity: 3\n"
    )
    ctx = context.FleetContext(env.config, env.workspace, lambda spec: None, live=False)
    [spec] = ctx.inventory
    assert (spec.name, spec.capacity) == ("a", 3)
    env.config.inventory_path.write_text("hosts: []\n")
    assert ctx.inventory == [spec]


def test_messages_go_to_out_and_warnings_to_err(env: Env):
    ctx = env.context()
    ctx.say("done")
    ctx.warn("careful")
    assert env.out.getvalue() == "done\n"
    assert env.err.getvalue() == "warning: careful\n"


class Tty(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_live_output_follows_the_terminal_unless_told(env: Env):
    def make(out, live=None):
        return context.FleetContext(env.config, env.workspace, lambda s: None, out=out, live=live)

    assert make(Tty(True)).live is True
    assert make(Tty(False)).live is False
    assert make(Tty(True), live=False).live is False


def test_an_operation_run_follows_the_context_s_choice_of_live_or_plain(env: Env):
    env.write_stack("shop", portSlot=0)
    [shop] = env.context().select(["shop"])
    for live, tty in ((True, False), (False, True)):
        ctx = context.FleetContext(
            env.config, env.workspace, lambda s: None, out=Tty(tty), live=live
        )
        assert ctx.run([shop], lambda ref, report: "fine", parallel=1) == 0
        drawn = ctx.out.getvalue()
        assert ("shop: started\n" in drawn) is not live  # plain lines only when not live
        assert ("\x1b[" in drawn) is live  # a table redrawn in place only when live


def test_confirmation_needs_a_terminal_and_a_yes(monkeypatch):
    answers = iter([" Yes ", "y", "no", ""])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    monkeypatch.setattr(context.sys, "stdin", Tty(False))
    assert context.tty_confirm("delete? ") is False  # nobody to ask: never yes
    monkeypatch.setattr(context.sys, "stdin", Tty(True))
    assert [context.tty_confirm("delete? ") for _ in range(4)] == [True, True, False, False]
