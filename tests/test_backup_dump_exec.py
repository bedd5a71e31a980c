"""What the backup code runs in the db container and reads back, on an in-memory engine.

The real-engine tests (test_backups_engine.py) prove these paths against Postgres; these
check, in milliseconds, the commands, users, stdin and mounts each step gets, and how a
failed, cut or silent command is reported.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from backup_fakes import Answer, FakeEngine

from automation.backups import dump

END = dump._END.encode()


def _enter(context) -> None:
    """Enter and leave a context manager (the error, if any, comes out)."""
    with context:
        pass


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def naps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The pauses the code takes (none really happens)."""
    taken: list[float] = []
    monkeypatch.setattr(dump.time, "sleep", taken.append)
    return taken


def test_the_project_connection_hands_the_containers_own_password_to_the_tool(tmp_path: Path):
    tool = tmp_path / "tool"
    tool.write_text('#!/bin/sh\necho "password=$PGPASSWORD"\nprintf "%s\\n" "$@"\n')
    tool.chmod(0o755)
    conn = dump.project_conn("supabase-shop-db")
    assert conn.container == "supabase-shop-db"
    env = {"PATH": os.environ["PATH"], "POSTGRES_PASSWORD": "s3cret"}
    out = subprocess.run(
        conn.command(str(tool), "-d", "postgres"), env=env, capture_output=True, text=True
    ).stdout.splitlines()
    # supabase/postgres's superuser over TCP, the password never on a command line.
    assert out == ["password=s3cret", "-h", "localhost", "-U", "supabase_admin", "-d", "postgres"]
    assert "s3cret" not in " ".join(conn.command(str(tool)))


def test_a_scratch_connection_uses_the_trusted_socket_in_tmp_without_a_wrapper():
    conn = dump.scratch_conn("abc")
    assert conn.command("psql", "-l") == ["psql", "-h", "/tmp", "-U", "supabase_admin", "-l"]


def test_run_returns_stdout_only_and_runs_as_postgres_without_stdin(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"one\n", b"two", b"\n"], stderr=b"NOTICE: hello"))
    conn = dump.scratch_conn("db1")
    assert dump.run(engine, conn, "psql", "-c", "SELECT 1") == "one\ntwo\n"
    [call] = engine.calls
    assert (call.container, call.user, call.stdin) == ("db1", "postgres", False)
    assert call.cmd == conn.command("psql", "-c", "SELECT 1")
    engine.answer(Answer(stdout=[b"x"]))
    dump.run(engine, conn, "tar", user="root")
    assert engine.calls[-1].user == "root"


def test_a_failing_command_is_named_with_its_exit_code_and_stderr(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"partial"], stderr=b"ERROR:  relation missing\n", exit_code=3))
    with pytest.raises(dump.DumpError) as error:
        dump.run(engine, dump.scratch_conn("db1"), "pg_dump", "-d", "app", "--schema-only")
    assert str(error.value) == "-d app --schema-only failed (3): ERROR:  relation missing"
    engine.answer(Answer(exit_code=1))
    with pytest.raises(dump.DumpError, match=r"failed \(1\): no error output$"):
        dump.run(engine, dump.scratch_conn("db1"), "psql")


def test_the_exit_code_that_lands_late_is_waited_for(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"ok"], late=3))
    assert dump.run(engine, dump.scratch_conn("db1"), "psql") == "ok"
    assert naps == [0.05, 0.05, 0.05]
    engine.answer(Answer(stdout=[b"ok"], late=1000))
    with pytest.raises(dump.DumpError, match=r"failed \(None\)"):
        dump.run(engine, dump.scratch_conn("db1"), "psql")
    assert len(naps) == 3 + 50


def test_only_the_tail_of_a_long_stderr_is_kept_and_shown(engine: FakeEngine, naps):
    noise = b"".join(b"line %06d\n" % n for n in range(10_000))  # 110 kB
    engine.answer(Answer(stderr=noise, exit_code=2))
    process = dump.Exec(engine, "db1", ["pg_restore"])
    with pytest.raises(dump.DumpError) as error:
        process.finish()
    assert len(process.stderr) == 65536
    assert bytes(process.stderr) == noise[-65536:]
    shown = str(error.value).partition("failed (2): ")[2]
    assert shown == noise.decode().strip()[-2000:]


