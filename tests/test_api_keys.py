"""The API keys are HS256 JWTs with the claims Supabase expects, stable for equal inputs."""

from __future__ import annotations

import jwt
import pytest

from components.api_keys import make_api_key

SECRET = "s" * 40


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_key_verifies_and_carries_the_claims(role: str) -> None:
    key = make_api_key(role, jwt_secret=SECRET, issued_at=1_700_000_000, lifetime_days=3650)
    claims = jwt.decode(key, SECRET, algorithms=["HS256"])
    assert claims == {
        "role": role,
        "iss": "supabase",
        "iat": 1_700_000_000,
        "exp": 1_700_000_000 + 3650 * 86400,
    }
    assert jwt.get_unverified_header(key)["alg"] == "HS256"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(key, "t" * 40, algorithms=["HS256"])


def test_same_inputs_same_key_and_roles_differ() -> None:
    args = {"jwt_secret": SECRET, "issued_at": 1_700_000_000, "lifetime_days": 30}
    assert make_api_key("anon", **args) == make_api_key("anon", **args)
    assert make_api_key("anon", **args) != make_api_key("service_role", **args)


def test_unknown_role_is_refused() -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        make_api_key("admin", jwt_secret=SECRET, issued_at=0, lifetime_days=1)
