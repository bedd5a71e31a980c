"""Generated refs at the edges of their random parts, and what a full name space tells."""

from __future__ import annotations

import random

import pytest

from automation.errors import FleetError
from automation.names import ADJECTIVES, NOUNS, generate_ref


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
