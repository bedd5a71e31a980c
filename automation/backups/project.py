"""The project side of backups: stack file, Pulumi state and secrets, pause/start, status.

Everything that needs Pulumi goes through the fleet's ``Workspace`` (so tests use a fake
for Pulumi while the data side runs on a real engine), and the fleet's own stack-file and
status code, so a restore stops and starts a project exactly as ``pause``/``resume`` do.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from automation import lifecycle, stackfiles
from automation.engine import Engine
from automation.errors import FleetError
from automation.inventory import spec_for_stack
from automation.observe import observe
from automation.stackfiles import StackFile
from automation.status import Status

if TYPE_CHECKING:
    from automation.context import FleetContext

#: Secrets a database restored from a backup needs its stack to agree with: role passwords
#: travel inside the dump, the JWT secret inside the database settings, and the dashboard
#: password only matters for Studio, but a clone that keeps the source's is least surprising.
SECRET_KEYS = ("postgresPassword", "jwtSecret", "dashboardPassword")
#: Settings a clone never copies from its source: its identity, place and secrets.
NOT_COPIED = {
    "ref",
    "portSlot",
    "ports",
    "dockerHost",
    "dockerSocket",
    "dockerCertPath",
    "paused",
    *SECRET_KEYS,
}
ACTIVE_DEADLINE = 600.0


class Project:
    """One project (by ref or stack name) as a backup or restore sees it."""

    def __init__(self, ctx: FleetContext, ref: str):
        self.ctx = ctx
        self.ref = ref

    @property
    def stack(self) -> StackFile:
        """The stack file, read afresh (pause and resume rewrite it)."""
        return self.ctx.select([self.ref])[0]

    @property
    def engine(self) -> Engine:
        return self.ctx.engine(spec_for_stack(self.ctx.inventory, self.stack))  # type: ignore[return-value]

    @property
    def release(self) -> str:
        return self.stack.release.name

    @property
    def postgres_major(self) -> int:
        return self.stack.release.postgres_major

    def offline_db_image(self) -> str:
        """The db image of a paused project, as its stack file decides it."""
        images = self.stack.get("images") or {}
        if isinstance(images, dict) and images.get("db"):
            return str(images["db"])
        release = self.stack.release
        image = release.image("db", release.default_gateway)
        mirror = self.stack.get("registryMirror")
        return f"{mirror}/{image}" if mirror else image

    def secrets(self) -> dict[str, str]:
        """The project's secrets a restored database needs, from the stack outputs."""
        try:
            outputs = self.ctx.workspace.outputs(self.stack.name)
        except Exception as exc:  # any backend failure: name it, the backup stops here
            raise FleetError(
                f"cannot read the outputs of stack {self.stack.name!r}: {exc}"
            ) from exc
        found: dict[str, str] = {}
        db_url = outputs.get("dbUrl")
        if db_url is not None and urlparse(str(db_url.value)).password:
            found["postgresPassword"] = str(urlparse(str(db_url.value)).password)
        for key in ("jwtSecret", "dashboardPassword"):
            if key in outputs:
                found[key] = str(outputs[key].value)
        return found

    def export_state(self) -> bytes:
        """The stack's state, secrets still encrypted by its secrets provider."""
        state = self.ctx.workspace.export_state(self.stack.name)
        return json.dumps(state, sort_keys=True).encode()

    def set_paused(self, paused: bool, report) -> None:
        """Pause or start through the stack file and ``up``, as ``pause``/``resume`` do."""
        name = self.stack.name
        stackfiles.set_setting(self.ctx.config.stacks_dir, name, "paused", paused)
        lifecycle.deploy(self.ctx, stackfiles.read_stack(self.ctx.config.stacks_dir, name), report)

    def wait_active(self, deadline: float = ACTIVE_DEADLINE) -> None:
        """Until the fleet's status says ACTIVE; FleetError with the problems otherwise."""
        end = time.monotonic() + deadline
        while True:
            status = observe(self.ctx, self.ref).projects[0].status
            if status.status == Status.ACTIVE:
                return
            if status.status == Status.FAILED or time.monotonic() > end:
                raise FleetError(
                    f"project {self.ref} is {status.status.value} after the restore: "
                    + "; ".join(status.problems)
                )
            time.sleep(1.0)

    def db_container(self) -> str | None:
        """The running db container's name, if any."""
        for container in self.engine.project_containers(self.stack.ref):
            if container.service == "db" and container.state == "running":
                return container.name
        return None


def clone_settings(source_stack: dict) -> dict[str, object]:
    """The settings a clone takes from its source's stack file (secrets apart)."""
    config = source_stack.get("config") or {}
    settings = {}
    for key, value in config.items():
        namespace, _, name = key.partition(":")
        if namespace != stackfiles.NAMESPACE or name in NOT_COPIED:
            continue
        if isinstance(value, dict) and "secure" in value:
            continue  # encrypted with the source's key; the clone cannot read it
        settings[name] = value
    return settings
