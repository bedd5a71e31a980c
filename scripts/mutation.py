#!/usr/bin/env python3
"""Mutation score of ``components/`` and ``automation/``: run mutmut, print the figures.

    .venv/bin/python scripts/mutation.py --sample 25      # 25 random mutants per module
    .venv/bin/python scripts/mutation.py                  # every mutant (hours on a busy box)
    .venv/bin/python scripts/mutation.py components/ports.py automation/slots.py
    .venv/bin/python scripts/mutation.py --report         # figures of the last run only

mutmut (configured in pyproject.toml, ``[tool.mutmut]``) copies the packages into
``mutants/`` and reruns, for every mutant, the fast tests that reach the mutated function
(tests/fast_only.py leaves out every test that starts dockerd, sshd or PostgreSQL). Modules
are found by walking the packages, so new modules are counted without editing this file.

A run keeps earlier results in ``mutants/`` and runs only mutants without one (``--fresh``
starts over; named modules are always run again). ``--sample K`` runs, and reports, at most
K mutants per module, drawn with a fixed seed from the module's mutant names, so the same
code gives the same sample and two runs (before and after new tests) compare like with like;
a package's score is then the estimate weighted by each module's mutant count (stratified
sampling).

Score = killed / mutants checked. A timeout, or a mutant that no fast test reaches
("no tests"), counts against it: neither is a test that noticed the change. Survivors listed
in scripts/mutation-equivalent.md are shown apart, with the score that leaves them out.

A mutant whose mutmut worker crashed (exit 255: the test run raised instead of finishing,
which mutmut files under "timeout") is run once more by pytest itself, same mutant, the test
files that reach it, and pytest's verdict is recorded (``--confirm-crashes`` does only this).

Not part of .ci/run (too slow). mutmut runs under ``nice -n 19``.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import random
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
LOG = MUTANTS / "mutation-run.log"
EQUIVALENT_FILE = Path(__file__).resolve().with_name("mutation-equivalent.md")
#: A mutant name or name pattern, quoted in backticks in the equivalents file.
MUTANT_NAME = re.compile(r"`((?:components|automation)\.[\w.*ǁ]+__mutmut_[\d*]+)`")
SEED = "supabase-mutation"
#: Repository entries that are not read by tests (or are mutmut's own output).
NOT_COPIED = {".git", ".venv", "mutants", ".pytest_cache", ".ruff_cache", ".hypothesis"}

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
#: The last column counts the unscored mutants: those outside the sample or not reached yet.
NOT_RUN = "not run"

# Mutant generation alone (no test run), through mutmut's own steps of `mutmut run`.
GENERATE = """
from mutmut.__main__ import (copy_also_copy_files, copy_src_dir, create_mutants,
    set_mutant_under_test, setup_source_paths)
import os
os.makedirs("mutants", exist_ok=True)
set_mutant_under_test("mutant_generation")
copy_src_dir(); copy_also_copy_files(); setup_source_paths(); create_mutants(1)
"""


@dataclass
class Tally:
    """Mutant outcomes of one module or package."""

    counts: Counter = field(default_factory=Counter)
    equivalent: int = 0
    #: Mutants of the module, run or not: the weight of its score in the package's.
    total: int = 0

    def add(self, status: str, equivalent: bool) -> None:
        column = NOT_RUN if status in UNSCORED else status if status in COLUMNS else "other"
        self.counts[column] += 1
        self.equivalent += equivalent

    @property
    def scored(self) -> int:
        return sum(self.counts[column] for column in COLUMNS)

    def score(self, drop_equivalent: bool = False) -> float | None:
        total = self.scored - (self.equivalent if drop_equivalent else 0)
        return None if total <= 0 else self.counts["killed"] / total


def package_score(modules: list[Tally], drop_equivalent: bool = False) -> float | None:
    """Each module's score weighted by its mutant count (exact when every mutant ran)."""
    scored = [(m.total, m.score(drop_equivalent)) for m in modules]
    scored = [(weight, score) for weight, score in scored if score is not None]
    weight = sum(weight for weight, _ in scored)
    return None if weight == 0 else sum(w * score for w, score in scored) / weight


