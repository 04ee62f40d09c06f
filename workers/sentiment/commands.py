"""What the sentiment service understands: `/mood`, `@bot ánimo …` (a declaration only).

The words of a `/mood` request (`#channel`, `@someone`, `@me`, `30d`) are declared here once:
the gateway tells a request from a verb by its first word, the handler reads them all.
"""

import re

from estafeta.grammar import ArgumentVerb, ServiceCommands, Verb, Words

_CHANNEL = r"<#([A-Z0-9]+)(?:\|[^>]*)?>"
_USER = r"<@([A-Z0-9]+)(?:\|[^>]*)?>"
_SELF = r"@?(?:me|yo)"
_PERIOD = r"(\d{1,3})d"

CHANNEL = re.compile(f"^{_CHANNEL}$")  # <#C123|general>: the channel id
USER = re.compile(f"^{_USER}$")  # <@U123>: the user id
SELF = re.compile(f"^{_SELF}$", re.IGNORECASE)  # the caller: me, @me, yo, @yo
PERIOD = re.compile(f"^{_PERIOD}$", re.IGNORECASE)  # 30d: the number of days
# Any one of them, ids in either case: the gateway only needs to know it is not a verb.
REQUEST_WORD = re.compile(f"^(?:{_CHANNEL}|{_USER}|{_SELF}|{_PERIOD})$", re.IGNORECASE)

COMMANDS = ServiceCommands(
    service="sentiment",
    names=Words(en=("mood", "sentiment"), es=("ánimo",)),
    slash_command="/mood",
    verbs=(
        Verb("analyze", Words(en=("analyze", "analyse"), es=("analiza", "analizar"))),
        Verb("alerts", Words(en=("alerts",), es=("alertas",))),
    ),
    # "/mood <#C123|general> 30d", "/mood <@U123>", "/mood @me 90d": a summary request.
    argument_verb=ArgumentVerb(REQUEST_WORD, "summary"),
    empty_verb="summary",  # "/mood": this channel, the last 7 days
    home=True,  # the mood of the person's channels, on the App Home tab
    # What its own calls need: reading the channels it hears (public, private, the bot's
    # direct messages), alerts, charts as files in a direct conversation, locales.
    scopes=("channels:history", "groups:history", "im:history", "chat:write", "files:write",
            "im:write", "users:read"),
    overview={
        "en": "`mood` – the mood of this channel; `mood analyze <text>` scores a text",
        "es": "`animo` – el ánimo de este canal; `animo analiza <texto>` puntúa un texto",
    },
    help={
        "en": (
            "*mood* – how a channel feels, from what its people write (English and Spanish).\n"
            "• `/mood` – this channel over the last 7 days, with a chart\n"
            "• `/mood #channel 30d` – another channel, another period (up to 365d)\n"
            "• `/mood @me` – your own mood (only you can ask for yours)\n"
            "• `/mood analyze <text>` – score a text from -1 (negative) to 1 (positive)\n"
            "• `/mood alerts on|off` – a message here when the mood drops well below usual\n"
            "`/mood help` shows this text."
        ),
        "es": (
            "*animo* – cómo se siente un canal, por lo que escribe su gente (español e "
            "inglés).\n"
            "• `/mood` – este canal en los últimos 7 días, con un gráfico\n"
            "• `/mood #canal 30d` – otro canal, otro periodo (hasta 365d)\n"
            "• `/mood @yo` – tu propio ánimo (solo tú puedes pedir el tuyo)\n"
            "• `/mood analiza <texto>` – puntúa un texto de -1 (negativo) a 1 (positivo)\n"
            "• `/mood alertas on|off` – un aviso aquí cuando el ánimo cae muy por debajo de "
            "lo habitual\n"
            "`/mood ayuda` muestra este texto."
        ),
    },
)
