"""The agenda service: events and their reminders, people's time zones, requests carried out.

Revision ID: agenda_0001
Revises:
"""

from alembic import op

from estafeta.migrate import run_sql, sqlite_columns

revision = "agenda_0001"
down_revision = None
branch_labels = ("agenda",)
depends_on = None

# IF NOT EXISTS: a file written by a release before migrations already has these tables.
SQLITE = """
CREATE TABLE IF NOT EXISTS agenda_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    team        TEXT NOT NULL,
    channel     TEXT NOT NULL,          -- the channel whose agenda it is; '' for a personal one
    owner       TEXT NOT NULL,          -- who added it; '' for an imported event
    title       TEXT NOT NULL,
    folded      TEXT NOT NULL,          -- lower-case, accent-free title, for `search`
    start_local TEXT NOT NULL,          -- wall-clock start (ISO, no offset): recurrences keep it
    tz          TEXT NOT NULL,
    start_at    REAL NOT NULL,          -- the first occurrence, seconds since the epoch
    rrule       TEXT,                   -- RFC 5545 rule, NULL for a single event
    time_given  INTEGER NOT NULL,
    lang        TEXT NOT NULL,          -- the language the reminder is written in
    notify      TEXT NOT NULL,          -- where the reminder goes: a channel or a DM ('' none)
    public      INTEGER NOT NULL,       -- 1: listed to anyone in the team asking in `channel`
    uid         TEXT,                   -- an imported event's own id (imports are idempotent)
    created_at  REAL NOT NULL,
    cancelled_at REAL,
    due_at      REAL,                   -- the next reminder to post; NULL when none is left
    ready_at    REAL,                   -- when a scheduler may take it: due_at, or a lease's end
    delivered   INTEGER NOT NULL DEFAULT 0,
    paused_at   REAL,                   -- Slack refused its reminder for good: no more are due
    paused_reason TEXT                  -- Slack's error code for it
);
CREATE INDEX IF NOT EXISTS agenda_events_ready ON agenda_events (ready_at)
    WHERE ready_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS agenda_events_by_owner ON agenda_events (team, owner, start_at);
CREATE INDEX IF NOT EXISTS agenda_events_by_channel ON agenda_events (team, channel, start_at);
CREATE UNIQUE INDEX IF NOT EXISTS agenda_events_by_uid ON agenda_events (team, channel, uid)
    WHERE uid IS NOT NULL;
CREATE TABLE IF NOT EXISTS agenda_user_zones (
    team       TEXT NOT NULL,
    user       TEXT NOT NULL,
    tz         TEXT NOT NULL,
    is_admin   INTEGER NOT NULL,
    fetched_at REAL NOT NULL,
    PRIMARY KEY (team, user)
);
CREATE TABLE IF NOT EXISTS agenda_requests (
    team        TEXT NOT NULL,
    request_key TEXT NOT NULL,          -- the task id (a mention's derives from Slack's event id)
    verb        TEXT NOT NULL,          -- add, cancel or import
    event_id    INTEGER,                -- the event added or cancelled
    count       INTEGER,                -- how many events an import stored
    created_at  REAL NOT NULL,
    PRIMARY KEY (team, request_key)
);
"""

# The same tables in the service's schema. `ready_at` is what a scan reads (its partial index
# holds only the reminders still to deliver); "user" is quoted, being a keyword there.
POSTGRESQL = """
CREATE TABLE agenda_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    owner       TEXT NOT NULL,
    title       TEXT NOT NULL,
    folded      TEXT NOT NULL,
    start_local TEXT NOT NULL,
    tz          TEXT NOT NULL,
    start_at    DOUBLE PRECISION NOT NULL,
    rrule       TEXT,
    time_given  BOOLEAN NOT NULL,
    lang        TEXT NOT NULL,
    notify      TEXT NOT NULL,
    public      BOOLEAN NOT NULL,
    uid         TEXT,
    created_at  DOUBLE PRECISION NOT NULL,
    cancelled_at DOUBLE PRECISION,
    due_at      DOUBLE PRECISION,
    ready_at    DOUBLE PRECISION,
    delivered   INTEGER NOT NULL DEFAULT 0,
    paused_at   DOUBLE PRECISION,
    paused_reason TEXT
);
CREATE INDEX agenda_events_ready ON agenda_events (ready_at) WHERE ready_at IS NOT NULL;
-- Events with nothing left to remind: what pruning reads, in batches, without a table scan.
CREATE INDEX agenda_events_finished ON agenda_events (start_at) WHERE ready_at IS NULL;
CREATE INDEX agenda_events_by_owner ON agenda_events (team, owner, start_at);
CREATE INDEX agenda_events_by_channel ON agenda_events (team, channel, start_at);
CREATE UNIQUE INDEX agenda_events_by_uid ON agenda_events (team, channel, uid)
    WHERE uid IS NOT NULL;
CREATE TABLE agenda_user_zones (
    team       TEXT NOT NULL,
    "user"     TEXT NOT NULL,
    tz         TEXT NOT NULL,
    is_admin   BOOLEAN NOT NULL,
    fetched_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (team, "user")
);
CREATE TABLE agenda_requests (
    team        TEXT NOT NULL,
    request_key TEXT NOT NULL,
    verb        TEXT NOT NULL,
    event_id    BIGINT,
    count       INTEGER,
    created_at  DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (team, request_key)
);
CREATE INDEX agenda_requests_by_time ON agenda_requests (created_at);
"""

ADDED_COLUMNS = {"paused_at": "REAL", "paused_reason": "TEXT"}


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)
    if op.get_bind().dialect.name == "sqlite":
        # Columns added before migrations existed: an agenda file of that time lacks them.
        present = sqlite_columns("agenda_events")
        for name, kind in ADDED_COLUMNS.items():
            if name not in present:
                op.execute(f"ALTER TABLE agenda_events ADD COLUMN {name} {kind}")


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
