"""The fleet reads the settings it acts on as strictly as the program does."""

from __future__ import annotations

from pathlib import Path

import pytest

from automation.stackfiles import read_file


def _stack(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "Pulumi.shop.yaml"
    path.write_text("config:\n  supabase:portSlot: 3\n" + body)
    return path


@pytest.mark.parametrize(
    ("body", "paused"),
    [("", False), ("  supabase:paused: true\n", True), ('  supabase:paused: "True"\n', True),
     ('  supabase:paused: "false"\n', False), ("  supabase:paused: false\n", False)],
)  # fmt: skip
def test_paused_as_pulumi_writes_it(tmp_path: Path, body: str, paused: bool) -> None:
    stack = read_file(_stack(tmp_path, body), "shop")
    assert not stack.error
    assert stack.paused is paused
    assert stack.port_slot == 3


@pytest.mark.parametrize(
    ("body", "key"),
    [('  supabase:paused: "yes"\n', "paused"), ("  supabase:logs: 1\n", "logs"),
     ('  supabase:publishGatewayPorts: "on"\n', "publishGatewayPorts")],
)  # fmt: skip
def test_a_flag_the_program_refuses_makes_the_file_unreadable(
    tmp_path: Path, body: str, key: str
) -> None:
    stack = read_file(_stack(tmp_path, body), "shop")
    assert stack.error
    assert f"supabase:{key}` must be true or false" in stack.error
    assert f"pulumi config set {key} true|false" in stack.error


@pytest.mark.parametrize("slot", ['" 3"', '"3.0"', "[3]", "true"])
def test_a_port_slot_the_program_refuses_makes_the_file_unreadable(
    tmp_path: Path, slot: str
) -> None:
    path = tmp_path / "Pulumi.shop.yaml"
    path.write_text(f"config:\n  supabase:portSlot: {slot}\n")
    stack = read_file(path, "shop")
    assert stack.error
    assert "supabase:portSlot` must be a whole number" in stack.error
