"""A reviewer's probes of the fleet (issue 6): each was let through, or hung, before."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleet_env import Env

from automation.errors import FleetError
from automation.inventory import MAX_CAPACITY, parse_inventory


def _certs(tmp_path: Path) -> str:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    return str(tmp_path)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ({"url": "ssh://-oProxyCommand=touch"}, "must not have a host or user starting with '-'"),
        ({"url": "ssh://deploy@-engine"}, "must not have a host or user starting with '-'"),
        ({"url": "ssh://%2DoProxyCommand=x@engine"}, "must have an ssh user"),
        ({"url": "ssh://engine -p 2222"}, "without spaces or control characters"),
        ({"url": "ssh://engine\n"}, "without spaces or control characters"),
        ({"url": "unix://run/docker.sock"}, "a unix socket takes an absolute path"),
        ({"url": "ssh://engine", "socketPath": "run/docker.sock"}, "socketPath 'run/docker"),
        ({"url": "ssh://engine", "socketPath": "/run/d.sock:ro"}, "must be an absolute path"),
        ({"url": "ssh://engine", "certPath": ["x"]}, "`certPath` must be a path string"),
        ({"url": "ssh://engine", "capacity": MAX_CAPACITY + 1}, "from 0 to 1276"),
        ({"url": "ssh://engine", "capacity": -1}, "`capacity` must be a whole number"),
        ({"url": "ssh://engine", "name": "eu 1\n"}, "`name` 'eu 1\\n' must be printable"),
        ({"url": "ssh://engine", "capcity": 3}, "did you mean `capacity` for `capcity`?"),
        ({"url": "ssh://engine", "certpath": "/x"}, "did you mean `certPath`"),
    ],
)
def test_bad_inventory_entries_are_refused_naming_the_entry(host: dict, expected: str) -> None:
    entry = {"name": "eu-1", "capacity": 5, **host}
    with pytest.raises(FleetError) as raised:
        parse_inventory({"hosts": [entry]}, source="hosts.yaml", base_dir=Path("/"))
    assert str(raised.value).startswith("hosts.yaml: hosts[0]: ")
    assert expected in str(raised.value)


def test_tcp_over_ipv6_with_tls_material_is_a_good_inventory_entry(tmp_path: Path) -> None:
    entry = {"name": "v6", "url": "tcp://[2001:db8::7]:2376", "capacity": 0}
    entry["certPath"] = _certs(tmp_path)
    (spec,) = parse_inventory({"hosts": [entry]}, source="hosts.yaml", base_dir=tmp_path)
    assert (spec.url, spec.capacity) == ("tcp://[2001:db8::7]:2376", 0)


def test_a_stack_file_engine_with_ssh_options_is_flagged_by_list(env: Env) -> None:
    env.write_stack("shop", portSlot=0, dockerHost="ssh://-oProxyCommand=x")
    env.main("list")
    assert "must not have a host or user starting with '-'" in env.out.getvalue()


@pytest.mark.parametrize(("verb", "done"), [("pause", "paused"), ("resume", "resumed")])
def test_pause_and_resume_refuse_a_stack_the_backend_does_not_hold(
    env: Env, verb: str, done: str, capsys: pytest.CaptureFixture[str]
) -> None:
    env.write_stack("shop", portSlot=0)
    before = (env.stacks_dir / "Pulumi.shop.yaml").read_text()
    assert env.main(verb, "shop") == 2
    err = capsys.readouterr().err
    assert f"holds no stack shop; nothing was {done}" in err
    assert "run `supabase-fleet up shop` first" in err
    assert env.calls == []
    assert (env.stacks_dir / "Pulumi.shop.yaml").read_text() == before


def test_pause_still_works_on_a_deployed_stack(env: Env) -> None:
    env.write_stack("shop", portSlot=0)
    env.deployed("shop")
    assert env.main("pause", "shop") == 0
    assert "paused" in env.out.getvalue()


@pytest.mark.parametrize(
    ("argv", "room"),
    [(["create", "--count", "100000"], 20), (["create", "--count", "3", "--host", "local"], 2)],
)
def test_more_projects_than_the_hosts_hold_are_refused_before_any_plan(
    env: Env, argv: list[str], room: int, capsys: pytest.CaptureFixture[str]
) -> None:
    if room == 2:
        for slot in range(18):
            env.write_stack(f"p{slot}", portSlot=slot)
    assert env.main(*argv) == 2
    err = capsys.readouterr().err
    assert f"no room for {argv[2]} new projects: the hosts have room for {room}" in err
    assert env.calls == []


@pytest.mark.parametrize("ref", ["Shop Now", "shop\n", ["shop"], {"x": 1}, True, "-shop"])
def test_a_stack_file_whose_ref_is_no_ref_is_flagged_not_shown_as_a_project(
    env: Env, ref: object
) -> None:
    env.write_stack("shop", portSlot=0, ref=ref)
    env.write_stack("other", portSlot=1)
    env.main("list")
    out = env.out.getvalue()
    assert "`supabase:ref`" in out and "is not a valid project ref" in out
    assert "pulumi config set ref <ref>" in out
    assert "other" in out  # the rest of the fleet still lists


def test_a_numeric_ref_reads_as_pulumi_reads_it(env: Env) -> None:
    env.write_stack("shop", portSlot=0, ref=7)
    env.main("list")
    assert "not a valid project ref" not in env.out.getvalue()


def test_a_stack_file_with_a_key_twice_is_flagged_as_pulumi_refuses_it(env: Env) -> None:
    path = env.stacks_dir / "Pulumi.shop.yaml"
    path.write_text("config:\n  supabase:portSlot: 1\n  supabase:portSlot: 2\n")
    env.main("list")
    assert "key 'supabase:portSlot' appears twice" in env.out.getvalue()
