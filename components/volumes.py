"""The project's named volumes: the data that outlives containers, pauses and deletes."""

from __future__ import annotations

#: Volume key -> what it holds. Every one is data a user would miss.
VOLUMES: dict[str, str] = {
    "db-data": "Postgres data directory",
    "db-config": "pgsodium root key (without it encrypted columns cannot be read)",
    "storage-data": "files uploaded to Storage buckets",
    "functions-data": "edge function sources",
}
