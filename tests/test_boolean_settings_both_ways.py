"""Every boolean stack setting, built once true and once false, sets its variable to match.

tests/test_settings_reach.py sets each setting to its non-default value; a flag fixed to
that one value, or read from a neighbouring setting with the same default, passes there.
Building both ways catches it whichever the default is. The program runs through
``__main__.py`` with stack config, as ``pulumi up`` would.
"""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_harness import Run, env_of, run_main

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


def build(config: dict[str, Any]) -> Run:
    return run_main({"portSlot": 6, **config}, stack="shop")


def env(result: Run) -> dict[str, dict[str, str]]:
    return {service: env_of(c) for service, c in result.mocks.containers().items()}


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
