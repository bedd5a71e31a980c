"""Stack files as the fleet reads and writes them: what Pulumi's CLI leaves there, and
what the fleet keeps when it changes one setting."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import yaml
from ruamel.yaml.representer import RepresenterError

from automation.errors import FleetError
from automation.stackfiles import (
    StackFile,
    list_stacks,
    read_stack,
    set_setting,
    stack_path,
    write_new_stack,
)


def stack(config: object, ref: str = "shop") -> StackFile:
    return StackFile(name=ref, path=Path(f"stacks/Pulumi.{ref}.yaml"), data={"config": config})


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def test_a_stack_file_is_named_after_pulumi_s_convention(tmp_path: Path) -> None:
    assert stack_path(tmp_path, "shop-2") == tmp_path / "Pulumi.shop-2.yaml"


def test_listing_finds_only_stack_files_and_takes_the_ref_from_the_name(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.yaml", "name: supabase\n")  # the project file, not a stack
    write(tmp_path, "Pulumi.blog.yaml", "config:\n  supabase:portSlot: 1\n")
    write(tmp_path, "Pulumi.a-b.yaml", "")
    write(tmp_path, "notes.yaml", "config: {}\n")
    write(tmp_path, "Pulumi.shop.yml", "config: {}\n")
    found = list_stacks(tmp_path)
    assert [s.ref for s in found] == ["a-b", "blog"]
    assert [s.path.name for s in found] == ["Pulumi.a-b.yaml", "Pulumi.blog.yaml"]
    assert found[0].data == {}  # an empty file is a stack without settings
    assert found[1].port_slot == 1


def test_a_missing_stacks_folder_holds_no_stacks(tmp_path: Path) -> None:
    assert list_stacks(tmp_path / "nowhere") == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("config: [unclosed\n", "is not valid YAML"),
        ("- a list\n", "must hold a mapping with a `config:` mapping"),
        ("config: [a, b]\n", "must hold a mapping with a `config:` mapping"),
    ],
)
def test_a_broken_stack_file_is_named_in_the_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "Pulumi.bad.yaml", text)
    with pytest.raises(FleetError, match=message) as raised:
        list_stacks(tmp_path)
    assert str(raised.value).startswith(str(path))


def test_reading_an_unknown_ref_names_the_missing_file(tmp_path: Path) -> None:
    write(tmp_path, "Pulumi.blog.yaml", "config: {}\n")
    with pytest.raises(FleetError) as raised:
        read_stack(tmp_path, "shop")
    assert str(raised.value) == f"unknown project 'shop': no {tmp_path / 'Pulumi.shop.yaml'}"
    assert read_stack(tmp_path, "blog").ref == "blog"


def test_reading_an_invalid_ref_fails_before_touching_files(tmp_path: Path) -> None:
    with pytest.raises(FleetError, match="invalid ref"):
        read_stack(tmp_path, "../etc")


@pytest.mark.parametrize(
    ("written", "slot"),
    # Padded digits are not a number to the program either: shown as written (and such a file
    # is flagged on load, see test_fleet_stackfile_strict).
    [(3, 3), ("3", 3), (" 12 ", " 12 "), ("-1", "-1"), ("three", "three"), (None, None)],
)
def test_the_port_slot_reads_the_strings_pulumi_config_set_writes(
    written: object, slot: object
) -> None:
    config = {} if written is None else {"supabase:portSlot": written}
    assert stack(config).port_slot == slot


def test_port_overrides_read_as_yaml_or_as_the_cli_s_json_string() -> None:
    as_yaml = stack({"supabase:ports": {"kongHttp": "8100", "postgres": 5500}})
    assert as_yaml.port_overrides == {"kongHttp": 8100, "postgres": 5500}
    as_json = stack({"supabase:ports": json.dumps({"kongHttps": 8443})})
    assert as_json.port_overrides == {"kongHttps": 8443}
    assert stack({}).port_overrides == {}


@pytest.mark.parametrize(
    ("key", "value", "shape", "shown"),
    [
        ("ports", "[8000]", "a mapping", [8000]),  # the JSON is read, then found wrong
        ("ports", "not json", "a mapping", "not json"),
        ("exclude", {"studio": True}, "a list", {"studio": True}),
        ("exclude", "studio", "a list", "studio"),
    ],
)
def test_a_setting_of_the_wrong_shape_names_the_key_and_the_shape(
    key: str, value: object, shape: str, shown: object
) -> None:
    broken = stack({f"supabase:{key}": value})
    with pytest.raises(FleetError) as raised:
        getattr(broken, "port_overrides" if key == "ports" else key)
    assert str(raised.value) == f"{broken.path}: `supabase:{key}` must be {shape}, got {shown!r}"


def test_excluded_services_read_as_yaml_or_json() -> None:
    assert stack({"supabase:exclude": ["studio", "imgproxy"]}).exclude == ["studio", "imgproxy"]
    assert stack({"supabase:exclude": '["analytics"]'}).exclude == ["analytics"]
    assert stack({}).exclude == []


@pytest.mark.parametrize(
    ("written", "paused"),
    [("true", True), ("TRUE", True), ("false", False), ("yes", False), (True, True)],
)
def test_paused_reads_the_cli_s_boolean_strings(written: object, paused: bool) -> None:
    assert stack({"supabase:paused": written}).paused is paused


def test_an_unset_paused_is_false() -> None:
    assert stack({}).paused is False
    assert stack(None).paused is False


@pytest.mark.parametrize("key", ["dockerHost", "dockerCertPath", "dockerSocket"])
def test_docker_settings_are_none_unless_set(key: str) -> None:
    attribute = {
        "dockerHost": "docker_host",
        "dockerCertPath": "docker_cert_path",
        "dockerSocket": "docker_socket",
    }[key]
    assert getattr(stack({f"supabase:{key}": "tcp://h:2376"}), attribute) == "tcp://h:2376"
    assert getattr(stack({f"supabase:{key}": ""}), attribute) is None
    assert getattr(stack({"other:" + key: "x"}), attribute) is None


def test_a_config_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(FleetError, match="`config` must be a mapping"):
        stack(["supabase:portSlot"]).get("portSlot")


def test_a_new_stack_file_holds_the_settings_in_order_and_never_replaces_one(
    tmp_path: Path,
) -> None:
    stacks = tmp_path / "nested" / "stacks"
    path = write_new_stack(stacks, "shop", {"portSlot": 4, "dockerHost": "unix:///d.sock"})
    assert path == stacks / "Pulumi.shop.yaml"
    assert list(yaml.safe_load(path.read_text())["config"].items()) == [
        ("supabase:portSlot", 4),
        ("supabase:dockerHost", "unix:///d.sock"),
    ]
    assert stat.S_IMODE(path.stat().st_mode) & 0o700 == 0o600  # owner reads and writes
    before = path.read_text()
    with pytest.raises(FleetError, match=r"project 'shop' exists already"):
        write_new_stack(stacks, "shop", {"portSlot": 9})
    assert path.read_text() == before
    with pytest.raises(FleetError, match="invalid ref"):
        write_new_stack(stacks, "Shop", {})
    assert sorted(p.name for p in stacks.iterdir()) == ["Pulumi.shop.yaml"]


def test_setting_one_key_keeps_every_other_key_comments_and_the_file_mode(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        "Pulumi.shop.yaml",
        "encryptionsalt: v1:abc\n"
        "config:\n"
        "  # the slot the operator chose\n"
        "  supabase:portSlot: 2\n"
        "  supabase:jwtSecret:\n"
        "    secure: v1:xyz\n",
    )
    path.chmod(0o640)
    set_setting(tmp_path, "shop", "paused", True)
    on_disk = yaml.safe_load(path.read_text())
    assert on_disk == {
        "encryptionsalt": "v1:abc",
        "config": {
            "supabase:portSlot": 2,
            "supabase:jwtSecret": {"secure": "v1:xyz"},
            "supabase:paused": True,
        },
    }
    assert "# the slot the operator chose" in path.read_text()
    assert read_stack(tmp_path, "shop").paused is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["Pulumi.shop.yaml"]


def test_setting_a_key_in_an_empty_stack_file_makes_its_config(tmp_path: Path) -> None:
    path = write(tmp_path, "Pulumi.shop.yaml", "")
    set_setting(tmp_path, "shop", "portSlot", 7)
    assert yaml.safe_load(path.read_text()) == {"config": {"supabase:portSlot": 7}}


def test_a_failed_write_leaves_the_stack_file_and_no_temporary_file(tmp_path: Path) -> None:
    path = write(tmp_path, "Pulumi.shop.yaml", "config:\n  supabase:portSlot: 2\n")
    before = path.read_text()
    with pytest.raises(RepresenterError):
        set_setting(tmp_path, "shop", "paused", object())  # YAML cannot write it
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["Pulumi.shop.yaml"]
