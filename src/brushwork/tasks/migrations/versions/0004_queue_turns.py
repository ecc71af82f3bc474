"""queue turns: a task's round in its app's queue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 04:40:00

Adds ``tasks.turn``: the round a task was queued in (keys take turns, a key's own tasks keep
their order: tasks/queue.py), and an index on (status, app) for the count of what waits at
each submission. Tasks written before have no turn and count as round 0: those still waiting
go first, as they would have.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("turn", sa.Integer(), nullable=True))
        batch_op.create_index("ix_tasks_status_app", ["status", "app"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_app")
        batch_op.drop_column("turn")