def modules() -> list[Path]:
    """Every Python module of the packages, as a path relative to the repository."""
    return sorted(
        path.relative_to(ROOT) for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    )


def exit_codes(module: Path) -> dict[str, int | None]:
    meta = MUTANTS / f"{module}.meta"
    return json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}


def listed_equivalent() -> list[str]:
    if not EQUIVALENT_FILE.exists():
        return []
    return MUTANT_NAME.findall(EQUIVALENT_FILE.read_text())


def sample(names: list[str], size: int | None, module: Path) -> list[str]:
    """A fixed-seed sample of one module's mutant names (all of them without ``size``)."""
    names = sorted(names)
    if size is None or len(names) <= size:
        return names
    return sorted(random.Random(f"{SEED}:{module}").sample(names, size))


def tally(chosen: list[Path], size: int | None) -> dict[Path, Tally]:
    """Outcome counts per module (of its sample), from mutmut's result files."""
    patterns = listed_equivalent()
    result: dict[Path, Tally] = {}
    for module in chosen:
        codes = exit_codes(module)
        module_tally = Tally()
        for name in sample(list(codes), size, module):
            status = STATUS_BY_EXIT_CODE.get(codes[name], "suspicious")
            equivalent = status == "survived" and any(fnmatch.fnmatch(name, p) for p in patterns)
            module_tally.add(status, equivalent)
        module_tally.total = len(codes)
        if module_tally.total:
            result[module] = module_tally
    return result


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def row(label: str, figures: Tally, score: float | None, without: float | None) -> str:
    cells = "".join(f"{figures.counts[column]:>9}" for column in (*COLUMNS, NOT_RUN))
    return f"{label:<42}{cells}{figures.equivalent:>7}{percent(score):>8}{percent(without):>9}"


def report(per_module: dict[Path, Tally]) -> None:
    header = "".join(f"{column:>9}" for column in (*COLUMNS, NOT_RUN))
    print(f"{'module':<42}{header}{'equiv':>7}{'score':>8}{'w/o eq':>9}")
    for module, figures in per_module.items():
        print(row(str(module), figures, figures.score(), figures.score(drop_equivalent=True)))
    print("-" * 120)
    for package in PACKAGES:
        parts = [figures for module, figures in per_module.items() if module.parts[0] == package]
        total = Tally()
        for figures in parts:
            total.counts.update(figures.counts)
            total.equivalent += figures.equivalent
            total.total += figures.total
        label = f"{package}/ (package)"
        print(row(label, total, package_score(parts), package_score(parts, drop_equivalent=True)))
    print(
        "score = killed / mutants run (timeouts and 'no tests' count as not killed); a package's"
        "\nscore weights each module's by its mutant count; 'w/o eq' leaves out the survivors"
        "\nlisted in scripts/mutation-equivalent.md; 'not run': outside the sample or not reached"
    )


def sync_repository() -> None:
    """Copy every file the tests may read (all but the packages) fresh into ``mutants/``.

    mutmut copies only ``also_copy``, over the old copy: a test file deleted or renamed since
    would stay, and a folder added to the repository (a schema the tests read) would be
    missing. The tests run in ``mutants/`` as if it were the repository.
    """
    for entry in ROOT.iterdir():
        if entry.name in {*PACKAGES, *NOT_COPIED}:
            continue
        target = MUTANTS / entry.name
        if entry.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(entry, target, symlinks=True)
        else:
            shutil.copy2(entry, target)


def generate() -> None:
    subprocess.run([sys.executable, "-c", GENERATE], cwd=ROOT, check=True, capture_output=True)


def run_mutmut(names: list[str], max_children: int) -> None:
    """Run mutmut on the named mutants; stop with its log's tail if it could not run them."""
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children)]
    with LOG.open("w") as log:
        done = subprocess.run(
            command + names,
            cwd=ROOT,
            check=False,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.nice(19),
        )
    if done.returncode != 0:  # e.g. the clean test run failed: no mutant result is valid
        tail = LOG.read_text(errors="replace").replace("\r", "\n").splitlines()[-25:]
        sys.exit("mutmut failed:\n" + "\n".join(tail))


