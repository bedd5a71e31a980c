"""The release-change guard: ``__main__.py`` reads its own stack's previous outputs and
refuses a change of Postgres major before registering anything of the project."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from pulumi_harness import run_main

from components import releases
from components.ports import slot_ports
from components.release_guard import ReleaseChangeError, check_release_change, deployed_release
from components.settings import Settings

#: What a 2024-04 project deployed before releases existed left as outputs (no ``release``).
LEGACY_OUTPUTS = {"ref": "shop", "apiUrl": "http://localhost:20000", "services": ["db"]}


def test_the_deployed_release_comes_from_the_previous_outputs() -> None:
    assert deployed_release({}) is None
    assert deployed_release(None) is None
    assert deployed_release(LEGACY_OUTPUTS) == "2024-04"
    assert deployed_release(LEGACY_OUTPUTS | {"release": "2026-09"}) == "2026-09"


def test_a_first_deploy_may_pick_any_release() -> None:
    result = run_main({"release": "2026-09", "portSlot": "0"}, stack="shop")
    assert "supavisor" in result.mocks.containers()
    assert result.outputs["release"] == "2026-09"
    (reference,) = [r for r in result.mocks.resources if r.typ.endswith("StackReference")]
    assert reference.inputs["name"] == "organization/supabase/shop"


def test_a_legacy_project_cannot_move_to_postgres_17(monkeypatch) -> None:
    recorded = []
    monkeypatch.setattr(
        "pulumi_harness.RecordingMocks.new_resource",
        _recording(recorded),
    )
    with pytest.raises(ReleaseChangeError) as refused:
        run_main(
            {"release": "2026-09", "portSlot": "0"}, stack="shop", previous_outputs=LEGACY_OUTPUTS
        )
    message = str(refused.value)
    for part in ("Postgres 17", "Postgres 15", "data directory", "back up", "pg_upgrade"):
        assert part in message, part
    assert 'release: "2024-04"' in message  # how to keep the project as it is
    assert [typ for typ in recorded if "StackReference" not in typ] == []


def test_a_2026_project_cannot_go_back_to_postgres_15() -> None:
    previous = LEGACY_OUTPUTS | {"release": "2026-09"}
    with pytest.raises(ReleaseChangeError, match="Postgres 15 server will not start"):
        run_main({"portSlot": "0"}, stack="shop", previous_outputs=previous)


def test_an_unknown_deployed_release_is_refused() -> None:
    previous = LEGACY_OUTPUTS | {"release": "2031-01"}
    with pytest.raises(ReleaseChangeError, match="does not know"):
        run_main({"release": "2026-09", "portSlot": "0"}, stack="shop", previous_outputs=previous)


def test_the_same_release_deploys_again() -> None:
    result = run_main({"portSlot": "0"}, stack="shop", previous_outputs=LEGACY_OUTPUTS)
    assert "kong" in result.mocks.containers()
    assert result.outputs["release"] == "2024-04"


def test_a_change_within_a_postgres_major_goes_through(monkeypatch) -> None:
    """A later release on the same Postgres major is an ordinary update, not a refusal."""
    later = replace(releases.RELEASES["2026-09"], name="2026-12", based_on="2026-09")
    monkeypatch.setitem(releases.RELEASES, "2026-12", later)
    settings = Settings(ref="shop", ports=slot_ports(0), release="2026-12", gateway="envoy")
    check_release_change("2026-09", settings)  # no error
    older = replace(settings, release="2024-04", gateway="kong")
    with pytest.raises(ReleaseChangeError, match="Postgres 15"):
        check_release_change("2026-12", older)


def _recording(recorded: list[str]):
    from pulumi_harness import RecordingMocks

    original = RecordingMocks.new_resource

    def new_resource(self, args):
        recorded.append(args.typ)
        return original(self, args)

    return new_resource


def _settings(release: str) -> Settings:
    names = releases.RELEASES[release].port_names
    gateway = releases.RELEASES[release].default_gateway
    return Settings(ref="shop", ports=slot_ports(0, names), release=release, gateway=gateway)


def test_a_refusal_says_how_to_move_the_data_and_where_to_read_more() -> None:
    with pytest.raises(ReleaseChangeError) as refused:
        check_release_change("2024-04", _settings("2026-09"))
    message = str(refused.value)
    for part in (
        'create a new project with `release: "2026-09"`, restore into it and repoint '
        "clients, then delete the old project",
        "upgrade the data directory yourself with pg_upgrade (both Postgres versions' "
        "binaries, the project stopped) before changing the release",
        "See README, 'Upgrading Postgres'.",
    ):
        assert part in message, part
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert re.search(r"^#+ Upgrading Postgres", readme, re.MULTILINE)


def test_an_unknown_deployed_release_names_it_and_changes_nothing() -> None:
    with pytest.raises(ReleaseChangeError) as refused:
        check_release_change("2031-01", _settings("2026-09"))
    message = str(refused.value)
    assert "project 'shop' was deployed with release '2031-01'" in message
    assert message.endswith(
        "without knowing which Postgres version its data directory holds. Nothing was changed."
    )


@pytest.mark.parametrize(
    ("engine_says", "organization"), [("acme", "acme"), (None, "organization")]
)
def test_the_guard_reads_its_own_stack_in_the_engines_organization(
    monkeypatch, engine_says: str | None, organization: str
) -> None:
    """The diy backend reports no organization; its stacks live under ``organization``."""
    monkeypatch.setattr("components.release_guard.pulumi.get_organization", lambda: engine_says)
    result = run_main({"portSlot": "0"}, stack="shop")
    (reference,) = [r for r in result.mocks.resources if r.typ.endswith("StackReference")]
    assert reference.name == "shop-deployed"
    assert reference.inputs["name"] == f"{organization}/supabase/shop"
