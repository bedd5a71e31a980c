"""Time to build project resource graphs under mocks, beside a bare ``import pulumi_docker``.

Each figure comes from a fresh Python process, so import costs are not hidden by a warm
interpreter. Prints one line per case: wall seconds (median of runs) and peak RSS, for each
release (2026-09 also makes its EC key, opaque keys and ES256 JWTs, and renders Envoy's
config), and 2026-09 against 2024-04 as a ratio.

    python bench/graph_build.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Runs inside a fresh interpreter; prints {"seconds": ..., "peak_rss_mb": ...}.
CASE = r"""
import json, resource, sys, time
start = time.perf_counter()
sys.path[:0] = [{root!r}, {tests!r}]
import pulumi, pulumi_docker  # noqa: F401
if {projects} > 0:
    from pulumi_harness import run
    from components.settings import load_settings
    from components.supabase_project import SupabaseProject, SupabaseProjectArgs

    def program():
        for slot in range({projects}):
            raw = {{"portSlot": str(slot), "release": {release!r}}}
            settings = load_settings(raw.get, stack=f"bench-{{slot}}", is_secret=lambda k: False)
            SupabaseProject(settings.ref, SupabaseProjectArgs(settings))

    result = run(program)
    containers = len(result.mocks.of_type(":Container"))
    assert containers == {containers} * {projects}, containers
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "peak_rss_mb": peak}}))
"""


#: Release -> containers of a project with the release's defaults.
RELEASE_CONTAINERS = {"2024-04": 12, "2026-09": 11}


def measure(projects: int, runs: int, release: str = "2024-04") -> tuple[float, float]:
    """Median seconds and max peak RSS (MiB) of ``runs`` fresh processes."""
    code = CASE.format(
        root=str(ROOT),
        tests=str(ROOT / "tests"),
        projects=projects,
        release=release,
        containers=RELEASE_CONTAINERS[release],
    )
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, cwd=ROOT)  # fmt: skip
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return (
        statistics.median(s["seconds"] for s in samples),
        max(s["peak_rss_mb"] for s in samples),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    base_seconds, base_rss = measure(0, runs)
    print(f"{'case':<42}{'seconds':>9}{'over import':>13}{'peak RSS MiB':>14}")
    print(
        f"{'import pulumi, pulumi_docker (bare)':<42}{base_seconds:>9.2f}{'':>13}{base_rss:>14.0f}"
    )
    per_project: dict[str, float] = {}
    for release, containers in RELEASE_CONTAINERS.items():
        for projects in (1, 20):
            seconds, rss = measure(projects, runs, release)
            label = f"{release}: {projects} project(s), {containers * projects} containers"
            print(f"{label:<42}{seconds:>9.2f}{seconds - base_seconds:>13.2f}{rss:>14.0f}")
            if projects > 1:
                per_project[release] = (seconds - base_seconds) / projects
                print(f"{'  per project (beyond import)':<42}{per_project[release]:>9.3f}")
    ratio = per_project["2026-09"] / per_project["2024-04"]
    print(f"{'2026-09 / 2024-04, per project':<42}{ratio:>9.2f}x")
    print(
        f"(median of {runs} fresh processes each, on {sys.platform}, Python "
        f"{sys.version.split()[0]})"
    )


if __name__ == "__main__":
    main()
