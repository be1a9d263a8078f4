"""Alembic migrations, applied on start and by ``fluxsocial-mcp migrate``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from ..db import Database

HERE = Path(__file__).parent
# Serialises concurrent upgrades (several workers starting at once) on PostgreSQL.
ADVISORY_LOCK_ID = 0x466C7578  # "Flux"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


async def upgrade_database(db: Database, revision: str = "head") -> None:
    async with db.engine.begin() as connection:
        if not db.is_sqlite:
            await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_ID})")
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
