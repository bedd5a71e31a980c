"""Readable project refs for `create` without a ref, like ``brave-otter-4821``.

A ref becomes part of container, network and host names, so it must be a DNS label
(``components.naming.REF_PATTERN``) and must not collide with a ref already in use.
"""

from __future__ import annotations

import random
from collections.abc import Container

from automation.errors import FleetError
from components.naming import REF_PATTERN

ADJECTIVES = (
    "amber", "ancient", "autumn", "bold", "brave", "bright", "calm", "clever", "cosmic",
    "crimson", "curious", "daring", "dawn", "eager", "early", "fancy", "gentle", "golden",
    "grand", "happy", "hidden", "humble", "icy", "jolly", "keen", "kind", "lively", "lucky",
    "mellow", "misty", "noble", "odd", "patient", "polite", "proud", "quick", "quiet",
    "rapid", "rustic", "shiny", "silent", "silver", "solar", "steady", "swift", "tidy",
    "vivid", "wandering", "warm", "wild", "wise", "young", "zesty",
)  # fmt: skip
NOUNS = (
    "anchor", "badger", "beacon", "birch", "breeze", "brook", "canyon", "cedar", "comet",
    "coral", "crane", "delta", "dune", "eagle", "ember", "falcon", "fern", "fjord", "forest",
    "glacier", "harbor", "hawk", "heron", "island", "lagoon", "lark", "maple", "meadow",
    "mesa", "moon", "orbit", "otter", "owl", "panda", "pebble", "pine", "planet", "prairie",
    "raven", "reef", "river", "robin", "sparrow", "spruce", "summit", "thunder", "tiger",
    "valley", "willow", "wolf", "zephyr",
)  # fmt: skip
#: Enough tries that a collision streak is practically impossible unless the space is full.
MAX_TRIES = 1000


def generate_ref(taken: Container[str], rng: random.Random | None = None) -> str:
    """A new ``adjective-noun-NNNN`` ref that is a valid DNS label and not in ``taken``."""
    rng = rng or random.SystemRandom()
    for _ in range(MAX_TRIES):
        ref = f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}-{rng.randrange(10000):04d}"
        if REF_PATTERN.match(ref) and ref not in taken:
            return ref
    raise FleetError(
        f"could not find a free ref in {MAX_TRIES} tries; give one explicitly: "
        "`supabase-fleet create <ref>`"
    )


def check_ref(ref: str) -> str:
    """Return ``ref`` if it is a valid project ref, else raise a FleetError saying why."""
    if not REF_PATTERN.match(ref):
        raise FleetError(
            f"invalid ref {ref!r}: a ref is a DNS label, 1 to 63 lowercase letters, digits "
            "and hyphens, with no hyphen at either end (for example `shop-prod`)"
        )
    return ref