#: mutmut's worker exits 255 when the test run raised instead of finishing, and mutmut files
#: that under "timeout". Such a mutant is run once more by pytest itself, same mutant and same
#: tests, and pytest's verdict replaces the crash (a crash says nothing about the tests).
CRASHED = 255


def confirm_crashes(chosen: list[Path], size: int | None) -> None:
    """Rerun each sampled mutant whose worker crashed with pytest, and record its verdict."""
    args = ["-x", "-q", "-p", "fast_only", "-p", "no:cacheprovider"]
    for module in chosen:
        meta = MUTANTS / f"{module}.meta"
        codes = exit_codes(module)
        crashed = [n for n in sample(list(codes), size, module) if codes[n] == CRASHED]
        for name in crashed:
            tests = subprocess.run(
                [sys.executable, "-m", "mutmut", "tests-for-mutant", name],
                cwd=ROOT, capture_output=True, text=True, check=True,
            ).stdout.split()  # fmt: skip
            # Their files, whole: a test id renamed since the stats were taken would make
            # pytest stop with a usage error instead of running anything.
            tests = sorted({test.split("::")[0] for test in tests if test.startswith("tests/")})
            if not tests:
                continue
            done = subprocess.run(
                [sys.executable, "-m", "pytest", *args, *tests],
                cwd=MUTANTS,
                env={**os.environ, "MUTANT_UNDER_TEST": name},
                capture_output=True,
                check=False,
                preexec_fn=lambda: os.nice(19),
            )
            if done.returncode in (0, 1):  # passed: survived; a test failed: killed
                data = json.loads(meta.read_text())
                data["exit_code_by_key"][name] = done.returncode
                meta.write_text(json.dumps(data))
            print(f"{name}: worker crashed; pytest says exit {done.returncode}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", type=Path, help="only these modules (paths)")
    parser.add_argument("--sample", type=int, metavar="K", help="run K mutants per module")
    parser.add_argument("--fresh", action="store_true", help="drop earlier results first")
    parser.add_argument(
        "--recheck", action="store_true", help="run again mutants not killed last time"
    )
    parser.add_argument("--report", action="store_true", help="print the last run's figures")
    parser.add_argument(
        "--confirm-crashes",
        action="store_true",
        help="only rerun, with pytest, mutants whose mutmut worker crashed (exit 255)",
    )
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (2)")
    args = parser.parse_args(argv)
    known = modules()
    chosen = [Path(os.path.relpath(Path(m).resolve(), ROOT)) for m in args.modules] or known
    unknown = [str(module) for module in chosen if module not in known]
    if unknown:
        parser.error(f"not a module of {' or '.join(PACKAGES)}: {', '.join(unknown)}")
    started = time.monotonic()
    if args.confirm_crashes:
        confirm_crashes(chosen, args.sample)
    elif not args.report:
        if args.fresh and MUTANTS.exists():
            shutil.rmtree(MUTANTS)
        generate()
        sync_repository()
        # Rebuilt on every run: which tests reach which function changes with the tests.
        (MUTANTS / "mutmut-stats.json").unlink(missing_ok=True)
        # Named modules run again in full (new tests may kill old survivors); otherwise
        # only mutants without a result run.
        pending = []
        for module in chosen:
            codes = exit_codes(module)
            picked = sample(list(codes), args.sample, module)
            again = {0, 5, 33, 36} if args.recheck else set()  # survived, no tests, timeout
            pending += [n for n in picked if args.modules or codes[n] is None or codes[n] in again]
        print(f"running {len(pending)} mutants (log: {LOG.relative_to(ROOT)})", flush=True)
        if pending:
            run_mutmut(pending, args.max_children)
        confirm_crashes(chosen, args.sample)
    print()
    report(tally(chosen, args.sample))
    if not args.report and not args.confirm_crashes:
        minutes = (time.monotonic() - started) / 60
        print(f"run time: {minutes:.1f} min (max-children {args.max_children}, nice 19)")


if __name__ == "__main__":
    main()
