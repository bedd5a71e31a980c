"""The project's API keys: legacy HS256 JWTs, and the 2026-09 opaque and ES256 keys.

Every function is pure: the same secret, seed and issue time always give the same key,
so a second ``pulumi up`` sees no change. Random material comes from Pulumi state (a
``RandomBytes`` seed), never from this module.

The 2026-09 keys follow upstream's ``docker/utils/add-new-auth-keys.sh``:

- opaque keys ``sb_publishable_<22>_<8>`` / ``sb_secret_<22>_<8>``: 22 characters of
  base64url randomness, then the first 8 base64url characters of
  ``sha256("<project ref>|<prefix><random>")`` as a checksum;
- an EC P-256 signing key as a JWK (``kty, kid, use, key_ops, alg, ext, crv, x, y, d``);
- ``JWT_KEYS``: a JSON array of the private JWK and the legacy secret as an ``oct`` key;
- ``JWT_JWKS``: ``{"keys": [public JWK, oct key]}``;
- ``ANON_KEY_ASYMMETRIC`` / ``SERVICE_ROLE_KEY_ASYMMETRIC``: ES256 JWTs with header
  ``{alg, typ, kid}`` and claims ``role, iss, iat, exp``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwt.algorithms import ECAlgorithm
from jwt.utils import der_to_raw_signature

API_KEY_ROLES = ("anon", "service_role")
ISSUER = "supabase"
SECONDS_PER_DAY = 86400

#: The project ref upstream's script puts into every opaque key's checksum. Self-hosted
#: Supabase has no per-project ref of its own; keys made with it look like upstream's.
SELF_HOSTED_PROJECT_REF = "supabase-self-hosted"

OpaqueKind = Literal["publishable", "secret"]
OPAQUE_PREFIXES: dict[str, str] = {"publishable": "sb_publishable_", "secret": "sb_secret_"}
#: Upstream takes 17 random bytes, base64url-encodes them (23 characters) and keeps 22.
OPAQUE_RANDOM_BYTES = 17
OPAQUE_RANDOM_CHARS = 22
OPAQUE_CHECKSUM_CHARS = 8
#: A seed shorter than this gives an EC key weaker than its 128-bit curve.
MIN_EC_SEED_BYTES = 32

_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def make_api_key(role: str, *, jwt_secret: str, issued_at: int, lifetime_days: int) -> str:
    """Sign the key of ``role`` ("anon" or "service_role"), valid ``lifetime_days`` from issue."""
    return jwt.encode(_claims(role, issued_at, lifetime_days), jwt_secret, algorithm="HS256")


def _claims(role: str, issued_at: int, lifetime_days: int) -> dict[str, Any]:
    if role not in API_KEY_ROLES:
        raise ValueError(f"role must be one of {API_KEY_ROLES}, got {role!r}")
    return {
        "role": role,
        "iss": ISSUER,
        "iat": issued_at,
        "exp": issued_at + lifetime_days * SECONDS_PER_DAY,
    }


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def opaque_random_part(seed: bytes) -> str:
    """The random part of an opaque key: upstream's ``randomBytes(17)`` -> base64url[:22]."""
    if len(seed) < OPAQUE_RANDOM_BYTES:
        raise ValueError(
            f"an opaque key needs at least {OPAQUE_RANDOM_BYTES} random bytes, got {len(seed)}"
        )
    return _b64url(seed[:OPAQUE_RANDOM_BYTES])[:OPAQUE_RANDOM_CHARS]


def make_opaque_key(
    kind: OpaqueKind, *, random_part: str, project_ref: str = SELF_HOSTED_PROJECT_REF
) -> str:
    """``sb_publishable_...`` or ``sb_secret_...`` with upstream's checksum over ``project_ref``."""
    try:
        prefix = OPAQUE_PREFIXES[kind]
    except KeyError:
        raise ValueError(f"kind must be one of {sorted(OPAQUE_PREFIXES)}, got {kind!r}") from None
    if len(random_part) != OPAQUE_RANDOM_CHARS:
        raise ValueError(
            f"random_part must be {OPAQUE_RANDOM_CHARS} characters (opaque_random_part), "
            f"got {len(random_part)}"
        )
    intermediate = prefix + random_part
    digest = hashlib.sha256(f"{project_ref}|{intermediate}".encode()).digest()
    return f"{intermediate}_{_b64url(digest)[:OPAQUE_CHECKSUM_CHARS]}"


