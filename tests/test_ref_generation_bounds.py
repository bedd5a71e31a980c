"""Generated refs at the edges of their random parts, and what a full name space tells."""

from __future__ import annotations

import random

import pytest

from automation.errors import FleetError
from automation.names import ADJECTIVES, NOUNS, check_ref, generate_ref


class Highest(random.Random):
    """Always picks the last word and the highest number the generator may ask for."""

    def choice(self, seq):  # type: ignore[override]
        return seq[-1]

    def randrange(self, *args: int) -> int:  # type: ignore[override]
        return range(*args)[-1]


def test_the_highest_number_still_has_four_digits() -> None:
    ref = generate_ref(set(), Highest())
    assert ref == f"{ADJECTIVES[-1]}-{NOUNS[-1]}-9999"


def test_a_full_name_space_tells_how_to_name_the_project() -> None:
    class Everything:
        def __contains__(self, item: object) -> bool:
            return True

    with pytest.raises(FleetError) as raised:
        generate_ref(Everything(), random.Random(3))
    assert str(raised.value).endswith("give one explicitly: `supabase-fleet create <ref>`")


def test_an_invalid_ref_is_explained_with_an_example() -> None:
    with pytest.raises(FleetError) as raised:
        check_ref("Shop_1")
    message = str(raised.value)
    assert message.startswith("invalid ref 'Shop_1': a ref is a DNS label")
    assert message.endswith("with no hyphen at either end (for example `shop-prod`)")
    assert check_ref("shop-prod") == "shop-prod"  # the example given is itself valid
