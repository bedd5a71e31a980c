"""One passphrase policy: ``scripts/up.sh`` and the fleet resolve it the same way.

up.sh runs for real with stand-in ``pulumi``, ``docker`` and ``python3`` commands on PATH
(no CLI, no network); the stand-in ``pulumi`` records the environment it was given, which
is compared with what the fleet hands its Pulumi workspace for the same environment.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from automation.settings import FleetConfig, ensure_passphrase

REPO = Path(__file__).resolve().parent.parent
KEYS = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE")


def stand_ins(bin_dir: Path, record: Path) -> None:
    bin_dir.mkdir()
    tools = {
        "pulumi": "#!/bin/sh\n"
        + "".join(f'echo "{key}=${{{key}:-}}" >> {record}\n' for key in KEYS)
        + "exit 0\n",
        "docker": "#!/bin/sh\nexit 0\n",
        # venv and pip are not what is tested here: make an empty .venv, run -c for real.
        "python3": "#!/bin/sh\n"
        'if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then\n'
        '  mkdir -p "$3/bin" && printf "#!/bin/sh\\nexit 0\\n" > "$3/bin/python"\n'
        '  chmod +x "$3/bin/python"; exit 0\nfi\n'
        f'exec {sys.executable} "$@"\n',
    }
    for name, text in tools.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)


def run_up_sh(tmp_path: Path, extra_env: dict[str, str]) -> dict[str, str]:
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "up.sh", repo / "scripts" / "up.sh")
    record = tmp_path / "pulumi-env"
    stand_ins(tmp_path / "bin", record)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path / "user"),
        **extra_env,
    }
    subprocess.run(["bash", str(repo / "scripts" / "up.sh")], env=env, check=True, timeout=60)
    seen = [line.split("=", 1) for line in record.read_text().splitlines()]
    return {key: value for key, value in seen if value}  # last call wins; all calls agree


def fleet_env(home: Path, environ: dict[str, str]) -> dict[str, str]:
    config = FleetConfig.resolve(home=str(home), project_dir=str(REPO), environ=environ)
    given = {key: environ[key] for key in KEYS if environ.get(key)}
    return given | config.workspace_env(environ)


@pytest.mark.parametrize(
    "passphrase_env",
    [{}, {"PULUMI_CONFIG_PASSPHRASE": "from-env"}, {"PULUMI_CONFIG_PASSPHRASE_FILE": "/run/pp"}],
)
def test_up_sh_and_the_fleet_give_pulumi_the_same_passphrase(
    tmp_path: Path, passphrase_env: dict[str, str]
) -> None:
    home = tmp_path / "fleet-home"
    environ = {"SUPABASE_FLEET_HOME": str(home), **passphrase_env}
    script = run_up_sh(tmp_path, environ)
    generated = home / "passphrase"
    if passphrase_env:
        assert not generated.exists()  # an explicit passphrase is used as given
    else:
        first = generated.read_text()
        assert stat.S_IMODE(generated.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    fleet = fleet_env(home, environ)
    assert script == fleet
    if not passphrase_env:
        assert fleet["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(generated)
        assert generated.read_text() == first  # neither side generates it twice
        run_up_sh(tmp_path / "again", environ)
        assert generated.read_text() == first


def test_the_fleet_makes_the_home_owner_only_whatever_the_backend(tmp_path: Path) -> None:
    home = tmp_path / "h"
    environ = {"PULUMI_BACKEND_URL": "s3://bucket/fleet", "PULUMI_CONFIG_PASSPHRASE": "x"}
    config = FleetConfig.resolve(home=str(home), project_dir=str(REPO), environ=environ)
    old = os.umask(0)
    try:
        assert config.workspace_env(environ) == {"PULUMI_BACKEND_URL": "s3://bucket/fleet"}
    finally:
        os.umask(old)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_home_under_folders_not_made_yet_is_made_with_its_passphrase(tmp_path: Path) -> None:
    home = tmp_path / "not" / "yet" / "home"
    config = FleetConfig.resolve(home=str(home), project_dir=str(REPO), environ={})
    env = config.workspace_env({})
    assert env["PULUMI_CONFIG_PASSPHRASE_FILE"] == str(home / "passphrase")
    assert len((home / "passphrase").read_text().strip()) >= 32
    assert (home / "state").is_dir()  # the file backend's folder too
    assert stat.S_IMODE(home.stat().st_mode) == 0o700


def test_a_passphrase_file_is_made_with_its_folders_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "passphrase"
    assert ensure_passphrase(path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    first = path.read_text()
    assert first.endswith("\n") and len(first.strip()) >= 32
    assert ensure_passphrase(path) == path and path.read_text() == first  # never replaced
