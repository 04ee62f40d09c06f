"""The search service: documents and their full-text index, last queries, Slack names, backfills.

Revision ID: search_0001
Revises:
"""

from estafeta.migrate import run_sql

revision = "search_0001"
down_revision = None
branch_labels = ("search",)
depends_on = None

# IF NOT EXISTS: a file written by a release before migrations already has these tables.
SQLITE = """
CREATE TABLE IF NOT EXISTS documents (
    id           INTEGER PRIMARY KEY,
    team         TEXT NOT NULL,
    channel      TEXT NOT NULL,
    ts           TEXT NOT NULL,
    user         TEXT NOT NULL,
    text         TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    thread_ts    TEXT NOT NULL,
    title        TEXT NOT NULL,
    url          TEXT NOT NULL,
    at           REAL NOT NULL,
    visible_to   TEXT NOT NULL,   -- the vocabulary partition: who may find it
    terms        TEXT NOT NULL,   -- exactly what was indexed, needed to unindex it
    UNIQUE (team, channel, ts)
);
CREATE INDEX IF NOT EXISTS documents_by_partition_time ON documents (visible_to, at);
CREATE INDEX IF NOT EXISTS documents_by_user_time ON documents (team, user, at);
-- Contentless: the index keeps no copy of the text. Written explicitly (not by triggers),
-- which measured twice as fast for batches.
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
    terms, content='', tokenize='ascii'
);
CREATE TABLE IF NOT EXISTS last_queries (
    team TEXT NOT NULL, channel TEXT NOT NULL, user TEXT NOT NULL,
    query TEXT NOT NULL, page INTEGER NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (team, channel, user)
);
CREATE TABLE IF NOT EXISTS team_domains (team TEXT PRIMARY KEY, domain TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slack_names (
    team TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, id TEXT NOT NULL,
    rank INTEGER NOT NULL,  -- 0: a channel's name or a person's handle; 1: a display name
    PRIMARY KEY (team, kind, name, id)
);
CREATE TABLE IF NOT EXISTS slack_names_fetched (
    team TEXT NOT NULL, kind TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (team, kind)
);
CREATE TABLE IF NOT EXISTS backfills (
    job_id     TEXT PRIMARY KEY,   -- the task id of the request that asked for it
    team       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    started    INTEGER NOT NULL,   -- 1 once its first page is in the broker
    outcome    TEXT NOT NULL,      -- '', done, or failed:<reason>
    updated_at REAL NOT NULL
);
"""

POSTGRESQL = """
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
