"""The thin layer over the Pulumi Automation API: one LocalWorkspace, one stack per ref.

Each method is a few lines that hand one request to Pulumi. Everything above talks to the
``Workspace`` protocol, so tests substitute a fake and check what Pulumi would be asked.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pulumi import automation as auto

from automation.errors import FleetError
from automation.status import DEPLOY_KINDS, UpdateRecord

CONTAINER_TYPE = "docker:index/container:Container"

OnOutput = Callable[[str], None]


@dataclass(frozen=True)
class Output:
    """One stack output; ``secret`` outputs are only ever printed by ``credentials``."""

    value: object
    secret: bool


class Workspace(Protocol):
    """What the fleet asks of Pulumi."""

    @property
    def backend_url(self) -> str:
        """The state backend in use, for messages."""
        ...

    def list_stacks(self) -> list[str]:
        """Names of the stacks that exist in the backend."""
        ...

    def up(self, ref: str, on_output: OnOutput, replace: Sequence[str] = ()) -> dict[str, Output]:
        """Deploy the stack (creating it if needed), replacing the resources ``replace``
        names (URNs), and return its outputs."""
        ...

    def preview(self, ref: str, on_output: OnOutput) -> dict[str, int]:
        """Preview the stack; returns the planned change counts by operation."""
        ...

    def refresh(self, ref: str, on_output: OnOutput) -> None:
        """Bring the stack's state in line with what runs."""
        ...

    def destroy(self, ref: str, on_output: OnOutput) -> None:
        """Remove every resource of the stack."""
        ...

    def remove_stack(self, ref: str) -> None:
        """Delete the (empty) stack and its stack file."""
        ...

    def outputs(self, ref: str) -> dict[str, Output]:
        """The stack's outputs, secrets included and marked."""
        ...

    def history(self, ref: str) -> list[UpdateRecord]:
        """The stack's updates, newest first, up to and including the newest deploy."""
        ...

    def containers(self, ref: str) -> dict[str, str]:
        """The containers the stack's state records: container name -> resource URN."""
        ...

    def export_state(self, ref: str) -> dict:
        """The stack's state (``pulumi stack export``), secrets still encrypted."""
        ...

    def set_secret(self, ref: str, key: str, value: str) -> None:
        """``pulumi config set --secret supabase:<key>`` (creates the stack if needed)."""
        ...


def _outputs(values: Mapping[str, auto.OutputValue]) -> dict[str, Output]:
    return {name: Output(value.value, value.secret) for name, value in values.items()}


