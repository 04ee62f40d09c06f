"""What the search service needs from its storage: a small interface, one module per engine.

`SqliteSearchStore` (SQLite FTS5, one file under `DATA_DIR`) implements it today; moving to
PostgreSQL full-text search means writing another module with these methods (see README).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

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
