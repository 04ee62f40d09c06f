"""What the search service understands: `/search`, `@bot busca …` (a declaration, no effects)."""

from estafeta.grammar import ServiceCommands, Verb, Words

COMMANDS = ServiceCommands(
    service="search",
    names=Words(en=("search", "find"), es=("busca", "buscar")),
    slash_command="/search",
    verbs=(
        Verb("more", Words(en=("more",), es=("más",))),
        Verb("reindex", Words(en=("reindex",), es=("reindexa",))),
    ),
    free_text_verb="find",  # "/search deploy failed"
    overview={
        "en": "`search <words>` – find what the team said",
        "es": "`busca <palabras>` – encuentra lo que dijo el equipo",
    },
    help={
        "en": (
            "*search* – `/search <words>` finds what was said in this workspace and in its "
            "knowledge base.\n"
            "Modifiers: `\"exact phrase\"`, `from:@someone`, `in:#channel`, "
            "`before:2026-01-31`, `after:2026-01-01`, `-word`.\n"
            "`/search more` shows the next results; `/search reindex #channel` reads the "
            "channel's history again.\n`/search help` shows this text."
        ),
        "es": (
            "*busca* – `/search <palabras>` encuentra lo que se dijo en este espacio y en su "
            "base de conocimiento.\n"
            "Modificadores: `\"frase exacta\"`, `from:@alguien`, `in:#canal`, "
            "`before:2026-01-31`, `after:2026-01-01`, `-palabra`.\n"
            "`/search mas` muestra más resultados; `/search reindexa #canal` vuelve a leer el "
            "historial del canal.\n`/search ayuda` muestra este texto."
        ),
    },
)
