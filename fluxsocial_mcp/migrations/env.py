"""Alembic environment: runs on the connection ``upgrade_database`` hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import fluxsocial_mcp.models  # noqa: F401  (registers the tables)
import oauth.models  # noqa: F401

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through fluxsocial_mcp.migrations.upgrade_database")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
