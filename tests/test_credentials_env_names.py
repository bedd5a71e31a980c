"""Credentials under upstream's .env names, the older-release note, and private file writes."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from automation import releases
from automation.errors import FleetError
from components.releases import NEWEST_RELEASE, RELEASES

OUTPUTS = {
    "apiUrl": "https://shop.example.com",
    "anonKey": "anon.jwt",
    "serviceRoleKey": "service.jwt",
    "jwtSecret": "s3cret",
    "dashboardUsername": "supabase",
    "dashboardPassword": "pw",
    "dbUrl": "postgresql://postgres:db%pw@db.example.com:54322/postgres",
    "poolerTransactionUrl": "postgresql://postgres.shop:x@db.example.com:6543/postgres",
    "notACredential": "ignored",
    "publishableKey": None,
}


def test_outputs_become_upstreams_env_names():
    values = releases.credential_env("shop", OUTPUTS)
    assert values == {
        "SUPABASE_PUBLIC_URL": "https://shop.example.com",
        "API_EXTERNAL_URL": "https://shop.example.com",
        "ANON_KEY": "anon.jwt",
        "SERVICE_ROLE_KEY": "service.jwt",
        "JWT_SECRET": "s3cret",
        "DASHBOARD_USERNAME": "supabase",
        "DASHBOARD_PASSWORD": "pw",
        "POSTGRES_HOST": "db.example.com",
        "POSTGRES_PORT": "54322",
        "POSTGRES_DB": "postgres",
        "POSTGRES_PASSWORD": "db%pw",
        "POOLER_PROXY_PORT_TRANSACTION": "6543",
        "POOLER_TENANT_ID": "shop",
    }


def test_without_database_or_pooler_urls_only_the_keys_are_given():
    values = releases.credential_env(
        "shop", {"anonKey": 1, "dbUrl": "", "poolerTransactionUrl": ""}
    )
    assert values == {"ANON_KEY": "1"}
    bare = releases.credential_env("shop", {"dbUrl": "postgresql://h/db"})
    assert bare == {"POSTGRES_HOST": "h", "POSTGRES_PORT": "", "POSTGRES_DB": "db",
                    "POSTGRES_PASSWORD": ""}  # fmt: skip
    portless = releases.credential_env("x", {"poolerTransactionUrl": "postgresql://h/db"})
    assert portless == {"POOLER_PROXY_PORT_TRANSACTION": "", "POOLER_TENANT_ID": "x"}


def test_each_output_format_carries_the_same_values_in_order():
    values = {"B": "2", "A": "x=y #z", "C": "ünï"}
    assert releases.render_credentials(values, "env") == "B=2\nA=x=y #z\nC=ünï\n"
    as_json = releases.render_credentials(values, "json")
    assert as_json.endswith("}\n") and as_json.startswith("{\n  ")
    assert json.loads(as_json) == values
    as_yaml = releases.render_credentials(values, "yaml")
    assert yaml.safe_load(as_yaml) == values
    assert list(yaml.safe_load(as_yaml)) == ["B", "A", "C"]  # not sorted
    long = {"JWT_KEYS": "k" * 500}
    assert releases.render_credentials(long, "yaml").count("\n") == 1  # never folded
    assert releases.credentials_text("shop", {"anonKey": "a"}, "env") == "ANON_KEY=a\n"


def test_unknown_output_and_line_breaks_are_refused_by_name():
    with pytest.raises(FleetError) as error:
        releases.render_credentials({}, "toml")
    assert str(error.value) == "--output must be one of ['text', 'env', 'json', 'yaml'], got 'toml'"
    with pytest.raises(FleetError) as error:
        releases.render_credentials({"OK": "a", "JWT_KEYS": "a\nb"}, "env")
    assert str(error.value) == "JWT_KEYS holds a line break and cannot go into a .env file"
    assert json.loads(releases.render_credentials({"K": "a\nb"}, "json")) == {"K": "a\nb"}


def test_release_names_are_checked_against_the_known_ones():
    for name in RELEASES:
        assert releases.check_release(name) == name
    with pytest.raises(FleetError) as error:
        releases.check_release("2025-01")
    assert str(error.value) == (
        f"release '2025-01' is not known; the releases are {sorted(RELEASES)}"
    )


def test_older_release_note_says_how_to_move():
    newest = RELEASES[NEWEST_RELEASE]
    assert releases.older_release_note(newest) is None
    for release in RELEASES.values():
        if release.name == NEWEST_RELEASE:
            continue
        note = releases.older_release_note(release)
        assert note.startswith(f"on release {release.name}; the newest is {newest.name}: to move, ")
        if release.postgres_major != newest.postgres_major:
            assert note.endswith(
                "a new project is needed (back up, create with the new release, restore; "
                "README: Upgrading Postgres)"
            )
        else:
            assert note.endswith(f'set `release: "{newest.name}"` in its stack file and run up')


def test_same_major_release_is_moved_by_the_stack_file():
    newest = RELEASES[NEWEST_RELEASE]
    older = RELEASES[min(RELEASES)]
    same_major = replace(older, name="2020-01", postgres_major=newest.postgres_major)
    note = releases.older_release_note(same_major)
    assert note == (
        f"on release 2020-01; the newest is {newest.name}: to move, "
        f'set `release: "{newest.name}"` in its stack file and run up'
    )


def test_private_write_is_owner_only_and_all_or_nothing(tmp_path: Path, monkeypatch):
    path = tmp_path / "creds.env"
    path.write_text("old")
    path.chmod(0o644)
    releases.write_private(path, "NEW=1\n")
    assert path.read_text() == "NEW=1\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert os.listdir(tmp_path) == ["creds.env"]

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(releases.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        releases.write_private(path, "HALF=1\n")
    assert path.read_text() == "NEW=1\n"
    assert os.listdir(tmp_path) == ["creds.env"]  # the temporary is gone too
    monkeypatch.undo()

    monkeypatch.chdir(tmp_path)
    releases.write_private(Path("here.env"), "X=1\n")
    assert (tmp_path / "here.env").read_text() == "X=1\n"
