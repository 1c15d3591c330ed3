"""subscriptions, broadcasts, organisation directory fields

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("topic", sa.String(length=48), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("contact_id", "topic"),
    )
    op.create_table(
        "broadcasts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("topic", sa.String(length=48), nullable=False),
        sa.Column("province", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cursor", sa.BigInteger(), nullable=False),
        sa.Column("audience", sa.Integer(), nullable=False),
        sa.Column("enqueued", sa.Integer(), nullable=False),
        sa.Column("skipped_window", sa.Integer(), nullable=False),
        sa.Column("skipped_quota", sa.Integer(), nullable=False),
        sa.Column("line_budget", sa.Integer(), nullable=True),
        sa.Column("line_enqueued", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["volunteers.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.create_index("ix_broadcasts_due", ["status", "scheduled_at"], unique=False)
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hours", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("public_contacts", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("approved", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("approved")
        batch_op.drop_column("public_contacts")
        batch_op.drop_column("hours")
    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_index("ix_broadcasts_due")
    op.drop_table("broadcasts")
    op.drop_table("subscriptions")
