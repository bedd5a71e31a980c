"""The port slot allocator: no collisions, lowest free slot first, a clear full-range error."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.errors import FleetError
from automation.slots import PortClaim, blocked_slots, lowest_free_slot
from automation.stackfiles import list_stacks, write_new_stack
from components.ports import MAX_SLOT, slot_ports


def claim(ref: str, slot: object, **overrides: object) -> PortClaim:
    return PortClaim(ref=ref, slot=slot, overrides=dict(overrides))


def _allocate(claims) -> int:
    """The slot placement gives a new project, as automation.placement asks for it."""
    return lowest_free_slot(blocked_slots(claims))


def test_a_thousand_projects_get_distinct_slots_and_ports() -> None:
    claims: list[PortClaim] = []
    slots: list[int] = []
    blocked: set[int] = set()
    for index in range(1000):
        # What `create` does per project, kept incremental so the test stays fast.
        slots.append(lowest_free_slot(blocked))
        claims.append(claim(f"p{index}", slots[-1]))
        blocked |= blocked_slots(claims[-1:])
    assert blocked == blocked_slots(claims)
    assert len(set(slots)) == 1000
    ports = {port for slot in slots for port in slot_ports(slot).by_setting().values()}
    assert len(ports) == 3000
    assert _allocate(claims) == 1000


def test_freed_slots_are_reused_lowest_first() -> None:
    claims = [claim(f"p{slot}", slot) for slot in range(10)]
    remaining = [c for c in claims if c.slot not in (3, 7)]
    first = _allocate(remaining)
    assert first == 3
    remaining.append(claim("new-a", first))
    second = _allocate(remaining)
    assert second == 7
    remaining.append(claim("new-b", second))
    assert _allocate(remaining) == 10


def test_ports_taken_by_overrides_block_their_slot() -> None:
    # A project with no slot whose overrides land in slot 0's and slot 2's blocks.
    claims = [claim("custom", None, kongHttp=20000, kongHttps=20025, postgres=5432)]
    assert blocked_slots(claims) == {0, 2}
    assert _allocate(claims) == 1


def test_a_reserved_offset_in_a_block_blocks_the_slot_too() -> None:
    claims = [claim("a", 0, postgres=20019)]  # offset 9 of slot 1's block
    assert blocked_slots(claims) == {0, 1}
    assert _allocate(claims) == 2


def test_a_slot_stays_used_when_all_its_ports_are_overridden() -> None:
    claims = [claim("a", 0, kongHttp=8000, kongHttps=8443, postgres=5432)]
    assert _allocate(claims) == 1


def test_ports_outside_the_slot_range_block_nothing() -> None:
    assert blocked_slots([claim("a", None, kongHttp=80, kongHttps=443, postgres=40000)]) == set()


def test_exhausted_range_is_reported_clearly() -> None:
    claims = [claim(f"p{slot}", slot) for slot in range(MAX_SLOT + 1)]
    with pytest.raises(FleetError, match=rf"no free port slot: all slots 0 to {MAX_SLOT}"):
        _allocate(claims)


def test_lowest_free_slot_skips_blocked() -> None:
    assert lowest_free_slot({0, 1, 2, 4}) == 3


def test_an_unusable_stack_is_named() -> None:
    with pytest.raises(FleetError, match="project 'broken'.*portSlot"):
        _allocate([claim("broken", 99999)])


def test_claims_from_stack_files_including_cli_strings(tmp_path: Path) -> None:
    write_new_stack(tmp_path, "a", {"portSlot": 0})
    write_new_stack(tmp_path, "b", {"portSlot": "1"})  # as `pulumi config set` writes it
    write_new_stack(tmp_path, "c", {"ports": {"kongHttp": 20020, "kongHttps": 1, "postgres": 2}})
    claims = [PortClaim.of(stack) for stack in list_stacks(tmp_path)]
    assert _allocate(claims) == 3
