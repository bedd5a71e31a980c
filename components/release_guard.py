"""Refuse to move an existing project to a release with another Postgres major version.

A Postgres 17 server will not start on a Postgres 15 data directory (nor 15 on 17), and the
data volume outlives every container, so such a change must never reach the engine. The
program learns the release it last deployed from its own stack's previous outputs: a
``StackReference`` to itself, read before anything is registered under the project.

Why a self-reference and not a record kept in state by a resource: the outputs are what
the last successful ``pulumi up`` left, they exist for every project already deployed
(2024-04 projects export ``ref`` but no ``release``, which therefore means 2024-04), and the
read is a read, so 2024-04 projects get no new resource in their plan. A recorder resource
would have to be added to those projects first, and until then a release change would
pass unnoticed. A first deploy has no outputs yet and passes. The reference names the
stack ``<organization>/<project>/<stack>``; the file backend's organization is
``organization``, which ``pulumi.get_organization()`` returns there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from components.releases import DEFAULT_RELEASE, RELEASES
from components.settings import Settings

#: The organization name of the file (diy) backend, when the engine does not report one.
FILE_BACKEND_ORGANIZATION = "organization"


class ReleaseChangeError(pulumi.RunError):
    """A release change the project's data cannot follow; nothing was changed."""


def deployed_release(previous_outputs: Mapping[str, Any] | None) -> str | None:
    """The release the stack's last deploy ran, or None when it was never deployed.

    Stacks deployed before releases existed export ``ref`` but not ``release``: they run
    2024-04, the release every project without a ``release`` setting runs.
    """
    if not previous_outputs:
        return None
    release = previous_outputs.get("release")
    if release:
        return str(release)
    return DEFAULT_RELEASE if "ref" in previous_outputs else None


def check_release_change(previous: str | None, settings: Settings) -> None:
    """Raise ``ReleaseChangeError`` when ``settings.release`` cannot run on the old data."""
    wanted = settings.release_info
    if previous is None or previous == wanted.name:
        return
    if previous not in RELEASES:
        raise ReleaseChangeError(
            f"project {settings.ref!r} was deployed with release {previous!r}, which this "
            f"program does not know; refusing to switch it to {wanted.name} without knowing "
            "which Postgres version its data directory holds. Nothing was changed."
        )
    old = RELEASES[previous]
    if old.postgres_major == wanted.postgres_major:
        return
    raise ReleaseChangeError(
        f"release {wanted.name} runs Postgres {wanted.postgres_major}, but project "
        f"{settings.ref!r} was deployed with release {old.name} (Postgres "
        f"{old.postgres_major}). A Postgres {wanted.postgres_major} server will not start on "
        f"a Postgres {old.postgres_major} data directory, so nothing was changed. To keep "
        f'this project, set `release: "{old.name}"` back in its stack file. To move its '
        f"data to {wanted.name}: back up the database (pg_dumpall, and the storage volume), "
        f'create a new project with `release: "{wanted.name}"`, restore into it and '
        "repoint clients, then delete the old project; or upgrade the data directory "
        "yourself with pg_upgrade (both Postgres versions' binaries, the project stopped) "
        "before changing the release. See README, 'Upgrading Postgres'."
    )


def release_gate(settings: Settings) -> pulumi.Output[pulumi.Resource]:
    """A dependency for the project that fails when the release change is refused.

    Pass it in the project's ``depends_on``: every resource of the project waits for the
    check, so a refusal stops the update before any of them is created or changed.
    """
    organization = pulumi.get_organization() or FILE_BACKEND_ORGANIZATION
    name = f"{organization}/{pulumi.get_project()}/{pulumi.get_stack()}"
    itself = pulumi.StackReference(f"{settings.ref}-deployed", stack_name=name)

    def check(outputs: Mapping[str, Any] | None) -> pulumi.Resource:
        check_release_change(deployed_release(outputs), settings)
        return itself

    return itself.outputs.apply(check)
