"""The random mocks answer from their inputs, as pulumi-random would, and keep secrets."""

from __future__ import annotations

import base64
import string

import pulumi
import pulumi_random as random
import pytest
from pulumi_harness import is_secret, random_integer, random_string, reveal, run, seeded


def rng(name: str = "r"):
    return seeded("random:index/randomPassword:RandomPassword", name)


@pytest.mark.parametrize("value", [0, 1_764_000_000, 2_000_000_123])
def test_an_integer_with_min_equal_max_is_that_number(value: int) -> None:
    assert random_integer({"min": float(value), "max": float(value)}, rng())["result"] == value


def test_an_integer_stays_within_its_bounds_and_refuses_inverted_ones() -> None:
    results = {random_integer({"min": 3, "max": 9}, rng(str(i)))["result"] for i in range(200)}
    assert results == set(range(3, 10))
    with pytest.raises(ValueError, match="greater than max"):
        random_integer({"min": 9, "max": 3}, rng())


@pytest.mark.parametrize(
    ("flags", "allowed"),
    [
        ({}, string.ascii_letters + string.digits + "!@#$%&*()-_=+[]{}<>:?"),
        ({"special": False}, string.ascii_letters + string.digits),
        ({"special": False, "numeric": False}, string.ascii_letters),
        ({"upper": False, "lower": False, "special": False}, string.digits),
        ({"overrideSpecial": "-_"}, string.ascii_letters + string.digits + "-_"),
    ],
)
def test_a_password_honours_length_and_character_classes(flags: dict, allowed: str) -> None:
    for length in (1, 16, 64):
        result = random_string({"length": float(length), **flags}, rng(str(length)))["result"]
        assert len(result) == length and set(result) <= set(allowed)


def test_a_password_honours_its_minimums() -> None:
    inputs = {"length": 8, "special": False, "minNumeric": 5, "minUpper": 2}
    for name in map(str, range(50)):
        result = random_string(inputs, rng(name))["result"]
        assert sum(c.isdigit() for c in result) >= 5 and sum(c.isupper() for c in result) >= 2
    with pytest.raises(ValueError, match="minimums"):
        random_string({"length": 3, "minNumeric": 4}, rng())


def test_results_depend_on_the_name_only() -> None:
    inputs = {"length": 32, "special": False}
    assert random_string(inputs, rng("a")) == random_string(inputs, rng("a"))
    assert random_string(inputs, rng("a")) != random_string(inputs, rng("b"))


def test_outputs_the_schema_marks_secret_come_back_secret() -> None:
    def program() -> None:
        password = random.RandomPassword("pw", length=20, special=False)
        data = random.RandomBytes("bytes", length=12)
        ident = random.RandomId("id", byte_length=6)
        stamp = random.RandomInteger("stamp", min=5, max=5)
        for key, value in {
            "password": password.result,
            "base64": data.base64,
            "hex": data.hex,
            "idHex": ident.hex,
            "stamp": stamp.result,
        }.items():
            pulumi.export(key, value)

    result = run(program)
    assert result.secret_outputs == {"password", "base64", "hex"}
    assert len(result.outputs["password"]) == 20 and result.outputs["password"].isalnum()
    assert len(base64.b64decode(result.outputs["base64"])) == 12
    assert bytes.fromhex(result.outputs["hex"]) == base64.b64decode(result.outputs["base64"])
    assert len(result.outputs["idHex"]) == 12
    assert result.outputs["stamp"] == 5
    (password,) = result.mocks.of_type(":RandomPassword")
    assert set(password.additional_secret_outputs) == {"result", "bcryptHash"}
    assert not is_secret(password.inputs["length"]) and reveal(password.inputs)["length"] == 20


def test_a_run_sees_only_its_own_exports() -> None:
    run(lambda: pulumi.export("first", 1))
    second = run(lambda: pulumi.export("second", 2))
    assert second.outputs == {"second": 2}
