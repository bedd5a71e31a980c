"""Pytest plugin that keeps only the fast, pure tests (``-p fast_only``).

The mutation run (scripts/mutation.py) reruns tests for every mutant, so it must not start
dockerd, sshd or a PostgreSQL cluster. A test is real-engine when it asks, directly or
through another fixture, for one of the fixtures below; those are deselected, not skipped,
so the run's summary shows what was left out.
"""

from __future__ import annotations

import os

import pytest

# Loaded with this plugin so the mutation run's test map is right (see its docstring).
pytest_plugins = ["mutmut_fixture_stats"]

# Fixtures that start a real process: private dockerd engines (tests/conftest.py) and the
# throwaway PostgreSQL cluster of tests/test_render_database.py.
REAL_ENGINE_FIXTURES = frozenset({"private_engines", "engine_a", "engine_b", "cluster"})


def is_real_engine(item: pytest.Item) -> bool:
    """Whether the test needs a real engine (any fixture in its closure starts one)."""
    return not REAL_ENGINE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))


#: Tests that cannot run on mutmut's instrumented code: they compare method signatures, and
#: mutmut replaces every method by a trampoline. Left out only under mutmut.
MUTMUT_INCOMPATIBLE = frozenset({"test_the_fake_engine_keeps_the_real_engine_signatures"})


def is_left_out(item: pytest.Item) -> bool:
    under_mutmut = "MUTANT_UNDER_TEST" in os.environ
    return is_real_engine(item) or (under_mutmut and item.name in MUTMUT_INCOMPATIBLE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    real = [item for item in items if is_left_out(item)]
    if real:
        config.hook.pytest_deselected(items=real)
        items[:] = [item for item in items if not is_left_out(item)]
