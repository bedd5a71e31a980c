"""The order of an in-place restore: what is stopped, loaded and started, and what it says.

The load itself runs on a real engine in tests/test_backups_engine.py; here the project is a
recorder, so every branch (running, paused, failed load, no confirmation) is checked fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from automation.backups import restore as restore_module
from automation.errors import FleetError

MANIFEST = SimpleNamespace(id="20261128T101500Z-shop")


@dataclass
class RecordingProject:
    ref: str
    paused: bool
    events: list[str] = field(default_factory=list)

    @property
    def stack(self) -> SimpleNamespace:
        return SimpleNamespace(paused=self.paused)

    def set_paused(self, paused: bool, report) -> None:
        self.paused = paused
        self.events.append("pause" if paused else "start")

    def wait_active(self) -> None:
        self.events.append("wait")


@pytest.fixture
def loads(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []

    def load_data(project, target, manifest, key, report) -> None:
        calls.append((project.ref, project.paused, manifest.id))
        project.events.append("load")

    monkeypatch.setattr(restore_module, "load_data", load_data)
    return calls


def run(project: RecordingProject, *, confirm: bool = True) -> str:
    return restore_module.restore(
        project, "target", MANIFEST, "key", lambda _line: None, lambda _q: confirm, checked=True
    )


def test_a_running_project_is_stopped_for_the_load_and_started_again(loads) -> None:
    project = RecordingProject("shop", paused=False)
    assert run(project) == f"restored from {MANIFEST.id}; ACTIVE"
    assert project.events == ["pause", "load", "start", "wait"]
    assert loads == [("shop", True, MANIFEST.id)]  # loaded while stopped


def test_a_paused_project_is_loaded_and_stays_paused(loads) -> None:
    project = RecordingProject("shop", paused=True)
    summary = run(project)
    assert summary.startswith(f"restored from {MANIFEST.id}; PAUSED as before")
    assert "`supabase-fleet resume shop`" in summary
    assert project.events == ["load"]
    assert project.paused


def test_a_failed_load_leaves_the_project_paused_and_says_how_to_finish(monkeypatch) -> None:
    def broken(*args) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(restore_module, "load_data", broken)
    project = RecordingProject("shop", paused=False)
    with pytest.raises(RuntimeError) as error:
        run(project)
    assert str(error.value).startswith("disk full; the project stays paused")
    assert "run the same restore again" in str(error.value)
    assert project.events == ["pause"] and project.paused


def test_nothing_happens_without_a_confirmation(loads) -> None:
    project = RecordingProject("shop", paused=False)
    with pytest.raises(FleetError, match=r"nothing restored \(confirm, or pass --yes\)"):
        run(project, confirm=False)
    assert project.events == [] and loads == []
