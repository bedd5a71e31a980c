"""Before ``up``: the Docker socket vector mounts must exist on the engine, and recorded
containers that are not running and healthy are replaced (their health wait runs again)."""

from __future__ import annotations

import pytest
from fleet_env import LOCAL, Env

from automation import preflight
from automation.containers import ContainerState
from automation.engine import EngineFacts


def _stack(env: Env, name: str):
    [stack] = [s for s in env.context().scan().stacks if s.name == name]
    return stack


def test_socket_missing_on_a_rootful_engine_names_the_setting_without_rootless_hint(env: Env):
    env.write_stack("shop", portSlot=0, dockerSocket="/srv/docker.sock")
    with pytest.raises(RuntimeError) as error:
        preflight.check_socket(env.context(), _stack(env, "shop"))
    assert str(error.value) == (
        "dockerSocket /srv/docker.sock does not exist on host local, and vector mounts it; "
        "set the engine's real socket path with "
        "`pulumi config set dockerSocket <path> --stack shop` or set `logs: false`"
    )


def test_socket_of_the_host_is_used_when_the_stack_sets_none(env: Env):
    env.write_stack("shop", portSlot=0)
    preflight.check_socket(env.context(), _stack(env, "shop"))  # /var/run/docker.sock exists
    env.engines[LOCAL].paths = set()
    with pytest.raises(RuntimeError, match="dockerSocket /var/run/docker.sock does not exist"):
        preflight.check_socket(env.context(), _stack(env, "shop"))
    env.engines[LOCAL].paths = {"/srv/docker.sock"}
    env.write_stack("other", portSlot=1, dockerSocket="/srv/docker.sock")
    preflight.check_socket(env.context(), _stack(env, "other"))


@pytest.mark.parametrize(
    "config",
    [{"paused": True}, {"logs": False}, {"release": "2026-09"}],
)
def test_socket_is_not_asked_for_when_nothing_mounts_it(env: Env, config):
    env.engines[LOCAL].paths = set()
    env.engines[LOCAL].reachable = False  # asking the engine would fail
    env.write_stack("shop", portSlot=0, dockerSocket="/nowhere.sock", **config)
    preflight.check_socket(env.context(), _stack(env, "shop"))


def test_each_kind_of_stale_container_is_replaced_and_said_why(env: Env):
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    engine = env.engines[LOCAL]
    recorded = env.workspace.containers("shop")
    states = {
        "db": ("running", "unhealthy"),
        "auth": ("running", "starting"),
        "kong": ("exited", None),
        "meta": ("restarting", "healthy"),
        "rest": ("running", None),
        "storage": ("running", "healthy"),
    }
    engine.containers["shop"] = [
        ContainerState("shop", c.service, c.name, *states[c.service])
        for c in engine.containers["shop"]
        if c.service in states
    ]
    said: list[str] = []
    urns = preflight.stale_containers(env.context(), _stack(env, "shop"), said.append)
    expected = {"supabase-shop-db", "supabase-shop-kong", "supabase-shop-meta"} | {
        name for name in recorded if name.removeprefix("supabase-shop-") not in states
    }
    assert sorted(urns) == sorted(recorded[name] for name in expected)
    assert urns == [recorded[name] for name in sorted(expected)]  # in name order
    assert "replacing supabase-shop-db (unhealthy): recorded as created, but not running " \
        "and healthy" in said  # fmt: skip
    assert "replacing supabase-shop-kong (exited): recorded as created, but not running " \
        "and healthy" in said  # fmt: skip
    assert any(line.startswith("replacing supabase-shop-meta (restarting)") for line in said)
    assert any(line.startswith("replacing supabase-shop-functions (missing)") for line in said)
    assert "supabase-shop-auth is still starting; run `up` again if it turns unhealthy" in said
    assert not any("shop-rest" in line or "shop-storage" in line for line in said)


def test_nothing_is_stale_for_paused_or_never_deployed_projects(env: Env):
    env.write_stack("new", portSlot=0)
    env.engines[LOCAL].reachable = False  # nothing recorded: the engine is not asked
    said: list[str] = []
    assert preflight.stale_containers(env.context(), _stack(env, "new"), said.append) == []
    env.write_stack("old", portSlot=1, paused=True)
    env.engines[LOCAL].reachable = True
    env.deployed("old")
    env.engines[LOCAL].containers["old"] = []
    env.engines[LOCAL].reachable = False
    assert preflight.stale_containers(env.context(), _stack(env, "old"), said.append) == []
    assert said == []


def test_rootless_hint_only_for_rootless_engines(env: Env):
    env.write_stack("shop", portSlot=0, dockerSocket="/run/user/1000/docker.sock")
    env.engines[LOCAL].log_facts = EngineFacts("json-file", {}, rootless=True)
    with pytest.raises(RuntimeError) as error:
        preflight.check_socket(env.context(), _stack(env, "shop"))
    assert (
        "vector mounts it (this engine runs rootless: its socket is "
        "/run/user/<uid>/docker.sock); set" in str(error.value)
    )


def test_up_refuses_more_cpus_than_the_host_has_before_anything_changes(env: Env, capsys):
    """Docker would refuse the container mid-``up``, after the ones before it were made."""
    env.write_stack("shop", portSlot=0, resources={"db": {"cpus": 6}, "auth": {"cpus": 4.5}})
    assert env.main("up", "shop") != 0
    assert env.calls == []
    message = capsys.readouterr().err + env.err.getvalue() + env.out.getvalue()
    assert "resources auth.cpus=4.5, db.cpus=6: host local has 4 CPUs" in message
    assert "`pulumi config set --path resources.auth.cpus 4 --stack shop`" in message


@pytest.mark.parametrize(
    ("resources", "paused"),
    [
        ({"db": {"cpus": 4}}, False),  # exactly the host's count is allowed
        ({"db": {"cpus": "1.5"}}, False),  # `config set --path` stores a string
        ({"db": {"memoryMb": 99999}}, False),  # memory is not capped by the host's CPUs
        ({"db": {"cpus": 64}}, True),  # a paused project makes no containers
    ],
)
def test_cpu_limits_the_host_can_give_pass(env: Env, resources, paused):
    env.write_stack("shop", portSlot=0, resources=resources, paused=paused)
    preflight.check_cpus(env.context(), _stack(env, "shop"))


def test_a_host_that_does_not_say_its_cpus_is_not_second_guessed(env: Env):
    env.engines[LOCAL].cpus = None
    env.write_stack("shop", portSlot=0, resources={"db": {"cpus": 64}})
    preflight.check_cpus(env.context(), _stack(env, "shop"))
    env.engines[LOCAL].cpus = 2
    with pytest.raises(RuntimeError, match=r"db.cpus=64: host local has 2 CPUs"):
        preflight.check_cpus(env.context(), _stack(env, "shop"))
