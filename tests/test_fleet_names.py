"""Generated refs are readable DNS labels that never collide with a ref in use."""

from __future__ import annotations

import random

import pytest

from automation.errors import FleetError
from automation.names import check_ref, generate_ref
from components.naming import REF_PATTERN


class Everything:
    """A `taken` set that holds every ref."""

    def __contains__(self, item: object) -> bool:
        return True


def test_generated_refs_are_valid_and_readable() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        ref = generate_ref(set(), rng)
        assert REF_PATTERN.match(ref)
        adjective, noun, number = ref.split("-")
        assert adjective.isalpha() and noun.isalpha()
        assert len(number) == 4 and number.isdigit()


def test_generated_refs_avoid_taken_ones() -> None:
    taken: set[str] = set()
    rng = random.Random(7)
    for _ in range(3000):
        ref = generate_ref(taken, rng)
        assert ref not in taken
        taken.add(ref)


def test_a_full_name_space_is_reported() -> None:
    with pytest.raises(FleetError, match="give one explicitly"):
        generate_ref(Everything(), random.Random(0))


@pytest.mark.parametrize("ref", ["shop", "shop-prod", "a", "a1", "x" * 63])
def test_valid_refs(ref: str) -> None:
    assert check_ref(ref) == ref


@pytest.mark.parametrize("ref", ["", "-shop", "shop-", "Shop", "shop_prod", "x" * 64, "a.b"])
def test_invalid_refs_say_what_a_ref_is(ref: str) -> None:
    with pytest.raises(FleetError, match="DNS label"):
        check_ref(ref)
