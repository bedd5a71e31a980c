"""The project's secrets, made by ``create_secrets`` alone under mocks: every value leaves
secret, generated ones are letters and digits long enough for their consumer and frozen
against generator changes, user-given ones are used as given, and the API keys are the
ones the project's services verify."""

from __future__ import annotations

import base64
import json
from dataclasses import fields
from typing import Any
from unittest import mock

import jwt
import pulumi
import pytest
from pulumi_harness import RANDOM_OUTPUTS, Run, reveal, run, seeded

from components.api_keys import ec_private_jwk_from_seed
from components.secrets import NewSecrets, ProjectSecrets, create_secrets
from components.settings import load_settings

CLOCK = 1_700_000_000
#: Per generated secret: (at least, exactly or None) characters. Where a consumer has a
#: rule it is named; elsewhere the floor is ours (at least 16 letters and digits, about 95
#: bits, for passwords a person may type; 32 for machine tokens).
LENGTHS = {
    "jwt-secret": (32, None),  # GoTrue refuses a JWT secret under 32 characters
    "postgres-password": (16, None),
    "dashboard-password": (16, None),
    "logflare-api-key": (32, None),
    "realtime-secret-key-base": (64, None),  # Phoenix: secret_key_base of 64 bytes or more
    "realtime-db-enc-key": (16, 16),  # Realtime's AES-128 key, used as is
    "logflare-private-token": (32, None),
    "s3-access-key-id": (32, None),
    "s3-access-key-secret": (64, None),
    "vault-enc-key": (32, 32),  # Supavisor's AES-256 key: exactly 32 characters
    "pg-meta-crypto-key": (32, None),
    "supavisor-secret-key-base": (64, None),  # Phoenix, as above
    "metrics-jwt-secret": (32, None),
}
LEGACY = {"jwt-secret", "postgres-password", "dashboard-password", "logflare-api-key",
          "realtime-secret-key-base", "realtime-db-enc-key"}  # fmt: skip
SEEDS = {"jwt-signing-key-seed", "publishable-key-seed", "secret-key-seed"}


def make(config: dict[str, str] | None = None, secret_keys: tuple[str, ...] = ()) -> Run:
    """Run ``create_secrets`` for the stack ``shop`` and export every field it returns."""
    raw = {"portSlot": "0", **(config or {})}

    def program() -> None:
        settings = load_settings(raw.get, stack="shop", is_secret=lambda key: key in secret_keys)
        parent = pulumi.ComponentResource("test:index:Parent", "shop")
        made = create_secrets(settings, "shop", parent)
        for item in fields(ProjectSecrets):
            if item.name != "new":
                pulumi.export(item.name, getattr(made, item.name))
        if made.new is not None:
            for item in fields(NewSecrets):
                pulumi.export(f"new.{item.name}", getattr(made.new, item.name))

    with mock.patch("components.secrets.time.time", return_value=CLOCK + 0.7):
        return run(program, stack="shop")


@pytest.fixture(scope="module")
def legacy() -> Run:
    return make({"release": "2024-04"})


@pytest.fixture(scope="module")
def current() -> Run:
    return make({"release": "2026-09"})


def _generated(result: Run) -> dict[str, Any]:
    return {
        r.name.removeprefix("shop-"): r
        for r in result.mocks.resources
        if r.typ.startswith("random:")
    }


def test_every_value_leaves_secret(legacy: Run, current: Run) -> None:
    assert legacy.secret_outputs == set(legacy.outputs)
    assert current.secret_outputs == set(current.outputs)
    assert len(current.outputs) == len(fields(ProjectSecrets)) - 1 + len(fields(NewSecrets))


def test_each_release_generates_what_its_services_need(legacy: Run, current: Run) -> None:
    assert set(_generated(legacy)) == LEGACY | {"api-keys-issued-at"}
    assert set(_generated(current)) == set(LENGTHS) | SEEDS | {"api-keys-issued-at"}
    for result in (legacy, current):
        for resource in _generated(result).values():
            assert resource.parent == "shop", resource.name


@pytest.mark.parametrize("name", sorted(LENGTHS))
def test_generated_passwords_fit_their_consumer(current: Run, name: str) -> None:
    resource = _generated(current)[name]
    value = RANDOM_OUTPUTS[resource.typ](
        reveal(resource.inputs), seeded(resource.typ, resource.name)
    )
    password = value["result"]
    shortest, longest = LENGTHS[name]
    assert len(password) >= shortest and (longest is None or len(password) == longest)
    # Letters and digits only: safe in URLs, env files and YAML; some digits in each.
    assert password.isascii() and password.isalnum()
    assert resource.inputs["special"] is False and int(resource.inputs["minNumeric"]) == 4
    assert sum(c.isdigit() for c in password) >= 4


#: Characters of the secrets upstream's utils/generate-keys.sh makes (``gen_base64 48`` is
#: 64 characters, ``gen_hex 16`` 32...), where the project makes the same secret alike.
UPSTREAM_LENGTHS = {
    "realtime-secret-key-base": 64,  # SECRET_KEY_BASE: gen_base64 48
    "supavisor-secret-key-base": 64,  # the same SECRET_KEY_BASE
    "vault-enc-key": 32,  # gen_hex 16
    "pg-meta-crypto-key": 32,  # gen_base64 24
    "s3-access-key-id": 32,  # gen_hex 16
    "s3-access-key-secret": 64,  # gen_hex 32
    "dashboard-password": 32,  # gen_hex 16
}


