"""The search service's handlers: index what is heard, answer `find`."""

from __future__ import annotations

from datetime import UTC, datetime

from grammar import Command
from payloads import Context
from settings import Settings
from workers.replies import Reply
from workers.search.index import MessageIndex
from workers.service import ServiceHandlers

_NOTHING = {"en": "Nothing found for “{q}”.", "es": "No encontré nada para «{q}»."}
_FOUND = {"en": "Found for “{q}”:", "es": "Encontrado para «{q}»:"}


def _when(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), tz=UTC).strftime("%Y-%m-%d %H:%M")


def build_handlers(settings: Settings) -> ServiceHandlers:
    """Handlers bound to this deployment's index file."""
    index = MessageIndex(settings.data_dir / "search.sqlite")

    def find(command: Command, context: Context) -> Reply:
        hits = index.find(context.team, context.channel, command.args)
        data = {
            "query": command.args,
            "results": [h.__dict__ for h in hits],
        }
        if not hits:
            return Reply(_NOTHING[command.lang].format(q=command.args), data)
        lines = [_FOUND[command.lang].format(q=command.args)]
        lines += [f"• <#{h.channel}> <@{h.user}> {_when(h.ts)}: {h.snippet}" for h in hits]
        return Reply("\n".join(lines), data)

    return ServiceHandlers(commands={"find": find}, on_heard=index.apply)
