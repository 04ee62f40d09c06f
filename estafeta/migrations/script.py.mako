"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from estafeta.migrate import run_sql

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}

SQLITE = """
"""

POSTGRESQL = """
"""


def upgrade() -> None:
    run_sql(sqlite=SQLITE, postgresql=POSTGRESQL)


def downgrade() -> None:
    raise NotImplementedError("migrations go forward only")
