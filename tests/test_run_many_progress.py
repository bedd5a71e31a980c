"""What a user sees while the fleet runs one operation over many projects."""

from __future__ import annotations

import io
import threading
import time

import pytest

from automation import runner
from automation.runner import Outcome, Progress, exit_code, print_summary, run_many, short_error


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1000.0]
    monkeypatch.setattr(runner.time, "monotonic", lambda: now[0])
    return now


def test_a_long_pulumi_error_is_cut_to_its_last_meaningful_lines() -> None:
    log = "\n".join(
        ["Updating (shop):", "", "\x1b[31merror:\x1b[0m one", "  two  ", "", "three", "four", ""]
    )
    assert short_error(RuntimeError(log)) == "two | three | four"
    assert short_error(RuntimeError("\x1b[1m only \x1b[0m")) == "only"


def test_an_error_without_text_is_named_by_its_type() -> None:
    assert short_error(TimeoutError()) == "TimeoutError"
    assert short_error(RuntimeError("\n \x1b[0m\n")) == "RuntimeError"


def test_without_a_terminal_every_message_is_one_plain_line() -> None:
    out = io.StringIO()
    progress = Progress(["shop", "blog"], out, live=False)
    progress.update("shop", "\x1b[32mcreating\x1b[0m db ")
    progress.update("blog", "   ")  # nothing to say: nothing written
    progress.update("blog", "\x1b[2K")
    progress.update("blog", "done")
    assert out.getvalue() == "shop: creating db\nblog: done\n"


def test_run_many_runs_every_ref_and_one_failure_does_not_stop_the_others() -> None:
    out = io.StringIO()

    def operation(ref: str, report: runner.Report) -> str:
        report(f"working on {ref}")
        if ref == "bad":
            raise RuntimeError("first\nboom")
        return f"{ref} is up"

    outcomes = run_many(["a", "bad", "c"], operation, parallel=2, out=out, live=False)
    assert [(o.ref, o.ok, o.message) for o in outcomes] == [
        ("a", True, "a is up"),
        ("bad", False, "first | boom"),
        ("c", True, "c is up"),
    ]
    lines = out.getvalue().splitlines()
    for ref in ("a", "bad", "c"):
        assert f"{ref}: started" in lines
        assert f"{ref}: working on {ref}" in lines
    assert "bad: FAILED: first | boom" in lines
    assert "c: done: c is up" in lines
    assert lines[-5:] == [
        "Summary:",
        "  ok     a (0s): a is up",
        "  FAILED bad (0s): first | boom",
        "  ok     c (0s): c is up",
        "2 succeeded, 1 failed",
    ]
    assert exit_code(outcomes) == 1
    assert exit_code(outcomes[:1]) == 0


@pytest.mark.parametrize(("parallel", "most"), [(2, 2), (0, 1), (-3, 1)])
def test_at_most_parallel_projects_run_at_once(parallel: int, most: int) -> None:
    running: list[int] = [0, 0]
    lock = threading.Lock()

    def operation(ref: str, report: runner.Report) -> str:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return "ok"

    run_many([f"p{i}" for i in range(6)], operation, parallel=parallel, out=io.StringIO())
    assert running[1] == most


def test_run_many_draws_a_live_table_when_writing_to_a_terminal() -> None:
    out = Terminal()
    run_many(["shop-a"], lambda ref, report: "fine", parallel=1, out=out)
    text = runner.ANSI.sub("", out.getvalue())
    table = text.split("Summary:")[0]
    final_row = table.replace("\r", "\n").strip().splitlines()[-1]
    assert final_row.split() == ["shop-a", "done", "done:", "fine"]
    assert "shop-a: started" not in text  # no plain log lines on a terminal


def test_the_live_table_is_one_row_per_project_and_nothing_else() -> None:
    out = Terminal()
    run_many(["shop-a", "shop-b"], lambda ref, report: "fine", parallel=1, out=out)
    table = out.getvalue().split("\x1b[?25h")[0]  # up to where the cursor is shown again
    last_frame = table.split("\x1b[2K")[-1]  # each frame erases the one before
    *lines, after = runner.ANSI.sub("", last_frame).split("\n")
    assert after == ""
    rows = [line.split() for line in lines]  # no header line, not even a blank one
    assert rows == [["shop-a", "done", "done:", "fine"], ["shop-b", "done", "done:", "fine"]]


def test_a_failed_project_s_row_says_failed_in_red() -> None:
    out = Terminal()

    def fail(ref: str, report: runner.Report) -> str:
        raise RuntimeError("boom")

    run_many(["shop-a"], fail, parallel=1, out=out)
    table = out.getvalue().split("Summary:")[0]
    assert "\x1b[1;31mfailed\x1b[0m" in table
    assert "FAILED: boom" in table


def test_the_summary_shows_whole_seconds_per_project() -> None:
    out = io.StringIO()
    print_summary([Outcome("a", True, "up", 61.6), Outcome("b", False, "no", 0.4)], out)
    assert out.getvalue() == (
        "\nSummary:\n  ok     a (62s): up\n  FAILED b (0s): no\n1 succeeded, 1 failed\n"
    )


def test_the_summary_shows_how_long_each_project_took(clock: list[float]) -> None:
    out = io.StringIO()

    def slow(ref: str, report: runner.Report) -> str:
        clock[0] += 61.0
        return "up"

    (outcome,) = run_many(["a"], slow, parallel=1, out=out, live=False)
    assert outcome.seconds == 61.0
    assert "  ok     a (61s): up\n" in out.getvalue()
