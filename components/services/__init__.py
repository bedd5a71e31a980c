"""The service catalog: one module per service, walked in dependency order.

Adding a service means adding its module and one line in ``SERVICE_MODULES``.
"""

from __future__ import annotations

from dataclasses import replace
from types import ModuleType

from components.services import (
    analytics,
    auth,
    db,
    functions,
    imgproxy,
    kong,
    meta,
    realtime,
    rest,
    storage,
    studio,
    vector,
)
from components.services.base import ProjectContext, ServiceSpec
from components.settings import ALL_SERVICES, Settings

SERVICE_MODULES: dict[str, ModuleType] = {
    module.__name__.rsplit(".", 1)[-1]: module
    for module in (
        vector, db, analytics, kong, auth, rest, realtime, imgproxy, storage, meta, functions,
        studio,
    )
}  # fmt: skip
assert tuple(SERVICE_MODULES) == ALL_SERVICES, "the catalog and settings.ALL_SERVICES differ"

#: The images the project runs unless overridden, by service.
DEFAULT_IMAGES: dict[str, str] = {name: module.IMAGE for name, module in SERVICE_MODULES.items()}


def build_specs(ctx: ProjectContext) -> list[ServiceSpec]:
    """The specs of the enabled services, dependencies first.

    A dependency on a service the project leaves out is dropped, so excluding an optional
    service never leaves another waiting for it.
    """
    enabled = ctx.settings.enabled_services
    specs: dict[str, ServiceSpec] = {}
    for name, module in SERVICE_MODULES.items():
        if name in enabled:
            spec: ServiceSpec = module.spec(ctx)
            needs = tuple(need for need in spec.needs if need in enabled)
            specs[name] = replace(spec, needs=needs, image=resolve_image(name, ctx.settings))
    return _dependency_order(specs)


def resolve_image(service: str, settings: Settings) -> str:
    """The image a service runs: the override if given, else the pinned default via the mirror.

    Overrides are taken as written. Defaults are pulled through ``registryMirror`` when set;
    Docker Hub's official images get their implicit ``library/`` path spelled out, as
    pull-through mirrors need it.
    """
    if service in settings.image_overrides:
        return settings.image_overrides[service]
    image = DEFAULT_IMAGES[service]
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
