"""Pytest plugin for the mutation run: credit a shared fixture's calls to every test using it.

mutmut maps each function to the tests that call it, and reruns only those tests against
the function's mutants. It credits a call to the test during which it happened, so the work
of a module- or session-scoped fixture (a whole project built once under Pulumi mocks, then
read by twenty tests) is credited to the first test alone, and the other nineteen never run
against those mutants: survivors no test was asked about. This plugin records the functions
a shared fixture calls while it is set up and adds them to every test that uses it. It acts
only while mutmut collects its map (``MUTANT_UNDER_TEST=stats``); loaded by fast_only.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

#: Functions called while a shared fixture was set up, by fixture definition.
_CALLED_IN_SETUP: dict[int, set[str]] = {}


def _collecting() -> bool:
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef, request: pytest.FixtureRequest) -> Iterator:
    if not _collecting() or fixturedef.scope == "function":
        yield
        return
    from mutmut.state import state

    earlier, state()._stats = state()._stats, set()
    try:
        yield
    finally:
        called, state()._stats = state()._stats, earlier
        earlier |= called
        _CALLED_IN_SETUP.setdefault(id(fixturedef), set()).update(called)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Before mutmut reads this test's calls: add those of the shared fixtures it uses."""
    if not _collecting():
        return
    from mutmut.state import state

    for definitions in item._fixtureinfo.name2fixturedefs.values():
        for definition in definitions:
            state()._stats |= _CALLED_IN_SETUP.get(id(definition), set())
