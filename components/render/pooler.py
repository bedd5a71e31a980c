"""Supavisor's ``pooler.exs``: the script that creates the project's pooler tenant.

Supavisor runs it once per start (``supavisor eval``) after its migrations. It creates
one tenant whose id is the project ref, so clients log in as ``<user>.<project ref>``;
an existing tenant is left alone. Only the tenant id is written into the file: the
password, pool sizes and database address come from the container's environment (the
names in ``POOLER_ENV_NAMES``), so the file holds no secret.
"""

from __future__ import annotations

from components.naming import REF_PATTERN

#: The environment the script reads; every one must be set (``System.fetch_env!``).
POOLER_ENV_NAMES = (
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_DB",
    "POSTGRES_PASSWORD",
    "POOLER_DEFAULT_POOL_SIZE",
    "POOLER_MAX_CLIENT_CONN",
    "POOLER_POOL_MODE",
)
#: Where the supavisor container gets the file.
POOLER_CONFIG_PATH = "/etc/pooler/pooler.exs"

_SCRIPT = """\
# Supavisor tenant of one Supabase project, created on the first start only.
{:ok, _} = Application.ensure_all_started(:supavisor)

tenant_id = "@TENANT_ID@"
env = fn name -> System.fetch_env!(name) end

# Clients see the server's version before Supavisor connects to it on their behalf.
{:ok, pg_version} =
  case Supavisor.Repo.query!("select version()") do
    %{rows: [[version]]} -> Supavisor.Helpers.parse_pg_version(version)
  end

pool_size = env.("POOLER_DEFAULT_POOL_SIZE")

# pgbouncer looks every client's password up with auth_query, so one manager user
# (the image's pgbouncer role) serves all database users.
params = %{
  "external_id" => tenant_id,
  "db_host" => env.("POSTGRES_HOST"),
  "db_port" => env.("POSTGRES_PORT"),
  "db_database" => env.("POSTGRES_DB"),
  "require_user" => false,
  "auth_query" => "SELECT * FROM pgbouncer.get_auth($1)",
  "default_max_clients" => env.("POOLER_MAX_CLIENT_CONN"),
  "default_pool_size" => pool_size,
  "default_parameter_status" => %{"server_version" => pg_version},
  "users" => [
    %{
      "db_user" => "pgbouncer",
      "db_password" => env.("POSTGRES_PASSWORD"),
      "mode_type" => env.("POOLER_POOL_MODE"),
      "pool_size" => pool_size,
      "is_manager" => true
    }
  ]
}

if Supavisor.Tenants.get_tenant_by_external_id(tenant_id) == nil do
  {:ok, _} = Supavisor.Tenants.create_tenant(params)
end
"""


def render_pooler_config(*, tenant_id: str) -> str:
    """``pooler.exs`` for the tenant ``tenant_id`` (the project ref)."""
    if not REF_PATTERN.match(tenant_id):
        raise ValueError(
            f"pooler tenant id {tenant_id!r} must be a project ref: lowercase letters, digits "
            "and inner hyphens, at most 63 characters"
        )
    return _SCRIPT.replace("@TENANT_ID@", tenant_id)