class PulumiWorkspace:
    """The Workspace on a LocalWorkspace over the repo's Pulumi program."""

    HISTORY_PAGE = 10
    HISTORY_PAGES = 10

    def __init__(self, project_dir: Path, env: Mapping[str, str], secrets_provider: str | None):
        self._project_dir = project_dir
        self._env = dict(env)
        self._secrets_provider = secrets_provider
        self._ws: auto.LocalWorkspace | None = None
        # `pulumi stack select` rewrites one workspace file; parallel selects must not race.
        self._lock = threading.Lock()

    def _workspace(self) -> auto.LocalWorkspace:
        with self._lock, self._backend_errors():
            if self._ws is None:
                try:
                    self._ws = auto.LocalWorkspace(
                        work_dir=str(self._project_dir),
                        env_vars=self._env,
                        secrets_provider=self._secrets_provider,
                    )
                except FileNotFoundError as exc:
                    raise FleetError(
                        "the Pulumi CLI is not installed or not on PATH; install it from "
                        "https://www.pulumi.com/docs/install/"
                    ) from exc
            return self._ws

    def _stack(self, ref: str, *, create: bool = False) -> auto.Stack:
        workspace = self._workspace()
        with self._lock, self._backend_errors():
            try:
                if create:
                    return auto.Stack.create_or_select(ref, workspace)
                return auto.Stack.select(ref, workspace)
            except auto.StackNotFoundError as exc:
                raise FleetError(
                    f"stack {ref!r} does not exist in the backend {self.backend_url}"
                ) from exc

    @property
    def backend_url(self) -> str:
        """The state backend in use, for messages."""
        return self._env.get("PULUMI_BACKEND_URL", "(the Pulumi CLI's current login)")

    @contextlib.contextmanager
    def _backend_errors(self) -> Iterator[None]:
        """A failing CLI or backend becomes one FleetError line naming the backend."""
        try:
            yield
        except auto.CommandError as exc:
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            detail = next((line for line in reversed(lines) if "error" in line.lower()), "")
            raise FleetError(
                f"the Pulumi backend {self.backend_url} failed: "
                f"{detail or (lines[-1] if lines else type(exc).__name__)}"
            ) from exc

    def list_stacks(self) -> list[str]:
        """Stack names without any organization/project prefix."""
        with self._backend_errors():
            summaries = self._workspace().list_stacks()
        return [summary.name.rsplit("/", 1)[-1] for summary in summaries]

    def up(self, ref: str, on_output: OnOutput, replace: Sequence[str] = ()) -> dict[str, Output]:
        """``pulumi up`` for one project (``--replace`` for each URN in ``replace``)."""
        result = self._stack(ref, create=True).up(
            on_output=on_output, color="never", show_secrets=False, replace=list(replace) or None
        )
        return _outputs(result.outputs)

    def preview(self, ref: str, on_output: OnOutput) -> dict[str, int]:
        """``pulumi preview`` for one project."""
        result = self._stack(ref, create=True).preview(on_output=on_output, color="never")
        # Keys are OpType members or, straight from the JSON event, their string values.
        return {str(getattr(op, "value", op)): n for op, n in result.change_summary.items()}

    def refresh(self, ref: str, on_output: OnOutput) -> None:
        """``pulumi refresh`` for one project."""
        self._stack(ref).refresh(on_output=on_output, color="never", show_secrets=False)

    def destroy(self, ref: str, on_output: OnOutput) -> None:
        """``pulumi destroy`` for one project."""
        self._stack(ref).destroy(on_output=on_output, color="never", show_secrets=False)

    def remove_stack(self, ref: str) -> None:
        """``pulumi stack rm`` (which also deletes the stack file)."""
        self._workspace().remove_stack(ref)

    def outputs(self, ref: str) -> dict[str, Output]:
        """``pulumi stack output --show-secrets``."""
        stack = self._stack(ref)
        with self._backend_errors():
            return _outputs(stack.outputs())

    def history(self, ref: str) -> list[UpdateRecord]:
        """``pulumi stack history``, newest first, paged until the newest deploy.

        Refreshes are history entries too, so the last deploy may be pages back.
        """
        stack = self._stack(ref)
        records: list[UpdateRecord] = []
        for page in range(1, self.HISTORY_PAGES + 1):
            summaries = stack.history(page_size=self.HISTORY_PAGE, page=page, show_secrets=False)
            records += [UpdateRecord(kind=s.kind, result=s.result) for s in summaries]
            if len(summaries) < self.HISTORY_PAGE or any(s.kind in DEPLOY_KINDS for s in summaries):
                break
        return records

    def containers(self, ref: str) -> dict[str, str]:
        """Container name -> URN for every container in the stack's state ({} for a stack
        that does not exist yet)."""
        try:
            stack = self._stack(ref)
        except FleetError:
            if ref in self.list_stacks():
                raise
            return {}
        with self._backend_errors():
            deployment = stack.export_stack().deployment or {}
        return {
            str(resource["outputs"]["name"]): str(resource["urn"])
            for resource in deployment.get("resources") or []
            if resource.get("type") == CONTAINER_TYPE
            and (resource.get("outputs") or {}).get("name")
        }

    def export_state(self, ref: str) -> dict:
        """``pulumi stack export``: secrets stay ciphertext."""
        stack = self._stack(ref)
        with self._backend_errors():
            deployment = stack.export_stack()
        return {"version": deployment.version, "deployment": deployment.deployment}

    def set_secret(self, ref: str, key: str, value: str) -> None:
        """``pulumi config set --secret`` into the stack file."""
        stack = self._stack(ref, create=True)
        with self._backend_errors():
            stack.set_config(f"supabase:{key}", auto.ConfigValue(value=value, secret=True))
