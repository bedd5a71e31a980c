"""The project's generated secrets, made once and kept stable in state.

Every value leaves this module as a Pulumi secret Output, so it stays encrypted in state,
in container inputs and in stack outputs. Generated values ignore later changes to their
generator arguments: the database keeps the passwords it was initialised with, so nothing
in a code change may silently roll them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pulumi
import pulumi_random as random

from components.api_keys import make_api_key
from components.settings import SecretValue, Settings

#: Generator arguments that must never regenerate an existing secret when they change.
_FROZEN_ARGS = ["length", "special", "upper", "lower", "numeric", "minNumeric"]


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

    smtp = settings.smtp.password
    return ProjectSecrets(
        jwt_secret=jwt_secret,
        postgres_password=password("postgres-password", 40, settings.postgres_password),
        dashboard_password=password("dashboard-password", 32, settings.dashboard_password),
        logflare_api_key=password("logflare-api-key", 48),
        realtime_secret_key_base=password("realtime-secret-key-base", 64),
        realtime_db_enc_key=password("realtime-db-enc-key", 16),  # AES-128: exactly 16 bytes
        smtp_password=pulumi.Output.secret(smtp.reveal() if smtp else ""),
        anon_key=api_key("anon"),
        service_role_key=api_key("service_role"),
    )


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
