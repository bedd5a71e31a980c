"""How long one fleet status sweep takes as the fleet grows from 20 to 200 projects.

A sweep is what ``list``/``status`` pay before deriving any status: read every stack file
and list every project container of an engine (``Engine.containers_by_project``). This
starts its own private dockerd (see tests/engines.py), never the machine's Docker, fills
it with labelled projects and times sweeps at each size.

Run as root with dockerd and busybox-static installed (``.ci/system-deps.sh``), from
the repository root, either way::

    python bench/status_sweep.py [--sizes 20 50 100 200] [--runs 5]
    python -m bench.status_sweep [--sizes 20 50 100 200] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# Run as a script, Python puts bench/ first on the path, not the repository root that holds
# automation/ and tests/ (``python -m`` from the root does): put the root there either way.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from automation.engine import Engine, EngineSpec  # noqa: E402
from automation.stackfiles import list_stacks, write_new_stack  # noqa: E402
from tests.engines import (  # noqa: E402
    PrivateDockerd,
    run_project,
    start_engines,
    stop_engines,
    unavailable_reason,
    wait_for_project,
)

#: Per project: db running, kong and rest created. Every UNHEALTHY_EVERY-th project's db
#: fails its healthcheck instead, so sweeps also pay for reading probe output.
SERVICES = {"db": "running", "kong": "created", "rest": "created"}
UNHEALTHY_EVERY = 10
#: Slow probes, so the failing healthchecks do not load the machine during timing.
PROBE_EVERY = 5.0


def ref_of(index: int) -> str:
    return f"bench{index:03d}"


def services_of(index: int) -> dict[str, str]:
    if index % UNHEALTHY_EVERY == 0:
        return SERVICES | {"db": "unhealthy"}
    return SERVICES


def grow(dockerd: PrivateDockerd, stacks_dir: Path, start: int, stop: int) -> None:
    """Add projects ``start`` to ``stop - 1``: a stack file and labelled containers each."""

    def add(index: int) -> None:
        ref = ref_of(index)
        write_new_stack(stacks_dir, ref, {"dockerHost": dockerd.url, "portSlot": index})
        project = run_project(
            dockerd.client,
            ref,
            services_of(index),
            volumes=["db-data"],
            network=False,
            probe_every=PROBE_EVERY,
            wait=False,
        )
        wait_for_project(dockerd.client, project, services_of(index))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(add, range(start, stop)))


def sweep(engine: Engine, stacks_dir: Path) -> tuple[float, float]:
    """Seconds spent reading stack files and listing containers in one sweep."""
    started = time.perf_counter()
    stacks = list_stacks(stacks_dir)
    read = time.perf_counter()
    by_project = engine.containers_by_project()
    listed = time.perf_counter()
    if len(by_project) != len(stacks):
        raise RuntimeError(f"{len(stacks)} stack files but {len(by_project)} projects found")
    return read - started, listed - read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 50, 100, 200])
    parser.add_argument("--runs", type=int, default=5, help="sweeps per size (median shown)")
    args = parser.parse_args()
    reason = unavailable_reason()
    if reason is not None:
        raise SystemExit(f"cannot start a private dockerd: {reason}")

    print(
        f"{len(SERVICES)} busybox containers per project ({', '.join(SERVICES)}: "
        "1 running, 2 created); every "
        f"{UNHEALTHY_EVERY}th project's db is unhealthy; 1 volume per project; "
        f"median of {args.runs} sweeps, after one warm-up"
    )
    print(f"{'projects':>8} {'containers':>10} {'sweep s':>9} {'per project ms':>15} "
          f"{'stack files s':>14} {'docker s':>9} {'setup s':>8}")  # fmt: skip
    engines = start_engines(1)
    dockerd = engines[0]
    engine = Engine(EngineSpec(name=dockerd.name, url=dockerd.url, capacity=max(args.sizes)))
    medians: dict[int, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-stacks-") as tmp:
            stacks_dir = Path(tmp)
            have = 0
            for size in sorted(args.sizes):
                setup_started = time.perf_counter()
                grow(dockerd, stacks_dir, have, size)
                have = size
                setup = time.perf_counter() - setup_started
                sweep(engine, stacks_dir)
                runs = [sweep(engine, stacks_dir) for _ in range(args.runs)]
                totals = [read + listed for read, listed in runs]
                medians[size] = statistics.median(totals)
                print(
                    f"{size:>8} {size * len(SERVICES):>10} {medians[size]:>9.3f} "
                    f"{1000 * medians[size] / size:>15.2f} "
                    f"{statistics.median(r for r, _ in runs):>14.3f} "
                    f"{statistics.median(d for _, d in runs):>9.3f} {setup:>8.1f}"
                )
    finally:
        engine.close()
        stop_engines(engines)
    low, high = min(medians), max(medians)
    print(
        f"growth {low} -> {high} projects: sweep time x{medians[high] / medians[low]:.1f} "
        f"for x{high / low:g} projects"
    )


if __name__ == "__main__":
    main()
