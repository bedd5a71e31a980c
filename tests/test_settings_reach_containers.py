"""Every stack setting with a non-default value reaches the container input it is for.

The program runs through ``__main__.py`` with stack config, as ``pulumi up`` would. Each
boolean is built both ways, so a flag wired to the wrong setting, inverted, or fixed to
one value fails whichever the default is. Values asserted here are the test's own inputs.
"""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import yaml
from pulumi_harness import Run, env_of, reveal, run_main

SMTP = {
    "host": "smtp.mail.example",
    "port": 2587,
    "user": "mailer-user",
    "adminEmail": "admin@mail.example",
    "senderName": "Example Sender",
}
#: ``auth:`` keys and the GoTrue variables they set.
AUTH_FLAGS = {
    "disableSignup": "GOTRUE_DISABLE_SIGNUP",
    "emailSignup": "GOTRUE_EXTERNAL_EMAIL_ENABLED",
    "emailAutoconfirm": "GOTRUE_MAILER_AUTOCONFIRM",
    "anonymousUsers": "GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED",
    "phoneSignup": "GOTRUE_EXTERNAL_PHONE_ENABLED",
    "phoneAutoconfirm": "GOTRUE_SMS_AUTOCONFIRM",
}
#: Top-level boolean settings: (service, variable) each one sets.
TOP_FLAGS = {
    "functionsVerifyJwt": ("functions", "VERIFY_JWT"),
    "imgproxyWebpDetection": ("imgproxy", "IMGPROXY_ENABLE_WEBP_DETECTION"),
}


def build(config: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> Run:
    return run_main({"portSlot": 6, **config}, stack="shop", secret_keys=secret_keys)


def env(result: Run) -> dict[str, dict[str, str]]:
    return {service: env_of(c) for service, c in result.mocks.containers().items()}


@pytest.fixture(scope="module")
def custom() -> Run:
    return build(
        {
            "apiExternalUrl": "https://api.shop.example",
            "siteUrl": "https://shop.example",
            "additionalRedirectUrls": ["https://a.shop.example", "https://b.shop.example/cb"],
            "smtp": SMTP,
            "smtpPassword": "smtp-password-of-the-test",
            "jwtExpiry": 7201,
            "apiKeyLifetimeDays": 17,
            "fileSizeLimit": 1234567,
            "restSchemas": "public,api_v2",
            "studioOrganization": "Org Of The Test",
            "studioProject": "Project Of The Test",
            "dashboardUsername": "the-admin",
            "kongBindAddress": "127.0.0.2",
            "postgresBindAddress": "127.0.0.3",
            "logMaxSize": "7m",
            "logMaxFiles": 9,
        },
        secret_keys=("smtpPassword",),
    )


def test_urls_reach_gotrue_and_studio(custom: Run) -> None:
    envs = env(custom)
    assert envs["auth"]["API_EXTERNAL_URL"] == "https://api.shop.example"
    assert envs["studio"]["SUPABASE_PUBLIC_URL"] == "https://api.shop.example"
    assert envs["auth"]["GOTRUE_SITE_URL"] == "https://shop.example"
    allowed = envs["auth"]["GOTRUE_URI_ALLOW_LIST"].split(",")
    assert allowed == ["https://a.shop.example", "https://b.shop.example/cb"]


def test_smtp_reaches_gotrue(custom: Run) -> None:
    auth = env(custom)["auth"]
    assert auth["GOTRUE_SMTP_HOST"] == SMTP["host"]
    assert auth["GOTRUE_SMTP_PORT"] == str(SMTP["port"])
    assert auth["GOTRUE_SMTP_USER"] == SMTP["user"]
    assert auth["GOTRUE_SMTP_ADMIN_EMAIL"] == SMTP["adminEmail"]
    assert auth["GOTRUE_SMTP_SENDER_NAME"] == SMTP["senderName"]
    assert auth["GOTRUE_SMTP_PASS"] == "smtp-password-of-the-test"


def test_jwt_expiry_reaches_every_reader(custom: Run) -> None:
    envs = env(custom)
    assert envs["auth"]["GOTRUE_JWT_EXP"] == "7201"
    assert envs["db"]["JWT_EXP"] == "7201"
    assert envs["rest"]["PGRST_APP_SETTINGS_JWT_EXP"] == "7201"


def test_api_key_lifetime_sets_the_keys_expiry(custom: Run) -> None:
    for output in ("anonKey", "serviceRoleKey"):
        claims = jwt.decode(
            custom.outputs[output],
            custom.outputs["jwtSecret"],
            algorithms=["HS256"],
            options={"verify_exp": False},  # the harness issues keys at a fixed past time
        )
        assert claims["exp"] - claims["iat"] == 17 * 24 * 60 * 60


def test_service_settings_reach_their_services(custom: Run) -> None:
    envs = env(custom)
    assert envs["storage"]["FILE_SIZE_LIMIT"] == "1234567"
    assert envs["rest"]["PGRST_DB_SCHEMAS"] == "public,api_v2"
    assert envs["studio"]["DEFAULT_ORGANIZATION_NAME"] == "Org Of The Test"
    assert envs["studio"]["DEFAULT_PROJECT_NAME"] == "Project Of The Test"


def test_the_dashboard_user_guards_studio_in_kong(custom: Run) -> None:
    kong = custom.mocks.containers()["kong"]
    uploads = {u["file"]: u["content"] for u in reveal(kong.inputs["uploads"])}
    (declarative,) = [content for path, content in uploads.items() if path.endswith(".yml")]
    credentials = yaml.safe_load(declarative)["basicauth_credentials"]
    assert [c["username"] for c in credentials] == ["the-admin"]
    assert credentials[0]["password"] == custom.outputs["dashboardPassword"]
    assert custom.outputs["dashboardUsername"] == "the-admin"


def test_bind_addresses_and_log_rotation_reach_docker(custom: Run) -> None:
    containers = custom.mocks.containers()
    assert {p["ip"] for p in reveal(containers["kong"].inputs["ports"])} == {"127.0.0.2"}
    assert {p["ip"] for p in reveal(containers["db"].inputs["ports"])} == {"127.0.0.3"}
    for container in containers.values():
        assert reveal(container.inputs["logOpts"]) == {"max-size": "7m", "max-file": "9"}


@pytest.mark.parametrize("value", [True, False])
def test_every_boolean_setting_reaches_its_variable_both_ways(value: bool) -> None:
    spelled = "true" if value else "false"
    result = build({"auth": dict.fromkeys(AUTH_FLAGS, value), **dict.fromkeys(TOP_FLAGS, spelled)})
    envs = env(result)
    assert {variable: envs["auth"][variable] for variable in AUTH_FLAGS.values()} == dict.fromkeys(
        AUTH_FLAGS.values(), spelled
    )
    for service, variable in TOP_FLAGS.values():
        assert envs[service][variable] == spelled, variable
