"""Fleet safety: concurrent creates, refs and port clashes, unreadable and misnamed stack
files, comments kept on pause, clear errors, broken pipes, complete JSON, rich on a terminal.
"""

from __future__ import annotations

import contextlib
import io
import json
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml
from fake_pulumi import FakeStack, _summary
from fleet_env import LOCAL, Env, healthy, read_all

from automation import cli
from automation.containers import ContainerState
from automation.engine import EngineFacts, EngineSpec
from automation.stackfiles import locked

REPO = Path(__file__).resolve().parent.parent


# -- concurrent create --------------------------------------------------------------------


def _create_in_child(root: str, capacity: int, refs: list[str], results) -> None:
    """One `create` run in its own process, over a slow backend and a slow engine."""
    monkeypatch = pytest.MonkeyPatch()
    env = Env(Path(root), [EngineSpec("local", LOCAL, capacity)], monkeypatch, fresh=False)
    env.backend.delay = 0.05
    env.engines[LOCAL].delay = 0.05
    with contextlib.redirect_stderr(io.StringIO()) as err:
        code = env.main("create", *refs)
    results.put((refs, code, err.getvalue()))


def test_concurrent_creates_in_processes_never_share_a_slot_or_overfill(tmp_path: Path) -> None:
    Env(tmp_path, monkeypatch=pytest.MonkeyPatch())  # makes the project folder
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    batches = [[f"p{i}a", f"p{i}b"] for i in range(6)]
    children = [
        ctx.Process(target=_create_in_child, args=(str(tmp_path), 9, refs, results))
        for refs in batches
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    outcomes = [results.get(timeout=5) for _ in children]
    stacks = {
        p.name: yaml.safe_load(p.read_text())["config"]
        for p in (tmp_path / "project" / "stacks").glob("Pulumi.*.yaml")
    }
    slots = [config["supabase:portSlot"] for config in stacks.values()]
    assert len(slots) == len(set(slots)), f"two projects share a slot: {sorted(slots)}"
    assert len(stacks) <= 9, "the host holds more projects than its capacity"
    # Four batches fit (8 projects), the fifth would overfill and is refused as a whole.
    assert sorted(code for _, code, _ in outcomes) == [0, 0, 0, 0, 2, 2]
    assert all("no room for" in err for _, code, err in outcomes if code == 2)
    assert sorted(slots) == list(range(8))


def test_concurrent_creates_in_threads_never_share_a_slot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, monkeypatch=monkeypatch)
    env.backend.delay = 0.02
    env.engines[LOCAL].delay = 0.02
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda i=i: codes.append(env.main("create", f"t{i}")))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [0] * 8
    slots = sorted(f["config"]["supabase:portSlot"] for f in env.stack_files().values())
    assert slots == list(range(8))


def test_the_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    order: list[str] = []
    with locked(tmp_path):
        other = threading.Thread(target=lambda: _hold(tmp_path, order))
        other.start()
        other.join(0.3)
        assert other.is_alive(), "a second holder got the lock while it was held"
        order.append("first done")
    other.join(5)
    assert order == ["first done", "second"]


def _hold(path: Path, order: list[str]) -> None:
    with locked(path):
        order.append("second")


