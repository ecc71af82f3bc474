"""data lifecycle: deletions, retention, sweeper leases

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 20:20:00

Adds ``files.expired_at`` (past retention: the bytes are gone, the record answers 410),
``tasks.deleted_at`` (a deleted task kept as a tombstone while its webhook is still to be
delivered), ``deletions`` (what each owner deleted, so a repeated DELETE answers 204) and
``leases`` (one holder at a time for background jobs shared by many API servers). Data
written by 0001 opens unchanged: every new column is nullable.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expired_at", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_files_created_at"), ["created_at"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deleted_at", sa.Float(), nullable=True))
    op.create_table(
        "deletions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", "kind"),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("until", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("leases")
    op.drop_table("deletions")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("deleted_at")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_files_created_at"))
        batch_op.drop_column("expired_at")
