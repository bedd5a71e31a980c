"""One stack per Docker engine: read the edge settings, build the EdgeProxy, export."""

import sys
from pathlib import Path

import pulumi

# The components live in the repository root, one level up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.edge_proxy import EdgeProxy, EdgeProxyArgs
from components.edge_settings import EdgeSettingsError, parse_edge_settings

#: The stack's keys by how Pulumi hands them over: plain strings, or JSON (numbers, objects).
STRING_KEYS = ("dockerHost", "dockerCertPath", "image", "bindAddress")
JSON_KEYS = ("httpPort", "httpsPort", "certificates", "routes")
config = pulumi.Config()
raw = {key: config.get(key) for key in STRING_KEYS} | {
    key: config.get_object(key) for key in JSON_KEYS
}
files = config.get_object("tlsFiles")
if files and not pulumi.runtime.is_config_secret(config.full_key("tlsFiles")):
    raise pulumi.RunError(
        "invalid edge configuration: tlsFiles holds private keys and must be a secret; "
        "set it with `pulumi config set --secret tlsFiles ...`"
    )
try:
    settings, cert_files = parse_edge_settings(
        {key: value for key, value in raw.items() if value is not None}, files=files
    )
except EdgeSettingsError as error:
    raise pulumi.RunError(f"invalid edge configuration: {error}") from None

edge = EdgeProxy(pulumi.get_stack(), EdgeProxyArgs(settings, cert_files))

pulumi.export("network", edge.network.name)
pulumi.export("proxy", edge.proxy.name)
pulumi.export("ports", {"http": settings.http_port, "https": settings.https_port})
# The provider does not fail on the loader's exit code; the fleet checks it after `up`.
pulumi.export("loaderExitCode", edge.loader.exit_code)
pulumi.export("routes", {route.ref: list(route.hosts) for route in settings.routes})
