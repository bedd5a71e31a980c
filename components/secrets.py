"""The project's generated secrets, made once and kept stable in state.

Every value leaves this module as a Pulumi secret Output, so it stays encrypted in state,
in container inputs and in stack outputs. Generated values ignore later changes to their
generator arguments: the database keeps the passwords it was initialised with, so nothing
in a code change may silently roll them.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_random as random

from components.api_keys import (
    ec_private_jwk_from_seed,
    make_api_key,
    make_asymmetric_api_key,
    make_opaque_key,
    opaque_random_part,
    render_jwks,
    render_jwt_keys,
)
from components.releases import lineage
from components.settings import SecretValue, Settings

#: Generator arguments that must never regenerate an existing secret when they change.
_FROZEN_ARGS = ["length", "special", "upper", "lower", "numeric", "minNumeric"]
#: The first release whose services use the new keys and secrets below (``NewSecrets``);
#: projects on older releases never get these resources, so their plans stay as they were.
NEW_SECRETS_SINCE = "2026-09"
#: Bytes of key material drawn from state for the signing key and each opaque key.
SEED_BYTES = 32


@dataclass(frozen=True)
class ProjectSecrets:
    """Every secret the services need, each a secret Output."""

    jwt_secret: pulumi.Output[str]
    postgres_password: pulumi.Output[str]
    dashboard_password: pulumi.Output[str]
    logflare_api_key: pulumi.Output[str]
    realtime_secret_key_base: pulumi.Output[str]
    realtime_db_enc_key: pulumi.Output[str]
    smtp_password: pulumi.Output[str]
    anon_key: pulumi.Output[str]
    service_role_key: pulumi.Output[str]
    new: NewSecrets | None = None
    """The keys and secrets of releases since ``NEW_SECRETS_SINCE``; None before."""

    def require_new(self) -> NewSecrets:
        """The new secrets, for service modules of releases that use them."""
        if self.new is None:
            raise ValueError(f"this project's release predates {NEW_SECRETS_SINCE}'s secrets")
        return self.new


@dataclass(frozen=True)
class NewSecrets:
    """What the 2026-09 stack adds: new API keys, asymmetric JWT keys, service secrets."""

    publishable_key: pulumi.Output[str]
    """``sb_publishable_...``: the gateway swaps it for ``anon_key_asymmetric``."""
    secret_key: pulumi.Output[str]
    """``sb_secret_...``: the gateway swaps it for ``service_role_key_asymmetric``."""
    jwt_keys: pulumi.Output[str]
    """Auth's signing keys (private ES256 JWK plus the legacy HS256 secret), JSON."""
    jwt_jwks: pulumi.Output[str]
    """The verification key set (public ES256 JWK plus the HS256 secret), JSON."""
    anon_key_asymmetric: pulumi.Output[str]
    service_role_key_asymmetric: pulumi.Output[str]
    logflare_private_token: pulumi.Output[str]
    s3_access_key_id: pulumi.Output[str]
    s3_access_key_secret: pulumi.Output[str]
    vault_enc_key: pulumi.Output[str]
    """Supavisor encrypts tenant credentials with it (exactly 32 characters)."""
    pg_meta_crypto_key: pulumi.Output[str]
    """Studio and postgres-meta encrypt connection strings with it."""
    supavisor_secret_key_base: pulumi.Output[str]
    metrics_jwt_secret: pulumi.Output[str]
    """Signs the tokens Realtime's and Supavisor's metrics endpoints accept."""


def create_secrets(settings: Settings, prefix: str, parent: pulumi.Resource) -> ProjectSecrets:
    """Take user-given secrets where set, generate the rest, and derive the API keys.

    Generated resources are named ``<prefix>-<secret>`` so several projects can share a
    program (as the benchmark does) without clashing.
    """

    def password(name: str, length: int, given: SecretValue | None = None) -> pulumi.Output[str]:
        if given is not None:
            return pulumi.Output.secret(given.reveal())
        generated = random.RandomPassword(
            f"{prefix}-{name}",
            length=length,
            special=False,  # letters and digits only: safe in URLs, env files and YAML
            min_numeric=4,
            opts=pulumi.ResourceOptions(parent=parent, ignore_changes=_FROZEN_ARGS),
        )
        return pulumi.Output.secret(generated.result)

    jwt_secret = password("jwt-secret", 64, settings.jwt_secret)
    issued_at = _keys_issued_at(prefix, parent)
    lifetime = settings.api_key_lifetime_days

    def api_key(role: str) -> pulumi.Output[str]:
        signed = pulumi.Output.all(jwt_secret, issued_at).apply(
            lambda args: make_api_key(
                role, jwt_secret=args[0], issued_at=int(args[1]), lifetime_days=lifetime
            )
        )
        return pulumi.Output.secret(signed)

    anon_key, service_role_key = api_key("anon"), api_key("service_role")
    new = None
    if any(release.name == NEW_SECRETS_SINCE for release in lineage(settings.release)):
        new = _new_secrets(
            settings,
            password=password,
            seed=lambda name: _seed(f"{prefix}-{name}", parent),
            jwt_secret=jwt_secret,
            issued_at=issued_at,
        )
    smtp = settings.smtp.password
    return ProjectSecrets(
        jwt_secret=jwt_secret,
        postgres_password=password("postgres-password", 40, settings.postgres_password),
        dashboard_password=password("dashboard-password", 32, settings.dashboard_password),
        logflare_api_key=password("logflare-api-key", 48),
        realtime_secret_key_base=password("realtime-secret-key-base", 64),
        realtime_db_enc_key=password("realtime-db-enc-key", 16),  # AES-128: exactly 16 bytes
        smtp_password=pulumi.Output.secret(smtp.reveal() if smtp else ""),
        anon_key=anon_key,
        service_role_key=service_role_key,
        new=new,
    )


