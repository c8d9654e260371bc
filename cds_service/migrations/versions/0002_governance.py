"""Governance: a non-identifying card log and hook-call count (for the report), and the
patient-linked snooze memory and accepted suggestions (keyed hashes only, purged on expiry)."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "card_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(128), nullable=False),
        sa.Column("indicator", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("knowledge_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_card_log_at", "card_log", ["at"])
    op.create_index("ix_card_log_card", "card_log", ["card_uuid"])
    op.create_table(
        "hook_call",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("shadow", sa.Boolean, nullable=False),
    )
    op.create_index("ix_hook_call_at", "hook_call", ["at"])
    op.create_table(
        "snooze_memory",
        sa.Column("card_uuid", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("variant", sa.String(128), nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
        sa.Column("suggestions", sa.Text, nullable=False),
        sa.Column("snooze_days", sa.Integer, nullable=True),
        sa.Column("shown_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("overridden_at", sa.Float, nullable=True),
        sa.Column("override_reason", sa.String(64), nullable=True),
    )
    op.create_index("ix_snooze_memory_subject", "snooze_memory", ["subject"])
    op.create_index("ix_snooze_memory_expires", "snooze_memory", ["expires_at"])
    op.create_table(
        "accepted_suggestion",
        sa.Column("subject", sa.String(64), primary_key=True),
        sa.Column("suggestion", sa.String(128), primary_key=True),
        sa.Column("accepted_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_accepted_suggestion_expires", "accepted_suggestion", ["expires_at"])


def downgrade() -> None:
    for table in ("accepted_suggestion", "snooze_memory", "hook_call", "card_log"):
        op.drop_table(table)
