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
    # The buttons under results: the next page, and sharing an answer only its asker sees.
    actions=("search.more", "search.share"),
    # The bot scopes of the service's own Web API calls (the slash command, mentions and
    # replies are the platform's).
    scopes=(
        # Heard messages (message.* events) and `/search reindex` (conversations.history,
        # conversations.replies when a reply's delivery is checked), in channels, private
        # channels and direct messages (group DMs are not heard: no `mpim:history`).
        "channels:history", "groups:history", "im:history",
        # conversations.info of the channel reindexed, conversations.list for `in:#name`.
        "channels:read", "groups:read", "im:read", "mpim:read",
        "users:read",  # users.list for `from:@name`, users.info for a person's locale
        "team:read",  # team.info: the workspace's domain, for permalinks
        "chat:write",  # chat.postMessage / chat.postEphemeral: answers, reindex summaries
        "im:write",  # conversations.open: the summary of a reindex, by direct message
    ),
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
            "`/search more` (or the *Next results* button) shows the next results; "
            "*Share in channel* posts them for everyone there.\n"
            "`/search reindex #channel` reads the channel's history again.\n"
            "`/search help` shows this text."
        ),
        "es": (
            "*busca* – `/search <palabras>` encuentra lo que se dijo en este espacio y en su "
            "base de conocimiento.\n"
            "Modificadores: `\"frase exacta\"`, `from:@alguien`, `in:#canal`, "
            "`before:2026-01-31`, `after:2026-01-01`, `-palabra`.\n"
            "`/search mas` (o el botón *Más resultados*) muestra más resultados; "
            "*Compartir en el canal* los publica para todos allí.\n"
            "`/search reindexa #canal` vuelve a leer el historial del canal.\n"
            "`/search ayuda` muestra este texto."
        ),
    },
)
