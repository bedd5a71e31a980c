"""The port plan at its edges: bounds of a port, partial overrides, other releases' ports, and
messages that name the setting and the fix."""

from __future__ import annotations

import pytest

from components.ports import (
    MAX_SLOT,
    PORT_BASE,
    PORT_OFFSETS,
    SLOT_WIDTH,
    HostPorts,
    PortPlanError,
    check_slot,
    plan_ports,
    slot_ports,
)

ALL_NAMES = tuple(PORT_OFFSETS)
POOLED = ("kongHttp", "kongHttps", "poolerSession", "poolerTransaction")


@pytest.mark.parametrize("port", [1, 65535])
def test_the_lowest_and_highest_ports_are_accepted(port: int) -> None:
    assert plan_ports(0, {"postgres": port}).postgres == port


@pytest.mark.parametrize("port", [0, 65536, -5, True, "5432", 5432.0, None])
def test_a_port_outside_1_to_65535_or_not_a_whole_number_is_refused(port: object) -> None:
    with pytest.raises(PortPlanError) as raised:
        plan_ports(0, {"postgres": port})
    message = str(raised.value)
    assert message.startswith(
        f"ports.postgres must be a whole number from 1 to 65535, got {port!r}; "
    )
    assert "ports.postgres' <port>`" in message  # the fix names the very entry


def test_unknown_port_names_are_listed_with_the_release_s_ports() -> None:
    with pytest.raises(PortPlanError) as raised:
        plan_ports(0, {"kongHTTP": 1, "pgbouncer": 2, "kongHttp": 3})
    assert str(raised.value) == (
        "ports has unknown entries ['kongHTTP', 'pgbouncer']; this release's ports are "
        "['kongHttp', 'kongHttps', 'postgres']"
    )


def test_a_release_s_own_port_names_are_the_known_ones() -> None:
    with pytest.raises(PortPlanError, match=r"unknown entries \['postgres'\]"):
        plan_ports(0, {"postgres": 5432}, POOLED)
    assert plan_ports(0, {"poolerSession": 6543}, POOLED).pooler_session == 6543


def test_a_release_publishes_only_its_ports_in_its_slot_s_block() -> None:
    slot = 3
    ports = plan_ports(slot, None, POOLED)
    assert ports.postgres is None
    assert sorted(ports.by_setting()) == sorted(POOLED)
    start = PORT_BASE + slot * SLOT_WIDTH
    assert ports.by_setting() == {name: start + PORT_OFFSETS[name] for name in POOLED}
    assert slot_ports(slot, POOLED) == ports


def test_every_offset_stays_inside_the_slot_s_block_and_differs() -> None:
    offsets = list(PORT_OFFSETS.values())
    assert len(set(offsets)) == len(offsets)
    assert all(0 <= offset < SLOT_WIDTH for offset in offsets)
    block = slot_ports(MAX_SLOT, ALL_NAMES).by_setting().values()
    assert max(block) <= PORT_BASE + (MAX_SLOT + 1) * SLOT_WIDTH - 1


def test_without_a_slot_every_port_must_be_given_and_the_missing_are_named() -> None:
    with pytest.raises(PortPlanError) as raised:
        plan_ports(None, {"kongHttp": 8000})
    message = str(raised.value)
    assert message.startswith("portSlot is not set; set it with `pulumi config set portSlot <N>`")
    assert f"(0 to {MAX_SLOT})" in message
    assert message.endswith("(missing: ['kongHttps', 'postgres'])")
    given = {"kongHttp": 8000, "kongHttps": 8443, "postgres": 5432}
    assert plan_ports(None, given) == HostPorts(kong_http=8000, kong_https=8443, postgres=5432)


def test_an_override_clashing_with_the_slot_s_own_port_is_named() -> None:
    own_https = slot_ports(5).kong_https
    with pytest.raises(PortPlanError) as raised:
        plan_ports(5, {"postgres": own_https})
    message = str(raised.value)
    assert message.startswith(f"ports clash: kongHttps and postgres both use {own_https}; ")
    assert "give each port its own number" in message


def test_every_clash_is_listed() -> None:
    with pytest.raises(PortPlanError) as raised:
        plan_ports(None, {"kongHttp": 1, "kongHttps": 1, "postgres": 1})
    assert "kongHttp and kongHttps and postgres both use 1;" in str(raised.value)


@pytest.mark.parametrize("slot", [0, MAX_SLOT])
def test_the_first_and_last_slots_are_usable(slot: int) -> None:
    assert check_slot(slot) == slot


def test_a_slot_out_of_range_says_the_range_and_the_ports_it_owns() -> None:
    with pytest.raises(PortPlanError) as raised:
        check_slot(MAX_SLOT + 1)
    assert str(raised.value) == (
        f"portSlot must be from 0 to {MAX_SLOT}, got {MAX_SLOT + 1}; fix it with "
        "`pulumi config set portSlot <N>` (each slot owns host ports "
        f"{PORT_BASE}+{SLOT_WIDTH}*N to {PORT_BASE}+{SLOT_WIDTH}*N+{SLOT_WIDTH - 1})"
    )


@pytest.mark.parametrize("slot", [True, "3", 2.0, None])
def test_a_slot_that_is_not_a_whole_number_names_the_fix(slot: object) -> None:
    with pytest.raises(PortPlanError) as raised:
        check_slot(slot)
    assert str(raised.value) == (
        f"portSlot must be a whole number from 0 to {MAX_SLOT}, got {slot!r}; "
        "fix it with `pulumi config set portSlot <N>`"
    )