def _new_secrets(
    settings: Settings,
    *,
    password: Callable[[str, int], pulumi.Output[str]],
    seed: Callable[[str], pulumi.Output[bytes]],
    jwt_secret: pulumi.Output[str],
    issued_at: pulumi.Output[int],
) -> NewSecrets:
    """The 2026-09 keys, every one derived from key material kept in state.

    The ES256 key is a pure function of a 32-byte ``RandomBytes`` seed
    (``ec_private_jwk_from_seed``), not a ``pulumi-tls`` PrivateKey: the same seed always
    gives the same JWK and kid, the derivation runs in-process with ``cryptography`` (no
    extra provider plugin to install on every machine that runs the fleet), and the private
    key exists in state only as the seed, which the random provider already marks secret.
    """
    lifetime = settings.api_key_lifetime_days
    private_jwk = seed("jwt-signing-key-seed").apply(ec_private_jwk_from_seed)

    def opaque(kind: Literal["publishable", "secret"]) -> pulumi.Output[str]:
        part = seed(f"{kind}-key-seed").apply(opaque_random_part)
        return pulumi.Output.secret(
            # Upstream checksums every self-hosted key over one constant, not the ref.
            part.apply(lambda random_part: make_opaque_key(kind, random_part=random_part))
        )

    def both(render: Callable[[dict, str], str]) -> pulumi.Output[str]:
        return pulumi.Output.secret(
            pulumi.Output.all(private_jwk, jwt_secret).apply(lambda args: render(args[0], args[1]))
        )

    def asymmetric(role: str) -> pulumi.Output[str]:
        signed = pulumi.Output.all(private_jwk, issued_at).apply(
            lambda args: make_asymmetric_api_key(
                role, private_jwk=args[0], issued_at=int(args[1]), lifetime_days=lifetime
            )
        )
        return pulumi.Output.secret(signed)

    return NewSecrets(
        publishable_key=opaque("publishable"),
        secret_key=opaque("secret"),
        jwt_keys=both(render_jwt_keys),
        jwt_jwks=both(render_jwks),
        anon_key_asymmetric=asymmetric("anon"),
        service_role_key_asymmetric=asymmetric("service_role"),
        logflare_private_token=password("logflare-private-token", 48),
        s3_access_key_id=password("s3-access-key-id", 32),
        s3_access_key_secret=password("s3-access-key-secret", 64),
        vault_enc_key=password("vault-enc-key", 32),
        pg_meta_crypto_key=password("pg-meta-crypto-key", 32),
        supavisor_secret_key_base=password("supavisor-secret-key-base", 64),
        metrics_jwt_secret=password("metrics-jwt-secret", 64),
    )


def _seed(name: str, parent: pulumi.Resource) -> pulumi.Output[bytes]:
    """``SEED_BYTES`` random bytes made once and kept (secret) in state."""
    generated = random.RandomBytes(
        name,
        length=SEED_BYTES,
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["length"]),
    )
    return pulumi.Output.secret(generated.base64.apply(base64.b64decode))


def _keys_issued_at(prefix: str, parent: pulumi.Resource) -> pulumi.Output[int]:
    """The time the project's API keys were first issued, recorded once in state.

    A RandomInteger pinned to the creation time, whose bounds are then ignored, is a
    timestamp that stays put on every later run: keys stay valid and plans stay empty.
    Replace this resource (``pulumi up --replace``) to re-issue both keys.
    """
    now = int(time.time())
    stamp = random.RandomInteger(
        f"{prefix}-api-keys-issued-at",
        min=now,
        max=now,
        opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["min", "max"]),
    )
    return stamp.result