def test_queries_ask_psql_quietly_for_bare_rows_and_stop_at_errors(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"150006\n" + END + b"\n"]))
    assert dump.query(engine, dump.scratch_conn("db1"), "SHOW server_version_num") == ["150006"]
    cmd = engine.calls[0].cmd
    for flag in ("-X", "-q", "-A", "-t"):  # no psqlrc, no chatter, unaligned, tuples only
        assert flag in cmd
    assert cmd[cmd.index("-v") + 1] == "ON_ERROR_STOP=1"
    assert cmd[cmd.index("-d") + 1] == "postgres"  # the default database
    assert cmd[cmd.index("-c") + 1] == "SHOW server_version_num"


def test_cluster_facts_read_version_databases_and_roles(engine: FakeEngine, naps):
    for rows in ([b"170004"], [b"17.4"], [b"_supabase", b"postgres"], [b"anon", b"postgres"]):
        engine.answer(Answer(stdout=[b"\n".join([*rows, END]) + b"\n"]))
    facts = dump.cluster_facts(engine, dump.scratch_conn("db1"))
    assert facts == dump.ClusterFacts("17.4", 17, ["_supabase", "postgres"], ["anon", "postgres"])
    asked = [call.cmd[call.cmd.index("-c") + 1] for call in engine.calls]
    assert asked[:2] == ["SHOW server_version_num", "SHOW server_version"]
    assert "NOT datistemplate" in asked[2] and "datallowconn" in asked[2]
    assert "pg_roles" in asked[3]


def test_row_counts_are_parsed_from_tab_separated_lines():
    lines = ["public.notes\t3", "weird\tname.t\t12", "pg_catalog.pg_largeobject_metadata\t0"]
    assert dump.parse_counts(lines) == {
        "public.notes": 3,
        "weird\tname.t": 12,
        "pg_catalog.pg_largeobject_metadata": 0,
    }


def test_globals_come_from_pg_dumpall_globals_only_streamed(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"CREATE ROLE a;\n", b"CREATE ROLE b;\n"], stderr=b"warning"))
    chunks = list(dump.dump_globals(engine, dump.scratch_conn("db1")))
    assert chunks == [b"CREATE ROLE a;\n", b"CREATE ROLE b;\n"]
    [call] = engine.calls
    assert call.cmd[0] == "pg_dumpall" and call.cmd[-1] == "--globals-only"
    assert call.user == "postgres"


def test_a_snapshot_counts_rows_in_one_read_only_transaction_held_for_pg_dump(
    engine: FakeEngine, naps
):
    rows = [b" 00000003-00000002-1 \n", b"public.a\t2\nauth.users\t", b"5\n" + END + b"\n"]
    engine.answer(Answer(stdout=rows))
    engine.answer(Answer(stdout=[b"--\n", b"-- dump\n"]))
    conn = dump.scratch_conn("db1")
    with dump.snapshot(engine, conn, "app") as (snapshot_id, counts):
        assert snapshot_id == "00000003-00000002-1"
        assert counts == {"public.a": 2, "auth.users": 5}
        session = engine.calls[0]
        assert session.stdin and session.cmd[session.cmd.index("-d") + 1] == "app"
        dumped = b"".join(dump.dump_database(engine, conn, "app", snapshot_id))
        assert dumped == b"--\n-- dump\n"
        assert engine.calls[0].read_stdin().endswith(f"\\echo {dump._END}\n".encode())
    sent = session.read_stdin().decode()
    first, _, rest = sent.partition("\n")
    assert first == "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
    assert rest.startswith("SELECT pg_export_snapshot();\n" + dump.COUNT_ROWS + "\n")
    assert sent.endswith(f"\\echo {dump._END}\nCOMMIT;\n\\q\n")
    pg_dump = engine.calls[1].cmd
    assert pg_dump[0] == "pg_dump"
    assert "--snapshot=00000003-00000002-1" in pg_dump
    assert pg_dump[pg_dump.index("-d") + 1] == "app"
    # Restored into an empty cluster: the dump creates its database (dropping any first).
    assert {"--create", "--clean", "--if-exists"} <= set(pg_dump)


def test_a_session_that_ends_before_its_answer_is_an_error_with_stderr(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"snap\n", b"public.a\t2\n"], stderr=b"FATAL: terminating"))
    with pytest.raises(dump.DumpError) as error:
        _enter(dump.snapshot(engine, dump.scratch_conn("db1"), "app"))
    assert str(error.value) == "psql ended early: FATAL: terminating"
    engine.answer(Answer(stdout=[b"snap"], stderr=b"killed", exit_code=137))
    with pytest.raises(dump.DumpError, match=r"failed \(137\): killed"):
        _enter(dump.snapshot(engine, dump.scratch_conn("db1"), "app"))