def ec_private_jwk_from_seed(seed: bytes) -> dict[str, Any]:
    """A P-256 signing key as upstream's private JWK, the same for the same seed.

    HKDF-SHA256 stretches the seed to 48 bytes, reduced into [1, n-1]: the bias of the
    reduction is below 2**-128. The kid is a UUID (upstream's shape) made from the
    SHA-256 of the public key's RFC 7638 thumbprint input, so it names the key itself.
    """
    if len(seed) < MIN_EC_SEED_BYTES:
        raise ValueError(f"the EC key seed must have at least {MIN_EC_SEED_BYTES} bytes")
    stretched = HKDF(
        algorithm=hashes.SHA256(), length=48, salt=None, info=b"supabase ES256 signing key"
    ).derive(seed)
    scalar = int.from_bytes(stretched, "big") % (_P256_ORDER - 1) + 1
    private_key = ec.derive_private_key(scalar, ec.SECP256R1())
    fields = json.loads(ECAlgorithm.to_jwk(private_key))
    public = {"crv": fields["crv"], "kty": "EC", "x": fields["x"], "y": fields["y"]}
    # RFC 7638: the required members, sorted, no whitespace.
    thumbprint = hashlib.sha256(json.dumps(public, separators=(",", ":")).encode()).digest()
    kid = str(uuid.UUID(bytes=thumbprint[:16], version=4))
    return {
        "kty": "EC",
        "kid": kid,
        "use": "sig",
        "key_ops": ["sign", "verify"],
        "alg": "ES256",
        "ext": True,
        "crv": fields["crv"],
        "x": fields["x"],
        "y": fields["y"],
        "d": fields["d"],
    }


def public_jwk(private_jwk: dict[str, Any]) -> dict[str, Any]:
    """The verifying half of ``private_jwk``, as upstream's ``JWT_JWKS`` carries it."""
    public = {key: value for key, value in private_jwk.items() if key != "d"}
    public["key_ops"] = ["verify"]
    return public


def _oct_key(jwt_secret: str) -> dict[str, str]:
    """The legacy HS256 secret as a JWK, so services verify old and new tokens alike."""
    return {"kty": "oct", "k": _b64url(jwt_secret.encode()), "alg": "HS256"}


def render_jwt_keys(private_jwk: dict[str, Any], jwt_secret: str) -> str:
    """``JWT_KEYS`` (auth's ``GOTRUE_JWT_KEYS``): the signing JWK and the legacy oct key."""
    return json.dumps([private_jwk, _oct_key(jwt_secret)], separators=(",", ":"))


def render_jwks(private_jwk: dict[str, Any], jwt_secret: str) -> str:
    """``JWT_JWKS`` (rest, realtime, storage, functions): public JWK and the legacy oct key."""
    keys = [public_jwk(private_jwk), _oct_key(jwt_secret)]
    return json.dumps({"keys": keys}, separators=(",", ":"))


def make_asymmetric_api_key(
    role: str, *, private_jwk: dict[str, Any], issued_at: int, lifetime_days: int
) -> str:
    """``ANON_KEY_ASYMMETRIC`` / ``SERVICE_ROLE_KEY_ASYMMETRIC``: an ES256 JWT with the kid.

    Signed with deterministic ECDSA (RFC 6979): ordinary ECDSA draws a fresh nonce per
    signature, so the key (a container env value) would change on every ``pulumi up``.
    PyJWT cannot ask for deterministic signing, hence the compact JWS is put together
    here; any JWT library verifies it like any other ES256 token.
    """
    key = ECAlgorithm.from_jwk(json.dumps(private_jwk))
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("private_jwk must be an EC private key (with 'd')")
    header = {"alg": "ES256", "typ": "JWT", "kid": private_jwk["kid"]}
    segments = [
        _b64url(json.dumps(part, separators=(",", ":")).encode())
        for part in (header, _claims(role, issued_at, lifetime_days))
    ]
    signing_input = ".".join(segments).encode()
    der = key.sign(signing_input, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))
    return f"{signing_input.decode()}.{_b64url(der_to_raw_signature(der, key.curve))}"
