"""Every container's variable names are as its image reads them: upper case, no spaces."""

from __future__ import annotations

import re

from pulumi_harness import env_of, run_main

NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def test_every_variable_name_is_an_upper_case_identifier() -> None:
    result = run_main({"portSlot": 9}, stack="envnames")
    names = {
        (service, name)
        for service, container in result.mocks.containers().items()
        for name in env_of(container)
    }
    assert names
    assert {(service, name) for service, name in names if not NAME.match(name)} == set()
