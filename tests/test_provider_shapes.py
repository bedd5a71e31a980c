"""Inputs in the provider's read-back form, and the SDK floor checked at program start."""

from __future__ import annotations

import math
from decimal import Decimal
from importlib import metadata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.provider_shapes import (
    JSON_FILE_LOG_OPTIONS,
    cpus_input,
    format_nano_cpus,
    json_file_log_opts,
    memory_swap_mb,
)
from components.sdk_versions import SdkTooOld, require_sdks


@pytest.mark.parametrize(
    ("cpus", "sent"),
    [(10.0, "10"), (0.05, "0.05"), (1.5, "1.5"), (2, "2"), (0.25, "0.25"), (1e-05, "0.00001"),
     (64.000000001, "64.000000001"), (0.1, "0.1")],
)  # fmt: skip
def test_cpus_are_sent_as_the_provider_formats_nano_cpus(cpus: float, sent: str) -> None:
    assert cpus_input(cpus) == sent


@given(st.integers(min_value=1, max_value=1024 * 10**9))
def test_every_nano_cpu_count_round_trips_through_its_text(nano: int) -> None:
    text = format_nano_cpus(nano)
    # What Docker stores when given this text, and what Go's 'f' -1 formatting parses to.
    assert Decimal(text) * 10**9 == nano
    assert float(text) == nano / 10**9
    assert "e" not in text.lower() and not text.endswith(".") and not text.endswith(".0")
    assert cpus_input(float(text)) == text


@pytest.mark.parametrize("cpus", [0, -1.0, 1e-10, 0.0000000015, math.inf, math.nan])
def test_cpus_that_cannot_survive_the_round_trip_are_refused(cpus: float) -> None:
    with pytest.raises(ValueError, match="cpus"):
        cpus_input(cpus)


@pytest.mark.parametrize("memory", [6, 256, 2048])
def test_memory_swap_is_dockers_own_default_in_mib(memory: int) -> None:
    # Docker stores 2 x Memory when MemorySwap is unset; the provider reads MiB back.
    assert memory_swap_mb(memory) * 1024 * 1024 == 2 * memory * 1024 * 1024


def test_log_options_name_every_json_file_option() -> None:
    opts = json_file_log_opts("25m", 7)
    assert set(opts) == set(JSON_FILE_LOG_OPTIONS)
    assert opts["max-size"] == "25m" and opts["max-file"] == "7"
    assert opts["compress"] == "false"
    assert all(opts[key] == "" for key in ("env", "env-regex", "labels", "labels-regex", "tag"))


def versions(**found: str):
    def version_of(package: str) -> str:
        if package not in found:
            raise metadata.PackageNotFoundError(package)
        return found[package]

    return version_of


CURRENT = {"pulumi": "3.272.0", "pulumi-docker": "5.2.0", "pulumi-random": "4.21.4"}


def test_current_sdks_pass() -> None:
    require_sdks()  # the venv's own SDKs, as __main__.py checks them
    require_sdks(versions(**(CURRENT | {"pulumi-docker": "5.1.0", "pulumi-random": "4.16"})))


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({"pulumi-docker": "4.6.2"}, "pulumi-docker 4.6.2 (needs >= 5.1)"),
        ({"pulumi-docker": "5.0.9"}, "pulumi-docker 5.0.9"),
        ({"pulumi-docker": None}, "pulumi-docker not installed"),
        ({"pulumi": "3.100.0"}, "pulumi 3.100.0"),
        ({"pulumi-random": "4.15.0"}, "pulumi-random 4.15.0"),
        ({"pulumi-docker": "bogus"}, "pulumi-docker bogus"),
    ],
)
def test_an_old_or_missing_sdk_is_refused_with_the_fix(changed: dict, named: str) -> None:
    installed = {k: v for k, v in (CURRENT | changed).items() if v is not None}
    with pytest.raises(SdkTooOld, match="pip install -r requirements.txt") as raised:
        require_sdks(versions(**installed))
    assert named in str(raised.value)


def test_every_sdk_below_its_floor_is_named_in_one_message() -> None:
    installed = CURRENT | {"pulumi-docker": "4.6.2", "pulumi-random": "4.15.0"}
    with pytest.raises(SdkTooOld) as raised:
        require_sdks(versions(**installed))
    assert str(raised.value) == (
        "this program needs newer Pulumi SDKs: pulumi-docker 4.6.2 (needs >= 5.1), "
        "pulumi-random 4.15.0 (needs >= 4.16); fix it with `pip install -r requirements.txt` "
        "in the project's venv"
    )
