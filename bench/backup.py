"""Backup and restore throughput against the bare tools, on one engine, in one run.

Starts a private dockerd (tests/engines.py), builds the Postgres stand-in image
(tests/pg_image.py), fills a project's database with a generated table of about
``--mb`` MB (generate_series, so it takes seconds), then times:

- backup: ``take_backup`` (globals + per-database dumps in one snapshot with row counts,
  volumes, stack, state; zstd + age, sha256, written to a local target) against a bare
  ``docker exec ... pg_dumpall | zstd -3 -T0 > file`` of the same database;
- restore: loading the backup into a fresh scratch Postgres (``load_cluster``: decrypt,
  decompress, stream into psql, count rows) against ``zstd -dc file | docker exec -i ...
  psql`` into another fresh scratch Postgres.

Run from the repository root as root::

    python -m bench.backup [--mb 300]
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from automation.backups import archive, dump, targets
from automation.backups.backup import take_backup
from automation.backups.project import Project
from automation.backups.restore import load_cluster
from components.naming import container_name
from tests import pg_image
from tests.backup_harness import EngineWorkspace, make_fleet, write_stack
from tests.engines import start_engines, stop_engines

#: About 175 bytes of dump per row: four md5 strings, an int and a timestamp.
BYTES_PER_ROW = 175
GENERATE = (
    "CREATE TABLE big AS SELECT g AS id, md5(g::text) || md5((g * 3)::text) || "
    "md5((g * 7)::text) || md5((g * 11)::text) AS body, "
    "now() - g * interval '1 second' AS at FROM generate_series(1, {rows}) g"
)


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=300, help="size of the generated data")
    args = parser.parse_args()
    engine = start_engines(1)[0]
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    try:
        image = pg_image.build_image(engine.client)
        fleet, workspace = make_fleet(
            work, engine.url, lambda d: EngineWorkspace(d, engine.client, image), io.StringIO()
        )
        write_stack(fleet, "bench", 0, engine.url, image)
        workspace.up("bench", lambda _: None)
        db = container_name("bench", "db")
        conn = dump.project_conn(db)
        rows = args.mb * 1_000_000 // BYTES_PER_ROW
        seconds, _ = timed(lambda: dump.query(engine.client, conn, GENERATE.format(rows=rows)))
        print(f"generated {rows} rows in {seconds:.1f}s")
        docker = ["docker", "-H", engine.url]

        bare_file = work / "bare.sql.zst"
        bare_dump = (
            f"{' '.join(docker)} exec -u postgres {db} sh -c "
            "'PGPASSWORD=$POSTGRES_PASSWORD pg_dumpall -h localhost -U supabase_admin' "
            f"| zstd -3 -T0 -q -o {bare_file}"
        )
        bare_backup, _ = timed(lambda: subprocess.run(bare_dump, shell=True, check=True))
        target = targets.LocalTarget(work / "backups")
        key = archive.ensure_key(fleet.config.home)
        ours_backup, manifest = timed(
            lambda: take_backup(Project(fleet, "bench"), target, key, lambda _: None, offline=False)
        )
        plain = sum(p.size for p in manifest.parts)

        def bare_load() -> None:
            with dump.scratch_db(engine.client, image, manifest.db_command, ref="bare",
                                 volumes={}, fresh=True) as scratch:  # fmt: skip
                command = (
                    f"zstd -dc {bare_file} | {' '.join(docker)} exec -i -u postgres "
                    f"{scratch.container} psql -X -q -h /tmp -U supabase_admin -d postgres "
                    "-o /dev/null 2>/dev/null"
                )
                start = time.perf_counter()
                subprocess.run(command, shell=True, check=True)
                timings["bare"] = time.perf_counter() - start

        def ours_load() -> None:
            with dump.scratch_db(engine.client, image, manifest.db_command, ref="ours",
                                 volumes={}, fresh=True) as scratch:  # fmt: skip
                start = time.perf_counter()
                load_cluster(engine.client, scratch, target, manifest, key, lambda _: None)
                timings["ours"] = time.perf_counter() - start

        timings: dict[str, float] = {}
        bare_load()
        ours_load()
        mb = plain / 1e6
        print(f"data: {mb:.0f} MB of SQL; backup {manifest.total_stored / 1e6:.0f} MB stored, "
              f"bare {bare_file.stat().st_size / 1e6:.0f} MB")  # fmt: skip
        print(f"{'':10}{'ours s':>9}{'bare s':>9}{'ours MB/s':>11}{'bare MB/s':>11}{'ratio':>8}")
        for name, ours, bare in (
            ("backup", ours_backup, bare_backup),
            ("restore", timings["ours"], timings["bare"]),
        ):
            print(f"{name:10}{ours:9.1f}{bare:9.1f}{mb / ours:11.1f}{mb / bare:11.1f}"
                  f"{ours / bare:7.2f}x")  # fmt: skip
    finally:
        stop_engines([engine])
        subprocess.run(["rm", "-rf", str(work)], check=True)


if __name__ == "__main__":
    main()
