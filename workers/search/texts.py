"""What the search service says, in English and Spanish."""

from __future__ import annotations

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "none": "Nothing found for “{q}”.",
        "found": "Results {first}–{last} for “{q}”:",
        "more": "`/search more` for the next results.",
        "no_more": "No more results for “{q}”.",
        "nothing_before": "Search for something first, then ask for `more`.",
        "reindex_what": "Which channel? `/search reindex #channel`.",
        "unknown_channel": "I don't know a channel called #{name}.",
        "reindexing": "Reading the history of <#{channel}> again, in the background at bulk "
                      "priority. I'll post a summary there when it's done.",
        "next_button": "Next results",
        "share_button": "Share in channel",
        "shared_by": "{user} shared these results:",
        "someone": "Someone",
        "nothing_to_share": "There is nothing to share: no results for “{q}” here.",
        "by_in": "{user} in {channel}",
        "view": "view",
    },
    "es": {
        "none": "No encontré nada para «{q}».",
        "found": "Resultados {first}–{last} para «{q}»:",
        "more": "`/search mas` para ver más.",
        "no_more": "No hay más resultados para «{q}».",
        "nothing_before": "Busca algo primero y luego pide `mas`.",
        "reindex_what": "¿Qué canal? `/search reindexa #canal`.",
        "unknown_channel": "No conozco ningún canal llamado #{name}.",
        "reindexing": "Vuelvo a leer el historial de <#{channel}> en segundo plano, con "
                      "prioridad baja. Publicaré un resumen allí cuando termine.",
        "next_button": "Más resultados",
        "share_button": "Compartir en el canal",
        "shared_by": "{user} compartió estos resultados:",
        "someone": "Alguien",
        "nothing_to_share": "No hay nada que compartir: ningún resultado para «{q}» aquí.",
        "by_in": "{user} en {channel}",
        "view": "ver",
    },
}


def get(lang: str, key: str) -> str:
    """The text `key` in `lang` (English when the language is unknown)."""
    return _TEXTS.get(lang, _TEXTS["en"])[key]
