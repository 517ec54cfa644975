"""Initial schema: every table the state store had when migrations began (ledger, bot state, fetch cache, health).

Written to be idempotent (each table and index is created only if missing), so a store made by the old
`metadata.create_all` is adopted as it is: this revision fills in whatever is missing and stamps it.
The definitions are frozen here on purpose: later changes to indexer/schema.py need a new revision.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> sa.MetaData:
    m = sa.MetaData()
    tz = sa.DateTime(timezone=True)
    sa.Table(
        "documents", m,
        sa.Column("doc_id", sa.String(200), primary_key=True),
        sa.Column("source_path", sa.Text, nullable=False),
        sa.Column("origin", sa.Text, nullable=False),
        sa.Column("source_name", sa.String(200)),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("doc_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("current_version", sa.Integer),
        sa.Column("pending_version", sa.Integer),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("first_seen", tz, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
    )
    sa.Table(
        "versions", m,
        sa.Column("doc_id", sa.String(200), sa.ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("raw_hash", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("passage_count", sa.Integer, nullable=False),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("run_id", sa.Integer),
    )
    passages = sa.Table(
        "passages", m,
        sa.Column("passage_id", sa.String(240), primary_key=True),
        sa.Column("doc_id", sa.String(200), sa.ForeignKey("documents.doc_id", ondelete="CASCADE"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("section", sa.String(200), nullable=False),
        sa.Column("section_number", sa.Integer),
        sa.Column("section_kind", sa.String(20), nullable=False),
        sa.Column("chapter_path", sa.JSON, nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("parts", sa.Integer, nullable=False),
        sa.Column("occurrence", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
    )
    sa.Index("ix_passages_doc", passages.c.doc_id)
    sa.Table(
        "runs", m,
        sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("started_at", tz, nullable=False),
        sa.Column("finished_at", tz),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("report", sa.JSON),
    )
    changes = sa.Table(
        "changes", m,
        sa.Column("change_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("doc_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("from_version", sa.Integer),
        sa.Column("to_version", sa.Integer),
        sa.Column("detected_at", tz, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("doc_type", sa.String(40)),
        sa.Column("status", sa.String(40)),
        sa.Column("url", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("changed_sections", sa.JSON),
        sa.Column("evidence", sa.JSON),
        sa.Column("run_id", sa.Integer),
    )
    sa.Index("ix_changes_detected", changes.c.detected_at)
    sa.Index("ix_changes_doc", changes.c.doc_id)
    sa.Table(
        "subscriptions", m,
        sa.Column("channel_id", sa.String(40), primary_key=True),
        sa.Column("topics", sa.JSON, nullable=False),
        sa.Column("issuers", sa.JSON, nullable=False),
        sa.Column("kinds", sa.JSON, nullable=False),
        sa.Column("created_by", sa.String(40)),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("since_change_id", sa.Integer, nullable=False),
    )
    sa.Table(
        "channel_settings", m,
        sa.Column("channel_id", sa.String(40), primary_key=True),
        sa.Column("digest", sa.String(10)),
        sa.Column("digest_time", sa.String(5)),
        sa.Column("digest_skip_empty", sa.Boolean, nullable=False),
        sa.Column("last_digest_at", tz),
        sa.Column("updated_at", tz, nullable=False),
    )
    outbox = sa.Table(
        "outbox", m,
        sa.Column("alert_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("change_id", sa.Integer, sa.ForeignKey("changes.change_id", ondelete="CASCADE"), nullable=False),
        sa.Column("destination", sa.String(60), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("claimed_by", sa.String(80)),
        sa.Column("claimed_until", tz),
        sa.Column("next_attempt_at", tz),
        sa.Column("created_at", tz, nullable=False),
        sa.Column("sent_at", tz),
        sa.Column("message_ts", sa.String(40)),
        sa.UniqueConstraint("change_id", "destination", name="uq_outbox_change_dest"),
    )
    sa.Index("ix_outbox_state", outbox.c.state)
    sa.Table(
        "feedback", m,
        sa.Column("feedback_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(40)),
        sa.Column("user_id", sa.String(40)),
        sa.Column("message_ts", sa.String(40)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("created_at", tz, nullable=False),
    )
    sa.Table(
        "slack_events", m,
        sa.Column("event_id", sa.String(80), primary_key=True),
        sa.Column("received_at", tz, nullable=False),
    )
    sa.Table(
        "threads", m,
        sa.Column("channel_id", sa.String(40), primary_key=True),
        sa.Column("thread_ts", sa.String(40), primary_key=True),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("updated_at", tz, nullable=False),
    )
    sa.Table(
        "answers", m,
        sa.Column("answer_id", sa.String(32), primary_key=True),
        sa.Column("channel_id", sa.String(40)),
        sa.Column("user_id", sa.String(40)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.JSON, nullable=False),
        sa.Column("created_at", tz, nullable=False),
    )
    sa.Table(
        "fetch_cache", m,
        sa.Column("url_hash", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("final_url", sa.Text),
        sa.Column("updated_at", tz, nullable=False),
    )
    sa.Table(
        "source_health", m,
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("last_checked", tz),
        sa.Column("last_ok", tz),
        sa.Column("last_error", sa.Text),
        sa.Column("consecutive_failures", sa.Integer, nullable=False),
        sa.Column("failing_since", tz),
    )
    return m


def upgrade() -> None:
    bind = op.get_bind()
    m = _tables()
    m.create_all(bind, checkfirst=True)  # tables that exist are left alone
    existing = {t: {ix["name"] for ix in sa.inspect(bind).get_indexes(t)} for t in m.tables}
    for table in m.sorted_tables:
        for index in table.indexes:
            if index.name not in existing[table.name]:
                index.create(bind)  # a table made before one of its indexes existed


def downgrade() -> None:
    _tables().drop_all(op.get_bind())