def test_create_recheck_refuses_a_slot_taken_meanwhile(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stack file written around the lock (by hand, an older tool) during planning."""

    def intruder(ports: object) -> set[int]:
        env.write_stack("hand", portSlot=0)
        return set()

    env.engines[LOCAL].ports_in_use = intruder
    assert env.main("create", "shop") == 2
    assert (
        "shop: the planned ports clash with a project written meanwhile (port clash: portSlot 0 "
        "is also used by 'hand'; give one of them a free portSlot (or other ports:)); nothing "
        "was written, run create again"
    ) in capsys.readouterr().err
    assert "Pulumi.shop.yaml" not in env.stack_files()
    assert env.calls == []


# -- refs ---------------------------------------------------------------------------------


def test_a_stack_is_shown_and_addressed_under_its_ref(env: Env) -> None:
    env.write_stack("legacy-name", portSlot=0, ref="shop")
    assert env.main("up", "shop") == 0
    assert env.calls == [("up", "legacy-name")]
    assert env.engines[LOCAL].containers["shop"]  # containers carry the ref
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("list") == 0
    [row] = [line for line in env.out.getvalue().splitlines() if "ACTIVE" in line]
    assert row.split()[0] == "shop"
    assert "legacy-name" not in env.out.getvalue()


def test_two_stacks_with_one_ref_are_refused_and_flagged(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("one", portSlot=0, ref="shop")
    env.write_stack("two", portSlot=1, ref="shop")
    for argv in (["up", "shop"], ["up", "one"], ["pause", "--all"], ["delete", "two", "--yes"]):
        assert env.main(*argv) == 2
        assert "is claimed by more than one stack file" in capsys.readouterr().err
    assert env.main("create", "shop") == 2
    assert "project 'shop' exists already" in capsys.readouterr().err
    assert env.calls == []
    assert env.main("status", "--json") == 1
    projects = json.loads(env.out.getvalue())["projects"]
    assert [p["status"] for p in projects] == ["FAILED", "FAILED"]
    assert all("is also claimed by" in " ".join(p["problems"]) for p in projects)


# -- port clashes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "what"),
    [
        ({"portSlot": 3}, {"portSlot": 3}, "portSlot 3"),
        ({"portSlot": 0}, {"portSlot": 5, "ports": {"kongHttp": 20002}}, "host port 20002"),
        (
            {"portSlot": 1, "release": "2026-09"},
            {"portSlot": 7, "ports": {"postgres": 20013}},
            "host port 20013",  # 2026-09 publishes poolerSession on offset 3
        ),
    ],
)
def test_port_clashes_are_flagged_by_list_and_status(
    env: Env, first: dict, second: dict, what: str
) -> None:
    env.write_stack("a", **first)
    env.write_stack("b", **second)
    env.write_stack("c", portSlot=9)
    assert env.main("status", "--json") == 1
    problems = {p["ref"]: p["problems"] for p in json.loads(env.out.getvalue())["projects"]}
    assert any(f"port clash: {what} is also used by 'b'" in p for p in problems["a"])
    assert any(f"port clash: {what} is also used by 'a'" in p for p in problems["b"])
    assert not any("port clash" in p for p in problems["c"])
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("list") == 0
    assert env.out.getvalue().count("port clash") == 2


def test_the_same_port_on_two_hosts_is_no_clash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = Env(tmp_path, [EngineSpec("a", "ssh://a", 5), EngineSpec("b", "ssh://b", 5)], monkeypatch)
    env.write_stack("x", portSlot=0, dockerHost="ssh://a")
    env.write_stack("y", portSlot=1, dockerHost="ssh://b", ports={"kongHttp": 20000})
    env.main("status", "--json")
    assert "port clash" not in env.out.getvalue()


def test_create_never_takes_ports_an_override_holds(env: Env) -> None:
    env.write_stack("a", portSlot=1, ports={"postgres": 20002})
    assert env.main("create", "shop") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:portSlot"] == 2


# -- unreadable and misnamed stack files --------------------------------------------------


def test_an_unreadable_stack_file_is_listed_as_such_and_the_rest_still_lists(env: Env) -> None:
    env.write_stack("good", portSlot=0)
    env.deployed("good")
    (env.stacks_dir / "Pulumi.broken.yaml").write_text("config: [unclosed\n")
    (env.stacks_dir / "Pulumi.scalar.yaml").write_text("just text\n")
    assert env.main("list") == 0
    lines = env.out.getvalue().splitlines()
    rows = {line.split()[0]: line for line in lines[1:] if line.startswith("  ")}
    assert rows["good"].split()[1] == "ACTIVE"
    assert rows["broken"].split()[1] == "FAILED" and "is not valid YAML" in rows["broken"]
    assert "must hold a mapping" in rows["scalar"]


def test_an_unreadable_stack_file_stops_create_and_bulk_commands(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("good", portSlot=0)
    (env.stacks_dir / "Pulumi.broken.yaml").write_text("config: [unclosed\n")
    assert env.main("create", "shop") == 2
    assert "fix it first" in capsys.readouterr().err
    assert env.main("up", "--all") == 2
    assert "Pulumi.broken.yaml is not valid YAML" in capsys.readouterr().err
    assert env.main("up", "good") == 0  # one good project still works


def test_files_whose_names_are_not_refs_are_ignored_with_a_warning(env: Env) -> None:
    env.write_stack("good", portSlot=0)
    for bad in ("Bad_Name", "-dash", "a" * 64):
        (env.stacks_dir / f"Pulumi.{bad}.yaml").write_text("config: {}\n")
    assert env.main("list") == 0
    warnings = env.err.getvalue().splitlines()
    assert len(warnings) == 3
    assert all(w.startswith("warning: ignoring ") and "not a valid" in w for w in warnings)
    assert "Bad_Name" not in env.out.getvalue()
    assert env.main("up", "--all") == 0
    assert env.calls == [("up", "good")]


# -- pause keeps the file as written --------------------------------------------------------


def test_pause_and_resume_keep_comments_and_order(env: Env) -> None:
    text = (
        "# shop: the web store's backend\n"
        "encryptionsalt: v1:abc  # do not edit\n"
        "config:\n"
        "  supabase:portSlot: 4   # agreed with ops\n"
        "  # SMTP comes later\n"
        "  supabase:siteUrl: 'https://shop.example.com'\n"
        "  supabase:jwtSecret:\n"
        "    secure: v1:xyz\n"
    )
    path = env.stacks_dir / "Pulumi.shop.yaml"
    path.write_text(text)
    env.deployed("shop")
    assert env.main("pause", "shop") == 0
    paused = path.read_text()
    assert paused == text + "  supabase:paused: true\n"
    assert env.main("resume", "shop") == 0
    assert path.read_text() == text + "  supabase:paused: false\n"
    assert [config["paused"] for _, config in env.backend.seen] == [True, False]


# -- errors, pipes, JSON ------------------------------------------------------------------


def test_a_failing_backend_is_one_line_and_exit_2(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    from pulumi import automation as auto
    from pulumi.automation._cmd import CommandResult

    env.write_stack("shop", portSlot=0)

    def down(include_all: object = None) -> list:
        raise auto.CommandError(
            CommandResult("", "\n\nerror: could not reach s3://bucket: access denied\n", 255)
        )

    env.backend.workspace_cls.return_value.list_stacks.side_effect = down
    for argv in (["list"], ["status"], ["create", "x"], ["delete", "shop", "--yes"]):
        assert env.main(*argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith(f"error: the Pulumi backend {env.config.backend_url} failed: ")
        assert "access denied" in err and "Traceback" not in err


def test_a_rerun_of_a_failed_create_says_to_run_up(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.backend.fail = {"shop"}
    assert env.main("create", "shop") == 1
    assert "retry with `supabase-fleet up shop`" in env.out.getvalue()
    assert "shop" in env.backend.stacks  # a failed up leaves its stack behind
    assert env.main("create", "shop") == 2
    assert "if its create failed, run `supabase-fleet up shop`" in capsys.readouterr().err
    env.backend.fail = set()
    assert env.main("up", "shop") == 0
    assert env.main("delete", "shop", "--yes") == 0


def test_a_broken_pipe_ends_quietly(tmp_path: Path) -> None:
    script = f"""
import sys
sys.path[:0] = [{str(REPO)!r}, {str(REPO / "tests")!r}]
import pytest
from pathlib import Path
from test_fleet_cli import Env
env = Env(Path({str(tmp_path)!r}), monkeypatch=pytest.MonkeyPatch())
for index in range(300):
    env.write_stack(f"p{{index}}", portSlot=index)
env.out = sys.stdout
sys.exit(env.main("list"))
"""
    reader = subprocess.run(
        f"{sys.executable} -c {shlex_quote(script)} | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.stdout.splitlines()[0].startswith("local (")
    assert reader.stderr == ""


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def test_status_json_carries_everything_the_text_shows(env: Env) -> None:
    env.write_stack("shop", portSlot=2, exclude=["studio"])
    env.deployed("shop")
    db = ContainerState("shop", "db", "supabase-shop-db", "running", "unhealthy", "pg down")
    env.engines[LOCAL].containers["shop"] = [
        c if c.service != "db" else db for c in env.engines[LOCAL].containers["shop"]
    ]
    env.engines[LOCAL].log_facts = EngineFacts("json-file", {"compress": "true"}, False)
    assert env.main("status", "shop") == 1
    text = env.out.getvalue()
    env.out.truncate(0)
    env.out.seek(0)
    assert env.main("status", "shop", "--json") == 1
    data = json.loads(env.out.getvalue())
    [project] = data["projects"]
    assert project["ref"] == "shop" and project["host"] == "local"
    assert f"{project['ref']}: {project['status']} on host {project['host']}" in text
    assert project["ports"] == {"kongHttp": 20020, "kongHttps": 20021, "postgres": 20022}
    assert "ports: kongHttp 20020, kongHttps 20021, postgres 20022" in text
    for problem in project["problems"]:
        assert f"  - {problem}" in text
    assert {c["service"] for c in project["containers"]} == {
        line.split()[0] for line in text.splitlines() if line.startswith("    ")
    }
    db_json = next(c for c in project["containers"] if c["service"] == "db")
    assert (db_json["state"], db_json["health"], db_json["health_log"]) == (
        "running",
        "unhealthy",
        "pg down",
    )
    [host] = data["hosts"]
    assert host["notes"] and f"host local: {host['notes'][0]}" in text


# -- rich on a terminal, plain when piped ---------------------------------------------------


def test_list_is_a_rich_table_on_a_terminal_and_plain_when_piped(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    master, slave = os.openpty()
    tty = os.fdopen(slave, "w")
    try:
        ctx = env.context()
        ctx.out, ctx.live = tty, tty.isatty()
        assert cli.main(["list"], context_factory=lambda args: ctx) == 0
        tty.flush()
        drawn = read_all(master)
    finally:
        tty.close()
        os.close(master)
    assert "\x1b[1;32mACTIVE\x1b[0m" in drawn  # the status in colour
    assert "┃" in drawn or "│" in drawn  # a table
    master, slave = os.openpty()
    tty = os.fdopen(slave, "w")
    try:
        ctx = env.context()
        ctx.out, ctx.live = tty, True
        assert cli.main(["status", "shop"], context_factory=lambda args: ctx) == 0
        tty.flush()
        drawn = read_all(master)
    finally:
        tty.close()
        os.close(master)
    assert "\x1b[1;32mACTIVE\x1b[0m" in drawn
    assert "\x1b[32mhealthy\x1b[0m" in drawn  # each container's health in colour
    piped = io.StringIO()
    ctx = env.context()
    ctx.out = piped
    ctx.live = piped.isatty()
    assert cli.main(["list"], context_factory=lambda args: ctx) == 0
    assert "\x1b[" not in piped.getvalue()
    assert piped.getvalue().splitlines()[1].split()[:2] == ["shop", "ACTIVE"]


# -- up replaces containers whose health wait timed out, and checks the socket ----------------


def test_up_replaces_recorded_containers_that_are_not_running_and_healthy(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    containers = env.engines[LOCAL].containers["shop"]
    broken = {"db": ("running", "unhealthy"), "auth": ("running", "starting"), "rest": None}
    env.engines[LOCAL].containers["shop"] = [
        ContainerState("shop", c.service, c.name, *broken[c.service])
        if broken.get(c.service)
        else c
        for c in containers
        if c.service != "rest"
    ]
    assert env.main("up", "shop") == 0
    [(name, urns)] = env.backend.replaced
    assert name == "shop"
    # auth is still inside its health checks: left to finish them, and said so.
    assert sorted(urn.rsplit("::", 1)[1] for urn in urns) == ["shop-db", "shop-rest"]
    assert "replacing supabase-shop-db (unhealthy)" in env.out.getvalue()
    assert "supabase-shop-auth is still starting" in env.out.getvalue()
    # Healthy again: the next up replaces nothing.
    env.engines[LOCAL].containers["shop"] = containers
    assert env.main("up", "shop") == 0
    assert len(env.backend.replaced) == 1


def test_up_refuses_a_docker_socket_missing_on_the_engine(env: Env) -> None:
    env.write_stack("shop", portSlot=0, dockerSocket="/run/user/1000/docker.sock")
    env.write_stack("nolog", portSlot=1, dockerSocket="/nowhere.sock", logs=False)
    env.engines[LOCAL].log_facts = EngineFacts("json-file", {}, rootless=True)
    assert env.main("up", "shop", "nolog") == 1
    out = env.out.getvalue()
    assert "dockerSocket /run/user/1000/docker.sock does not exist on host local" in out
    assert "runs rootless" in out
    assert env.calls == [("up", "nolog")]  # no vector, no socket mount: nothing to check


def test_daemon_log_defaults_are_reported_when_they_differ(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    for facts, expected in (
        (EngineFacts("json-file", {}, False), None),
        (EngineFacts("json-file", {"max-size": "10m", "max-file": "3"}, False), None),
        (EngineFacts("local", {}, False), "daemon default log driver is 'local'"),
        (
            EngineFacts("json-file", {"labels": "x", "max-size": "1m"}, False),
            "daemon log-opts labels=x, max-size=1m differ from what projects set",
        ),
    ):
        env.engines[LOCAL].log_facts = facts
        env.out.truncate(0)
        env.out.seek(0)
        env.main("status")
        notes = [line for line in env.out.getvalue().splitlines() if line.startswith("host ")]
        if expected is None:
            assert notes == []
        else:
            [note] = notes
            assert expected in note


# -- the fakes hold to the real signatures -------------------------------------------------


def test_the_fakes_reject_calls_the_real_api_would(env: Env) -> None:
    from pulumi import automation as auto

    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    stack = auto.Stack.select("shop", env.workspace._workspace())
    with pytest.raises(TypeError):
        stack.up(on_output=print, show_secret=False)  # misspelt keyword
    with pytest.raises(TypeError):
        stack.history(10, 1, False, "extra")
    with pytest.raises(TypeError):
        auto.Stack.select("shop")  # the workspace is required
    with pytest.raises(TypeError):
        auto.LocalWorkspace(workdir="/x")


def test_history_is_paged_until_the_last_deploy(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    history = env.backend.stacks["shop"].history
    for _ in range(25):
        history.insert(0, _summary("refresh", "succeeded"))
    assert env.main("status", "shop") == 0
    assert "shop: ACTIVE" in env.out.getvalue()
    assert env.backend.calls.count(("history", "shop")) == 3  # pages 1-3 of 10


def test_a_stack_left_by_a_failed_up_shows_failed(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.backend.stacks["shop"] = FakeStack("shop", [_summary("update", "failed")])
    env.engines[LOCAL].containers["shop"] = healthy("shop", ["db"])
    assert env.main("status", "shop") == 1
    assert "last update failed" in env.out.getvalue()


def test_an_unwritable_stacks_folder_is_one_line_and_exit_2(
    env: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(env.stacks_dir / ".fleet.lock"))

    monkeypatch.setattr("automation.stackfiles.os.open", refuse)
    assert env.main("create", "shop") == 2
    err = capsys.readouterr().err
    assert err == f"error: [Errno 13] Permission denied: '{env.stacks_dir / '.fleet.lock'}'\n"
    assert env.calls == []


def test_create_recheck_refuses_a_host_filled_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = Env(tmp_path, [EngineSpec("local", LOCAL, 2)], monkeypatch)
    env.write_stack("old", portSlot=0)

    def intruder(ports: object) -> set[int]:
        env.write_stack("hand", portSlot=7)
        return set()

    env.engines[LOCAL].ports_in_use = intruder
    assert env.main("create", "shop") == 2
    assert "host local would hold more than its capacity 2" in capsys.readouterr().err
    assert "Pulumi.shop.yaml" not in env.stack_files()


def test_the_fake_engine_keeps_the_real_engine_signatures() -> None:
    import inspect

    from fleet_env import FakeEngine

    from automation.context import EngineLike
    from automation.engine import Engine

    methods = [
        m for m in vars(EngineLike) if not m.startswith("_") and callable(getattr(EngineLike, m))
    ]
    assert "project_containers" in methods and "facts" in methods
    for name in methods:
        real = inspect.signature(getattr(Engine, name))
        assert inspect.signature(getattr(FakeEngine, name)) == real, name
        assert inspect.signature(getattr(EngineLike, name)) == real, name


def test_one_stack_whose_history_fails_does_not_hide_the_others(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi.automation import CommandError
    from pulumi.automation._cmd import CommandResult

    env.write_stack("good", portSlot=0)
    env.write_stack("bad", portSlot=1)
    env.deployed("good", "bad")
    history = env.backend._history

    def broken(name: str, **kwargs: object) -> list:
        if name == "bad":
            raise CommandError(CommandResult("", "error: checkpoint is corrupt", 255))
        return history(name, **kwargs)

    monkeypatch.setattr(env.backend, "_history", broken)
    assert env.main("status", "--json") == 1
    projects = {p["ref"]: p for p in json.loads(env.out.getvalue())["projects"]}
    assert projects["good"]["status"] == "ACTIVE"
    assert projects["bad"]["status"] == "PROVISIONING"
    assert any("checkpoint is corrupt" in p for p in projects["bad"]["problems"])
