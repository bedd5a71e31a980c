"""Real Docker engines for the engine tests: two private dockerd, one per "host".

Only fixtures that start engines live here; tests that mock Docker need none of it. The
engines start once per session on first use and never touch the machine's own Docker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from engines import PrivateDockerd, start_engines, stop_engines, unavailable_reason
from fleet_env import Env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Under CI a skipped test is a failed one: CI installs everything every test needs,
    so a skip there means a real-engine or real-Postgres check silently did not run."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (CI={os.environ['CI']}): {reason}"


@pytest.fixture(scope="session")
def private_engines() -> Iterator[list[PrivateDockerd]]:
    """Two private engines; skipped where dockerd cannot run, but a failure under CI."""
    reason = unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must be able to run the real-Docker tests: {reason}", pytrace=False)
        pytest.skip(reason)
    engines = start_engines(2)
    yield engines
    stop_engines(engines)


@pytest.fixture
def engine_a(private_engines: list[PrivateDockerd]) -> Iterator[PrivateDockerd]:
    """The first engine, emptied after the test."""
    yield private_engines[0]
    private_engines[0].clean()


@pytest.fixture
def engine_b(private_engines: list[PrivateDockerd]) -> Iterator[PrivateDockerd]:
    """The second engine, emptied after the test."""
    yield private_engines[1]
    private_engines[1].clean()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Env:
    """A fleet over a tmp project folder, the fake Pulumi backend and fake engines."""
    return Env(tmp_path, monkeypatch=monkeypatch)
