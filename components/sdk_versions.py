"""Refuse to run on provider SDKs older than the program needs, before any resource.

An older pulumi-docker SDK fails late and obscurely: ``Container`` rejects ``cpus`` with a
``TypeError`` deep in the component, or a provider that reads ``cpus`` back differently
shows a change on every ``up``. One clear message at start names the fix instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import metadata

from packaging.version import InvalidVersion, Version

#: Lowest SDK versions the program is written against (see docs/provider-notes.md).
MINIMUM_SDKS: Mapping[str, str] = {
    "pulumi": "3.140",
    "pulumi-docker": "5.1",
    "pulumi-random": "4.16",
}


class SdkTooOld(RuntimeError):
    """An installed SDK is missing or older than ``MINIMUM_SDKS`` allows."""


def require_sdks(
    version_of: Callable[[str], str] | None = None,
    minimum: Mapping[str, str] = MINIMUM_SDKS,
) -> None:
    """Raise ``SdkTooOld`` naming every SDK below its floor and the command that fixes it.

    ``version_of`` reads an installed distribution's version (default: its metadata).
    """
    version_of = version_of or metadata.version
    problems = []
    for package, floor in minimum.items():
        try:
            found = version_of(package)
            too_old = Version(found) < Version(floor)
        except metadata.PackageNotFoundError:
            found, too_old = "not installed", True
        except InvalidVersion:
            too_old = True
        if too_old:
            problems.append(f"{package} {found} (needs >= {floor})")
    if problems:
        raise SdkTooOld(
            "this program needs newer Pulumi SDKs: "
            + ", ".join(problems)
            + "; fix it with `pip install -r requirements.txt` in the project's venv"
        )
