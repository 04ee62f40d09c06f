"""Knowledge bases: Markdown, text and JSON documents searched together with conversations.

`estafeta import-kb DIR --team T --name NAME` (or `make import-kb`) reads the files, and sends
them in chunks to the search service as bulk work; the service indexes them under the channel
`kb:<name>`, visible to the whole team. Importing the same files again updates them in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery import Celery

from workers.search.store import Document, SearchStore
from workers.service import ServiceTask

INDEX_TASK = "search.index_documents"
SUFFIXES = {".md", ".markdown", ".txt", ".json"}
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_TEXT_FIELDS = ("text", "description", "body", "summary", "content")
_TITLE_FIELDS = ("title", "name", "summary")
_DATE_FIELDS = ("date", "start", "starts_at", "when")


def _markdown(path: Path, relative: str) -> Iterator[tuple[str, str, str]]:
    """(id, title, text) for each section of a Markdown file (split at headings)."""
    title, index = path.stem, 0
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        heading = _HEADING.match(line)
        if heading:
            if "".join(lines).strip():
                yield f"{relative}#{index}", title, "\n".join(lines).strip()
                index += 1
            title, lines = heading.group(2), []
        else:
            lines.append(line)
    if "".join(lines).strip():
        yield f"{relative}#{index}", title, "\n".join(lines).strip()


def _first(item: dict[str, Any], names: tuple[str, ...]) -> str:
    for name in names:
        value = item.get(name)
        if isinstance(value, str | int | float) and str(value).strip():
            return str(value).strip()
    return ""


def _json(path: Path, relative: str) -> Iterator[tuple[str, str, str, str]]:
    """(id, title, text, url) for each object of a JSON catalogue (a list, or {"items": [...]})."""
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("items") or data.get("events") or [] if isinstance(data, dict) else data
    for number, item in enumerate(items if isinstance(items, list) else []):
        if not isinstance(item, dict):
            continue
        title = _first(item, _TITLE_FIELDS) or f"{path.stem} {number + 1}"
        body = _first(item, _TEXT_FIELDS)
        when = _first(item, _DATE_FIELDS)
        place = _first(item, ("location", "place", "where"))
        text = " · ".join(part for part in (when, place, body) if part)
        identifier = _first(item, ("id", "slug")) or str(number)
        yield f"{relative}#{identifier}", title, text, _first(item, ("url", "link"))


def read_knowledge_base(directory: Path, team: str, name: str) -> Iterator[Document]:
    """Every document under `directory` (recursively), ready to index for `team`."""
    channel = f"kb:{name}"
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        relative = path.relative_to(directory).as_posix()
        if path.suffix.lower() == ".json":
            for identifier, title, text, url in _json(path, relative):
                yield Document(team=team, channel=channel, ts=identifier, text=text,
                               channel_type="kb", title=title, url=url)
        elif path.suffix.lower() == ".txt":
            content = path.read_text(encoding="utf-8", errors="replace").strip()
            if content:
                yield Document(team=team, channel=channel, ts=relative, text=content,
                               channel_type="kb", title=path.stem)
        else:
            for identifier, title, text in _markdown(path, relative):
                yield Document(team=team, channel=channel, ts=identifier, text=text,
                               channel_type="kb", title=title)


def register_knowledge_base(app: Celery, base: type[ServiceTask],
                            store: SearchStore) -> None:
    """Register the task that indexes a chunk of knowledge-base documents."""

    @app.task(name=INDEX_TASK, bind=True, base=base, shared=False)
    def index_documents(self: ServiceTask, documents: list[dict[str, str]]) -> int:
        """Index a chunk of documents (a knowledge base, a backfill); return how many changed."""
        self.guard_redelivery()
        return store.upsert(Document(**d) for d in documents)
