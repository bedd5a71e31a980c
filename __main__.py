"""One stack, one Supabase project: read the stack's config, build the project, export."""

import pulumi

from components.release_guard import release_gate
from components.sdk_versions import SdkTooOld, require_sdks
from components.settings import SettingsError, load_settings, runtime_config
from components.supabase_project import SupabaseProject, SupabaseProjectArgs

try:
    require_sdks()
except SdkTooOld as error:
    raise pulumi.RunError(str(error)) from None

# The whole config, not key by key: a misspelt or unknown key must fail too.
values, other_keys, secret_keys = runtime_config()
try:
    settings = load_settings(
        values,
        stack=pulumi.get_stack(),
        is_secret=secret_keys.__contains__,
        other_keys=other_keys,
    )
except SettingsError as error:
    raise pulumi.RunError(f"invalid stack configuration: {error}") from None

# Nothing of the project is created or changed before the release change check passes.
project = SupabaseProject(
    settings.ref,
    SupabaseProjectArgs(settings),
    opts=pulumi.ResourceOptions(depends_on=[release_gate(settings)]),
)

pulumi.export("ref", settings.ref)
pulumi.export("release", settings.release)
pulumi.export("gateway", settings.gateway)
pulumi.export("apiUrl", project.api_url)
pulumi.export("studioUrl", project.studio_url)
pulumi.export("dbUrl", project.db_url)
pulumi.export("anonKey", project.secrets.anon_key)
pulumi.export("serviceRoleKey", project.secrets.service_role_key)
pulumi.export("jwtSecret", project.secrets.jwt_secret)
pulumi.export("dashboardUsername", settings.dashboard_username)
pulumi.export("dashboardPassword", project.secrets.dashboard_password)
pulumi.export("ports", settings.ports.by_setting())
pulumi.export("services", sorted(settings.enabled_services))
pulumi.export("paused", settings.paused)
# What 2026-09 adds (2024-04 projects keep exactly the outputs they had, plus release/gateway).
new_secrets = project.secrets.new
if new_secrets is not None:
    pulumi.export("publishableKey", new_secrets.publishable_key)
    pulumi.export("secretKey", new_secrets.secret_key)
    pulumi.export("anonKeyAsymmetric", new_secrets.anon_key_asymmetric)
    pulumi.export("serviceRoleKeyAsymmetric", new_secrets.service_role_key_asymmetric)
    pulumi.export("jwtKeys", new_secrets.jwt_keys)
    pulumi.export("jwtJwks", new_secrets.jwt_jwks)
if project.pooler_url is not None:
    pulumi.export("poolerUrl", project.pooler_url)
    pulumi.export("poolerTransactionUrl", project.pooler_transaction_url)
