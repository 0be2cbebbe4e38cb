"""Service drafts: draft_jobs (queued drafts, their progress and finished report) and chat_sessions
(one chat review per draft job; the conversation itself lives in the LangGraph checkpoint).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "draft_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False, server_default=""),
        sa.Column("percent", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text, nullable=False, server_default=""),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("external_ref", sa.String(255)),
        sa.Column("dump_path", sa.Text, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False, server_default=""),
        sa.Column("postmortem_date", sa.Date),
        sa.Column("restricted", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("member_ids", sa.JSON, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
        sa.Column("report_md", sa.Text),
        sa.Column("report_json", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("source", "external_ref", name="uq_draft_jobs_external_ref"),
    )
    op.create_index("ix_draft_jobs_status", "draft_jobs", ["status"])
    op.create_table(
        "chat_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("job_id", sa.String(64), sa.ForeignKey("draft_jobs.id", ondelete="CASCADE"),
                  nullable=False, unique=True),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("gate", sa.String(32), nullable=False, server_default=""),
        sa.Column("closed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("chat_sessions")
    op.drop_index("ix_draft_jobs_status", table_name="draft_jobs")
    op.drop_table("draft_jobs")
