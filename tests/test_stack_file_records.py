"""Stack files as the fleet reads and writes them: what Pulumi's CLI leaves there, and
what the fleet keeps when it changes one setting."""

from __future__ import annotations

import fcntl
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from ruamel.yaml.representer import RepresenterError

from automation.errors import FleetError
from automation.stackfiles import (
    Scan,
    StackFile,
    list_stacks,
    locked,
    read_file,
    read_stack,
    scan,
    set_setting,
    stack_path,
    write_new_stack,
)
from components.releases import DEFAULT_RELEASE, RELEASES


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
    blog = read_stack(tmp_path, "blog")
    assert (blog.name, blog.ref, blog.path) == ("blog", "blog", tmp_path / "Pulumi.blog.yaml")


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


def _read(directory: Path, text: str, name: str = "shop") -> StackFile:
    return read_file(write(directory, f"Pulumi.{name}.yaml", text), name)


def test_a_key_written_twice_makes_the_file_unreadable_as_pulumi_would(tmp_path: Path) -> None:
    broken = _read(tmp_path, "config:\n  supabase:portSlot: 1\n  supabase:portSlot: 2\n")
    assert broken.error == (
        f"{broken.path} is not valid YAML: key 'supabase:portSlot' appears twice in "
        '"<unicode string>", line 3, column 3: supabase:portSlot: 2 ^'
    )
    assert (broken.data, broken.ref) == ({}, "shop")  # shown under its stack name
    nested = _read(tmp_path, "config:\n  supabase:ports:\n    kongHttp: 1\n    kongHttp: 2\n")
    assert "key 'kongHttp' appears twice" in nested.error
    fine = _read(tmp_path, "config:\n  supabase:portSlot: 1\n  supabase:ref: shop-1\n")
    assert (fine.error, fine.ref, fine.port_slot) == ("", "shop-1", 1)


def test_a_stack_file_that_is_not_text_is_named(tmp_path: Path) -> None:
    path = tmp_path / "Pulumi.shop.yaml"
    path.write_bytes(b"config:\n  supabase:ref: \xff\xfe\n")
    stack = read_file(path, "shop")
    assert stack.error.startswith(f"{path} cannot be read: ")
    assert stack.data == {}


@pytest.mark.parametrize("ref", ["Shop", "-shop", "a" * 64, "true", "1.5"])
def test_a_ref_setting_that_is_not_a_ref_is_refused_with_the_fix(tmp_path: Path, ref) -> None:
    stack = _read(tmp_path, f"config:\n  supabase:ref: {ref}\n")
    shown = yaml.safe_load(ref)
    assert stack.error == (
        f"{stack.path}: `supabase:ref` {shown!r} is not a valid project ref (1 to 63 lowercase "
        "letters, digits and hyphens); fix it with `pulumi config set ref <ref>`"
    )


def test_a_ref_setting_names_the_project_and_pulumi_reads_a_number_as_text(
    tmp_path: Path,
) -> None:
    assert _read(tmp_path, "config:\n  supabase:ref: 7\n").ref == "7"
    assert _read(tmp_path, "config:\n  supabase:ref: " + "a" * 63 + "\n").ref == "a" * 63
    assert _read(tmp_path, "config:\n  supabase:portSlot: '4'\n").port_slot == 4
    assert _read(tmp_path, "config:\n").ref == "shop"


def test_the_release_of_a_stack_file_is_known_or_refused() -> None:
    assert stack({}).release.name == DEFAULT_RELEASE
    assert stack({"supabase:release": "2026-09"}).release.name == "2026-09"
    broken = stack({"supabase:release": "2020-01"})
    with pytest.raises(FleetError) as raised:
        _ = broken.release
    assert str(raised.value) == (
        f"{broken.path}: unknown release '2020-01'; known releases: {sorted(RELEASES)}"
    )


@pytest.mark.parametrize(
    ("written", "logs"),
    [(None, None), (True, True), ("True", True), ("false", False), (False, False)],
)
def test_logs_reads_unset_as_the_release_default(written: object, logs: bool | None) -> None:
    config = {} if written is None else {"supabase:logs": written}
    assert stack(config).logs is logs


