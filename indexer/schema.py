"""The state store's schema (SQLAlchemy Core): one MetaData for SQLite and PostgreSQL alike.

Indexer tables: documents, versions, passages, runs, changes.
Bot tables: subscriptions, outbox, feedback, slack_events, digests, channel_settings, conversation_turns.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# One row per logical document (a file or a URL). `current_version` points at the version whose passages are live.
documents = Table(
    "documents",
    metadata,
    Column("doc_id", String(200), primary_key=True),
    Column("source_path", Text, nullable=False),  # as given to `regwatch index`, or the URL
    Column("origin", Text, nullable=False),  # resolved absolute path or URL: what identifies the file across runs
    Column("source_name", String(200)),  # the watched source it came from, if any
    Column("title", Text, nullable=False),
    Column("doc_type", String(40), nullable=False),
    Column("status", String(40), nullable=False),
    Column("language", String(8), nullable=False),
    Column("meta", JSON, nullable=False),  # DocMeta.to_dict()
    Column("current_version", Integer),  # null until the first version is fully indexed
    Column("pending_version", Integer),  # set while a version is being written; a killed run leaves it for the next
    Column("removed", Boolean, nullable=False, default=False),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

versions = Table(
    "versions",
    metadata,
    Column("doc_id", String(200), ForeignKey("documents.doc_id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("raw_hash", String(64), nullable=False),  # sha256 of the bytes
    Column("content_hash", String(64), nullable=False),  # sha256 of the normalised text: what "changed" means
    Column("meta", JSON, nullable=False),
    Column("text", Text, nullable=False),  # kept for diffs between versions
    Column("passage_count", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Integer),
)

# The live passages of each document's current version (and, while a run is in flight, its pending version).
passages = Table(
    "passages",
    metadata,
    Column("passage_id", String(240), primary_key=True),
    Column("doc_id", String(200), ForeignKey("documents.doc_id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("section", String(200), nullable=False),
    Column("section_number", Integer),
    Column("section_kind", String(20), nullable=False),
    Column("chapter_path", JSON, nullable=False),
    Column("part", Integer, nullable=False, default=0),
    Column("parts", Integer, nullable=False, default=1),
    Column("occurrence", Integer, nullable=False, default=0),
    Column("text", Text, nullable=False),
    Column("text_hash", String(64), nullable=False),
)
Index("ix_passages_doc", passages.c.doc_id)

runs = Table(
    "runs",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # index | watch
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("state", String(20), nullable=False),  # running | done | failed (a killed run stays 'running')
    Column("report", JSON),
)

# Every detected change, with its evidence. Alerts are made from these.
changes = Table(
    "changes",
    metadata,
    Column("change_id", Integer, primary_key=True, autoincrement=True),
    Column("doc_id", String(200), nullable=False),
    Column("kind", String(40), nullable=False),  # new_draft | new_standard | new_regulation | amendment | status_change | commentary | minor_edit | new_document | removed
    Column("from_version", Integer),
    Column("to_version", Integer),
    Column("detected_at", DateTime(timezone=True), nullable=False),
    Column("title", Text, nullable=False),
    Column("doc_type", String(40)),
    Column("status", String(40)),
    Column("url", Text),
    Column("summary", Text),
    Column("changed_sections", JSON),  # {"added": [...], "removed": [...], "changed": [...]}
    Column("evidence", JSON),  # url, hashes, diff, source
    Column("run_id", Integer),
)
Index("ix_changes_detected", changes.c.detected_at)
Index("ix_changes_doc", changes.c.doc_id)

# --- bot state -------------------------------------------------------------------------------------------

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("channel_id", String(40), primary_key=True),
    Column("topics", JSON, nullable=False, default=list),
    Column("issuers", JSON, nullable=False, default=list),
    Column("kinds", JSON, nullable=False, default=list),
    Column("created_by", String(40)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("since_change_id", Integer, nullable=False, default=0),  # changes before subscribing are not alerted
)

channel_settings = Table(
    "channel_settings",
    metadata,
    Column("channel_id", String(40), primary_key=True),
    Column("digest", String(10)),  # daily | weekly | null
    Column("digest_time", String(5)),  # HH:MM in the configured timezone
    Column("digest_skip_empty", Boolean, nullable=False, default=False),
    Column("last_digest_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Alert delivery: one row per (change, destination). State: queued -> sending -> sent | failed.
outbox = Table(
    "outbox",
    metadata,
    Column("alert_id", Integer, primary_key=True, autoincrement=True),
    Column("change_id", Integer, ForeignKey("changes.change_id", ondelete="CASCADE"), nullable=False),
    Column("destination", String(60), nullable=False),  # slack channel id
    Column("state", String(12), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("claimed_by", String(80)),
    Column("claimed_until", DateTime(timezone=True)),
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("message_ts", String(40)),
    UniqueConstraint("change_id", "destination", name="uq_outbox_change_dest"),
)
Index("ix_outbox_state", outbox.c.state)

feedback = Table(
    "feedback",
    metadata,
    Column("feedback_id", Integer, primary_key=True, autoincrement=True),
    Column("channel_id", String(40)),
    Column("user_id", String(40)),
    Column("message_ts", String(40)),
    Column("question", Text, nullable=False),
    Column("citations", JSON, nullable=False),
    Column("vote", String(8), nullable=False),  # up | down
    Column("score", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Slack retries the same event (X-Slack-Retry-Num, same event_id); the first insert wins, the rest are dropped.
slack_events = Table(
    "slack_events",
    metadata,
    Column("event_id", String(80), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

# Thread memory: a follow-up in a thread uses the thread's earlier question.
threads = Table(
    "threads",
    metadata,
    Column("channel_id", String(40), primary_key=True),
    Column("thread_ts", String(40), primary_key=True),
    Column("question", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Answers the bot posted, so their buttons (feedback, share in channel) refer to one by id from any process.
answers = Table(
    "answers",
    metadata,
    Column("answer_id", String(32), primary_key=True),  # uuid4 hex
    Column("channel_id", String(40)),
    Column("user_id", String(40)),
    Column("question", Text, nullable=False),
    Column("answer", JSON, nullable=False),  # Answer.to_json()
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Conversations for follow-ups (a Slack thread, `regwatch ask --thread ID`, `regwatch chat`): each turn's question as
# asked and as answered (a follow-up rewritten standalone), bounded per thread by REGWATCH_THREAD_MAX_TURNS.
conversation_turns = Table(
    "conversation_turns",
    metadata,
    Column("turn_id", Integer, primary_key=True, autoincrement=True),
    Column("thread_key", String(200), nullable=False),  # "slack:C123:1700000000.000100", "cli:ID"
    Column("question", Text, nullable=False),
    Column("asked_as", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("mode", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversation_turns_thread", "thread_key", "turn_id"),
)
