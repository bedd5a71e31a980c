"""The service catalog: one module per service, walked in dependency order, per release.

A service module's ``spec(ctx)`` describes the service as the release that introduced it
runs it (the twelve of 2024-04, or ``supavisor`` and ``api-gw`` of 2026-09). A later release
that changes a service does not touch that module: its ``release_<name>.py`` module holds a
``DELTAS`` table, service -> ``ctx -> Delta``, applied on top in release order
(``components.releases.lineage``). Images come from the release's table, so the next release
is one ``Release`` entry and one deltas module.

Adding a service means adding its module and one line in ``SERVICE_MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from types import ModuleType

from components.releases import ALL_SERVICE_NAMES, lineage
from components.services import (
    analytics,
    api_gw,
    auth,
    db,
    functions,
    imgproxy,
    kong,
    meta,
    realtime,
    release_2026_09,
    rest,
    storage,
    studio,
    supavisor,
    vector,
)
from components.services.base import Delta, ProjectContext, ServiceSpec
from components.settings import Settings

SERVICE_MODULES: dict[str, ModuleType] = {
    "vector": vector,
    "db": db,
    "analytics": analytics,
    "supavisor": supavisor,
    "kong": kong,
    "api-gw": api_gw,
    "auth": auth,
    "rest": rest,
    "realtime": realtime,
    "imgproxy": imgproxy,
    "storage": storage,
    "meta": meta,
    "functions": functions,
    "studio": studio,
}
assert set(SERVICE_MODULES) == set(ALL_SERVICE_NAMES), "the catalog and the releases differ"

#: Per release, what it changes in the services it inherits from ``based_on``.
RELEASE_DELTAS: dict[str, Mapping[str, Callable[[ProjectContext], Delta]]] = {
    "2024-04": {},
    "2026-09": release_2026_09.DELTAS,
}


def build_specs(ctx: ProjectContext) -> list[ServiceSpec]:
    """The specs of the enabled services, dependencies first.

    A dependency on a service the project leaves out is dropped, so excluding an optional
    service never leaves another waiting for it.
    """
    enabled = ctx.settings.enabled_services
    chain = lineage(ctx.settings.release)
    specs: dict[str, ServiceSpec] = {}
    for name in chain[-1].services:
        if name not in enabled:
            continue
        spec: ServiceSpec = SERVICE_MODULES[name].spec(ctx)
        for release in chain:
            delta = RELEASE_DELTAS[release.name].get(name)
            if delta is not None:
                spec = delta(ctx).apply(spec)
        if name == ctx.settings.gateway_service and not ctx.settings.publish_gateway_ports:
            spec = replace(spec, publish=())  # reached through the edge proxy only
        needs = tuple(need for need in spec.needs if need in enabled)
        specs[name] = replace(spec, needs=needs, image=resolve_image(name, ctx.settings))
    return _dependency_order(specs)


def default_image(service: str, settings: Settings) -> str:
    """The image the release pins for ``service`` (the chosen gateway's, for the gateway)."""
    return settings.release_info.image(service, settings.gateway)


def resolve_image(service: str, settings: Settings) -> str:
    """The image a service runs: the override if given, else the pinned default via the mirror.

    Overrides are taken as written. Defaults are pulled through ``registryMirror`` when set;
    Docker Hub's official images get their implicit ``library/`` path spelled out, as
    pull-through mirrors need it.
    """
    if service in settings.image_overrides:
        return settings.image_overrides[service]
    image = default_image(service, settings)
    if not settings.registry_mirror:
        return image
    repository = image if "/" in image.split(":", 1)[0] else f"library/{image}"
    return f"{settings.registry_mirror}/{repository}"


def _dependency_order(specs: dict[str, ServiceSpec]) -> list[ServiceSpec]:
    ordered: list[ServiceSpec] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(name: str) -> None:
        if name in placed:
            return
        if name in visiting:
            raise ValueError(f"services depend on each other in a cycle through {name!r}")
        visiting.add(name)
        for need in specs[name].needs:
            place(need)
        visiting.discard(name)
        placed.add(name)
        ordered.append(specs[name])

    for name in specs:
        place(name)
    return ordered
