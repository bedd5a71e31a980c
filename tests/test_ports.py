"""The port plan: every slot owns its own block, and the seed's overlap cannot recur."""

from __future__ import annotations

import pytest

from components.ports import (
    MAX_SLOT,
    PORT_BASE,
    SLOT_WIDTH,
    PortPlanError,
    plan_ports,
    slot_ports,
)


def test_every_slot_has_ports_no_other_slot_has() -> None:
    seen: dict[int, int] = {}
    for slot in range(MAX_SLOT + 1):
        for port in slot_ports(slot).by_setting().values():
            assert port not in seen, f"slot {slot} and slot {seen[port]} share {port}"
            seen[port] = slot
    assert len(seen) == 3 * (MAX_SLOT + 1)


def test_next_slot_http_is_not_this_slot_https() -> None:
    for slot in range(MAX_SLOT):
        assert slot_ports(slot + 1).kong_http != slot_ports(slot).kong_https


def test_plan_stays_below_the_ephemeral_range() -> None:
    assert PORT_BASE >= 1024
    assert max(slot_ports(MAX_SLOT).by_setting().values()) < 32768
    assert PORT_BASE + (MAX_SLOT + 1) * SLOT_WIDTH > 32768 - SLOT_WIDTH


def test_slot_layout() -> None:
    assert slot_ports(0).by_setting() == {"kongHttp": 20000, "kongHttps": 20001, "postgres": 20002}
    assert slot_ports(7).by_setting() == {"kongHttp": 20070, "kongHttps": 20071, "postgres": 20072}


@pytest.mark.parametrize("slot", [-1, MAX_SLOT + 1, True, 1.0, "2"])
def test_bad_slots(slot: object) -> None:
    with pytest.raises(PortPlanError, match="portSlot"):
        slot_ports(slot)  # type: ignore[arg-type]


def test_overrides_replace_single_ports_and_clashes_are_named() -> None:
    assert plan_ports(2, {"kongHttp": 8000}).kong_http == 8000
    assert plan_ports(2, {"kongHttp": 8000}).postgres == 20022
    with pytest.raises(PortPlanError, match="kongHttp and kongHttps both use 8000"):
        plan_ports(None, {"kongHttp": 8000, "kongHttps": 8000, "postgres": 5432})


def test_a_release_publishes_only_its_own_ports() -> None:
    names = ("kongHttp", "kongHttps", "poolerSession", "poolerTransaction")
    assert slot_ports(3, names).by_setting() == {
        "kongHttp": 20030,
        "kongHttps": 20031,
        "poolerSession": 20033,
        "poolerTransaction": 20034,
    }
    assert slot_ports(3, names).postgres is None
    with pytest.raises(PortPlanError, match=r"unknown entries \['postgres'\]"):
        plan_ports(3, {"postgres": 5432}, names)


@pytest.mark.parametrize("port", [0, 65536, True, 80.0, "80"])
def test_override_ports_are_whole_numbers_in_range(port: object) -> None:
    with pytest.raises(PortPlanError, match="pulumi config set --path 'ports.kongHttp' <port>"):
        plan_ports(0, {"kongHttp": port})


def test_a_clash_says_how_to_fix_it() -> None:
    with pytest.raises(PortPlanError, match="pulumi config set --path 'ports.<name>' <port>"):
        plan_ports(0, {"postgres": 20000})
