"""The sentiment service: scored messages, daily aggregates, channel languages, alerts.

Revision ID: sentiment_0001
Revises:
"""

from estafeta.migrate import run_sql

revision = "sentiment_0001"
down_revision = None
branch_labels = ("sentiment",)
depends_on = None

# IF NOT EXISTS: a file written by a release before migrations already has these tables.
SQLITE = """
CREATE TABLE IF NOT EXISTS mood_messages (
    team    TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts      TEXT NOT NULL,
    user    TEXT NOT NULL,
    score   REAL NOT NULL,
    lang    TEXT NOT NULL,
    at      REAL NOT NULL,
    day     TEXT NOT NULL,          -- UTC date of `at`: the aggregate row it counts in
    public  INTEGER NOT NULL,       -- 1 for public channels; others only read from inside
    PRIMARY KEY (team, channel, ts)
);
CREATE INDEX IF NOT EXISTS mood_messages_by_channel_time ON mood_messages (team, channel, at);
CREATE TABLE IF NOT EXISTS mood_daily (
    team     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    user     TEXT NOT NULL,
    day      TEXT NOT NULL,
    public   INTEGER NOT NULL,
    messages INTEGER NOT NULL,
    total    REAL NOT NULL,         -- sum of scores
    positive INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (team, channel, day, user)
);
CREATE INDEX IF NOT EXISTS mood_daily_by_user ON mood_daily (team, user, day);
CREATE TABLE IF NOT EXISTS mood_channel_langs (
    team    TEXT NOT NULL,
    channel TEXT NOT NULL,
    es      INTEGER NOT NULL DEFAULT 0,
    en      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (team, channel)
);
CREATE TABLE IF NOT EXISTS mood_alerts (
    team          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    lang          TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    last_alert_at REAL,
    PRIMARY KEY (team, channel)
);
"""

POSTGRESQL = """
-- "user" is quoted everywhere: unquoted, PostgreSQL reads it as CURRENT_USER.
CREATE TABLE mood_messages (
    team    TEXT NOT NULL,
    channel TEXT NOT NULL,
    ts      TEXT NOT NULL,
    "user"  TEXT NOT NULL,
    score   DOUBLE PRECISION NOT NULL,
    lang    TEXT NOT NULL,
    at      DOUBLE PRECISION NOT NULL,
    day     DATE NOT NULL,          -- UTC date of `at`: the aggregate row it counts in
    public  BOOLEAN NOT NULL,       -- public channels; others only read from inside
    PRIMARY KEY (team, channel, ts)
);
CREATE INDEX mood_messages_by_channel_time ON mood_messages (team, channel, at);
CREATE TABLE mood_daily (
    team     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    "user"   TEXT NOT NULL,
    day      DATE NOT NULL,
    public   BOOLEAN NOT NULL,
    messages INTEGER NOT NULL,
    total    DOUBLE PRECISION NOT NULL,  -- sum of scores
    positive INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (team, channel, day, "user")
);
CREATE INDEX mood_daily_by_user ON mood_daily (team, "user", day);
-- The same days summed over everyone in the channel, what `/mood` of a channel reads: one row
-- a day however many people wrote (90 rows for 90 days, not one per person and day).
CREATE TABLE mood_channel_daily (
    team     TEXT NOT NULL,
    channel  TEXT NOT NULL,
    day      DATE NOT NULL,
    public   BOOLEAN NOT NULL,
    messages INTEGER NOT NULL,
    total    DOUBLE PRECISION NOT NULL,
    positive INTEGER NOT NULL,
    negative INTEGER NOT NULL,
    PRIMARY KEY (team, channel, day)
);
CREATE TABLE mood_channel_langs (
    team    TEXT NOT NULL,
    channel TEXT NOT NULL,
    es      BIGINT NOT NULL DEFAULT 0,
    en      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (team, channel)
);
CREATE TABLE mood_alerts (
    team          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    lang          TEXT NOT NULL,
    changed_by    TEXT NOT NULL,
    last_alert_at DOUBLE PRECISION,
    PRIMARY KEY (team, channel)
);
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
