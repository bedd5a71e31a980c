"""2026-09 keys: upstream's opaque key format, a stable ES256 key and the JWKS services read.

The checksum and random part are recomputed here from upstream's description in
``docker/utils/add-new-auth-keys.sh`` (Node): ``randomBytes(17).toString("base64url")
.slice(0, 22)`` and ``sha256(PROJECT_REF + "|" + prefix + random).digest("base64url")
.slice(0, 8)`` with ``PROJECT_REF = "supabase-self-hosted"``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from components.api_keys import (
    ec_private_jwk_from_seed,
    make_api_key,
    make_asymmetric_api_key,
    make_opaque_key,
    opaque_random_part,
    public_jwk,
    render_jwks,
    render_jwt_keys,
)

SEED = bytes(range(32))
OTHER_SEED = bytes(range(1, 33))
SECRET = "legacy-hs256-secret-of-at-least-32-chars"
ISSUED = 1_790_000_000


def _node_base64url(data: bytes) -> str:
    """Node's Buffer#toString("base64url"): URL alphabet, no padding."""
    return base64.b64encode(data).decode().replace("+", "-").replace("/", "_").rstrip("=")


def _upstream_opaque(prefix: str, random_bytes: bytes, project_ref: str) -> str:
    random = _node_base64url(random_bytes)[:22]
    intermediate = prefix + random
    digest = hashlib.sha256((project_ref + "|" + intermediate).encode()).digest()
    return intermediate + "_" + _node_base64url(digest)[:8]


@pytest.mark.parametrize(
    ("kind", "prefix"), [("publishable", "sb_publishable_"), ("secret", "sb_secret_")]
)
@pytest.mark.parametrize("seed", [SEED, b"\xff" * 17, bytes(range(200, 217))])
def test_opaque_keys_match_upstreams_script(kind: str, prefix: str, seed: bytes) -> None:
    key = make_opaque_key(kind, random_part=opaque_random_part(seed))  # type: ignore[arg-type]
    assert key == _upstream_opaque(prefix, seed[:17], "supabase-self-hosted")
    assert re.fullmatch(re.escape(prefix) + r"[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{8}", key)


def test_checksum_covers_the_project_ref_and_the_random_part() -> None:
    random = opaque_random_part(SEED)
    assert make_opaque_key("secret", random_part=random, project_ref="abc") == _upstream_opaque(
        "sb_secret_", SEED[:17], "abc"
    )
    assert make_opaque_key("secret", random_part=random) != make_opaque_key(
        "secret", random_part=random, project_ref="abc"
    )
    assert opaque_random_part(SEED) != opaque_random_part(OTHER_SEED)


def test_bad_opaque_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="17 random bytes"):
        opaque_random_part(b"x" * 16)
    with pytest.raises(ValueError, match="22 characters"):
        make_opaque_key("secret", random_part="short")
    with pytest.raises(ValueError, match="kind"):
        make_opaque_key("admin", random_part=opaque_random_part(SEED))  # type: ignore[arg-type]


def test_ec_key_is_a_p256_jwk_like_upstreams() -> None:
    jwk = ec_private_jwk_from_seed(SEED)
    assert set(jwk) == {"kty", "kid", "use", "key_ops", "alg", "ext", "crv", "x", "y", "d"}
    assert (jwk["kty"], jwk["crv"], jwk["alg"], jwk["use"]) == ("EC", "P-256", "ES256", "sig")
    assert jwk["key_ops"] == ["sign", "verify"] and jwk["ext"] is True
    assert uuid.UUID(jwk["kid"]).version == 4  # upstream's kid is a random UUID
    # x and y are the public point of d: recompute it from d alone.
    d = int.from_bytes(base64.urlsafe_b64decode(jwk["d"] + "=="), "big")
    point = ec.derive_private_key(d, ec.SECP256R1()).public_key().public_numbers()
    assert jwk["x"] == _node_base64url(point.x.to_bytes(32, "big"))
    assert jwk["y"] == _node_base64url(point.y.to_bytes(32, "big"))