def test_a_command_that_stops_reading_stdin_is_named_with_its_stderr(engine: FakeEngine, naps):
    engine.answer(Answer(stderr=b"tar: invalid header"))
    process = dump.Exec(engine, "helper", ["tar", "-x"], user="root")  # no stdin attached
    with pytest.raises(dump.DumpError) as error:
        process.send(b"x" * (1 << 20))
    assert str(error.value) == "tar stopped reading: tar: invalid header"


def test_a_lost_connection_is_named_with_the_command(engine: FakeEngine, naps):
    engine.answer(Answer(stdout=[b"a"]))
    process = dump.Exec(engine, "db1", ["pg_dump", "-d", "app"])
    process.close()
    with pytest.raises(dump.DumpError, match="^connection to the engine lost during pg_dump: "):
        process.line()


def test_feeding_sql_gives_psql_stdin_and_stops_at_the_first_error(engine: FakeEngine, naps):
    engine.answer(Answer())
    process = dump.feed_sql(engine, dump.scratch_conn("db1"), "template1")
    process.send(b"CREATE TABLE t ();\n")
    process.finish()
    [call] = engine.calls
    assert call.stdin and call.user == "postgres"
    assert call.read_stdin() == b"CREATE TABLE t ();\n"
    assert call.cmd[call.cmd.index("-v") + 1] == "ON_ERROR_STOP=1"
    assert call.cmd[call.cmd.index("-d") + 1] == "template1"
    assert call.cmd[call.cmd.index("-o") + 1] == "/dev/null"  # no result rows kept
    assert "-X" in call.cmd and "-q" in call.cmd  # no psqlrc, no line per command


def test_a_scratch_db_has_no_network_and_is_stopped_cleanly_then_removed(engine: FakeEngine, naps):
    engine.ready_codes = [2, 2, 0]
    with dump.scratch_db(
        engine, "pg:15", ["postgres", "-c", "x=1"], ref="shop", volumes={"vol-a": "/data"},
        fresh=True,
    ) as conn:  # fmt: skip
        [made] = engine.containers_made
        assert conn == dump.scratch_conn(made.id)
        assert made.events[-1] == "reload" and "stop 60" not in made.events
    assert (made.image, made.command) == ("pg:15", ["postgres", "-c", "x=1"])
    args = made.kwargs
    assert args["network_mode"] == "none" and args["user"] == "postgres"
    assert args["entrypoint"] == ["sh", "-c", dump.SCRATCH_SCRIPT, "sh"]
    assert args["environment"] == {"PGDATA": "/var/lib/postgresql/data", "FRESH": "1"}
    assert args["volumes"] == {"vol-a": {"bind": "/data", "mode": "rw"}}
    assert args["labels"] == {dump.HELPER_LABEL: "shop"}
    assert args["name"].startswith("supabase-shop-scratch-") and len(args["name"]) == 30
    assert args["detach"] is True
    assert made.events[-2:] == ["stop 60", "remove [('force', True), ('v', True)]"]
    probes = [call for call in engine.calls if call.cmd[0] == "pg_isready"]
    assert len(probes) == 3 and probes[0].cmd == ["pg_isready", "-q", "-h", "/tmp"]
    assert {probe.user for probe in probes} == {"postgres"}
    assert naps == [0.2, 0.2]


def test_an_existing_data_directory_is_kept_when_not_fresh(engine: FakeEngine, naps):
    with dump.scratch_db(engine, "pg:15", ["postgres"], ref="shop", volumes={}, fresh=False):
        pass
    assert engine.containers_made[0].kwargs["environment"]["FRESH"] == ""


def test_a_scratch_db_that_exits_is_named_with_its_logs_and_removed(engine: FakeEngine, naps):
    engine.run_status = "exited"
    engine.run_logs = b"".join(b"log %d\n" % n for n in range(29)) + b"log \xff"
    with pytest.raises(dump.DumpError) as error:
        _enter(dump.scratch_db(engine, "pg:15", ["postgres"], ref="s", volumes={}, fresh=True))
    tail = "\n".join(f"log {n}" for n in range(10, 29)) + "\nlog \ufffd"
    assert str(error.value) == f"scratch Postgres of pg:15 did not start: {tail}"
    assert engine.containers_made[0].events[-1] == "remove [('force', True), ('v', True)]"


