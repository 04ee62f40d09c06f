"""The reply ledger: replies claimed and posted, redeliveries counted.

Revision ID: ledger_0001
Revises:
"""

from estafeta.migrate import run_sql

revision = "ledger_0001"
down_revision = None
branch_labels = ("ledger",)
depends_on = None

# IF NOT EXISTS: a file written by a release before migrations already has these tables.
SQLITE = """
CREATE TABLE IF NOT EXISTS reply_claims (
    reply_key  TEXT PRIMARY KEY,
    state      TEXT NOT NULL,          -- posting | posted
    attempt    INTEGER NOT NULL,       -- the task's retry number when it claimed
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    task_id    TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    updated_at REAL NOT NULL
);
"""

POSTGRESQL = """
CREATE TABLE reply_claims (
    reply_key  TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX reply_claims_by_time ON reply_claims (updated_at);
CREATE TABLE deliveries (
    task_id    TEXT PRIMARY KEY,
    count      INTEGER NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX deliveries_by_time ON deliveries (updated_at);
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