def test_secrets_upstream_also_makes_are_as_long_as_upstreams(current: Run) -> None:
    generated = _generated(current)
    assert {name: int(generated[name].inputs["length"]) for name in UPSTREAM_LENGTHS} == (
        UPSTREAM_LENGTHS
    )


def test_every_generator_argument_is_frozen(current: Run) -> None:
    """A code change to a generator's arguments must never regenerate an existing secret:
    every argument the program passes is one the engine is told to ignore changes of."""
    for name, resource in _generated(current).items():
        given = set(resource.inputs)
        assert given and given <= set(resource.ignore_changes), name
    password = _generated(current)["jwt-secret"]
    # The character classes too, though left at their defaults here.
    assert {"upper", "lower", "numeric"} <= set(password.ignore_changes)


def test_seeds_are_32_bytes_and_the_signing_key_comes_from_its_seed(current: Run) -> None:
    seeds = {name: r for name, r in _generated(current).items() if name in SEEDS}
    assert {int(r.inputs["length"]) for r in seeds.values()} == {32}
    seed = seeds["jwt-signing-key-seed"]
    drawn = RANDOM_OUTPUTS[seed.typ](reveal(seed.inputs), seeded(seed.typ, seed.name))
    private = ec_private_jwk_from_seed(base64.b64decode(drawn["base64"]))
    keys = json.loads(current.outputs["new.jwt_keys"])
    assert keys[0] == private
    assert keys[1]["kty"] == "oct"
    jwks = json.loads(current.outputs["new.jwt_jwks"])
    assert [key.get("d") for key in jwks["keys"]] == [None, None]
    assert jwks["keys"][0]["kid"] == private["kid"]


def test_keys_are_issued_once_at_creation_time(current: Run) -> None:
    stamp = _generated(current)["api-keys-issued-at"]
    assert (int(stamp.inputs["min"]), int(stamp.inputs["max"])) == (CLOCK, CLOCK)
    assert stamp.ignore_changes == ["min", "max"]


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_api_keys_verify_with_the_projects_keys(current: Run, role: str) -> None:
    outputs = current.outputs
    legacy_key = outputs["anon_key" if role == "anon" else "service_role_key"]
    claims = jwt.decode(legacy_key, outputs["jwt_secret"], algorithms=["HS256"])
    assert claims == {"role": role, "iss": "supabase", "iat": CLOCK, "exp": CLOCK + 3650 * 86400}
    asymmetric = outputs[f"new.{'anon' if role == 'anon' else 'service_role'}_key_asymmetric"]
    jwks = jwt.PyJWKSet.from_json(outputs["new.jwt_jwks"])
    kid = jwt.get_unverified_header(asymmetric)["kid"]
    assert jwt.decode(asymmetric, jwks[kid].key, algorithms=["ES256"]) == claims


def test_opaque_keys_have_upstreams_prefixes_and_differ(current: Run) -> None:
    publishable, secret = current.outputs["new.publishable_key"], current.outputs["new.secret_key"]
    assert publishable.startswith("sb_publishable_") and secret.startswith("sb_secret_")
    assert publishable.removeprefix("sb_publishable_") != secret.removeprefix("sb_secret_")


def test_the_key_lifetime_setting_reaches_both_kinds_of_key() -> None:
    result = make({"release": "2026-09", "apiKeyLifetimeDays": "30"})
    for name in ("anon_key", "new.anon_key_asymmetric"):
        claims = jwt.decode(result.outputs[name], options={"verify_signature": False})
        assert claims["exp"] - claims["iat"] == 30 * 86400, name


def test_user_given_secrets_are_used_as_given_and_not_generated() -> None:
    given = {
        "jwtSecret": "a-user-given-jwt-secret-of-40-characters",
        "postgresPassword": "UserGivenPassword123",
        "dashboardPassword": "UserGivenDashboard456",
        "smtpPassword": "smtp-pass",
    }
    result = make({"release": "2024-04", "smtp": '{"host": "mail.example.com"}', **given},
                  secret_keys=tuple(given))  # fmt: skip
    assert result.outputs["jwt_secret"] == given["jwtSecret"]
    assert result.outputs["postgres_password"] == given["postgresPassword"]
    assert result.outputs["dashboard_password"] == given["dashboardPassword"]
    assert result.outputs["smtp_password"] == given["smtpPassword"]
    assert set(_generated(result)).isdisjoint({"jwt-secret", "postgres-password",
                                               "dashboard-password"})  # fmt: skip
    assert result.secret_outputs == set(result.outputs)


def test_without_smtp_the_password_is_empty(legacy: Run) -> None:
    assert legacy.outputs["smtp_password"] == ""


def test_an_older_release_has_no_new_secrets() -> None:
    result: dict[str, ProjectSecrets] = {}

    def program() -> None:
        settings = load_settings({"portSlot": "0", "release": "2024-04"}.get, stack="shop",
                                 is_secret=lambda key: False)  # fmt: skip
        parent = pulumi.ComponentResource("test:index:Parent", "shop")
        result["made"] = create_secrets(settings, "shop", parent)

    run(program, stack="shop")
    assert result["made"].new is None
    with pytest.raises(ValueError) as refused:
        result["made"].require_new()
    assert str(refused.value) == "this project's release predates 2026-09's secrets"
