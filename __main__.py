"""One stack, one Supabase project: read the stack's config, build the project, export."""

import pulumi

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

project = SupabaseProject(settings.ref, SupabaseProjectArgs(settings))

pulumi.export("ref", settings.ref)
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
