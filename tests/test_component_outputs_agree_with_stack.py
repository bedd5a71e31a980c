"""What each component registers as its outputs (shown under it by ``pulumi stack``) names
the same things as the stack's outputs, and secrets stay secret there too."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pulumi
import pytest
from pulumi_harness import Run, run_main
from test_edge_program import run_edge

from components.edge_proxy import TYPE_TOKEN

#: Component output -> the stack output with the same meaning.
PROJECT_SAME = (
    "apiUrl",
    "studioUrl",
    "dbUrl",
    "anonKey",
    "serviceRoleKey",
    "jwtSecret",
    "dashboardPassword",
)
PROJECT_SAME_2026 = ("publishableKey", "secretKey", "poolerUrl", "poolerTransactionUrl")
EDGE = {"networkName": "network", "proxyName": "proxy", "routes": "routes"}
EDGE |= {"loaderExitCode": "loaderExitCode"}


def _recording(program: Any) -> tuple[Run, dict[str, dict[str, Any]]]:
    """Run ``program`` and keep, per component type, its registered outputs resolved."""
    registered: dict[str, dict[str, Any]] = {}
    original = pulumi.ComponentResource.register_outputs

    def record(self: pulumi.ComponentResource, outputs: Any) -> None:
        typ = self._type  # type: ignore[attr-defined]
        pulumi.Output.from_input(outputs).apply(lambda values: registered.update({typ: values}))
        original(self, outputs)

    with mock.patch.object(pulumi.ComponentResource, "register_outputs", record):
        result = program()
    return result, registered


@pytest.mark.parametrize("release", ["2024-04", "2026-09"])
def test_project_outputs_are_the_stacks(release: str) -> None:
    result, registered = _recording(
        lambda: run_main({"portSlot": 11, "release": release}, stack="outs")
    )
    component = registered["supabase:index:Project"]
    same = PROJECT_SAME + (PROJECT_SAME_2026 if release == "2026-09" else ())
    for key in same:
        assert component[key] == result.outputs[key], key
    if release == "2024-04":  # existing projects keep exactly the outputs they had
        assert not set(PROJECT_SAME_2026) & set(component)
    containers = component["containers"]
    assert set(containers) == set(result.outputs["services"])
    assert all(name.startswith("supabase-outs-") for name in containers.values())
    assert component["networkName"] == "supabase-outs"


def test_edge_outputs_are_the_stacks() -> None:
    result, registered = _recording(
        lambda: run_edge(
            {"certificates": {"mode": "internal"}, "routes": [], "httpPort": 18081},
        )
    )
    component = registered[TYPE_TOKEN]
    assert set(component) == set(EDGE)
    for key, stack_key in EDGE.items():
        assert component[key] == result.outputs[stack_key], key