def test_files_whose_names_are_not_refs_are_ignored_and_a_warning_names_them(
    tmp_path: Path,
) -> None:
    write(tmp_path, "Pulumi.Shop.yaml", "config: {}\n")
    write(tmp_path, "Pulumi.blog.yaml", "config: {}\n")
    found = scan(tmp_path)
    assert [s.name for s in found.stacks] == ["blog"]
    assert found.ignored == [tmp_path / "Pulumi.Shop.yaml"]
    assert found.warnings() == [
        f"ignoring {tmp_path / 'Pulumi.Shop.yaml'}: 'Shop' is not a valid stack name (a ref: "
        "lowercase letters, digits and hyphens)"
    ]
    assert scan(tmp_path / "nowhere") == Scan([])


def test_two_files_claiming_one_ref_are_found() -> None:
    a, b, c = stack({"supabase:ref": "x"}, "a"), stack({}, "x"), stack({}, "c")
    assert Scan([a, b, c]).duplicate_refs() == {"x": [a, b]}
    assert Scan([a, c]).duplicate_refs() == {}


def test_a_broken_file_among_good_ones_is_reported_by_list_and_kept_by_scan(
    tmp_path: Path,
) -> None:
    write(tmp_path, "Pulumi.a.yaml", "config: {}\n")
    bad = write(tmp_path, "Pulumi.b.yaml", "config: [x]\n")
    write(tmp_path, "Pulumi.c.yaml", "config: [y]\n")
    assert [(s.name, bool(s.error)) for s in scan(tmp_path).stacks] == [
        ("a", False), ("b", True), ("c", True)
    ]  # fmt: skip
    with pytest.raises(FleetError) as raised:
        list_stacks(tmp_path)
    assert str(raised.value) == f"{bad} must hold a mapping with a `config:` mapping"


def test_a_new_stack_file_is_readable_by_all_and_writable_by_its_owner(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        path = write_new_stack(tmp_path, "shop", {"portSlot": 1})
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_setting_a_key_keeps_long_lines_and_quotes_as_written(tmp_path: Path) -> None:
    long = "x" * 300
    text = f"config:\n  supabase:note: '{long} {long}'\n  supabase:portSlot: '2'\n"
    path = write(tmp_path, "Pulumi.shop.yaml", text)
    set_setting(tmp_path, "shop", "paused", False)
    assert path.read_text() == text + "  supabase:paused: false\n"
    write(tmp_path, "Pulumi.blog.yaml", "config:\n")
    set_setting(tmp_path, "blog", "paused", True)
    assert read_stack(tmp_path, "blog").paused is True


def test_setting_a_key_in_a_missing_or_broken_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FleetError) as raised:
        set_setting(tmp_path, "shop", "paused", True)
    assert str(raised.value).startswith(f"{tmp_path / 'Pulumi.shop.yaml'} cannot be updated: ")
    write(tmp_path, "Pulumi.blog.yaml", "config: [unclosed\n")
    with pytest.raises(FleetError, match="Pulumi.blog.yaml cannot be updated: "):
        set_setting(tmp_path, "blog", "paused", True)
    assert [p.name for p in tmp_path.iterdir()] == ["Pulumi.blog.yaml"]


def test_the_lock_is_a_file_in_the_stacks_folder_it_makes(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "stacks"
    with locked(folder):
        assert (folder / ".fleet.lock").is_file()
        other = os.open(folder / ".fleet.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    other = os.open(folder / ".fleet.lock", os.O_RDWR)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released on exit
    finally:
        os.close(other)


def test_cpu_limits_read_numbers_and_the_cli_s_strings_and_skip_the_rest() -> None:
    resources = {
        "db": {"cpus": 2, "memoryMb": 512},
        "auth": {"cpus": "1.5"},
        "rest": {"cpus": True},
        "meta": {"cpus": "lots"},
        "kong": {"memoryMb": 256},
        "studio": "2",
        "storage": {"cpus": None},
    }
    assert stack({"supabase:resources": resources}).cpu_limits == {"db": 2.0, "auth": 1.5}
    as_json = stack({"supabase:resources": json.dumps({"db": {"cpus": 0.5}})})
    assert as_json.cpu_limits == {"db": 0.5}
    assert stack({}).cpu_limits == {}
    broken = stack({"supabase:resources": ["db"]})
    with pytest.raises(FleetError) as raised:
        _ = broken.cpu_limits
    assert str(raised.value) == f"{broken.path}: `supabase:resources` must be a mapping, got ['db']"
