import json
from pathlib import Path

from workers.search.kb import read_knowledge_base
from workers.search.query import parse
from workers.search.sqlite_store import SqliteSearchStore
from workers.search.store import Scope


def test_markdown_text_and_json_become_documents(tmp_path: Path) -> None:
    (tmp_path / "handbook.md").write_text(
        "# Handbook\nWelcome.\n## Vacaciones\nPide tus vacaciones con dos semanas.\n"
        "## On call\nThe on-call rotation changes on Mondays.\n")
    (tmp_path / "notes.txt").write_text("Parking is behind the building.")
    (tmp_path / "events.json").write_text(json.dumps({"items": [
        {"id": "py-101", "title": "Python 101", "date": "2026-12-03",
         "description": "Curso de introducción a Python", "url": "https://example.org/py"},
    ]}))
    (tmp_path / "ignored.bin").write_bytes(b"\x00")
    documents = list(read_knowledge_base(tmp_path, "T1", "handbook"))
    titles = {d.title for d in documents}
    assert {"Handbook", "Vacaciones", "On call", "notes", "Python 101"} <= titles
    assert all(d.channel == "kb:handbook" and d.team == "T1" for d in documents)
    event = next(d for d in documents if d.title == "Python 101")
    assert "2026-12-03" in event.text and event.url == "https://example.org/py"

    store = SqliteSearchStore(tmp_path / "s.sqlite")
    store.upsert(documents)
    assert store.upsert(list(read_knowledge_base(tmp_path, "T1", "handbook"))) == 0
    hits = store.search(parse("curso python"), Scope("T1", "C9"), 5)
    assert [h.document.title for h in hits] == ["Python 101"]
    assert [h.document.title for h in store.search(parse("vacación"), Scope("T1", "D1"), 5)] \
        == ["Vacaciones"]
    assert store.search(parse("python"), Scope("T2", "C1"), 5) == []
