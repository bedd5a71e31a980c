"""Names and labels every Docker object of a project carries.

One place decides how a project's objects are named and labelled, so the component that
creates them and the fleet tool that finds them can never disagree.
"""

from __future__ import annotations

import re

#: Label naming the project (its ref) on every container, volume and network.
PROJECT_LABEL = "supabase.project"
#: Label naming the service ("db", "kong", ...) on every container.
SERVICE_LABEL = "supabase.service"
#: Label naming the kind of volume ("db-data", "storage", ...) on every volume.
VOLUME_LABEL = "supabase.volume"
#: Label saying which tool manages the object.
MANAGED_BY_LABEL = "supabase.managed-by"
MANAGED_BY = "pulumi"

#: A ref is a DNS label: lowercase letters, digits and hyphens, 1 to 63 characters, no
#: hyphen at either end. It becomes part of container, network and host names.
REF_PATTERN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
#: Docker object names get this prefix so a project's objects are easy to spot on a shared host.
NAME_PREFIX = "supabase"


def network_name(ref: str) -> str:
    """The project's own bridge network."""
    return f"{NAME_PREFIX}-{ref}"


def container_name(ref: str, service: str) -> str:
    """The container of one service of one project, e.g. ``supabase-shop-db``."""
    return f"{NAME_PREFIX}-{ref}-{service}"


def volume_name(ref: str, volume: str) -> str:
    """A named volume of one project, e.g. ``supabase-shop-db-data``."""
    return f"{NAME_PREFIX}-{ref}-{volume}"


def project_labels(ref: str) -> dict[str, str]:
    """Labels that every object of the project carries."""
    return {PROJECT_LABEL: ref, MANAGED_BY_LABEL: MANAGED_BY}


#: The shared network of the edge proxy; each project's gateway joins it (and only it), so
#: the proxy reaches gateways by container name while the projects' own networks stay private.
EDGE_NETWORK = f"{NAME_PREFIX}-edge"
#: The edge proxy's container, the one-shot container that loads its config, and its volume.
EDGE_PROXY = f"{NAME_PREFIX}-edge-proxy"
EDGE_LOADER = f"{NAME_PREFIX}-edge-config"
EDGE_VOLUME = f"{NAME_PREFIX}-edge-data"
#: Label marking the edge's objects (value: the role, e.g. "proxy").
EDGE_LABEL = "supabase.edge"
#: Port every gateway (Kong, Envoy) listens on inside its container.
GATEWAY_PORT = 8000


def gateway_upstream(ref: str, gateway_service: str) -> str:
    """``<container>:<port>`` of a project's gateway on the edge network."""
    return f"{container_name(ref, gateway_service)}:{GATEWAY_PORT}"
