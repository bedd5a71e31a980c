"""The project's named volumes: the data that outlives containers, pauses and deletes."""

from __future__ import annotations

#: Volume key -> what it holds. A project has only the volumes its services mount.
VOLUMES: dict[str, str] = {
    "db-data": "Postgres data directory",
    "db-config": "pgsodium root key (without it encrypted columns cannot be read)",
    "storage-data": "files uploaded to Storage buckets",
    "functions-data": "edge function sources (the runtime serves them, Studio edits them)",
    "deno-cache": "the edge runtime's Deno module cache (2026-09; rebuilt when lost)",
    "studio-snippets": "SQL snippets saved in Studio (2026-09)",
}
