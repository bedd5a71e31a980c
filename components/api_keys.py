"""The project's two API keys: HS256 JWTs signed with the project's JWT secret.

A pure function of its inputs, so the same secret and issue time always give the same key
and a second ``pulumi up`` sees no change.
"""

from __future__ import annotations

import jwt

API_KEY_ROLES = ("anon", "service_role")
ISSUER = "supabase"
SECONDS_PER_DAY = 86400


def make_api_key(role: str, *, jwt_secret: str, issued_at: int, lifetime_days: int) -> str:
    """Sign the key of ``role`` ("anon" or "service_role"), valid ``lifetime_days`` from issue."""
    if role not in API_KEY_ROLES:
        raise ValueError(f"role must be one of {API_KEY_ROLES}, got {role!r}")
    claims = {
        "role": role,
        "iss": ISSUER,
        "iat": issued_at,
        "exp": issued_at + lifetime_days * SECONDS_PER_DAY,
    }
    return jwt.encode(claims, jwt_secret, algorithm="HS256")
