"""The fleet command line and command flows, against a fake Pulumi workspace and fake engines.

The Automation API cannot run here (no Pulumi CLI), so each flow asserts exactly which
Pulumi operations the fleet asked for and which stack files it wrote, in a tmp copy of a
project directory.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import stat
from pathlib import Path

import pytest
import yaml
from fleet_env import LOCAL, Env, healthy, read_all

from automation import cli, lifecycle, placement
from automation.containers import ContainerState
from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.placement import place
from automation.runner import Report, exit_code, run_many
from automation.settings import FleetConfig
from automation.workspace import Output, PulumiWorkspace
from components.releases import NEWEST_RELEASE, RELEASES
from components.settings import ALL_SERVICES

SECRET = "anon-key-of-shop"


# -- argument parsing ----------------------------------------------------------------------


def parse(*argv: str) -> argparse.Namespace:
    return cli.build_parser().parse_args(list(argv))


def test_parse_create_defaults_and_options() -> None:
    args = parse("create")
    assert (args.refs, args.count, args.host, args.exclude, args.parallel) == ([], 1, None, [], 1)
    args = parse(
        "create", "shop", "blog", "--parallel", "4", "--host", "edge", "--exclude", "studio"
    )
    assert (args.refs, args.parallel, args.host, args.exclude) == (
        ["shop", "blog"],
        4,
        "edge",
        ["studio"],
    )


def test_parse_state_options_after_the_command() -> None:
    args = parse(
        "list", "--home", "/h", "--backend-url", "s3://b", "--inventory", "i.yaml", "--json"
    )
    assert (args.home, args.backend_url, args.inventory, args.json) == (
        "/h",
        "s3://b",
        "i.yaml",
        True,
    )


def test_parse_bulk_and_delete_and_logs() -> None:
    args = parse("pause", "--all", "--parallel", "8")
    assert (args.command, args.refs, args.all_, args.parallel) == ("pause", [], True, 8)
    args = parse("delete", "shop", "--yes", "--delete-data")
    assert (args.refs, args.yes, args.delete_data) == (["shop"], True, True)
    args = parse("logs", "shop", "db", "-f", "--tail", "50")
    assert (args.ref, args.service, args.follow, args.tail) == ("shop", "db", True, 50)
    assert parse("status").ref is None
    assert parse("status", "shop", "--watch", "2").watch == 2.0
    # The smallest values each type takes.
    assert parse("up", "--all", "--parallel", "1").parallel == 1
    assert parse("list", "--watch", "0.01").watch == 0.01


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create", "Bad_Ref"], "DNS label"),
        (["up", "shop", "--parallel", "0"], "at least 1"),
        (["delete"], "required"),
        (["logs", "shop", "nosuch"], "invalid choice"),
        (["create", "--exclude", "db"], "invalid choice"),
        (["list", "--watch", "0"], "above 0"),
        (["up", "--all", "--parallel", "x"], "expected a whole number of at least 1, got 'x'"),
        (["up", "--all", "--parallel", "-2"], "expected a whole number of at least 1, got '-2'"),
        (["status", "--watch", "soon"], "expected a number of seconds above 0, got 'soon'"),
        (["status", "--watch", "-1"], "expected a number of seconds above 0, got '-1'"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


# -- create -----------------------------------------------------------------------------------


def test_create_writes_the_stack_file_then_brings_it_up(env: Env) -> None:
    assert env.main("create", "shop") == 0
    assert env.stack_files() == {
        "Pulumi.shop.yaml": {
            "config": {
                "supabase:portSlot": 0,
                "supabase:dockerHost": LOCAL,
                "supabase:dockerSocket": "/var/run/docker.sock",
                "supabase:release": "2026-09",
            }
        }
    }
    assert env.calls == [("up", "shop")]
    output = env.out.getvalue()
    assert (
        "shop: on host local, slot 0 (kongHttp 20000, kongHttps 20001, poolerSession 20003, "
        "poolerTransaction 20004)" in output
    )
    # The up read the stack file the fleet had written.
    assert env.backend.seen == [
        (
            "shop",
            {
                "portSlot": 0,
                "dockerHost": LOCAL,
                "dockerSocket": "/var/run/docker.sock",
                "release": "2026-09",
            },
        )
    ]
    assert "1 succeeded, 0 failed" in output
    assert SECRET not in output


def test_create_generates_a_ref(env: Env) -> None:
    assert env.main("create") == 0
    [name] = env.stack_files()
    ref = name.removeprefix("Pulumi.").removesuffix(".yaml")
    assert len(ref.split("-")) == 3
    assert env.calls == [("up", ref)]


def test_create_takes_the_lowest_free_slot_honouring_overrides(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=2)
    env.write_stack("c", ports={"kongHttp": 20010, "kongHttps": 8443, "postgres": 5432})
    assert env.main("create", "shop") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:portSlot"] == 3


def test_create_skips_a_slot_whose_ports_are_busy_on_the_host(env: Env) -> None:
    env.engines[LOCAL].busy = {20003}  # slot 0's pooler session port (release 2026-09)
    assert env.main("create", "shop") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:portSlot"] == 1
    assert "slot 0 ports [20003] are in use on host local, trying the next free slot" in (
        env.out.getvalue()
    )


def test_create_many_in_parallel(env: Env) -> None:
    assert env.main("create", "--count", "3", "--parallel", "3") == 0
    files = env.stack_files()
    assert sorted(f["config"]["supabase:portSlot"] for f in files.values()) == [0, 1, 2]
    assert sorted(call[0] for call in env.calls) == ["up", "up", "up"]


def test_create_with_excluded_services(env: Env) -> None:
    assert (
        env.main(
            "create",
            "shop",
            "--release",
            "2024-04",
            "--exclude",
            "analytics",
            "--exclude",
            "studio",
        )
        == 0
    )
    config = env.stack_files()["Pulumi.shop.yaml"]["config"]
    assert config["supabase:exclude"] == ["analytics", "studio"]


def test_create_places_on_the_most_free_host_and_records_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = tmp_path / "certs"
    specs = [
        EngineSpec(name="a", url="ssh://ops@a", capacity=2),
        EngineSpec(
            name="b",
            url="tcp://b:2376",
            capacity=5,
            cert_path=str(certs),
            socket_path="/run/d.sock",
        ),
    ]
    env = Env(tmp_path, specs, monkeypatch)
    env.write_stack("old", portSlot=0, dockerHost="tcp://b:2376")
    assert env.main("create", "shop") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"] == {
        "supabase:portSlot": 1,
        "supabase:dockerHost": "tcp://b:2376",
        "supabase:dockerSocket": "/run/d.sock",
        "supabase:dockerCertPath": str(certs),
        "supabase:release": "2026-09",
    }


def test_create_falls_back_when_the_best_host_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = [EngineSpec("a", "ssh://a", 9), EngineSpec("b", "ssh://b", 3)]
    env = Env(tmp_path, specs, monkeypatch)
    env.engines["ssh://a"].reachable = False
    assert env.main("create", "shop") == 0
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:dockerHost"] == "ssh://b"
    assert "host a is unreachable, trying the next one" in env.out.getvalue()


def assert_nothing_changed(
    env: Env, capsys: pytest.CaptureFixture[str], message: str, before: dict
) -> None:
    assert message in capsys.readouterr().err
    assert env.stack_files() == before
    assert [c for c in env.calls if c[0] != "history"] == []


def test_create_refuses_an_existing_ref(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.write_stack("shop", portSlot=0)
    before = env.stack_files()
    assert env.main("create", "shop") == 2
    assert_nothing_changed(env, capsys, "project 'shop' exists already", before)


def test_create_refuses_a_stack_left_in_the_backend(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.backend._stack("shop", create=True)
    assert env.main("create", "shop") == 2
    assert_nothing_changed(env, capsys, "without a stack file; remove it with `pulumi stack rm", {})


def test_create_refuses_leftover_volumes(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.engines[LOCAL].volumes["shop"] = ["supabase-shop-db-data"]
    assert env.main("create", "shop") == 2
    assert_nothing_changed(env, capsys, f"`docker -H {LOCAL} volume rm supabase-shop-db-data`", {})


def test_create_refuses_an_unreachable_host(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.engines[LOCAL].reachable = False
    assert env.main("create", "shop") == 2
    assert_nothing_changed(env, capsys, "no reachable host with room: local: Docker engine", {})
    assert env.main("create", "shop", "--host", "local") == 2
    assert_nothing_changed(env, capsys, "host local is unreachable", {})


def test_create_refuses_a_full_host(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.specs[0] = EngineSpec(name="local", url=LOCAL, capacity=1)
    env.write_stack("a", portSlot=0)
    before = env.stack_files()
    assert env.main("create", "shop") == 2
    assert_nothing_changed(env, capsys, "every host is full (local 1/1)", before)


def test_create_refuses_a_full_port_range(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.specs[0] = EngineSpec(name="local", url=LOCAL, capacity=5000)
    env.engines[LOCAL].busy = set(range(20000, 33000))
    assert env.main("create", "shop") == 2
    assert_nothing_changed(env, capsys, "no free port slot: all slots 0 to 1275", {})


def test_create_with_several_refs_writes_nothing_if_one_is_bad(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("blog", portSlot=0)
    before = env.stack_files()
    assert env.main("create", "shop", "blog") == 2
    assert_nothing_changed(env, capsys, "project 'blog' exists already", before)


# -- up, preview, refresh, pause, resume ------------------------------------------------------


def test_one_failure_does_not_stop_the_others(env: Env) -> None:
    for slot, ref in enumerate(("a", "b", "c")):
        env.write_stack(ref, portSlot=slot)
    env.backend.fail = {"b"}
    assert env.main("up", "--all", "--parallel", "2") == 1
    assert sorted(env.calls) == [("up", "a"), ("up", "b"), ("up", "c")]
    output = env.out.getvalue()
    assert "FAILED b" in output and "a health check timed out" in output
    assert "2 succeeded, 1 failed" in output


def test_unknown_ref_changes_nothing(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.write_stack("a", portSlot=0)
    assert env.main("up", "a", "nope") == 2
    assert "unknown project 'nope'" in capsys.readouterr().err
    assert env.calls == []


def test_preview_and_refresh(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    assert env.main("preview", "a") == 0
    assert "a: Previewing update (a)" in env.out.getvalue()
    # Never deployed: the real CLI creates the stack and plans only creates.
    assert "a: done: create 22" in env.out.getvalue()
    assert env.main("refresh", "a") == 0
    assert env.calls == [("preview", "a"), ("refresh", "a")]
    env.deployed("a")
    env.out.truncate(0)
    assert env.main("preview", "a") == 0
    assert "a: done: no changes" in env.out.getvalue()


def test_pause_and_resume_set_the_flag_then_up(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    text = (env.stacks_dir / "Pulumi.a.yaml").read_text()
    (env.stacks_dir / "Pulumi.a.yaml").write_text("encryptionsalt: v1:abc\n" + text)
    env.deployed("a")
    assert env.main("pause", "a") == 0
    assert env.stack_files()["Pulumi.a.yaml"] == {
        "encryptionsalt": "v1:abc",
        "config": {"supabase:portSlot": 0, "supabase:paused": True},
    }
    assert env.main("resume", "a") == 0
    assert env.stack_files()["Pulumi.a.yaml"]["config"]["supabase:paused"] is False
    assert env.calls == [("up", "a"), ("up", "a")]
    # Each up saw the flag already written: pause removed the containers, resume made them.
    assert [config.get("paused") for _, config in env.backend.seen] == [True, False]
    assert env.engines[LOCAL].containers["a"] != []


# -- delete -----------------------------------------------------------------------------------


def test_delete_asks_first(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.deployed("a")
    assert env.main("delete", "a") == 1
    assert env.answers == ["Delete a (data volumes are kept)? [y/N] "]
    assert env.calls == []
    assert "Pulumi.a.yaml" in env.stack_files()


def test_delete_keeps_volumes_and_names_them(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.deployed("a")
    env.engines[LOCAL].volumes["a"] = ["supabase-a-db-data", "supabase-a-storage"]
    assert env.main("delete", "a", confirm=True) == 0
    assert env.calls == [("destroy", "a"), ("remove_stack", "a")]
    assert env.stack_files() == {}
    assert (
        "kept data volumes on local: supabase-a-db-data, supabase-a-storage" in env.out.getvalue()
    )
    assert env.engines[LOCAL].removed == []


def test_delete_data_removes_volumes(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.deployed("a")
    env.engines[LOCAL].volumes["a"] = ["supabase-a-db-data"]
    assert env.main("delete", "a", "--yes", "--delete-data") == 0
    assert env.answers == []
    assert env.engines[LOCAL].removed == ["supabase-a-db-data"]
    assert "removed volumes: supabase-a-db-data" in env.out.getvalue()


def test_delete_data_reports_volumes_still_in_use_as_a_failure(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.deployed("a")
    env.engines[LOCAL].volumes["a"] = ["supabase-a-db-data", "supabase-a-storage"]
    env.engines[LOCAL].in_use = {"supabase-a-storage"}
    assert env.main("delete", "a", "--yes", "--delete-data") == 1
    assert env.engines[LOCAL].removed == ["supabase-a-db-data"]
    assert "volumes still in use were not removed: supabase-a-storage" in env.out.getvalue()


def test_delete_refuses_a_stack_the_backend_does_not_hold(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("b")
    before = env.stack_files()
    for argv in (["a"], ["b", "a"], ["a", "--delete-data"]):
        assert env.main("delete", *argv, "--yes") == 2
        err = capsys.readouterr().err
        assert f"the Pulumi backend {env.config.backend_url} holds no stack a" in err
        assert "nothing was deleted" in err
        assert env.stack_files() == before
        assert env.calls == []
        assert env.engines[LOCAL].removed == []
        assert "deleted" not in env.out.getvalue()


# -- list, status, credentials, logs ---------------------------------------------------------


def test_list_groups_by_host_with_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = [EngineSpec("a", "ssh://a", 5), EngineSpec("b", "ssh://b", 5)]
    env = Env(tmp_path, specs, monkeypatch)
    env.write_stack("shop", portSlot=0, dockerHost="ssh://a")
    env.write_stack("blog", portSlot=1, dockerHost="ssh://b")
    env.write_stack("new", portSlot=2, dockerHost="ssh://b")
    env.deployed("shop", "blog")
    broken = healthy("blog")
    broken[0] = ContainerState(
        "blog", broken[0].service, broken[0].name, "exited", None, exit_code=1
    )
    env.engines["ssh://b"].containers["blog"] = broken
    env.engines["ssh://b"].containers["gone"] = healthy("gone", ["db"])
    assert env.main("list") == 0
    lines = env.out.getvalue().splitlines()
    assert lines[0] == "a (ssh://a) 1/5 projects"
    assert lines[1].split()[:3] == ["shop", "ACTIVE", "20000/20001/20002"]
    assert lines[2] == "b (ssh://b) 2/5 projects"
    assert lines[3].split()[:3] == ["blog", "FAILED", "20010/20011/20012"]
    assert f"{ALL_SERVICES[0]}: exited with code 1" in lines[3]
    assert lines[4].split()[:2] == ["new", "PROVISIONING"]
    assert lines[5].split()[:2] == ["gone", "DELETED"]


def test_status_of_one_project_explains_and_sets_the_exit_code(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    containers = healthy("shop")
    db = containers.index(next(c for c in containers if c.service == "db"))
    containers[db] = ContainerState(
        "shop", "db", "supabase-shop-db", "running", "unhealthy", "no response"
    )
    env.engines[LOCAL].containers["shop"] = containers
    assert env.main("status", "shop") == 1
    output = env.out.getvalue()
    assert "shop: FAILED on host local" in output
    assert "  - db: unhealthy: no response" in output
    env.engines[LOCAL].containers["shop"] = healthy("shop")
    env.out.truncate(0)
    assert env.main("status", "shop", "--json") == 0
    assert '"status": "ACTIVE"' in env.out.getvalue()


def test_status_with_an_unreachable_host(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    env.engines[LOCAL].reachable = False
    assert env.main("status") == 1
    assert "host unreachable: Docker engine 'local'" in env.out.getvalue()


def test_credentials_print_like_supabase_status(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    assert env.main("credentials", "shop") == 0
    lines = env.out.getvalue().splitlines()
    assert lines[0] == "           API URL: http://localhost:20000"
    assert f"          anon key: {SECRET}" in lines
    assert "Dashboard password: dash-pw" in lines
    assert "DB URL" not in env.out.getvalue()  # outputs the stack lacks are left out
    assert env.calls == [("outputs", "shop")]


def test_credentials_of_a_project_not_deployed(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("shop", portSlot=0)
    assert env.main("credentials", "shop") == 2
    assert "not deployed yet" in capsys.readouterr().err


def test_logs(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.write_stack("shop", portSlot=0, exclude=["studio"])
    assert env.main("logs", "shop", "db", "--tail", "2") == 0
    assert env.out.getvalue() == "shop/db line 0\nshop/db line 1\n"
    assert env.main("logs", "shop", "studio") == 2
    assert "has no service 'studio'" in capsys.readouterr().err


def test_engines_are_closed(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    assert env.main("list") == 0
    assert env.engines[LOCAL].closed


# -- state settings ---------------------------------------------------------------------------


def test_state_defaults_and_passphrase(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: supabase\n")
    environ = {"SUPABASE_FLEET_HOME": str(tmp_path / "home")}
    config = FleetConfig.resolve(project_dir=str(project), environ=environ)
    assert config.backend_url == f"file://{tmp_path / 'home' / 'state'}"
    assert config.inventory_path == tmp_path / "home" / "hosts.yaml"
    assert not (tmp_path / "home").exists()  # resolving touches nothing
    env = config.workspace_env(environ)
    passphrase = tmp_path / "home" / "passphrase"
    assert env == {
        "PULUMI_BACKEND_URL": config.backend_url,
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(passphrase),
    }
    assert (tmp_path / "home" / "state").is_dir()
    assert stat.S_IMODE(os.stat(tmp_path / "home").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(passphrase).st_mode) == 0o600
    first = passphrase.read_text()
    assert len(first.strip()) >= 32
    config.workspace_env(environ)
    assert passphrase.read_text() == first  # generated once


def test_state_overrides(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: supabase\n")
    environ = {"PULUMI_BACKEND_URL": "s3://bucket", "PULUMI_CONFIG_PASSPHRASE": "x"}
    config = FleetConfig.resolve(
        home=str(tmp_path / "h"), project_dir=str(project), environ=environ
    )
    assert config.backend_url == "s3://bucket"
    assert config.workspace_env(environ) == {"PULUMI_BACKEND_URL": "s3://bucket"}
    kms = FleetConfig.resolve(
        home=str(tmp_path / "h"),
        project_dir=str(project),
        backend_url="https://api.pulumi.com",
        secrets_provider="awskms://alias/fleet",
        environ={},
    )
    assert kms.workspace_env({}) == {"PULUMI_BACKEND_URL": "https://api.pulumi.com"}
    # Whatever the backend, the home exists and is the owner's only.
    assert stat.S_IMODE(os.stat(tmp_path / "h").st_mode) == 0o700


def test_project_dir_must_hold_pulumi_yaml(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="has no Pulumi.yaml"):
        FleetConfig.resolve(project_dir=str(tmp_path), environ={})
    assert (FleetConfig.resolve(environ={}).project_dir / "Pulumi.yaml").is_file()


# -- runner -----------------------------------------------------------------------------------


def test_runner_plain_lines_and_summary() -> None:
    out = io.StringIO()

    def operation(ref: str, report: Report) -> str:
        report(f"\x1b[32mworking on {ref}\x1b[0m")
        if ref == "bad":
            raise RuntimeError("a\nb\nc\nlast words")
        return "fine"

    outcomes = run_many(["ok", "bad"], operation, parallel=2, out=out, live=False)
    assert exit_code(outcomes) == 1
    text = out.getvalue()
    assert "ok: working on ok\n" in text and "bad: FAILED: b | c | last words" in text
    assert "1 succeeded, 1 failed" in text


def test_runner_on_a_pseudo_terminal_draws_a_rich_table() -> None:
    master, slave = os.openpty()
    out = os.fdopen(slave, "w")
    try:
        outcomes = run_many(["a", "b"], lambda ref, report: "ok", parallel=1, out=out, live=True)
        out.flush()
        drawn = read_all(master)
    finally:
        out.close()
        os.close(master)
    assert exit_code(outcomes) == 0
    assert "\x1b[1;32mdone\x1b[0m" in drawn  # rich's colour for a finished project
    assert "\x1b[1A\x1b[2K" in drawn  # redrawn in place: cursor up, erase line
    assert "2 succeeded, 0 failed" in drawn


def test_fleet_stacks_folder_is_pulumi_yaml_stack_config_dir() -> None:
    config = FleetConfig.resolve(environ={})
    project = yaml.safe_load((config.project_dir / "Pulumi.yaml").read_text())
    assert config.stacks_dir == config.project_dir / project["stackConfigDir"]
    assert (config.stacks_dir / "Pulumi.dev.yaml").is_file()


def test_pulumi_workspace_without_the_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pulumi import automation as auto

    def missing(**kwargs: object) -> None:
        raise FileNotFoundError("pulumi")

    monkeypatch.setattr(auto, "LocalWorkspace", missing)
    with pytest.raises(FleetError, match="Pulumi CLI is not installed"):
        PulumiWorkspace(tmp_path, {}, None).list_stacks()


def test_the_workspace_is_made_over_the_project_with_the_fleet_env(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    assert env.main("up", "shop") == 0
    env.backend.workspace_cls.assert_called_once_with(
        work_dir=str(env.project),
        env_vars={"PULUMI_BACKEND_URL": env.config.backend_url},
        secrets_provider=None,
    )


def test_stack_files_the_fleet_writes_pass_the_published_schema(env: Env) -> None:
    import json

    import jsonschema

    schema_file = FleetConfig.resolve(environ={}).project_dir / "schema/stack-config.schema.json"
    validator = jsonschema.Draft202012Validator(json.loads(schema_file.read_text()))
    assert env.main("create", "shop", "--exclude", "studio", "--exclude", "imgproxy") == 0
    assert env.main("pause", "shop") == 0
    data = env.stack_files()["Pulumi.shop.yaml"]
    assert data["config"]["supabase:paused"] is True
    assert [error.message for error in validator.iter_errors(data)] == []


# -- lifecycle and placement details ---------------------------------------------------------


def test_parse_every_bulk_verb_and_the_create_release() -> None:
    for verb in ("up", "preview", "refresh", "pause", "resume"):
        args = parse(verb, "a", "b")
        assert (args.command, args.refs, args.all_, args.parallel) == (verb, ["a", "b"], False, 1)
    assert parse("create").release == NEWEST_RELEASE
    assert parse("create", "--release", "2024-04", "--count", "3").count == 3
    args = parse("delete", "shop")
    assert (args.yes, args.delete_data, args.parallel) == (False, False, 1)
    assert parse("delete", "shop", "-y").yes is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["create", "a", "--count", "2"], "give refs or --count, not both"),
        (["create", "a", "b", "a"], "error: a ref is given more than once\n"),
        (["create", "--release", "2024-04", "--exclude", "nosuch"], "invalid choice"),
    ],
)
def test_create_refuses_contradicting_arguments_before_anything(
    env: Env, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    if message == "invalid choice":
        with pytest.raises(SystemExit):
            env.main(*argv)
    else:
        assert env.main(*argv) == 2
    assert message in capsys.readouterr().err
    assert env.stack_files() == {} and env.calls == []


def test_create_with_no_count_is_refused(env: Env) -> None:
    with pytest.raises(FleetError, match="^--count must be at least 1$"):
        lifecycle.create(env.context(), count=0)
    assert env.stack_files() == {}


def test_create_says_where_each_project_went_and_what_it_wrote(env: Env) -> None:
    assert env.main("create", "a", "b", "--release", "2024-04") == 0
    out = env.out.getvalue()
    for ref, slot in (("a", 0), ("b", 1)):
        base = 20000 + 10 * slot
        ports = f"kongHttp {base}, kongHttps {base + 1}, postgres {base + 2}"
        line = f"{ref}: on host local, slot {slot} ({ports})"
        assert f"{line}; wrote {env.stacks_dir / f'Pulumi.{ref}.yaml'}" in out
        assert f"{ref}: done: API http://localhost:{base}, Studio http://localhost:{base}" in out
    assert env.stack_files()["Pulumi.a.yaml"]["config"]["supabase:release"] == "2024-04"


def test_create_refuses_leftover_containers_and_names_both_fixes(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.engines[LOCAL].containers["shop"] = healthy("shop", ["db", "auth"])
    env.engines[LOCAL].volumes["shop"] = ["supabase-shop-db-data"]
    assert env.main("create", "shop") == 2
    err = capsys.readouterr().err
    assert (
        "host local still has containers or volumes of an earlier project 'shop'; a new "
        "database would keep the old passwords. Choose another ref, or remove them with "
        f"`docker -H {LOCAL} rm -f supabase-shop-db supabase-shop-auth` and "
        f"`docker -H {LOCAL} volume rm supabase-shop-db-data`"
    ) in err
    env.engines[LOCAL].volumes.clear()
    assert env.main("create", "shop") == 2
    err = capsys.readouterr().err
    assert "remove them with `docker -H" in err and "volume rm" not in err
    assert env.stack_files() == {}


def test_create_counts_the_room_of_the_named_host_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = [EngineSpec("a", "ssh://a", 2), EngineSpec("b", "ssh://b", 9)]
    env = Env(tmp_path, specs, monkeypatch)
    env.write_stack("old", portSlot=0, dockerHost="ssh://a")
    assert env.main("create", "--count", "2", "--host", "a") == 2
    assert (
        "no room for 2 new projects: the hosts have room for 1; raise a capacity or add a "
        "host in the inventory, or create fewer"
    ) in capsys.readouterr().err
    assert env.main("create", "--count", "2", "--host", "nosuch") == 2
    assert "unknown host 'nosuch'; the inventory has: a, b" in capsys.readouterr().err
    assert env.main("create", "--count", "11") == 2
    assert "the hosts have room for 10;" in capsys.readouterr().err
    assert env.main("create", "--count", "10") == 0
    hosts = [f["config"]["supabase:dockerHost"] for f in env.stack_files().values()]
    assert sorted(hosts) == ["ssh://a"] * 2 + ["ssh://b"] * 9


def test_a_full_host_is_named_even_when_others_have_room(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = [EngineSpec("a", "ssh://a", 1), EngineSpec("b", "ssh://b", 3)]
    env = Env(tmp_path, specs, monkeypatch)
    env.write_stack("old", portSlot=0, dockerHost="ssh://a")
    assert env.main("create", "shop", "--host", "a") == 2
    assert "every host is full (a 1/1)" in capsys.readouterr().err
    assert env.main("create", "shop", "--host", "b") == 0


def test_placing_an_unknown_release_names_the_known_ones(env: Env) -> None:
    with pytest.raises(FleetError) as raised:
        place(env.context(), ["shop"], count=1, host=None, extra={"release": "1999"}, backend=set())
    assert str(raised.value) == f"unknown release '1999'; known: {sorted(RELEASES)}"
    assert env.stack_files() == {}
    [plan] = place(env.context(), ["shop"], count=1, host=None, extra={}, backend=set())
    assert (plan.ref, plan.slot, plan.spec.name) == ("shop", 0, "local")
    assert plan.settings == {
        "portSlot": 0,
        "dockerHost": LOCAL,
        "dockerSocket": "/var/run/docker.sock",
    }


def test_a_ref_held_by_another_stack_files_ref_setting_is_taken(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("old", portSlot=0, ref="shop")
    assert env.main("create", "shop") == 2
    assert (
        f"project 'shop' exists already ({env.stacks_dir / 'Pulumi.old.yaml'}); if its create "
        "failed, run `supabase-fleet up shop` to try again"
    ) in capsys.readouterr().err
    assert env.main("create", "old") == 2
    assert "project 'old' exists already" in capsys.readouterr().err


def test_generated_refs_avoid_the_backend_and_the_stack_files(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[set[str]] = []
    names = iter(["gen-one", "gen-two"])

    def generate(taken: set[str]) -> str:
        seen.append(set(taken))
        return next(names)

    monkeypatch.setattr(placement, "generate_ref", generate)
    env.write_stack("old", portSlot=0, ref="legacy")
    env.backend._stack("orphan", create=True)
    assert env.main("create", "--count", "2") == 0
    assert seen == [{"old", "legacy", "orphan"}, {"old", "legacy", "orphan", "gen-one"}]
    assert sorted(env.stack_files()) == [
        "Pulumi.gen-one.yaml",
        "Pulumi.gen-two.yaml",
        "Pulumi.old.yaml",
    ]


def test_up_preview_and_refresh_say_what_each_project_did(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("a", "b")
    assert env.main("refresh", "--all") == 0
    assert "a: done: refreshed" in env.out.getvalue()
    assert "a: Refreshing (a)" in env.out.getvalue()  # Pulumi's own lines are shown
    assert env.main("up", "b") == 0
    assert "b: done: API http://localhost:20010, Studio http://localhost:20010" in (
        env.out.getvalue()
    )
    assert sorted(env.calls) == [("refresh", "a"), ("refresh", "b"), ("up", "b")]


def test_change_counts_and_urls_read_as_one_line() -> None:
    changes = {"update": 1, "same": 20, "create": 12, "delete": 0}
    assert lifecycle.format_changes(changes) == "create 12, update 1"
    assert lifecycle.format_changes({"same": 3}) == "no changes"
    outputs = {
        "studioUrl": Output("http://s", False),
        "apiUrl": Output("http://a", False),
        "anonKey": Output("k", True),
    }
    assert lifecycle.public_urls(outputs) == "API http://a, Studio http://s"
    assert lifecycle.public_urls({"apiUrl": Output("http://a", True)}) == "up"


@pytest.mark.parametrize(("verb", "done"), [("pause", "paused"), ("resume", "resumed")])
def test_pause_and_resume_refuse_a_stack_the_backend_does_not_hold(
    env: Env, capsys: pytest.CaptureFixture[str], verb: str, done: str
) -> None:
    env.write_stack("a", portSlot=0)
    before = env.stack_files()
    assert env.main(verb, "a") == 2
    assert (
        f"the Pulumi backend {env.config.backend_url} holds no stack a; nothing was {done}. "
        "Use the backend that deployed it (--backend-url or PULUMI_BACKEND_URL); if it was "
        "never deployed, run `supabase-fleet up a` first"
    ) in capsys.readouterr().err
    assert env.stack_files() == before and env.calls == []


def test_pause_says_paused_and_resume_gives_the_urls(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.deployed("a")
    assert env.main("pause", "a") == 0
    assert "a: done: paused" in env.out.getvalue()
    assert env.main("resume", "a") == 0
    assert "a: done: API http://localhost:20000" in env.out.getvalue()


def test_delete_declined_says_so_and_deleting_data_is_asked_about(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("a", "b")
    assert env.main("delete", "a", "b", "--delete-data") == 1
    assert env.answers == ["Delete a, b and their data volumes? [y/N] "]
    assert "nothing deleted (confirm, or pass --yes)" in env.out.getvalue()
    assert env.calls == [] and len(env.stack_files()) == 2


def test_delete_says_what_became_of_the_volumes(env: Env) -> None:
    for slot, ref in enumerate(("a", "b", "c")):
        env.write_stack(ref, portSlot=slot)
        env.deployed(ref)
    env.engines[LOCAL].volumes["b"] = ["supabase-b-db", "supabase-b-storage"]
    assert env.main("delete", "a", "b", "--yes") == 0
    out = env.out.getvalue()
    assert "a: done: deleted; it had no volumes left" in out
    assert (
        "b: done: deleted; kept data volumes on local: supabase-b-db, supabase-b-storage "
        f"(remove them with `docker -H {LOCAL} volume rm supabase-b-db supabase-b-storage`)"
    ) in out
    assert env.main("delete", "c", "--yes", "--delete-data") == 0
    assert "c: done: deleted; removed volumes: none" in env.out.getvalue()
    assert env.engines[LOCAL].removed == []


def test_delete_with_the_engine_gone_still_deletes_and_says_what_is_unknown(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("a", "b")
    env.engines[LOCAL].reachable = False
    assert env.main("delete", "a", "--yes") == 0
    assert (
        f"a: done: deleted; could not list its kept volumes on local: Docker engine 'local' "
        f"at {LOCAL} is down"
    ) in env.out.getvalue()
    assert env.main("delete", "b", "--yes", "--delete-data") == 1
    assert "deleted, but its volumes were not removed: Docker engine 'local'" in (
        env.out.getvalue()
    )
    assert env.stack_files() == {}
    assert env.calls == [("destroy", "a"), ("remove_stack", "a"), ("destroy", "b"),
                         ("remove_stack", "b")]  # fmt: skip


# -- what the fleet asks of Pulumi -------------------------------------------------------------


def test_every_operation_hides_secrets_and_colour_from_its_output(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("b")
    assert env.main("preview", "a") == 0
    assert env.main("up", "a") == 0
    assert env.main("refresh", "a") == 0
    assert env.main("delete", "a", "--yes") == 0
    assert env.backend.options == [
        ("preview", "a", {"color": "never"}),
        ("up", "a", {"color": "never", "show_secrets": False, "replace": None}),
        ("refresh", "a", {"color": "never", "show_secrets": False}),
        ("destroy", "a", {"color": "never", "show_secrets": False}),
    ]


def test_a_secret_is_set_as_pulumi_config_secret_in_the_supabase_namespace(env: Env) -> None:
    env.workspace.set_secret("shop", "jwtSecret", "s" * 40)
    [(stack, key, value)] = env.backend.config_set
    assert (stack, key, value.value, value.secret) == ("shop", "supabase:jwtSecret", "s" * 40, True)
    assert "shop" in env.backend.stacks  # the stack is created when it is new


def test_stack_names_and_backend_as_the_workspace_reports_them(env: Env, tmp_path: Path) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("a", "b")
    assert env.workspace.list_stacks() == ["a", "b"]  # without organization/project
    assert env.workspace.backend_url == env.config.backend_url
    plain = PulumiWorkspace(tmp_path, {}, None)
    assert plain.backend_url == "(the Pulumi CLI's current login)"
    assert env.workspace.preview("a", lambda line: None) == {"same": 22}
    state = env.workspace.export_state("a")
    assert state["version"] == 3
    containers = env.workspace.containers("a")
    assert len(state["deployment"]["resources"]) == len(containers) > 0
    assert containers["supabase-a-db"] == (  # name -> URN, as `up --replace` takes it
        "urn:pulumi:a::supabase::supabase:index:Project$docker:index/container:Container::a-db"
    )
    assert env.workspace.containers("never") == {}


@pytest.mark.parametrize(
    ("stderr", "shown"),
    [
        ("warning: slow\nerror: no access\n  retry later\n", "error: no access"),
        ("Error one\nsomething\nERROR two\n", "ERROR two"),
        ("first\n  last line  \n\n", "last line"),
    ],
)
def test_a_failing_backend_is_named_with_its_last_error_line(
    env: Env, monkeypatch: pytest.MonkeyPatch, stderr: str, shown: str
) -> None:
    from pulumi import automation as auto
    from pulumi.automation._cmd import CommandResult

    def fail(*args: object, **kwargs: object) -> None:
        raise auto.CommandError(CommandResult("", stderr, 255))

    env.backend.workspace_cls.return_value.list_stacks.side_effect = fail
    with pytest.raises(FleetError) as raised:
        env.workspace.list_stacks()
    assert str(raised.value) == f"the Pulumi backend {env.config.backend_url} failed: {shown}"


def test_history_reads_ten_pages_of_ten_at_most_and_stops_at_a_short_page(env: Env) -> None:
    from fake_pulumi import _summary

    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    history = env.backend.stacks["shop"].history
    for _ in range(14):
        history.insert(0, _summary("refresh", "succeeded"))
    records = env.workspace.history("shop")
    assert [r.kind for r in records] == ["refresh"] * 14 + ["update"]
    assert records[-1].result == "succeeded"
    assert env.backend.calls.count(("history", "shop")) == 2
    for _ in range(200):
        history.insert(0, _summary("refresh", "succeeded"))
    records = env.workspace.history("shop")
    assert len(records) == 100 and {r.kind for r in records} == {"refresh"}
    assert env.backend.calls.count(("history", "shop")) == 2 + 10
    del history[:]
    assert env.workspace.history("shop") == []


def _help(monkeypatch: pytest.MonkeyPatch, *argv: str) -> str:
    monkeypatch.setenv("COLUMNS", "250")  # one line per entry
    parser = cli.build_parser()
    for name in argv:
        parser = next(
            action.choices[name]
            for action in parser._actions
            if isinstance(action, argparse._SubParsersAction)
        )
    return parser.format_help()


@pytest.mark.parametrize(
    ("argv", "entry", "text"),
    [
        ((), "create", "create projects"),
        ((), "up", "deploy projects as their stack files say"),
        ((), "preview", "show what up would change"),
        ((), "refresh", "read the real state into the stacks"),
        ((), "pause", "stop projects, keeping their data"),
        ((), "resume", "start paused projects"),
        ((), "delete", "destroy projects (data volumes kept)"),
        ((), "edge", "the HTTPS edge proxy of a host"),
        (("create",), "ref", "default: generated"),
        (("create",), "--count COUNT", "projects to generate"),
        (("create",), "--host HOST", "inventory host to use (default: the most free)"),
        (("create",), "--exclude {analytics,functions,imgproxy,studio}",
         "leave out an optional service (repeatable)"),
        (("create",), "--release {2024-04,2026-09}",
         f"the Supabase stack the projects run (default {NEWEST_RELEASE}); written to the stack "
         "file, and kept for the project's life across Postgres majors"),
        (("up",), "--all", "every project"),
        (("pause",), "--parallel N", "projects at a time"),
        (("delete",), "-y, --yes", "do not ask first"),
        (("delete",), "--delete-data", "also remove the projects' data volumes"),
        (("edge",), "status", "routes and the certificate served for each name"),
        (("edge",), "sync", "rewrite the host's edge stack from the projects and bring it up"),
        (("edge", "status"), "host", "inventory host name"),
    ],
)  # fmt: skip
def test_help_says_what_each_command_and_option_does(
    monkeypatch: pytest.MonkeyPatch, argv: tuple[str, ...], entry: str, text: str
) -> None:
    words = re.escape(text).replace(r"\ ", r"\s+")  # argparse wraps long entries
    assert re.search(rf"(^|\s){re.escape(entry)}\s+{words}(\s|$)", _help(monkeypatch, *argv))


def test_usage_shows_refs_and_the_required_verb(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _help(monkeypatch, "create").split("\n\n")[0].endswith("[ref ...]")
    assert "--all] [ref ...]" in _help(monkeypatch, "resume")
    assert _help(monkeypatch, "delete").split("\n\n")[0].endswith(" ref [ref ...]")
    assert "usage: supabase-fleet edge [-h]" in _help(monkeypatch, "edge")
    assert " VERB ..." in _help(monkeypatch, "edge")


def test_a_stack_missing_from_the_backend_is_named_with_the_backend(env: Env) -> None:
    with pytest.raises(FleetError) as raised:
        env.workspace.outputs("ghost")
    assert str(raised.value) == (
        f"stack 'ghost' does not exist in the backend {env.config.backend_url}"
    )
    assert "ghost" not in env.backend.stacks  # reading never creates a stack


def test_without_the_cli_the_message_says_where_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pulumi import automation as auto

    def missing(**kwargs: object) -> None:
        raise FileNotFoundError("pulumi")

    monkeypatch.setattr(auto, "LocalWorkspace", missing)
    with pytest.raises(FleetError) as raised:
        PulumiWorkspace(tmp_path, {}, None).up("shop", lambda line: None)
    assert str(raised.value) == (
        "the Pulumi CLI is not installed or not on PATH; install it from "
        "https://www.pulumi.com/docs/install/"
    )


def test_bulk_commands_take_every_project_with_all(env: Env) -> None:
    env.write_stack("a", portSlot=0)
    env.write_stack("b", portSlot=1)
    env.deployed("a", "b")
    assert env.main("preview", "--all") == 0
    assert env.main("pause", "--all") == 0
    assert env.main("resume", "--all", "--parallel", "2") == 0
    assert sorted(env.calls) == sorted(
        [("preview", "a"), ("preview", "b")] + [("up", "a"), ("up", "b")] * 2
    )
    assert all(f["config"]["supabase:paused"] is False for f in env.stack_files().values())


def test_delete_reports_each_step_and_refuses_a_never_deployed_stack_with_the_fix(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("a", portSlot=0)
    env.deployed("a")
    assert env.main("delete", "a", "--yes") == 0
    assert "a: destroying\na: Destroying (a)\n" in env.out.getvalue()
    env.write_stack("b", portSlot=1)
    assert env.main("delete", "b", "--yes") == 2
    assert (
        capsys.readouterr()
        .err.rstrip()
        .endswith("if it was never deployed, remove its stack file by hand")
    )
