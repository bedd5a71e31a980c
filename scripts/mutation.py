#!/usr/bin/env python3
"""Mutation score of ``components/`` and ``automation/``: run mutmut, print the figures.

    .venv/bin/python scripts/mutation.py                  # fresh run over both packages
    .venv/bin/python scripts/mutation.py components/ports.py automation/slots.py
    .venv/bin/python scripts/mutation.py --keep           # only mutants not run yet / changed
    .venv/bin/python scripts/mutation.py --report         # figures of the last run only

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) copies the packages into
``mutants/`` and reruns, for every mutant, the fast tests that reach the mutated function
(tests/fast_only.py leaves out every test that starts dockerd, sshd or PostgreSQL). Modules
are found by walking the packages, so new modules are counted without editing this file.

Score = killed / all mutants checked. A timeout, or a mutant that no fast test reaches
("no tests"), counts against the score: neither is a test that noticed the change.
Survivors listed in scripts/mutation-equivalent.md are shown apart, with the score that
leaves them out, since no test can kill a mutant that behaves like the original.

Not part of .ci/run: a full run takes tens of minutes. It runs under ``nice -n 19``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("components", "automation")
MUTANTS = ROOT / "mutants"
EQUIVALENT_FILE = Path(__file__).resolve().with_name("mutation-equivalent.md")
#: A mutant name as mutmut prints it, quoted in backticks in the equivalents file.
MUTANT_NAME = re.compile(r"`((?:components|automation)\.[\w.]+__mutmut_\d+)`")

# mutmut's exit codes per mutant (mutmut/stats.py); anything else mutmut calls suspicious.
STATUS_BY_EXIT_CODE = {
    1: "killed",
    3: "killed",
    0: "survived",
    5: "no tests",
    33: "no tests",
    34: "skipped",
    36: "timeout",
    24: "timeout",
    -24: "timeout",
    152: "timeout",
    255: "timeout",
    37: "type check",
    -11: "segfault",
    -9: "segfault",
    2: "interrupted",
    None: "not checked",
}
#: Statuses that say nothing about the tests and stay out of the score.
UNSCORED = frozenset({"not checked", "skipped", "interrupted"})
COLUMNS = ("killed", "survived", "timeout", "no tests", "other")
#: The last column counts the unscored mutants: those a cut-short run has not reached yet.
NOT_RUN = "not run"


@dataclass
class Tally:
    """Mutant outcomes of one module or package."""

    counts: Counter = field(default_factory=Counter)
    equivalent: int = 0

    def add(self, status: str, equivalent: bool) -> None:
        column = NOT_RUN if status in UNSCORED else status if status in COLUMNS else "other"
        self.counts[column] += 1
        self.equivalent += equivalent

    def merge(self, other: Tally) -> None:
        self.counts.update(other.counts)
        self.equivalent += other.equivalent

    @property
    def scored(self) -> int:
        return sum(self.counts[column] for column in COLUMNS)

    def score(self, drop_equivalent: bool = False) -> float | None:
        total = self.scored - (self.equivalent if drop_equivalent else 0)
        return None if total == 0 else self.counts["killed"] / total


def modules() -> list[Path]:
    """Every Python module of the packages, as a path relative to the repository."""
    return sorted(
        path.relative_to(ROOT) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    )


def mutant_glob(module: Path) -> str:
    """mutmut's name pattern for the mutants of one module (``components.ports.*``)."""
    dotted = ".".join(module.with_suffix("").parts)
    return f"{dotted.removesuffix('.__init__')}.*"


def listed_equivalent() -> set[str]:
    if not EQUIVALENT_FILE.exists():
        return set()
    return set(MUTANT_NAME.findall(EQUIVALENT_FILE.read_text()))


def tally() -> dict[Path, Tally]:
    """Outcome counts per module, from mutmut's result files in ``mutants/``."""
    equivalent = listed_equivalent()
    result: dict[Path, Tally] = {}
    for module in modules():
        meta = MUTANTS / f"{module}.meta"
        if not meta.exists():
            continue
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        module_tally = Tally()
        for name, code in exit_codes.items():
            status = STATUS_BY_EXIT_CODE.get(code, "suspicious")
            module_tally.add(status, status == "survived" and name in equivalent)
        if module_tally.counts:
            result[module] = module_tally
    return result


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def row(label: str, figures: Tally) -> str:
    cells = "".join(f"{figures.counts[column]:>10}" for column in (*COLUMNS, NOT_RUN))
    return (
        f"{label:<38}{cells}{figures.equivalent:>8}"
        f"{percent(figures.score()):>9}{percent(figures.score(drop_equivalent=True)):>10}"
    )


def report(per_module: dict[Path, Tally], show_modules: bool) -> None:
    header = "".join(f"{column:>10}" for column in (*COLUMNS, NOT_RUN))
    print(f"{'module':<38}{header}{'equiv.':>8}{'score':>9}{'w/o eq.':>10}")
    packages: dict[str, Tally] = {package: Tally() for package in PACKAGES}
    for module, figures in per_module.items():
        packages[module.parts[0]].merge(figures)
        if show_modules:
            print(row(str(module), figures))
    print("-" * 146)
    for package, figures in packages.items():
        print(row(f"{package}/ (package)", figures))
    print("score = killed / (killed + survived + timeout + no tests + other);")
    print("'w/o eq.' leaves out the survivors listed in scripts/mutation-equivalent.md")


def run_mutmut(selected: list[Path], max_children: int, keep: bool) -> float:
    """Run mutmut (fresh unless ``keep`` or modules are selected); return the wall time.

    Naming modules reruns all their mutants; ``keep`` lets mutmut run only the mutants
    without a result yet (new or changed functions), keeping earlier results.
    """
    if not (selected or keep) and MUTANTS.exists():
        shutil.rmtree(MUTANTS)
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    command += [mutant_glob(module) for module in selected]
    started = time.monotonic()
    # mutmut exits non-zero when mutants survive; the figures below say how many.
    subprocess.run(command, cwd=ROOT, check=False, preexec_fn=lambda: os.nice(19))
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", type=Path, help="only these modules (paths)")
    parser.add_argument("--report", action="store_true", help="print the last run's figures")
    parser.add_argument("--keep", action="store_true", help="keep earlier results (incremental)")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (2)")
    args = parser.parse_args(argv)
    selected = [Path(os.path.relpath(Path(module).resolve(), ROOT)) for module in args.modules]
    unknown = [str(module) for module in selected if module not in modules()]
    if unknown:
        parser.error(f"not a module of {' or '.join(PACKAGES)}: {', '.join(unknown)}")
    elapsed = None if args.report else run_mutmut(selected, args.max_children, args.keep)
    figures = tally()
    if selected:
        figures = {module: figures[module] for module in selected if module in figures}
    print()
    report(figures, show_modules=True)
    if elapsed is not None:
        print(f"run time: {elapsed / 60:.1f} min (max-children {args.max_children}, nice 19)")


if __name__ == "__main__":
    main()
