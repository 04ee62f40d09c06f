"""Installations: each workspace's (or organization's) install of the app, its tokens
encrypted, and the one-time states of installs under way.

Revision ID: installations_0001
Revises:
"""

from estafeta.migrate import run_sql

revision = "installations_0001"
down_revision = None
branch_labels = ("installations",)
depends_on = None

# enterprise_id and team_id are '' when absent (an org-wide install has no team), so that the
# key is one plain primary key on both engines. `secrets` is a Fernet token (the bot, refresh
# and user tokens): nothing in this file or schema reads as a credential.
SQLITE = """
CREATE TABLE installations (
    enterprise_id         TEXT NOT NULL,
    team_id               TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    is_enterprise_install INTEGER NOT NULL,
    details               TEXT NOT NULL,
    secrets               TEXT NOT NULL,
    bot_token_expires_at  REAL,
    installed_at          REAL NOT NULL,
    updated_at            REAL NOT NULL,
    PRIMARY KEY (enterprise_id, team_id)
);
CREATE INDEX installations_by_team ON installations (team_id);
CREATE TABLE oauth_states (
    state      TEXT PRIMARY KEY,
    expires_at REAL NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
"""

POSTGRESQL = """
CREATE TABLE installations (
    enterprise_id         TEXT NOT NULL,
    team_id               TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    is_enterprise_install BOOLEAN NOT NULL,
    details               TEXT NOT NULL,
    secrets               TEXT NOT NULL,
    bot_token_expires_at  DOUBLE PRECISION,
    installed_at          DOUBLE PRECISION NOT NULL,
    updated_at            DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (enterprise_id, team_id)
);
CREATE INDEX installations_by_team ON installations (team_id);
CREATE TABLE oauth_states (
    state      TEXT PRIMARY KEY,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
