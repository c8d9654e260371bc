"""Baseline: the schema as it stood before migrations (feedback items and seen JWT ids).

A database created by the earlier ``create_all`` start-up holds exactly these tables; it is
stamped at this revision and migrated up from here.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_id", sa.String(128), nullable=False),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("outcome_timestamp", sa.String(40), nullable=False),
        sa.Column("accepted_suggestions", sa.Text, nullable=True),
        sa.Column("override_system", sa.String(512), nullable=True),
        sa.Column("override_code", sa.String(128), nullable=True),
        sa.Column("override_display", sa.String(512), nullable=True),
        sa.Column("user_comment", sa.Text, nullable=True),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.UniqueConstraint("service_id", "card_uuid", "outcome_timestamp", name="uq_feedback_item"),
    )
    op.create_table(
        "seen_jti",
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_seen_jti_expires", "seen_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_jti_expires", table_name="seen_jti")
    op.drop_table("seen_jti")
    op.drop_table("feedback")
