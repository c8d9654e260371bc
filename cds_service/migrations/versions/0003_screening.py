"""Screening (issue 18): when the opt-in risk-based ABI screening card was last shown, per
patient. ``key`` is a keyed hash (HMAC-SHA256) of the FHIR server and patient id, never the id."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "screening_shown",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("shown_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("screening_shown")
