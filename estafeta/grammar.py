"""The command grammar shared by Slack (slash commands, mentions) and the HTTP API.

The gateway parses with it to refuse unknown sub-commands before publishing anything; the
workers parse with it again to dispatch. Help texts live here so both sides say the same thing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from estafeta.mrkdwn import escape

MAX_TEXT_LENGTH = 4000  # Slack's own limit for slash command text


@dataclass(frozen=True)
class Command:
    """One parsed command: which service, which verb, its arguments and the user's language."""

    service: str
    verb: str
    args: str
    lang: str  # "en" or "es"

    def as_dict(self) -> dict[str, str]:
        """The JSON form carried in a task message."""
        return {"service": self.service, "verb": self.verb, "args": self.args, "lang": self.lang}

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Command:
        """Rebuild a command from its JSON form (raises `KeyError`/`TypeError` when malformed)."""
        return cls(str(data["service"]), str(data["verb"]), str(data["args"]), str(data["lang"]))


class UsageError(ValueError):
    """The text is not a command of the service; `usage` says what is."""

    def __init__(self, service: str | None, lang: str, reason: str) -> None:
        super().__init__(reason)
        self.service = service
        self.lang = lang
        self.reason = reason

    @property
    def usage(self) -> str:
        """A helpful reply: the reason followed by the relevant help text."""
        text = help_text(self.service, self.lang)
        return f"{self.reason}\n\n{text}"