def test_a_scratch_db_never_ready_fails_after_the_deadline(
    engine: FakeEngine, naps, monkeypatch: pytest.MonkeyPatch
):
    clock = iter([0.0, 60.0, 119.0, 120.0, 120.5])
    monkeypatch.setattr(dump.time, "monotonic", lambda: next(clock))
    engine.ready_codes = [2] * 10
    with pytest.raises(dump.DumpError, match="^scratch Postgres of pg:15 not ready in 120s$"):
        _enter(dump.scratch_db(engine, "pg:15", ["postgres"], ref="s", volumes={}, fresh=True))
    assert len(naps) == 3  # checked at 60, 119 and 120 s; past the deadline at 120.5 s


@pytest.mark.parametrize("running", [False, True])
def test_a_volume_helper_mounts_each_volume_under_backup(engine: FakeEngine, naps, running):
    volumes = {"storage-data": "supabase-shop-storage-data", "db-config": "v2"}
    with dump.volume_helper(engine, "pg:15", "shop", volumes, running=running) as helper:
        [made] = engine.containers_made
        assert helper == made.id
        assert made.events == (["start"] if running else [])
    mode = "rw" if running else "ro"  # a backup only reads the volumes
    assert made.kwargs["volumes"] == {
        "supabase-shop-storage-data": {"bind": "/backup/storage-data", "mode": mode},
        "v2": {"bind": "/backup/db-config", "mode": mode},
    }
    assert made.command == (["sleep", "infinity"] if running else ["true"])
    assert made.kwargs["entrypoint"] == [] and made.kwargs["user"] == "root"
    assert made.kwargs["network_mode"] == "none"
    assert made.kwargs["labels"] == {dump.HELPER_LABEL: "shop"}
    assert made.kwargs["name"].startswith("supabase-shop-volumes-")
    assert len(made.kwargs["name"]) == len("supabase-shop-volumes-") + 8
    assert made.events[-1] == "remove [('force', True)]"


def test_a_volume_is_read_as_one_tar_in_large_chunks(engine: FakeEngine):
    assert list(dump.volume_archive(engine, "helper", "storage-data")) == [
        b"tar of /backup/storage-data"
    ]
    assert engine.archives == [("helper", "/backup/storage-data", 1 << 20)]


def test_replacing_a_volume_empties_it_then_untars_stdin_as_root(engine: FakeEngine, naps):
    engine.answer(Answer(), Answer())
    process = dump.replace_volume(engine, "helper", "storage-data")
    process.send(b"tar bytes")
    process.finish()
    wipe, untar = engine.calls
    assert wipe.cmd == ["find", "/backup/storage-data", "-mindepth", "1", "-delete"]
    assert (wipe.user, wipe.stdin, untar.user, untar.stdin) == ("root", False, "root", True)
    assert untar.cmd[0] == "tar" and "-x" in untar.cmd and "--same-owner" in untar.cmd
    assert untar.cmd[untar.cmd.index("-C") + 1] == "/backup"
    assert untar.read_stdin() == b"tar bytes"
    engine.answer(Answer(stderr=b"find: busy", exit_code=1))
    with pytest.raises(dump.DumpError, match="find: busy"):
        dump.replace_volume(engine, "helper", "db-config")
    assert len(engine.calls) == 3  # no tar after a failed wipe


def test_a_socket_handed_out_as_a_file_is_used_underneath(engine: FakeEngine, naps):
    """docker-py gives unix-socket engines' exec streams as a socket file (``SocketIO``)."""
    engine.socket_files = True
    engine.answer(Answer(stdout=[b"ok\n"]))
    process = dump.feed_sql(engine, dump.scratch_conn("db1"), "app")
    process.send(b"SELECT 1;\n")
    assert process.line() == "ok"
    process.finish()
    assert engine.calls[0].read_stdin() == b"SELECT 1;\n"


def test_finishing_a_command_whose_connection_is_gone_names_the_command(engine, naps):
    engine.answer(Answer())
    process = dump.feed_sql(engine, dump.scratch_conn("db1"), "app")
    process.close()
    with pytest.raises(dump.DumpError, match="^connection to the engine lost during psql: "):
        process.finish()


def test_an_engine_dropping_the_connection_mid_load_is_named(engine: FakeEngine, naps):
    engine.answer(Answer())
    process = dump.feed_sql(engine, dump.scratch_conn("db1"), "app")
    process.send(b"CREATE TABLE t ();\n")
    engine.calls[0].peer.close()  # gone, with what it was sent still unread
    with pytest.raises(dump.DumpError, match="^connection to the engine lost during psql: "):
        process.send(b"INSERT INTO t DEFAULT VALUES;\n")
