"""The fleet's release bits: the release ``create`` writes, the note ``status`` gives projects
on an older release, and ``credentials --output``: the project's credentials under the
variable names of upstream's ``docker/.env``, so upstream's ``docker/tests/*.sh`` can run
against any project. (Which release a stack file runs is ``StackFile.release``.)
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

import yaml

from automation.errors import FleetError
from components.releases import NEWEST_RELEASE, RELEASES, Release

OUTPUT_FORMATS = ("text", "env", "json", "yaml")
"""``text`` is the ``supabase status`` layout; the others carry upstream's .env names."""
#: Upstream's .env name -> the stack output holding it (as ``pulumi stack output`` names it).
ENV_FROM_OUTPUTS: dict[str, str] = {
    "SUPABASE_PUBLIC_URL": "apiUrl",
    "API_EXTERNAL_URL": "apiUrl",
    "ANON_KEY": "anonKey",
    "SERVICE_ROLE_KEY": "serviceRoleKey",
    "JWT_SECRET": "jwtSecret",
    "SUPABASE_PUBLISHABLE_KEY": "publishableKey",
    "SUPABASE_SECRET_KEY": "secretKey",
    "JWT_KEYS": "jwtKeys",
    "JWT_JWKS": "jwtJwks",
    "ANON_KEY_ASYMMETRIC": "anonKeyAsymmetric",
    "SERVICE_ROLE_KEY_ASYMMETRIC": "serviceRoleKeyAsymmetric",
    "DASHBOARD_USERNAME": "dashboardUsername",
    "DASHBOARD_PASSWORD": "dashboardPassword",
}


def check_release(name: str) -> str:
    """``name`` if it is a known release, else a FleetError listing the known ones."""
    if name not in RELEASES:
        raise FleetError(f"release {name!r} is not known; the releases are {sorted(RELEASES)}")
    return name


def older_release_note(release: Release) -> str | None:
    """What a project on an older release should know, or None when it runs the newest."""
    if release.name == NEWEST_RELEASE:
        return None
    newest = RELEASES[NEWEST_RELEASE]
    how = (
        "a new project is needed (back up, create with the new release, restore; "
        "README: Upgrading Postgres)"
        if newest.postgres_major != release.postgres_major
        else f'set `release: "{newest.name}"` in its stack file and run up'
    )
    return f"on release {release.name}; the newest is {newest.name}: to move, {how}"


def credential_env(ref: str, outputs: Mapping[str, object]) -> dict[str, str]:
    """The project's credentials under upstream's ``.env`` names (only those it has)."""
    values = {
        name: str(outputs[key])
        for name, key in ENV_FROM_OUTPUTS.items()
        if outputs.get(key) is not None
    }
    db_url = outputs.get("dbUrl")
    if db_url:
        parsed = urlparse(str(db_url))
        values |= {
            "POSTGRES_HOST": parsed.hostname or "",
            "POSTGRES_PORT": str(parsed.port or ""),
            "POSTGRES_DB": parsed.path.lstrip("/"),
            "POSTGRES_PASSWORD": parsed.password or "",
        }
    transaction = outputs.get("poolerTransactionUrl")
    if transaction:
        values["POOLER_PROXY_PORT_TRANSACTION"] = str(urlparse(str(transaction)).port or "")
        values["POOLER_TENANT_ID"] = ref
    return values


def render_credentials(values: Mapping[str, str], output: str) -> str:
    """``values`` as a ``.env`` file (unquoted, as upstream's tests cut them), JSON or YAML."""
    if output == "env":
        for name, value in values.items():
            if "\n" in value:
                raise FleetError(f"{name} holds a line break and cannot go into a .env file")
        return "".join(f"{name}={value}\n" for name, value in values.items())
    if output == "json":
        return json.dumps(dict(values), indent=2) + "\n"
    if output == "yaml":
        return yaml.safe_dump(dict(values), sort_keys=False, width=1 << 16)
    raise FleetError(f"--output must be one of {list(OUTPUT_FORMATS)}, got {output!r}")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), all or nothing."""
    # A bare file name's parent is Path("."): the temporary file sits next to the target.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", text=True)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def credentials_text(ref: str, outputs: Mapping[str, object], output: str) -> str:
    """What ``credentials --output`` prints or writes, from the stack's output values."""
    return render_credentials(credential_env(ref, outputs), output)
