"""Conversation turns: the bounded history follow-ups are rewritten from (bot/generate/threads.py).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Idempotent like 0001: a store made by `metadata.create_all` may have the table already.
    if "conversation_turns" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "conversation_turns",
        sa.Column("turn_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("thread_key", sa.String(200), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("asked_as", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_conversation_turns_thread", "conversation_turns", ["thread_key", "turn_id"])


def downgrade() -> None:
    op.drop_index("ix_conversation_turns_thread", table_name="conversation_turns")
    op.drop_table("conversation_turns")