def test_ec_key_is_stable_per_seed_and_differs_between_seeds() -> None:
    assert ec_private_jwk_from_seed(SEED) == ec_private_jwk_from_seed(bytes(SEED))
    first, second = ec_private_jwk_from_seed(SEED), ec_private_jwk_from_seed(OTHER_SEED)
    assert first["d"] != second["d"] and first["x"] != second["x"]
    assert first["kid"] != second["kid"]


def test_short_ec_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        ec_private_jwk_from_seed(b"x" * 31)


def test_public_jwk_has_no_private_part() -> None:
    private = ec_private_jwk_from_seed(SEED)
    public = public_jwk(private)
    assert "d" not in public and public["key_ops"] == ["verify"]
    assert {k: v for k, v in private.items() if k not in ("d", "key_ops")} == {
        k: v for k, v in public.items() if k != "key_ops"
    }
    assert "d" in private  # the caller's JWK is left alone


@pytest.mark.parametrize("role", ["anon", "service_role"])
def test_asymmetric_keys_verify_with_the_published_jwks(role: str) -> None:
    private = ec_private_jwk_from_seed(SEED)
    token = make_asymmetric_api_key(role, private_jwk=private, issued_at=ISSUED, lifetime_days=1825)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "ES256", "typ": "JWT", "kid": private["kid"]}
    # As a service does it: pick the JWKS entry by kid, verify with the public key only.
    jwks = jwt.PyJWKSet.from_json(render_jwks(private, SECRET))
    claims = jwt.decode(token, jwks[header["kid"]].key, algorithms=["ES256"])
    assert claims == {"role": role, "iss": "supabase", "iat": ISSUED, "exp": ISSUED + 1825 * 86400}
    other = jwt.PyJWK(public_jwk(ec_private_jwk_from_seed(OTHER_SEED)))
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, other.key, algorithms=["ES256"])


def test_asymmetric_key_rejects_unknown_roles() -> None:
    with pytest.raises(ValueError, match="role"):
        make_asymmetric_api_key(
            "admin", private_jwk=ec_private_jwk_from_seed(SEED), issued_at=0, lifetime_days=1
        )


def test_jwks_carries_the_public_key_and_the_legacy_secret() -> None:
    private = ec_private_jwk_from_seed(SEED)
    jwks = json.loads(render_jwks(private, SECRET))
    assert list(jwks) == ["keys"] and len(jwks["keys"]) == 2
    ec_key, oct_key = jwks["keys"]
    assert ec_key == public_jwk(private)
    assert oct_key == {"kty": "oct", "k": _node_base64url(SECRET.encode()), "alg": "HS256"}
    # The legacy anon key still verifies with the JWKS's oct key (services read only JWKS).
    legacy = make_api_key("anon", jwt_secret=SECRET, issued_at=ISSUED, lifetime_days=3650)
    assert jwt.decode(legacy, jwt.PyJWK(oct_key).key, algorithms=["HS256"])["role"] == "anon"


def test_jwt_keys_is_the_signing_key_and_the_legacy_secret() -> None:
    private = ec_private_jwk_from_seed(SEED)
    keys = json.loads(render_jwt_keys(private, SECRET))
    assert isinstance(keys, list) and keys[0] == private
    assert keys[1] == json.loads(render_jwks(private, SECRET))["keys"][1]
    # Auth signs with the first key: a token made from JWT_KEYS verifies with JWT_JWKS.
    signing = jwt.PyJWK(keys[0])
    token = jwt.encode({"role": "authenticated"}, signing.key, algorithm="ES256")
    public = jwt.PyJWKSet.from_json(render_jwks(private, SECRET))[private["kid"]]
    assert jwt.decode(token, public.key, algorithms=["ES256"]) == {"role": "authenticated"}


def test_renderings_are_deterministic() -> None:
    private = ec_private_jwk_from_seed(SEED)
    assert render_jwks(private, SECRET) == render_jwks(ec_private_jwk_from_seed(SEED), SECRET)
    assert render_jwt_keys(private, SECRET) == render_jwt_keys(dict(private), SECRET)
    args = {"issued_at": ISSUED, "lifetime_days": 10}
    # Same seed and claims, same bytes: a second `pulumi up` sees no change in the env.
    first = make_asymmetric_api_key("anon", private_jwk=private, **args)
    again = make_asymmetric_api_key("anon", private_jwk=ec_private_jwk_from_seed(SEED), **args)
    assert first == again
    other = make_asymmetric_api_key(
        "anon", private_jwk=ec_private_jwk_from_seed(OTHER_SEED), **args
    )
    assert other != first


