"""Port claims read from stack files, and the slot range's last block."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.errors import FleetError
from automation.slots import PortClaim, blocked_slots, lowest_free_slot, slot_of_port
from automation.stackfiles import StackFile, new_stack_data
from components.ports import MAX_SLOT, PORT_BASE, SLOT_WIDTH, slot_ports


def test_a_claim_carries_the_stack_s_ref_slot_and_overrides() -> None:
    data = new_stack_data({"portSlot": "4", "ports": '{"kongHttp": "8100"}'})
    claim = PortClaim.of(StackFile("shop", Path("Pulumi.shop.yaml"), data))
    assert claim == PortClaim(ref="shop", slot=4, overrides={"kongHttp": 8100})


def test_a_stack_with_an_unusable_slot_is_named_when_slots_are_counted() -> None:
    broken = StackFile("blog", Path("Pulumi.blog.yaml"), new_stack_data({"portSlot": "x"}))
    with pytest.raises(FleetError) as raised:
        blocked_slots([PortClaim.of(broken)])
    message = str(raised.value)
    assert message.startswith("project 'blog' has an unusable port setting (portSlot must")
    assert message.endswith("fix its stack file first, the free slots cannot be known until then")


def test_every_port_of_the_last_slot_belongs_to_it() -> None:
    for port in slot_ports(MAX_SLOT).by_setting().values():
        assert slot_of_port(port) == MAX_SLOT
    past_the_end = max(slot_ports(MAX_SLOT).by_setting().values()) + 10
    assert slot_of_port(past_the_end) is None


def test_an_override_into_the_last_slot_blocks_it() -> None:
    last_http = slot_ports(MAX_SLOT).kong_http
    claim = PortClaim(
        ref="odd", slot=None, overrides={"kongHttp": last_http, "kongHttps": 443, "postgres": 5432}
    )
    assert blocked_slots([claim]) == {MAX_SLOT}


def test_a_full_range_names_the_first_and_last_host_port_of_the_slots() -> None:
    last_port = PORT_BASE + MAX_SLOT * SLOT_WIDTH + SLOT_WIDTH - 1  # end of the last block
    with pytest.raises(FleetError) as raised:
        lowest_free_slot(range(MAX_SLOT + 1))
    assert str(raised.value) == (
        f"no free port slot: all slots 0 to {MAX_SLOT} (host ports {PORT_BASE} to "
        f"{last_port}) are in use; delete a project or give the new one explicit ports "
        "under `supabase:ports:`"
    )
    assert lowest_free_slot(range(MAX_SLOT)) == MAX_SLOT
