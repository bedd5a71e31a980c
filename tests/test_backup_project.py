"""The project side of backups over the fleet's fake Pulumi backend and fake engines:
which stack, engine, image and secrets a backup takes, and how a restore pauses and waits."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from fleet_env import LOCAL, Env, healthy
from pulumi import automation as auto

from automation.backups import project as project_module
from automation.backups.project import Project, clone_settings
from automation.containers import ContainerState
from automation.engine import EngineSpec
from automation.errors import FleetError
from automation.status import Status
from components.releases import DEFAULT_RELEASE, RELEASES


def test_the_stack_engine_and_release_are_the_projects(env: Env):
    env.write_stack("shop", portSlot=0)
    env.write_stack("other", portSlot=1, ref="web", release="2026-09")
    shop, web = Project(env.context(), "shop"), Project(env.context(), "web")
    assert shop.stack.name == "shop" and web.stack.name == "other"
    assert shop.engine is env.engines[LOCAL]
    assert shop.release == DEFAULT_RELEASE
    assert shop.postgres_major == RELEASES[DEFAULT_RELEASE].postgres_major == 15
    assert (web.release, web.postgres_major) == ("2026-09", 17)


def test_the_engine_is_the_one_the_stack_names(tmp_path, monkeypatch):
    specs = [EngineSpec("a", LOCAL, 5), EngineSpec("b", "unix:///run/d.sock", 5)]
    env = Env(tmp_path, specs, monkeypatch)
    env.write_stack("shop", portSlot=0, dockerHost="unix:///run/d.sock")
    assert Project(env.context(), "shop").engine is env.engines["unix:///run/d.sock"]


def test_a_paused_projects_db_image_follows_its_stack_file(env: Env):
    env.write_stack("shop", portSlot=0)
    default = Project(env.context(), "shop").offline_db_image()
    assert default.startswith("supabase/postgres:15.")
    env.write_stack("shop", portSlot=0, registryMirror="mirror.local:5000")
    assert Project(env.context(), "shop").offline_db_image() == f"mirror.local:5000/{default}"
    env.write_stack("shop", portSlot=0, registryMirror="m:1", images={"db": "my/pg:15.9"})
    assert Project(env.context(), "shop").offline_db_image() == "my/pg:15.9"
    env.write_stack("shop", portSlot=0, images={"db": "", "auth": "x"})
    assert Project(env.context(), "shop").offline_db_image() == default
    env.write_stack("shop", portSlot=0, release="2026-09")
    assert Project(env.context(), "shop").offline_db_image().startswith("supabase/postgres:17.")


def _outputs(env: Env, name: str, **values: str) -> None:
    env.backend._stack(name, create=True)
    env.backend.stacks[name].outputs = {
        key: auto.OutputValue(value, True) for key, value in values.items()
    }


def test_secrets_come_from_the_stack_outputs(env: Env):
    env.write_stack("shop", portSlot=0)
    _outputs(env, "shop", dbUrl="postgresql://postgres:p%40ss@db:5432/postgres",
             jwtSecret="jwt", dashboardPassword="dash", anonKey="not a secret we keep")  # fmt: skip
    assert Project(env.context(), "shop").secrets() == {
        "postgresPassword": "p%40ss",
        "jwtSecret": "jwt",
        "dashboardPassword": "dash",
    }
    _outputs(env, "shop", dbUrl="postgresql://postgres@db:5432/postgres", jwtSecret="j")
    assert Project(env.context(), "shop").secrets() == {"jwtSecret": "j"}


def test_unreadable_outputs_stop_the_backup_naming_the_stack(env: Env, monkeypatch):
    env.write_stack("shop", portSlot=0)

    def broken(name: str):
        raise RuntimeError("backend is locked")

    monkeypatch.setattr(env.workspace, "outputs", broken)
    with pytest.raises(FleetError) as error:
        Project(env.context(), "shop").secrets()
    assert str(error.value) == "cannot read the outputs of stack 'shop': backend is locked"


def test_the_state_is_exported_as_sorted_json(env: Env):
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    exported = Project(env.context(), "shop").export_state()
    state = json.loads(exported)
    assert state["version"] == 3 and state["deployment"]["resources"]
    assert exported == json.dumps(state, sort_keys=True).encode()
    assert list(state) == ["deployment", "version"]


def test_pausing_and_starting_go_through_the_stack_file_and_up(env: Env):
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    project = Project(env.context(), "shop")
    said: list[str] = []
    project.set_paused(True, said.append)
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:paused"] is True
    assert env.calls == [("up", "shop")]
    assert env.backend.seen[-1][1]["paused"] is True
    assert project.db_container() is None  # the up removed the containers
    project.set_paused(False, said.append)
    assert env.stack_files()["Pulumi.shop.yaml"]["config"]["supabase:paused"] is False
    assert project.db_container() == "supabase-shop-db"


def test_the_db_container_is_the_running_db_only(env: Env):
    env.write_stack("shop", portSlot=0, ref="shop-ref")
    project = Project(env.context(), "shop-ref")
    engine = env.engines[LOCAL]
    engine.containers["shop-ref"] = healthy("shop-ref", ["auth", "rest"])
    assert project.db_container() is None
    engine.containers["shop-ref"].append(
        ContainerState("shop-ref", "db", "supabase-shop-ref-db", "exited", None)
    )
    assert project.db_container() is None
    engine.containers["shop-ref"].append(
        ContainerState("shop-ref", "db", "supabase-shop-ref-db", "running", "healthy")
    )
    assert project.db_container() == "supabase-shop-ref-db"


def _statuses(monkeypatch, *states: tuple[Status, list[str]]) -> list[str]:
    asked: list[str] = []
    answers = iter(states)

    def observe(ctx, ref):
        asked.append(ref)
        status, problems = next(answers)
        view = SimpleNamespace(status=status, problems=problems)
        return SimpleNamespace(projects=[SimpleNamespace(status=view)])

    monkeypatch.setattr(project_module, "observe", observe)
    return asked


def test_waiting_ends_when_the_project_is_active(env: Env, monkeypatch):
    env.write_stack("shop", portSlot=0)
    naps: list[float] = []
    monkeypatch.setattr(project_module.time, "sleep", naps.append)
    asked = _statuses(monkeypatch, (Status.STARTING, []), (Status.STARTING, []),
                      (Status.ACTIVE, []))  # fmt: skip
    Project(env.context(), "shop").wait_active()
    assert asked == ["shop"] * 3 and naps == [1.0, 1.0]


def test_a_failed_project_stops_the_wait_with_its_problems(env: Env, monkeypatch):
    env.write_stack("shop", portSlot=0)
    monkeypatch.setattr(project_module.time, "sleep", lambda _: None)
    _statuses(monkeypatch, (Status.FAILED, ["db unhealthy", "auth exited"]))
    with pytest.raises(FleetError) as error:
        Project(env.context(), "shop").wait_active()
    assert str(error.value) == "project shop is FAILED after the restore: db unhealthy; auth exited"


def test_waiting_gives_up_after_ten_minutes(env: Env, monkeypatch):
    env.write_stack("shop", portSlot=0)
    clock = iter([1000.0, 1300.0, 1600.0, 1600.5])
    monkeypatch.setattr(project_module.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(project_module.time, "sleep", lambda _: None)
    asked = _statuses(monkeypatch, *[(Status.STARTING, ["kong starting"])] * 5)
    with pytest.raises(FleetError, match="^project shop is STARTING after the restore: kong"):
        Project(env.context(), "shop").wait_active()
    assert len(asked) == 3  # at 300 s and 600 s still in time, at 600.5 s past it


def test_the_real_status_of_a_healthy_project_is_active(env: Env):
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    Project(env.context(), "shop").wait_active(deadline=0.0)


def test_a_clone_copies_settings_but_never_identity_place_or_secrets():
    source = {
        "config": {
            "supabase:ref": "shop",
            "supabase:portSlot": 3,
            "supabase:ports": {"api": 1},
            "supabase:dockerHost": "ssh://a",
            "supabase:dockerSocket": "/run/d.sock",
            "supabase:dockerCertPath": "/certs",
            "supabase:paused": True,
            "supabase:postgresPassword": "pw",
            "supabase:jwtSecret": "jwt",
            "supabase:dashboardPassword": "dash",
            "supabase:smtpPassword": {"secure": "v1:abc"},
            "supabase:release": "2026-09",
            "supabase:exclude": ["imgproxy"],
            "supabase:siteUrl": "https://shop.example",
            "supabase:images": {"db": "my/pg:15.9"},
            "supabase:poolerSize": 20,
            "aws:region": "eu-west-1",
        }
    }
    assert clone_settings(source) == {
        "release": "2026-09",
        "exclude": ["imgproxy"],
        "siteUrl": "https://shop.example",
        "images": {"db": "my/pg:15.9"},
        "poolerSize": 20,
    }
    assert clone_settings({}) == {} and clone_settings({"config": None}) == {}
