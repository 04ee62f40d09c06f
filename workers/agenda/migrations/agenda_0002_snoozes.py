"""The agenda service: snoozed reminders (one more reminder of an occurrence, at a later time).

Revision ID: agenda_0002
Revises: agenda_0001
"""

from estafeta.migrate import run_sql

revision = "agenda_0002"
down_revision = "agenda_0001"
branch_labels = None
depends_on = None

SQLITE = """
CREATE TABLE IF NOT EXISTS agenda_snoozes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team        TEXT NOT NULL,
    event_id    INTEGER NOT NULL,
    occurrence  REAL NOT NULL,          -- the start of the occurrence it reminds of
    due_at      REAL NOT NULL,          -- when the extra reminder is posted
    ready_at    REAL,                   -- when a scheduler may take it; NULL once delivered
    request_key TEXT NOT NULL,          -- the click that asked for it: one snooze per click
    created_at  REAL NOT NULL,
    UNIQUE (team, request_key)
);
CREATE INDEX IF NOT EXISTS agenda_snoozes_ready ON agenda_snoozes (ready_at)
    WHERE ready_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS agenda_snoozes_by_event ON agenda_snoozes (event_id);
"""

POSTGRESQL = """
CREATE TABLE agenda_snoozes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team        TEXT NOT NULL,
    event_id    BIGINT NOT NULL,
    occurrence  DOUBLE PRECISION NOT NULL,
    due_at      DOUBLE PRECISION NOT NULL,
    ready_at    DOUBLE PRECISION,
    request_key TEXT NOT NULL,
    created_at  DOUBLE PRECISION NOT NULL,
    UNIQUE (team, request_key)
);
CREATE INDEX agenda_snoozes_ready ON agenda_snoozes (ready_at) WHERE ready_at IS NOT NULL;
CREATE INDEX agenda_snoozes_by_event ON agenda_snoozes (event_id);
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
