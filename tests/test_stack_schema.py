"""The published JSON Schema is the models' own, and the example stack file passes it."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
import yaml
from pulumi_harness import ROOT

from components.stack_config import KEYS

sys.path.insert(0, str(ROOT / "scripts"))
from stack_schema import SCHEMA_FILE, render

STACK_FILES = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator: jsonschema.Draft202012Validator, config: dict) -> list[str]:
    return [error.message for error in validator.iter_errors({"config": config})]


def test_the_committed_schema_is_generated_from_the_models() -> None:
    assert SCHEMA_FILE.read_text() == render(), "run: python scripts/stack_schema.py"
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "stack_schema.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout


def test_the_schema_names_every_setting(validator: jsonschema.Draft202012Validator) -> None:
    properties = validator.schema["properties"]["config"]["properties"]
    assert sorted(properties) == sorted(f"supabase:{key}" for key in KEYS)


@pytest.mark.parametrize("stack_file", STACK_FILES, ids=lambda path: path.name)
def test_stack_files_validate(stack_file, validator: jsonschema.Draft202012Validator) -> None:
    document = yaml.safe_load(stack_file.read_text())
    assert list(validator.iter_errors(document)) == []
    assert "$schema=../schema/stack-config.schema.json" in stack_file.read_text().splitlines()[0]


@pytest.mark.parametrize(
    "config",
    [
        {"supabase:pause": True},
        {"docker:host": "unix:///var/run/docker.sock"},
        {"supabase:portSlot": 1276},
        {"supabase:portSlot": "zero"},
        {"supabase:paused": "yes"},
        {"supabase:jwtSecret": "in plain text"},
        {"supabase:exclude": ["studio", "studio"]},
        {"supabase:exclude": ["kong"]},
        {"supabase:resources": {"db": {"cpus": 0}}},
        {"supabase:resources": {"cache": {"cpus": 1}}},
        {"supabase:smtp": {"pass": "x"}},
        {"supabase:domain": "API.example.com"},
        {"supabase:release": "2025-01"},
    ],
)
def test_the_schema_flags_what_the_program_refuses(
    config: dict, validator: jsonschema.Draft202012Validator
) -> None:
    assert errors(validator, config)


def test_the_schema_accepts_typed_and_text_forms(
    validator: jsonschema.Draft202012Validator,
) -> None:
    config = {
        "supabase:portSlot": "3",
        "supabase:paused": "false",
        "supabase:logs": True,
        "supabase:jwtSecret": {"secure": "v1:abc"},
        "supabase:resources": {"db": {"cpus": 1.5, "memoryMb": 2048}},
        "aws:region": "eu-west-1",
    }
    assert errors(validator, config) == []
