"""What the search service needs from its storage: small interfaces, one module per engine.

`workers.search.sqlite_store` (SQLite FTS5, one file under `DATA_DIR`) and
`workers.search.postgres_store` (a `tsvector` with a GIN index, in the `search` schema)
implement them with the same answers; `estafeta.stores.open_stores` picks the engine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from workers.replies import ServiceStores
from workers.search.query import Query

PUBLIC = "channel"  # channel_type of public channels; everything else is private to itself


@dataclass(frozen=True)
class Document:
    """One searchable thing: a Slack message, or a knowledge-base document."""

    team: str
    channel: str  # a Slack channel id, or `kb:<name>` for a knowledge base
    ts: str  # Slack's message ts, or a stable id for a document
    text: str
    user: str = ""
    channel_type: str = PUBLIC
    thread_ts: str = ""
    title: str = ""
    url: str = ""

    @property
    def at(self) -> float:
        """When it was written (epoch seconds); 0 for a document without a date."""
        try:
            return float(self.ts)
        except ValueError:
            return 0.0


@dataclass(frozen=True)
class Scope:
    """Who is searching, and from where: a team sees only its own documents, and private
    conversations only from inside them."""

    team: str
    channel: str = ""


@dataclass(frozen=True)
class Hit:
    """One result."""

    document: Document
    snippet: str


class SearchStore(Protocol):
    """Storage of the search service."""

    def upsert(self, documents: Iterable[Document]) -> int:
        """Store documents, replacing ones with the same (team, channel, ts); return changes."""

    def delete(self, team: str, channel: str, ts: str) -> bool:
        """Remove one document; True if it was there."""

    def search(self, query: Query, scope: Scope, limit: int, offset: int = 0) -> list[Hit]:
        """Best matches first (BM25 with a mild preference for recent ones)."""

    def count(self, team: str) -> int:
        """How many documents `team` has."""


class SearchState(Protocol):
    """What the search service remembers between commands: each person's last query (for
    `more`) and each team's Slack domain (for permalinks)."""

    def remember_query(self, team: str, channel: str, user: str, query: str,
                       page: int) -> None:
        """Record the query `user` ran in `channel` and the page shown (0 first)."""

    def last_query(self, team: str, channel: str, user: str) -> tuple[str, int] | None:
        """(query, page) that `user` last ran in `channel`, or None."""

    def team_domain(self, team: str) -> str | None:
        """The Slack domain recorded for `team`, or None."""

    def remember_team_domain(self, team: str, domain: str) -> None:
        """Record `team`'s Slack domain."""


class NameCache(Protocol):
    """Each team's channel and people names (folded), as last listed from Slack."""

    def fetched_at(self, team: str, kind: str) -> float | None:
        """When the names of `kind` ("channel" or "user") were last listed for `team`."""

    def ids(self, team: str, kind: str, name: str) -> list[str]:
        """The ids called `name` (already folded), best rank only: a handle beats a display
        name that happens to be the same."""

    def replace(self, team: str, kind: str, entries: Iterable[tuple[str, str, int]]) -> None:
        """Replace `team`'s names of `kind` with (name, id, rank) `entries`, listed now."""


class BackfillLog(Protocol):
    """The backfills requests started, keyed by the request's task id."""

    def claim(self, job_id: str, team: str, channel: str) -> tuple[str, bool]:
        """(the channel of `job_id`'s backfill, whether the caller must start it now)."""

    def unclaim(self, job_id: str) -> None:
        """The start failed before its first page was published: a re-run may start it."""

    def finish(self, job_id: str, outcome: str) -> None:
        """Record how the backfill ended."""

    def outcome(self, job_id: str) -> str | None:
        """How the backfill ended ('' while running), None for an unknown job."""

    def prune(self, older_than: float) -> int:
        """Forget backfills that ended more than `older_than` seconds ago; return how many."""


@dataclass(frozen=True, kw_only=True)
class SearchStores(ServiceStores):
    """Every store of the search service (`open_stores(settings, "search")`)."""

    documents: SearchStore
    state: SearchState
    names: NameCache
    backfills: BackfillLog
