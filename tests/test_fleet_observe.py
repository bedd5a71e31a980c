"""What ``list``, ``status``, ``credentials`` and ``logs`` tell the user, against fake engines
and the fake Pulumi backend: which projects and hosts an observation covers, how each finding
reaches the project it concerns, ``--watch``, the exit code, and the secrets' paths."""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleet_env import LOCAL, Env, FakeEngine, healthy

from automation import observe
from automation.containers import ContainerState
from automation.engine import EngineFacts, EngineSpec
from automation.errors import FleetError
from components.releases import ALL_SERVICE_NAMES

A, B = EngineSpec("a", "ssh://a", 5), EngineSpec("b", "ssh://b", 5)


class Terminal(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def two_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    return Env(tmp_path, [A, B], monkeypatch)


def as_json(env: Env, *argv: str) -> tuple[int, dict]:
    env.out.truncate(0)
    env.out.seek(0)
    code = env.main(*argv, "--json")
    return code, json.loads(env.out.getvalue())


def by_ref(data: dict) -> dict[str, dict]:
    return {project["ref"]: project for project in data["projects"]}


# -- which projects and hosts one observation covers --------------------------------------------


def test_status_is_zero_only_when_every_project_is_active_or_paused(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    env.write_stack("calm", portSlot=1, paused=True)
    env.deployed("calm")
    env.engines[LOCAL].containers["calm"] = []  # a paused project runs nothing
    code, data = as_json(env, "status")
    assert {p["ref"]: p["status"] for p in data["projects"]} == {"shop": "ACTIVE", "calm": "PAUSED"}
    assert code == 0
    env.write_stack("new", portSlot=2)  # not deployed yet: PROVISIONING is not fine
    assert as_json(env, "status")[0] == 1
    assert as_json(env, "status", "calm")[0] == 0
    assert env.main("list") == 0  # list's exit code does not judge the projects


def test_an_empty_fleet_lists_its_hosts_and_no_projects(two_hosts: Env) -> None:
    assert two_hosts.main("list") == 0
    assert two_hosts.out.getvalue().splitlines() == [
        "a (ssh://a) 0/5 projects",
        "  (no projects)",
        "b (ssh://b) 0/5 projects",
        "  (no projects)",
    ]
    assert as_json(two_hosts, "status") == (0, as_json(two_hosts, "list")[1])


def test_an_unknown_project_names_the_known_ones(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    assert env.main("status", "shop") == 2
    assert "error: unknown project 'shop' (known projects: none)" in capsys.readouterr().err
    env.write_stack("blog", portSlot=0)
    env.write_stack("web", portSlot=1)
    assert env.main("status", "shop") == 2
    assert "unknown project 'shop' (known projects: blog, web)" in capsys.readouterr().err


def test_a_project_is_found_by_its_ref_or_its_stack_name(env: Env) -> None:
    env.write_stack("legacy", portSlot=0, ref="shop")
    env.write_stack("other", portSlot=1)
    env.deployed("legacy")
    for name in ("shop", "legacy"):
        code, data = as_json(env, "status", name)
        [project] = data["projects"]
        assert (code, project["ref"], project["stack"], project["status"]) == (
            0,
            "shop",
            "legacy",
            "ACTIVE",
        )


def test_one_project_s_status_covers_its_host_only_and_no_strays(two_hosts: Env) -> None:
    env = two_hosts
    env.write_stack("shop", portSlot=0, dockerHost="ssh://b")
    env.deployed("shop")
    env.backend._stack("orphan", create=True)
    env.engines["ssh://a"].containers["ghost"] = healthy("ghost", ["db"])
    env.engines["ssh://a"].log_facts = EngineFacts("local", {}, rootless=False)
    code, data = as_json(env, "status", "shop")
    assert [host["name"] for host in data["hosts"]] == ["b"]
    assert [project["ref"] for project in data["projects"]] == ["shop"]
    assert code == 0
    code, data = as_json(env, "list")
    assert [host["name"] for host in data["hosts"]] == ["a", "b"]
    assert [project["ref"] for project in data["projects"]] == ["shop", "orphan", "ghost"]


def test_strays_are_listed_with_what_is_left_of_them(two_hosts: Env) -> None:
    env = two_hosts
    env.write_stack("shop", portSlot=0, dockerHost="ssh://a")
    env.deployed("shop")
    env.backend._stack("orphan", create=True)  # in the backend, no stack file
    env.backend._stack("left", create=True)
    env.engines["ssh://a"].containers["orphan"] = healthy("orphan", ["db"])
    env.engines["ssh://b"].containers["ghost"] = healthy("ghost", ["db", "kong"])
    code, data = as_json(env, "list")
    projects = by_ref(data)
    # Orphan stacks by name, then leftover containers; the orphan's containers: not again.
    assert list(projects) == ["shop", "left", "orphan", "ghost"]
    orphan = projects["orphan"]
    assert (orphan["host"], orphan["status"], orphan["stack"]) == (
        "(no stack file)",
        "FAILED",
        None,
    )
    assert orphan["problems"] == [
        "the stack exists in the backend but stacks/Pulumi.orphan.yaml is missing"
    ]
    ghost = projects["ghost"]
    assert (ghost["host"], ghost["status"], ghost["ports"]) == ("b", "DELETED", None)
    assert ghost["problems"] == [
        "supabase-ghost-db: still exists (running)",
        "supabase-ghost-kong: still exists (running)",
    ]
    assert [c["name"] for c in ghost["containers"]] == ["supabase-ghost-db", "supabase-ghost-kong"]
    assert code == 0


def test_a_stack_file_s_ref_is_no_stray_even_where_its_containers_are_elsewhere(
    two_hosts: Env,
) -> None:
    env = two_hosts
    env.write_stack("legacy", portSlot=0, dockerHost="ssh://a", ref="shop")
    env.engines["ssh://b"].containers["shop"] = healthy("shop", ["db"])
    env.engines["ssh://b"].containers["legacy"] = healthy("legacy", ["db"])
    data = as_json(env, "list")[1]
    assert [project["ref"] for project in data["projects"]] == ["shop"]


def test_inventory_hosts_come_first_in_order_then_hosts_only_stack_files_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zulu, alpha = EngineSpec("zulu", "ssh://zulu", 3), EngineSpec("alpha", "ssh://alpha", 3)
    env = Env(tmp_path, [zulu, alpha], monkeypatch)
    side = "unix:///run/side.sock"
    env.engines[side] = FakeEngine(EngineSpec(side, side, 0))
    env.write_stack("aaa", portSlot=0, dockerHost=side)
    env.write_stack("bbb", portSlot=1, dockerHost="ssh://alpha")
    data = as_json(env, "list")[1]
    assert [(h["name"], h["url"], h["capacity"]) for h in data["hosts"]] == [
        ("zulu", "ssh://zulu", 3),
        ("alpha", "ssh://alpha", 3),
        (side, side, 0),
    ]
    assert by_ref(data)["aaa"]["host"] == side
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("list") == 0
    heads = [line for line in env.out.getvalue().splitlines() if not line.startswith("  ")]
    assert heads == [
        "zulu (ssh://zulu) 0/3 projects",
        "alpha (ssh://alpha) 1/3 projects",
        f"{side} ({side}) 1/0 projects",
    ]


# -- findings reach the project they concern ---------------------------------------------------


def test_a_host_the_stack_file_cannot_name_fails_that_project_only(env: Env) -> None:
    env.write_stack("far", portSlot=0, dockerHost="tcp://c:2376")
    env.write_stack("shop", portSlot=1)
    env.deployed("shop")
    data = as_json(env, "list")[1]
    far = by_ref(data)["far"]
    assert (far["host"], far["status"], far["ports"]) == ("?", "FAILED", None)
    assert (far["stack"], far["release"]) == ("far", "2024-04")  # its file is still known
    [problem] = far["problems"]
    assert "Pulumi.far.yaml: url 'tcp://c:2376' is plain tcp://; give certPath" in problem
    assert by_ref(data)["shop"]["status"] == "ACTIVE"
    assert [host["name"] for host in data["hosts"]] == ["local"]


def test_status_with_an_unusable_host_setting_is_one_failed_project_not_an_error(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("bad", portSlot=3, dockerHost="unix:///x y")
    (env.stacks_dir / "Pulumi.broken.yaml").write_text("config: [unclosed\n")
    env.write_stack("good", portSlot=0)
    env.deployed("good")
    assert env.main("status") == 1
    assert capsys.readouterr().err == ""
    text = env.out.getvalue()
    assert "bad: FAILED on host ?" in text and "must be a URL without spaces" in text
    assert "broken: FAILED on host ?" in text and "is not valid YAML" in text
    assert "good: ACTIVE on host local" in text


def test_unusable_port_settings_fail_the_project_and_come_first(env: Env) -> None:
    env.write_stack("big", portSlot=99999)
    code, data = as_json(env, "status")
    big = by_ref(data)["big"]
    assert (big["status"], big["ports"]) == ("FAILED", None)
    assert big["problems"][0].startswith("unusable port settings: portSlot must be from 0 to")
    assert "pulumi config set portSlot" in big["problems"][0]
    assert big["problems"][1:] == ["not deployed yet"]
    assert code == 1
    env.out.truncate(0)
    env.out.seek(0)
    env.main("list")
    [row] = [line for line in env.out.getvalue().splitlines() if line.startswith("  big")]
    assert row.split()[1:3] == ["FAILED", "invalid"]


def test_a_bad_exclude_is_shown_before_the_lifecycle_problems(env: Env) -> None:
    env.write_stack("shop", portSlot=0, exclude=["db"])
    data = as_json(env, "status")[1]
    problems = by_ref(data)["shop"]["problems"]
    assert problems[0].startswith("cannot exclude 'db' in release")
    assert problems[1:] == ["not deployed yet"]


def test_a_bad_exclude_expects_every_service_of_a_deployed_project(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    env.write_stack("shop", portSlot=0, exclude=["db"])  # edited after the last up
    env.engines[LOCAL].containers["shop"] = [
        c for c in env.engines[LOCAL].containers["shop"] if c.service != "studio"
    ]
    data = as_json(env, "status")[1]
    problems = by_ref(data)["shop"]["problems"]
    assert problems[0].startswith("cannot exclude 'db'")
    assert "studio: no container" in problems
    assert by_ref(data)["shop"]["status"] == "FAILED"


def test_a_ref_two_stack_files_claim_names_the_other_file_and_the_fix(env: Env) -> None:
    env.write_stack("one", portSlot=0, ref="shop")
    env.write_stack("two", portSlot=1, ref="shop")
    data = as_json(env, "status")[1]
    one, two = data["projects"]
    assert (one["stack"], two["stack"]) == ("one", "two")
    assert one["problems"][0] == (
        f"ref 'shop' is also claimed by {env.stacks_dir / 'Pulumi.two.yaml'}; "
        "give each project its own `supabase:ref`"
    )
    assert two["problems"][0].startswith(
        f"ref 'shop' is also claimed by {env.stacks_dir / 'Pulumi.one.yaml'}; "
    )


def test_a_broken_stack_file_does_not_hide_the_clashes_of_files_after_it(env: Env) -> None:
    (env.stacks_dir / "Pulumi.aaa.yaml").write_text("config: [unclosed\n")
    env.write_stack("bbb", portSlot=4)
    env.write_stack("ccc", portSlot=4)
    projects = by_ref(as_json(env, "status")[1])
    assert [p["status"] for p in projects.values()] == ["FAILED"] * 3
    assert "is not valid YAML" in projects["aaa"]["problems"][0]
    assert projects["bbb"]["problems"][0].startswith("port clash: portSlot 4 is also used by 'ccc'")
    assert projects["ccc"]["problems"][0].startswith("port clash: portSlot 4 is also used by 'bbb'")


def test_a_deleted_project_stays_deleted_despite_fleet_findings(env: Env) -> None:
    env.write_stack("a", portSlot=3)
    env.write_stack("b", portSlot=3)
    env.deployed("a")
    env.backend._destroy("a")  # a destroy that kept the stack (and its file)
    data = as_json(env, "status")[1]
    a = by_ref(data)["a"]
    assert a["status"] == "DELETED"
    assert a["problems"][0] == (
        "port clash: portSlot 3 is also used by 'b'; "
        "give one of them a free portSlot (or other ports:)"
    )
    assert by_ref(data)["b"]["status"] == "FAILED"


def test_an_unreachable_host_says_why_and_adds_no_host_note(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    env.engines[LOCAL].log_facts = EngineFacts("local", {}, rootless=False)
    env.engines[LOCAL].reachable = False
    code, data = as_json(env, "status")
    [problem] = by_ref(data)["shop"]["problems"]
    assert problem == f"host unreachable: Docker engine 'local' at {LOCAL} is down"
    assert data["hosts"][0]["notes"] == []
    assert code == 1


def test_a_project_never_deployed_gets_no_history_read(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.write_stack("done", portSlot=1)
    env.deployed("done")
    env.main("list")
    assert ("history", "done") in env.backend.calls
    assert ("history", "shop") not in env.backend.calls


@pytest.mark.parametrize(
    ("opts", "note"),
    [
        ({"max-size": "1m", "labels": "x"}, "daemon log-opts labels=x, max-size=1m differ"),
        ({"max-file": "3", "mode": "non-blocking"}, "daemon log-opts mode=non-blocking differ"),
        ({"max-size": "10m", "max-file": "3"}, None),
    ],
)
def test_daemon_log_opts_are_named_in_order_and_only_those_that_differ(
    opts: dict[str, str], note: str | None
) -> None:
    notes = observe.log_notes(EngineFacts("json-file", opts, rootless=False))
    if note is None:
        assert notes == []
    else:
        [text] = notes
        assert text.startswith(note + " from what projects set")
        assert "do not reach their containers" in text


def test_another_default_driver_is_named_with_what_projects_set() -> None:
    [note] = observe.log_notes(EngineFacts("journald", {"tag": "x"}, rootless=False))
    assert note == (
        "daemon default log driver is 'journald'; projects set json-file with every option "
        "named, so this does not reach them"
    )


# -- --watch ------------------------------------------------------------------------------------


class Clock:
    """Stands in for ``time.sleep`` in observe: records each wait, interrupts the n-th."""

    def __init__(self, rounds: int) -> None:
        self.rounds = rounds
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) >= self.rounds:
            raise KeyboardInterrupt


def test_watch_redraws_plain_lines_after_a_timestamp_until_interrupted(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    clock = Clock(rounds=2)
    monkeypatch.setattr(observe.time, "sleep", clock.sleep)
    monkeypatch.setattr(observe.time, "strftime", lambda fmt: f"<{fmt}>")
    assert env.main("list", "--watch", "2.5") == 0
    assert clock.waits == [2.5, 2.5]
    rounds = env.out.getvalue().split("\n[<%H:%M:%S>]\n")
    assert rounds[0] == ""
    assert len(rounds) == 3
    for drawn in rounds[1:]:
        assert drawn.splitlines()[0] == "local (unix:///var/run/docker.sock) 1/20 projects"
        assert drawn.splitlines()[1].split()[:2] == ["shop", "ACTIVE"]


def test_an_interrupted_status_watch_exits_zero_even_with_a_failed_project(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_stack("shop", portSlot=0)  # PROVISIONING: a single status would exit 1
    monkeypatch.setattr(observe.time, "sleep", Clock(rounds=1).sleep)
    assert env.main("status", "--watch", "1") == 0
    assert "shop: PROVISIONING" in env.out.getvalue()
    assert env.main("status") == 1


def test_watch_with_json_prints_json_rounds_even_on_a_terminal(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    monkeypatch.setattr(observe.time, "sleep", Clock(rounds=1).sleep)
    ctx = env.context()
    ctx.live = True
    assert observe.list_projects(ctx, as_json=True, watch=1.0) == 0
    head, _, body = env.out.getvalue().partition("]\n")
    assert head.startswith("\n[")
    assert json.loads(body)["projects"][0]["status"] == "ACTIVE"


def test_watch_on_a_terminal_redraws_a_table_in_place(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    clock = Clock(rounds=2)
    monkeypatch.setattr(observe.time, "sleep", clock.sleep)
    ctx = env.context()
    ctx.out, ctx.live = Terminal(), True
    assert observe.status(ctx, None, watch=3.0) == 0
    drawn = ctx.out.getvalue()
    assert clock.waits == [3.0, 3.0]
    # Two rounds and the last one drawn again on the way out, each in colour, each
    # over the one before, with no timestamp lines.
    assert drawn.count("\x1b[1;32mACTIVE") == 3
    assert "\x1b[2K" in drawn or "\x1b[1A" in drawn
    assert not re.search(r"^\[\d\d:\d\d:\d\d\]$", drawn, re.MULTILINE)


def test_a_single_status_on_a_terminal_is_drawn_in_colour(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    ctx = env.context()
    ctx.out, ctx.live = Terminal(), True
    assert observe.status(ctx, "shop") == 0
    assert "\x1b[1;32mACTIVE" in ctx.out.getvalue()
    assert "\x1b[32mhealthy" in ctx.out.getvalue()


def test_status_json_is_indented_and_has_no_edge_lines(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    assert env.main("status", "--json") == 0
    text = env.out.getvalue()
    assert text.startswith('{\n  "hosts": [')
    assert json.loads(text)["projects"][0]["ref"] == "shop"


# -- credentials ---------------------------------------------------------------------------


def test_credentials_text_aligns_every_label_in_supabase_status_order(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    assert env.main("credentials", "shop") == 0
    assert env.out.getvalue() == (
        "           API URL: http://localhost:20000\n"
        "        Studio URL: http://localhost:20000\n"
        "          anon key: anon-key-of-shop\n"
        "Dashboard password: dash-pw\n"
    )


def test_credentials_to_a_file_are_owner_only_and_not_printed(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    target = env.project / "shop.txt"
    ctx = env.context()
    ctx.out = Terminal()
    assert observe.credentials(ctx, "shop", file=target) == 0
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert "          anon key: anon-key-of-shop\n" in target.read_text()
    assert ctx.out.getvalue() == f"wrote the credentials of shop to {target} (mode 0600)\n"
    assert capsys.readouterr().err == ""  # no warning: nothing secret on the terminal


def test_credentials_on_a_terminal_warn_on_stderr_and_piped_do_not(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    ctx = env.context()
    ctx.out = Terminal()
    assert observe.credentials(ctx, "shop", output="env") == 0
    assert "ANON_KEY=anon-key-of-shop\n" in ctx.out.getvalue()
    assert capsys.readouterr().err == (
        "warning: these are the project's secrets; prefer --file PATH (written 0600)\n"
    )
    assert env.main("credentials", "shop") == 0
    assert capsys.readouterr().err == ""


def test_credentials_of_a_stack_without_outputs_say_to_run_up(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    env.backend.stacks["shop"].outputs = {}
    assert env.main("credentials", "shop") == 2
    assert capsys.readouterr().err == (
        "error: project 'shop' has no outputs yet; run `supabase-fleet up shop`\n"
    )
    env.write_stack("new", portSlot=1)
    assert env.main("credentials", "new") == 2
    assert capsys.readouterr().err == (
        "error: project 'new' is not deployed yet; run `supabase-fleet up new`\n"
    )


# -- logs ---------------------------------------------------------------------------------------


class LogEngine(FakeEngine):
    """A fake engine whose log lines and calls the test sets."""

    def __init__(self, spec: EngineSpec, lines: list[str], stop_after: int | None = None):
        super().__init__(spec)
        self.lines = lines
        self.stop_after = stop_after
        self.asked: list[tuple[str, str, int, bool]] = []

    def logs(
        self, ref: str, service: str, *, tail: int = 200, follow: bool = False
    ) -> Iterator[str]:
        self.asked.append((ref, service, tail, follow))
        if service == "kong":
            raise ValueError(f"project {ref!r} has no service 'kong' on engine 'local'")
        return self._lines()

    def _lines(self) -> Iterator[str]:
        for number, line in enumerate(self.lines):
            if number == self.stop_after:
                raise KeyboardInterrupt
            yield line


def test_logs_end_every_line_once_and_pass_tail_and_follow(env: Env) -> None:
    engine = LogEngine(env.specs[0], ["one", "two\n", ""])
    env.engines[LOCAL] = engine
    env.write_stack("shop", portSlot=0)
    assert env.main("logs", "shop", "db") == 0
    assert env.out.getvalue() == "one\ntwo\n\n"
    assert env.main("logs", "shop", "auth", "--tail", "7", "-f") == 0
    assert engine.asked == [("shop", "db", 200, False), ("shop", "auth", 7, True)]


def test_logs_stop_quietly_on_ctrl_c(env: Env) -> None:
    env.engines[LOCAL] = LogEngine(env.specs[0], ["one", "two", "three"], stop_after=2)
    env.write_stack("shop", portSlot=0)
    assert env.main("logs", "shop", "db", "-f") == 0
    assert env.out.getvalue() == "one\ntwo\n"


def test_logs_of_a_service_without_a_container_are_one_error_line(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.engines[LOCAL] = LogEngine(env.specs[0], [])
    env.write_stack("shop", portSlot=0)
    assert env.main("logs", "shop", "kong") == 2
    assert capsys.readouterr().err == (
        "error: project 'shop' has no service 'kong' on engine 'local'\n"
    )


def test_logs_of_a_service_the_project_does_not_run_name_its_services(env: Env) -> None:
    env.write_stack("shop", portSlot=0, exclude=["studio", "analytics"])
    ctx = env.context()
    with pytest.raises(FleetError) as raised:
        observe.logs(ctx, "shop", "studio")
    message = str(raised.value)
    assert message.startswith("'shop' has no service 'studio'; its services are: ")
    services = message.split("its services are: ")[1].split(", ")
    assert "db" in services and "studio" not in services and "vector" not in services


# -- the command line ------------------------------------------------------------------------


def test_observation_commands_parse_their_options_and_defaults() -> None:
    from automation import cli

    parser = cli.build_parser()
    args = parser.parse_args(["list"])
    assert (args.json, args.watch) == (False, None)
    args = parser.parse_args(["status", "--json", "--watch", "0.5"])
    assert (args.ref, args.json, args.watch) == (None, True, 0.5)
    args = parser.parse_args(["credentials", "shop"])
    assert (args.ref, args.output, args.file) == ("shop", "text", None)
    args = parser.parse_args(["credentials", "shop", "-o", "yaml", "--file", "c.yaml"])
    assert (args.output, args.file) == ("yaml", Path("c.yaml"))
    args = parser.parse_args(["logs", "shop", "db"])
    assert (args.tail, args.follow) == (200, False)
    for bad in (["credentials", "Bad_Ref"], ["logs", "shop", "db", "--tail", "0"],
                ["credentials", "shop", "-o", "toml"], ["status", "Bad_Ref"]):  # fmt: skip
        with pytest.raises(SystemExit):
            parser.parse_args(bad)


@pytest.mark.parametrize(
    ("command", "facts"),
    [
        (
            "credentials",
            (
                "-o {text,env,json,yaml}, --output {text,env,json,yaml} env/json/yaml: "
                "upstream's .env names, for its docker/tests scripts",
                "--file FILE write to FILE (mode 0600), not the terminal",
            ),
        ),
        (
            "logs",
            (
                "--tail TAIL lines of history",
                "-f, --follow keep printing new lines",
                "{" + ",".join(ALL_SERVICE_NAMES) + "}",
            ),
        ),
    ],
)
def test_credentials_and_logs_help_say_what_each_option_does(
    command: str, facts: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from automation import cli

    with pytest.raises(SystemExit):
        cli.build_parser().parse_args([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for fact in facts:
        assert fact in text, fact
    assert "--watch" not in text  # neither redraws


def test_each_observation_command_runs_its_own_function(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple] = []

    def record(name: str):
        def run(ctx, *args, **kwargs) -> int:
            seen.append((name, args, kwargs))
            return 0

        return run

    for name in ("list_projects", "status", "credentials", "logs"):
        monkeypatch.setattr(observe, name, record(name))
    env.main("list", "--json", "--watch", "2")
    env.main("status", "shop", "--watch", "3")
    env.main("credentials", "shop", "-o", "json", "--file", "x")
    env.main("logs", "shop", "auth", "--tail", "9", "--follow")
    assert seen == [
        ("list_projects", (), {"as_json": True, "watch": 2.0}),
        ("status", ("shop",), {"as_json": False, "watch": 3.0}),
        ("credentials", ("shop",), {"output": "json", "file": Path("x")}),
        ("logs", ("shop", "auth"), {"tail": 9, "follow": True}),
    ]


def test_a_container_state_reaches_status_as_the_engine_gave_it(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    env.engines[LOCAL].containers["shop"] = [
        ContainerState("shop", "db", "supabase-shop-db", "restarting", None, exit_code=3)
    ] + [c for c in env.engines[LOCAL].containers["shop"] if c.service != "db"]
    data = as_json(env, "status", "shop")[1]
    [project] = data["projects"]
    assert project["status"] == "STARTING"
    assert project["problems"] == ["db: restarting (last exit code 3)"]
    db = next(c for c in project["containers"] if c["service"] == "db")
    assert (db["state"], db["exit_code"]) == ("restarting", 3)
