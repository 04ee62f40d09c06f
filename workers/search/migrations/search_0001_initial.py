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

# The same tables in the service's schema (`user` is a reserved word there: `user_id`).
# Documents are indexed by a tsvector of the stems computed in Python, as for SQLite, never by
# PostgreSQL's own parser or stemmer. `index_totals` and `term_documents` keep BM25's figures
# (FTS5 keeps them in its index), each in a few rows per item so that concurrent writers do not
# queue for one. Ids and keys compare byte by byte (COLLATE "C"), as on SQLite, and faster.
POSTGRESQL = """
CREATE TABLE documents (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team         TEXT COLLATE "C" NOT NULL,
    channel      TEXT COLLATE "C" NOT NULL,
    ts           TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    text         TEXT NOT NULL,
    channel_type TEXT NOT NULL,
    thread_ts    TEXT NOT NULL,
    title        TEXT NOT NULL,
    url          TEXT NOT NULL,
    at           DOUBLE PRECISION NOT NULL,
    visible_to   TEXT COLLATE "C" NOT NULL,  -- the vocabulary partition: who may find it
    term_count   INTEGER NOT NULL,   -- how many terms were indexed: BM25's document length
    terms        TSVECTOR NOT NULL,  -- the partition-prefixed stems, with their positions
    UNIQUE (team, channel, ts)
);
CREATE INDEX documents_by_partition_time ON documents (visible_to, at, id);
CREATE INDEX documents_by_user_time ON documents (team, user_id, at);
CREATE INDEX documents_terms ON documents USING gin (terms);
CREATE TABLE index_totals (
    shard     SMALLINT PRIMARY KEY,
    documents BIGINT NOT NULL,
    terms     BIGINT NOT NULL
);
CREATE TABLE term_documents (      -- how many documents hold each term (BM25's IDF)
    term      TEXT COLLATE "C" NOT NULL,
    shard     SMALLINT NOT NULL,
    documents BIGINT NOT NULL,
    PRIMARY KEY (term, shard)
);
CREATE TABLE last_queries (
    team TEXT NOT NULL, channel TEXT NOT NULL, user_id TEXT NOT NULL,
    query TEXT NOT NULL, page INTEGER NOT NULL, at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (team, channel, user_id)
);
CREATE TABLE team_domains (team TEXT PRIMARY KEY, domain TEXT NOT NULL);
CREATE TABLE slack_names (
    team TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL, id TEXT COLLATE "C" NOT NULL,
    rank INTEGER NOT NULL,  -- 0: a channel's name or a person's handle; 1: a display name
    PRIMARY KEY (team, kind, name, id)
);
CREATE TABLE slack_names_fetched (
    team TEXT NOT NULL, kind TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (team, kind)
);
CREATE TABLE backfills (
    job_id     TEXT PRIMARY KEY,   -- the task id of the request that asked for it
    team       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    started    BOOLEAN NOT NULL,   -- true once its first page is in the broker
    outcome    TEXT NOT NULL,      -- '', done, or failed:<reason>
    updated_at DOUBLE PRECISION NOT NULL
);
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
