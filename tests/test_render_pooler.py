"""Supavisor's pooler.exs: parsed and run by a real Elixir, against stand-ins for Supavisor.

Supavisor's own modules (Repo, Helpers, Tenants) and its application are replaced by
small stand-ins that record what the script asks for; everything else (the script's
syntax, its control flow, ``System.fetch_env!``) is real Elixir.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components.render.pooler import POOLER_ENV_NAMES, render_pooler_config

REF = "proj-one"
ENV = {
    "POSTGRES_HOST": "db",
    "POSTGRES_PORT": "5432",
    "POSTGRES_DB": "postgres",
    "POSTGRES_PASSWORD": "pa'ss\"w#{0}rd $HOME \\n",
    "POOLER_DEFAULT_POOL_SIZE": "20",
    "POOLER_MAX_CLIENT_CONN": "100",
    "POOLER_POOL_MODE": "transaction",
}

#: Stand-ins for what the supavisor release provides; they print what the script made.
HARNESS = r"""
defmodule Supavisor.Repo do
  def query!("select version()"), do: %{rows: [["PostgreSQL 17.6 on aarch64-unknown-linux-gnu"]]}
end

defmodule Supavisor.Helpers do
  def parse_pg_version("PostgreSQL " <> rest), do: {:ok, rest |> String.split(" ") |> hd()}
end

defmodule Supavisor.Tenants do
  def get_tenant_by_external_id(id) do
    if System.get_env("EXISTING_TENANT") == id, do: %{external_id: id}, else: nil
  end

  def create_tenant(params) do
    [user] = params["users"]
    for {key, value} <- Map.delete(params, "users"), do: IO.puts("tenant.#{key}=#{inspect(value)}")
    for {key, value} <- user, do: IO.puts("user.#{key}=#{inspect(value)}")
    {:ok, params}
  end
end

ast = Code.string_to_quoted!(File.read!(System.fetch_env!("POOLER_EXS")))
ast =
  Macro.prewalk(ast, fn
    {{:., _, [{:__aliases__, _, [:Application]}, :ensure_all_started]}, _, [:supavisor]} ->
      {:ok, []}
    node ->
      node
  end)

Code.eval_quoted(ast)
IO.puts("done")
"""


@pytest.fixture(scope="module")
def elixir() -> str:
    found = shutil.which("elixir")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("elixir is not installed; scripts/test.sh installs it when run as root")
        pytest.skip("elixir is not installed (Debian package elixir)")
    return found


def _run(elixir: str, tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "pooler.exs"
    script.write_text(render_pooler_config(tenant_id=REF))
    harness = tmp_path / "harness.exs"
    harness.write_text(HARNESS)
    return subprocess.run(
        [elixir, str(harness)],
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), "POOLER_EXS": str(script), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _values(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def _elixir_string(value: str) -> str:
    """How Elixir's inspect/1 prints a string, for comparing what the script passed on."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{")
    return f'"{escaped}"'


def test_script_parses_as_elixir(elixir: str, tmp_path: Path) -> None:
    script = tmp_path / "pooler.exs"
    script.write_text(render_pooler_config(tenant_id=REF))
    done = subprocess.run(
        [elixir, "-e", f'Code.string_to_quoted!(File.read!("{script}"))'],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_tenant_is_the_project_with_its_settings_from_the_environment(
    elixir: str, tmp_path: Path
) -> None:
    done = _run(elixir, tmp_path, ENV)
    assert done.returncode == 0, done.stderr
    values = _values(done.stdout)
    assert values["tenant.external_id"] == _elixir_string(REF)
    assert values["tenant.db_host"] == _elixir_string(ENV["POSTGRES_HOST"])
    assert values["tenant.db_port"] == _elixir_string(ENV["POSTGRES_PORT"])
    assert values["tenant.db_database"] == _elixir_string(ENV["POSTGRES_DB"])
    assert values["tenant.default_pool_size"] == _elixir_string("20")
    assert values["tenant.default_max_clients"] == _elixir_string("100")
    assert values["tenant.require_user"] == "false"
    assert values["tenant.default_parameter_status"] == '%{"server_version" => "17.6"}'
    # The password arrives byte for byte: no interpolation, no shell quoting on the way.
    assert values["user.db_password"] == _elixir_string(ENV["POSTGRES_PASSWORD"])
    assert values["user.db_user"] == _elixir_string("pgbouncer")
    assert values["user.mode_type"] == _elixir_string("transaction")
    assert values["user.is_manager"] == "true"


def test_existing_tenant_is_left_alone(elixir: str, tmp_path: Path) -> None:
    done = _run(elixir, tmp_path, {**ENV, "EXISTING_TENANT": REF})
    assert done.returncode == 0, done.stderr
    assert "tenant." not in done.stdout and "done" in done.stdout


@pytest.mark.parametrize("missing", POOLER_ENV_NAMES)
def test_a_missing_setting_stops_the_script(elixir: str, tmp_path: Path, missing: str) -> None:
    done = _run(elixir, tmp_path, {k: v for k, v in ENV.items() if k != missing})
    assert done.returncode != 0 and missing in done.stderr


def test_file_is_the_same_whatever_the_secrets() -> None:
    # Only the tenant id is in the file: rotating a password re-renders nothing.
    assert render_pooler_config(tenant_id=REF) == render_pooler_config(tenant_id=REF)
    assert render_pooler_config(tenant_id=REF) != render_pooler_config(tenant_id="proj-two")
    assert set(ENV) == set(POOLER_ENV_NAMES)  # the run above sets exactly what it reads


@pytest.mark.parametrize("bad", ["", "Proj", "a_b", "-x", 'x"; System.halt(1); "', "a" * 64])
def test_bad_tenant_ids_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="tenant id"):
        render_pooler_config(tenant_id=bad)


def test_a_bad_tenant_id_is_refused_with_the_rule_it_breaks() -> None:
    with pytest.raises(ValueError) as refused:
        render_pooler_config(tenant_id="Proj")
    assert str(refused.value) == (
        "pooler tenant id 'Proj' must be a project ref: lowercase letters, digits "
        "and inner hyphens, at most 63 characters"
    )


def test_the_longest_ref_is_a_tenant_id() -> None:
    longest = "a" * 63
    assert f'tenant_id = "{longest}"\n' in render_pooler_config(tenant_id=longest)
