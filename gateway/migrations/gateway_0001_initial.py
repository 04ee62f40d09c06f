"""The gateway: Slack event ids and triggers accepted, and the team owning each HTTP task.

Revision ID: gateway_0001
Revises:
"""

from estafeta.migrate import run_sql

revision = "gateway_0001"
down_revision = None
branch_labels = ("gateway",)
depends_on = None

# IF NOT EXISTS: a file written by a release before migrations already has these tables.
SQLITE = """
CREATE TABLE IF NOT EXISTS accepted_events (
    event_id    TEXT PRIMARY KEY,
    accepted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS accepted_events_by_time ON accepted_events (accepted_at);
CREATE TABLE IF NOT EXISTS task_owners (
    task_id     TEXT PRIMARY KEY,
    team        TEXT NOT NULL,
    accepted_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS task_owners_by_time ON task_owners (accepted_at);
"""

POSTGRESQL = """
CREATE TABLE accepted_events (
    event_id    TEXT PRIMARY KEY,
    accepted_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX accepted_events_by_time ON accepted_events (accepted_at);
CREATE TABLE task_owners (
    task_id     TEXT PRIMARY KEY,
    team        TEXT NOT NULL,
    accepted_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX task_owners_by_time ON task_owners (accepted_at);
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