def fold(word: str) -> str:
    """Lower-case and strip accents, so `Ánimo` and `animo` are the same word."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Words that name a service at the start of a mention: "@bot busca ...".
SERVICE_WORDS: dict[str, tuple[str, str]] = {
    "search": ("search", "en"),
    "find": ("search", "en"),
    "busca": ("search", "es"),
    "buscar": ("search", "es"),
    "agenda": ("agenda", "en"),
    "mood": ("sentiment", "en"),
    "sentiment": ("sentiment", "en"),
    "animo": ("sentiment", "es"),
}

# Words that are both a service's verb and natural at the start of a mention:
# "@bot remind me to ...", "@bot recuérdame ...".
MENTION_VERBS: dict[str, str] = {"remind": "agenda", "recuerdame": "agenda"}

HELP_WORDS: dict[str, str] = {"help": "en", "ayuda": "es", "?": "en"}

# Sub-commands of each service: alias -> (verb, language of the alias).
VERBS: dict[str, dict[str, tuple[str, str]]] = {
    "search": {
        "help": ("help", "en"),
        "ayuda": ("help", "es"),
        "more": ("more", "en"),
        "mas": ("more", "es"),
        "reindex": ("reindex", "en"),
        "reindexa": ("reindex", "es"),
    },
    "agenda": {
        "help": ("help", "en"),
        "ayuda": ("help", "es"),
        "add": ("add", "en"),
        "anade": ("add", "es"),
        "agrega": ("add", "es"),
        "remind": ("remind", "en"),
        "recuerdame": ("remind", "es"),
        "list": ("list", "en"),
        "lista": ("list", "es"),
        "next": ("next", "en"),
        "siguiente": ("next", "es"),
        "proximo": ("next", "es"),
        "search": ("search", "en"),
        "busca": ("search", "es"),
        "cancel": ("cancel", "en"),
        "cancela": ("cancel", "es"),
        "export": ("export", "en"),
        "exporta": ("export", "es"),
    },
    "sentiment": {
        "help": ("help", "en"),
        "ayuda": ("help", "es"),
        "analyze": ("analyze", "en"),
        "analyse": ("analyze", "en"),
        "analiza": ("analyze", "es"),
        "analizar": ("analyze", "es"),
        "alerts": ("alerts", "en"),
        "alertas": ("alerts", "es"),
    },
}

# Text that starts with one of these is the argument of a service's verb, not a verb:
# "/mood <#C123|general> 30d", "/mood <@U123>", "/mood @me 90d".
ARGUMENT_VERB: dict[str, tuple[re.Pattern[str], str]] = {
    "sentiment": (re.compile(
        r"^(?:<[#@][A-Z0-9]+(?:\|[^>]*)?>|\d{1,3}[dD]|@?(?:me|yo))$", re.IGNORECASE), "summary"),
}

# What a service does with text that starts with no known verb (None: it is a usage error).
# The agenda takes free text as an event to add: "/agenda standup every monday at 9".
FREE_TEXT_VERB: dict[str, str | None] = {"search": "find", "agenda": "add", "sentiment": None}
# What a service does with no text at all.
EMPTY_VERB: dict[str, str] = {"search": "help", "agenda": "help", "sentiment": "summary"}

GENERAL_HELP_SERVICE = "search"  # answers "@bot help" and unknown mentions: it knows this grammar

_HELP: dict[str | None, dict[str, str]] = {
    None: {
        "en": (
            "*Estafeta* understands:\n"
            "• `search <words>` – find what the team said\n"
            "• `agenda <what> <when>`, `remind me to <what> <when>` – events and reminders "
            "(`agenda help`)\n"
            "• `mood` – the mood of this channel; `mood analyze <text>` scores a text\n"
            "• `help` – this message\n"
            "Use them as slash commands (`/search`, `/agenda`, `/mood`) or mention me."
        ),
        "es": (
            "*Estafeta* entiende:\n"
            "• `busca <palabras>` – encuentra lo que dijo el equipo\n"
            "• `agenda <qué> <cuándo>`, `recuérdame <qué> <cuándo>` – eventos y "
            "recordatorios (`agenda ayuda`)\n"
            "• `animo` – el ánimo de este canal; `animo analiza <texto>` puntúa un texto\n"
            "• `ayuda` – este mensaje\n"
            "Úsalos como comandos (`/search`, `/agenda`, `/mood`) o mencióname."
        ),
    },
    "search": {
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
    "agenda": {
        "en": (
            "*agenda* – events and reminders, in plain English or Spanish.\n"
            "• `/agenda add <what> <when>` – e.g. `send the report tomorrow at 10am`, "
            "`standup every monday at 9`, `call Ana in 2 hours` (in a channel, the channel "
            "is reminded)\n"
            "• `/agenda remind me to <what> <when>` – a reminder by direct message\n"
            "• `/agenda list [today|tomorrow|week]`, `/agenda next`, `/agenda search <text>`\n"
            "• `/agenda cancel <id>` – yours, or as a workspace admin or the channel's creator\n"
            "• `/agenda export` – your events as an `.ics` file\n"
            "Times are in your Slack timezone. `/agenda help` shows this text."
        ),
        "es": (
            "*agenda* – eventos y recordatorios, en español o en inglés.\n"
            "• `/agenda añade <qué> <cuándo>` – p. ej. `enviar el informe mañana a las 10`, "
            "`reunión de equipo todos los lunes a las 9`, `llamar a Ana dentro de 2 horas` "
            "(en un canal, se avisa al canal)\n"
            "• `/agenda recuérdame <qué> <cuándo>` – un recordatorio por mensaje directo\n"
            "• `/agenda lista [hoy|mañana|semana]`, `/agenda siguiente`, "
            "`/agenda busca <texto>`\n"
            "• `/agenda cancela <número>` – los tuyos, o como administrador del espacio o "
            "creador del canal\n"
            "• `/agenda exporta` – tus eventos en un archivo `.ics`\n"
            "Las horas van en tu zona horaria de Slack. `/agenda ayuda` muestra este texto."
        ),
    },
    "sentiment": {
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
}

_UNKNOWN = {
    "en": "I don't know `{word}`.",
    "es": "No conozco `{word}`.",
}
_TOO_LONG = {
    "en": "That text is too long ({length} characters; the limit is {limit}).",
    "es": "Ese texto es demasiado largo ({length} caracteres; el límite es {limit}).",
}


def help_text(service: str | None, lang: str = "en") -> str:
    """The help of one service, or of the whole bot when `service` is None."""
    texts = _HELP.get(service, _HELP[None])
    return texts.get(lang, texts["en"])


def _split_first(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def parse(service: str, text: str, lang: str = "en") -> Command:
    """Parse the text of a command addressed to `service` (a slash command or HTTP body)."""
    if service not in VERBS:
        raise UsageError(None, lang, _UNKNOWN[lang].format(word=escape(service[:40])))
    if len(text) > MAX_TEXT_LENGTH:
        raise UsageError(
            service, lang, _TOO_LONG[lang].format(length=len(text), limit=MAX_TEXT_LENGTH)
        )
    first, rest = _split_first(text)
    if not first:
        return Command(service, EMPTY_VERB[service], "", lang)
    known = VERBS[service].get(fold(first))
    if known is not None:
        verb, verb_lang = known
        # Help takes no arguments; its `args` carry only the usage reason built below, so
        # nothing a user typed after `help` is ever echoed.
        return Command(service, verb, "" if verb == "help" else rest, verb_lang)
    argument = ARGUMENT_VERB.get(service)
    if argument is not None and argument[0].match(first):
        return Command(service, argument[1], text.strip(), lang)
    free_verb = FREE_TEXT_VERB[service]
    if free_verb is None:
        # The reply quotes the user's word, inert: `<!channel>` is shown, never sent.
        raise UsageError(service, lang, _UNKNOWN[lang].format(word=escape(first[:40])))
    return Command(service, free_verb, text.strip(), lang)


_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


def parse_mention(text: str) -> Command:
    """Parse an app mention such as `<@U123> busca deploy`; unknown words get the general help."""
    stripped = _MENTION.sub("", text, count=1)
    first, rest = _split_first(stripped)
    word = fold(first)
    if word in MENTION_VERBS:
        service = MENTION_VERBS[word]
        try:
            return parse(service, stripped, VERBS[service][word][1])
        except UsageError as error:
            return Command(service, "help", error.reason, error.lang)
    if word in SERVICE_WORDS:
        service, lang = SERVICE_WORDS[word]
        try:
            return parse(service, rest, lang)
        except UsageError as error:
            return Command(service, "help", error.reason, error.lang)
    lang = HELP_WORDS.get(word, "en")
    return Command(GENERAL_HELP_SERVICE, "overview", "", lang)
