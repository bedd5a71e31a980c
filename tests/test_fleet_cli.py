"""The fleet command line and command flows, against a fake Pulumi workspace and fake engines.

The Automation API cannot run here (no Pulumi CLI), so each flow asserts exactly which
Pulumi operations the fleet asked for and which stack files it wrote, in a tmp copy of a
project directory.
"""

from __future__ import annotations

import argparse
import io
import os
import stat
from pathlib import Path

import pytest
import yaml
from fleet_env import LOCAL, Env, healthy, read_all

from automation import cli
from automation.containers import ContainerState
from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.runner import Report, exit_code, run_many
from automation.settings import FleetConfig
from automation.workspace import PulumiWorkspace
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