def _hkdf_sha256(seed: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF with SHA-256 and no salt, written from the RFC with hmac alone."""
    prk = hmac.new(b"\0" * 32, seed, hashlib.sha256).digest()
    okm, block = b"", b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm += block
    return okm[:length]


def _b64url_int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


#: The order n of P-256 (SEC 2, section 2.4.2).
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.mark.parametrize("seed", [SEED, OTHER_SEED, b"\xff" * 32, b"\x00" * 64])
def test_signing_key_is_the_documented_derivation_of_its_seed(seed: bytes) -> None:
    """The seed kept in state must give the same key in every version of this code: a
    changed derivation would silently rotate every existing project's signing key (and
    invalidate every session it signed). Recomputed here from the documented recipe:
    HKDF-SHA256 (no salt, info "supabase ES256 signing key") to 48 bytes, then mod n-1, +1."""
    stretched = _hkdf_sha256(seed, b"supabase ES256 signing key", 48)
    expected = int.from_bytes(stretched, "big") % (P256_ORDER - 1) + 1
    jwk = ec_private_jwk_from_seed(seed)
    assert _b64url_int(jwk["d"]) == expected
    public = ec.derive_private_key(expected, ec.SECP256R1()).public_key().public_numbers()
    assert (_b64url_int(jwk["x"]), _b64url_int(jwk["y"])) == (public.x, public.y)


def test_kid_is_a_uuid_of_the_rfc7638_thumbprint() -> None:
    """The kid names the key itself: the SHA-256 of RFC 7638's canonical public-key
    members (crv, kty, x, y in that order, no whitespace), first 16 bytes as a UUIDv4."""
    jwk = ec_private_jwk_from_seed(SEED)
    canonical = '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (jwk["x"], jwk["y"])  # noqa: UP031
    digest = hashlib.sha256(canonical.encode()).digest()
    assert jwk["kid"] == str(uuid.UUID(bytes=digest[:16], version=4))


def test_legacy_secret_round_trips_through_the_oct_key() -> None:
    # Its base64url form ends in "X": nothing but the padding may be cut off.
    secret = "legacy-hs256-secret-that-ends-with-W"
    oct_key = json.loads(render_jwks(ec_private_jwk_from_seed(SEED), secret))["keys"][1]
    assert oct_key["k"].endswith("X")
    assert base64.urlsafe_b64decode(oct_key["k"] + "=" * (-len(oct_key["k"]) % 4)) == (
        secret.encode()
    )
    token = jwt.encode({"role": "anon"}, secret, algorithm="HS256")
    assert jwt.decode(token, jwt.PyJWK(oct_key).key, algorithms=["HS256"]) == {"role": "anon"}


def test_key_values_are_compact_json_like_upstreams() -> None:
    """JWT_KEYS, JWT_JWKS and the tokens' header and claims are written as upstream's
    script writes them (JSON.stringify): no whitespace, so each is one unquoted env value."""
    private = ec_private_jwk_from_seed(SEED)
    token = make_asymmetric_api_key("anon", private_jwk=private, issued_at=ISSUED, lifetime_days=1)
    header, claims, _ = token.split(".")
    parts = [
        render_jwt_keys(private, SECRET),
        render_jwks(private, SECRET),
        base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)).decode(),
        base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)).decode(),
    ]
    for text in parts:
        assert json.loads(text) and not re.search(r"\s", text), text


def test_a_public_jwk_cannot_sign() -> None:
    public = public_jwk(ec_private_jwk_from_seed(SEED))
    with pytest.raises(ValueError, match=r"^private_jwk must be an EC private key \(with 'd'\)$"):
        make_asymmetric_api_key("anon", private_jwk=public, issued_at=ISSUED, lifetime_days=1)
