"""Initial incident database: incidents, tags, actions, embeddings and a full-text index.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _incidents() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("source_ref", sa.String(255), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("incident_date", sa.Date),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("postmortem_date", sa.Date),
        sa.Column("follow_up_review", sa.Date),
        sa.Column("severity", sa.String(16)),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("detection_method", sa.String(255)),
        sa.Column("trigger_kind", sa.String(64)),
        sa.Column("trigger_ref", sa.String(255)),
        sa.Column("ttd_s", sa.Float),
        sa.Column("ttm_s", sa.Float),
        sa.Column("ttr_s", sa.Float),
        sa.Column("impact", sa.JSON, nullable=False),
        sa.Column("root_causes", sa.JSON, nullable=False),
        sa.Column("contributing_factors", sa.JSON, nullable=False),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("report_md", sa.Text),
        sa.Column("report_json", sa.JSON),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "source_ref", name="uq_incident_source_ref"),
    )


def _fk() -> sa.ForeignKey:
    return sa.ForeignKey("incidents.id", ondelete="CASCADE")


def _children() -> None:
    op.create_table(
        "incident_tags",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, _fk(), nullable=False, index=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
    )
    op.create_index("ix_tags_kind_value", "incident_tags", ["kind", "value"])
    op.create_table(
        "actions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, _fk(), nullable=False, index=True),
        sa.Column("action_key", sa.String(32), nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("owner", sa.String(255)),
        sa.Column("due", sa.Date),
        sa.Column("priority", sa.String(8)),
        sa.Column("verification", sa.Text, nullable=False),
        sa.Column("addresses", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="open"),
        sa.Column("verified_evidence", sa.Text),
        sa.Column("tracker_ref", sa.String(255)),
        sa.Column("status_changed_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("incident_id", "action_key", name="uq_action_key"),
        sa.CheckConstraint("status IN ('open','in_progress','done','verified','wont_do')",
                           name="ck_action_status"),
    )
    op.create_table(
        "incident_embeddings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("incident_id", sa.Integer, _fk(), nullable=False, index=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("dim", sa.Integer, nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("incident_id", "model", name="uq_embedding_model"),
    )


def _fulltext() -> None:
    """FTS5 on SQLite (kept in sync by incidents.store); a generated tsvector + GIN on PostgreSQL."""
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("CREATE VIRTUAL TABLE incident_fts USING fts5(title, body, "
                   "tokenize='porter unicode61')")
    elif dialect == "postgresql":
        op.execute("ALTER TABLE incidents ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS "
                   "(setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
                   "to_tsvector('english', coalesce(search_text, ''))) STORED")
        op.execute("CREATE INDEX ix_incidents_search_tsv ON incidents USING gin (search_tsv)")


def upgrade() -> None:
    _incidents()
    _children()
    _fulltext()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS incident_fts")
    op.drop_table("incident_embeddings")
    op.drop_table("actions")
    op.drop_index("ix_tags_kind_value", table_name="incident_tags")
    op.drop_table("incident_tags")
    op.drop_table("incidents")
