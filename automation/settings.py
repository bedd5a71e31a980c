"""Where the fleet keeps its state: fleet home, Pulumi backend, passphrase and inventory.

The defaults give a working fleet with no account and no setup: a local file backend under
the fleet home and a passphrase generated once and kept readable only by its owner. The
same defaults are used by ``scripts/up.sh`` so both tools see the same stacks.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

from automation.errors import FleetError

HOME_ENV = "SUPABASE_FLEET_HOME"
DEFAULT_HOME = "~/.supabase-fleet"
PASSPHRASE_ENVS = ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def find_project_dir(start: Path | None = None) -> Path:
    """The directory holding ``Pulumi.yaml``, searched upwards from this package."""
    here = (start or Path(__file__)).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "Pulumi.yaml").is_file():
            return candidate
    raise FleetError(f"no Pulumi.yaml found above {here}; pass --project-dir")


@dataclass(frozen=True)
class FleetConfig:
    """Resolved settings for one run of the fleet tool."""

    home: Path
    project_dir: Path
    backend_url: str
    secrets_provider: str | None
    inventory_path: Path

    @property
    def stacks_dir(self) -> Path:
        """Stack files live where ``stackConfigDir`` in Pulumi.yaml says (Pulumi's own
        default, the project folder, when unset)."""
        try:
            project = yaml.safe_load((self.project_dir / "Pulumi.yaml").read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise FleetError(f"cannot read {self.project_dir / 'Pulumi.yaml'}: {exc}") from exc
        return self.project_dir / str(project.get("stackConfigDir") or ".")

    @property
    def passphrase_file(self) -> Path:
        """The generated passphrase of the default secrets provider."""
        return self.home / "passphrase"

    @property
    def uses_passphrase(self) -> bool:
        """Whether secrets are encrypted with a passphrase (the default provider)."""
        return self.secrets_provider in (None, "passphrase")

    @classmethod
    def resolve(
        cls,
        *,
        home: str | None = None,
        project_dir: str | None = None,
        backend_url: str | None = None,
        secrets_provider: str | None = None,
        inventory: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> FleetConfig:
        """Settings from flags, then environment, then defaults; touches no file."""
        env = os.environ if environ is None else environ
        home_path = Path(home or env.get(HOME_ENV) or DEFAULT_HOME).expanduser().absolute()
        project = Path(project_dir).absolute() if project_dir else find_project_dir()
        if not (project / "Pulumi.yaml").is_file():
            raise FleetError(f"{project} has no Pulumi.yaml; --project-dir must point at it")
        return cls(
            home=home_path,
            project_dir=project,
            backend_url=backend_url
            or env.get("PULUMI_BACKEND_URL")
            or f"file://{(home_path / 'state').as_posix()}",
            secrets_provider=secrets_provider,
            inventory_path=Path(inventory).expanduser() if inventory else home_path / "hosts.yaml",
        )

    def workspace_env(self, environ: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for the Pulumi CLI; creates the home (0700), the state dir and the
        passphrase on first use.

        The passphrase policy, shared with ``scripts/up.sh``: ``PULUMI_CONFIG_PASSPHRASE``
        or ``PULUMI_CONFIG_PASSPHRASE_FILE`` when set (the Pulumi CLI reads them as they
        are), else the file generated once in the home.
        """
        env = os.environ if environ is None else environ
        result = {"PULUMI_BACKEND_URL": self.backend_url}
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)  # it holds secrets
        local_dir = file_backend_dir(self.backend_url)
        if local_dir is not None:
            local_dir.mkdir(parents=True, exist_ok=True)
        if self.uses_passphrase and not any(env.get(name) for name in PASSPHRASE_ENVS):
            result["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(ensure_passphrase(self.passphrase_file))
        return result


def file_backend_dir(url: str) -> Path | None:
    """The directory of a ``file://`` backend URL, None for any other backend."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    return Path(os.path.expanduser(parsed.netloc + parsed.path))


def ensure_passphrase(path: Path) -> Path:
    """Generate the passphrase once, readable by its owner only; never replace it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path
