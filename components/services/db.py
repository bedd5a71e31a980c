"""Postgres: the project's database, with Supabase's roles, extensions and init scripts.

Init scripts only run on an empty data volume; they read the passwords and JWT settings
from the container's environment, so the files themselves hold no secret.
"""

from __future__ import annotations

from components.render.database import render_init_scripts
from components.services.base import (
    DB_NAME,
    DB_PORT,
    Healthcheck,
    ProjectContext,
    Publish,
    ServiceSpec,
    Upload,
    VolumeMount,
)


def spec(ctx: ProjectContext) -> ServiceSpec:
    password = ctx.secrets.postgres_password
    return ServiceSpec(
        name="db",
        env={
            "POSTGRES_HOST": "/var/run/postgresql",
            "PGPORT": str(DB_PORT),
            "POSTGRES_PORT": str(DB_PORT),
            "PGPASSWORD": password,
            "POSTGRES_PASSWORD": password,
            "PGDATABASE": DB_NAME,
            "POSTGRES_DB": DB_NAME,
            "JWT_SECRET": ctx.secrets.jwt_secret,
            "JWT_EXP": str(ctx.settings.jwt_expiry),
        },
        # Realtime polls constantly; logging only fatal messages keeps the log readable.
        command=(
            "postgres",
            "-c",
            "config_file=/etc/postgresql/postgresql.conf",
            "-c",
            "log_min_messages=fatal",
        ),
        healthcheck=Healthcheck(
            ("CMD", "pg_isready", "-U", "postgres", "-h", "localhost"), retries=10
        ),
        needs=("vector",),
        volumes=(
            VolumeMount("db-data", "/var/lib/postgresql/data"),
            # pgsodium's root key lives here; losing it makes encrypted columns unreadable.
            VolumeMount("db-config", "/etc/postgresql-custom"),
        ),
        uploads=tuple(
            Upload(path, sql) for path, sql in render_init_scripts(database=DB_NAME).items()
        ),
        publish=(
            Publish(DB_PORT, ctx.settings.ports.postgres, ctx.settings.postgres_bind_address),
        ),
        wait_timeout=300,  # first start initialises the cluster and runs migrations
        stop_grace_seconds=60,  # let Postgres checkpoint instead of recovering on next start
    )
