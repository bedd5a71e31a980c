"""A read-only query's answer counts only when psql's end marker arrived with it."""

from __future__ import annotations

import pytest

from automation.backups import dump

CONN = dump.Conn("supabase-shop-db", ())


def _answers(monkeypatch: pytest.MonkeyPatch, outputs: list[str]) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []

    def run(client: object, conn: dump.Conn, tool: str, *args: str, **_: object) -> str:
        calls.append((tool, *args))
        return outputs.pop(0)

    monkeypatch.setattr(dump, "run", run)
    return calls


def test_rows_come_back_without_the_marker(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, [f"app.notes\t2\n\n{dump._END}\n"])
    assert dump.query(None, CONN, "SELECT 1", "_supabase") == ["app.notes\t2"]
    [call] = calls
    assert call[:1] == ("psql",)
    assert call[call.index("-d") + 1] == "_supabase"
    assert call[-2:] == ("-c", f"SELECT '{dump._END}'")


def test_a_cut_answer_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, ["", "app.notes\t2\n", f"app.notes\t2\n{dump._END}\n"])
    assert dump.query(None, CONN, "SELECT 1") == ["app.notes\t2"]
    assert len(calls) == 3


def test_an_answer_cut_every_time_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, ["app.notes\t2\n"] * dump.QUERY_ATTEMPTS)
    with pytest.raises(dump.DumpError, match="cut short 3 times"):
        dump.query(None, CONN, "SELECT 1")
    assert len(calls) == dump.QUERY_ATTEMPTS
