"""The command grammar shared by Slack (slash commands, mentions) and the HTTP API.

A generic parser over the services' own declarations: each service declares its verbs, the
words that name it, its help texts and argument patterns in `workers/<service>/commands.py`
(a `ServiceCommands`), found by name for every service `routing` knows. The gateway parses
with it to refuse unknown sub-commands before publishing anything; the workers answer `help`
from the same declarations, so both sides say the same thing.
"""

from __future__ import annotations

import functools
import importlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import routing
from estafeta.interactions import Form
from estafeta.mrkdwn import escape

MAX_TEXT_LENGTH = 4000  # Slack's own limit for slash command text


@dataclass(frozen=True)
class Command:
    """One parsed command: which service, which verb, its arguments and the user's language."""

    service: str
    verb: str
    args: str
    lang: str  # "en" or "es"
    # Whether the words used decided `lang`; when not, a worker asks the person's Slack
    # locale (`users.info`) before it answers.
    lang_known: bool = field(default=True, compare=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form carried in a task message."""
        data: dict[str, Any] = {"service": self.service, "verb": self.verb, "args": self.args,
                                "lang": self.lang}
        if not self.lang_known:
            data["lang_known"] = False
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        """Rebuild a command from its JSON form (raises `KeyError`/`TypeError` when malformed)."""
        return cls(str(data["service"]), str(data["verb"]), str(data["args"]), str(data["lang"]),
                   data.get("lang_known", True) is not False)


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


LANGS = ("en", "es")
HELP = "help"  # every service's built-in verb: its help text (workers/service.py answers it)
OVERVIEW = "overview"  # the general help, answered by `GENERAL_HELP_SERVICE`
BUILT_IN_VERBS = frozenset({HELP, OVERVIEW})


class DeclarationError(ValueError):
    """A service's command declaration is inconsistent, or clashes with another's."""


@dataclass(frozen=True)
class Words:
    """Words that say one thing, in English and in Spanish (accents are optional to users)."""

    en: tuple[str, ...] = ()
    es: tuple[str, ...] = ()

    def folded(self) -> list[tuple[str, str]]:
        """Each word folded (`fold`), with its language."""
        return [(fold(w), "en") for w in self.en] + [(fold(w), "es") for w in self.es]


@dataclass(frozen=True)
class Verb:
    """A sub-command of a service and the words that name it."""

    name: str
    words: Words
    # Its words may also open a mention, with no service word: "@bot remind me to ...".
    opens_mention: bool = False


@dataclass(frozen=True)
class ArgumentVerb:
    """Text whose first word matches `pattern` is the argument of `verb`, not a verb."""

    pattern: re.Pattern[str]
    verb: str


@dataclass(frozen=True)
class Shortcut:
    """A global shortcut (Slack's lightning menu) a service answers; in the app manifest."""

    callback_id: str
    name: str  # what the menu shows (Slack allows 24 characters)
    description: str  # Slack allows 80 characters


@dataclass(frozen=True)
class ServiceCommands:
    """What one service understands; declared in `workers/<service>/commands.py` as `COMMANDS`.

    Such a module imports nothing but this module and the standard library: the gateway reads
    it without importing the service's worker code.
    """

    service: str  # the `routing.Service` name
    names: Words  # words that name the service at the start of a mention: "@bot busca ..."
    help: Mapping[str, str]  # the service's help text, by language
    overview: Mapping[str, str]  # its line in the general help, by language
    slash_command: str  # how the general help names the service's slash command
    verbs: tuple[Verb, ...] = ()
    # What text that starts with no known verb means (None: it is a usage error).
    free_text_verb: str | None = None
    empty_verb: str = HELP  # what no text at all means
    argument_verb: ArgumentVerb | None = None
    # The `action_id`s of the service's interactive elements (buttons, menus) and the
    # `callback_id`s of its modals and shortcuts: `/slack/interactions` routes each to the
    # service that declared it. Every id starts with the service's name and a dot.
    actions: tuple[str, ...] = ()
    callbacks: tuple[str, ...] = ()
    shortcuts: tuple[Shortcut, ...] = ()  # their callback_ids are routed like the others
    # callback_id → the inputs of that modal, checked by the gateway before publishing.
    forms: Mapping[str, Form] = field(default_factory=dict)
    home: bool = False  # adds a section to the App Home tab (a `home` handler)
    # The bot scopes the service's own calls need (the app manifest asks for all of them).
    scopes: tuple[str, ...] = ()

    @property
    def interaction_ids(self) -> tuple[str, ...]:
        """Every action_id and callback_id the service answers."""
        return (*self.actions, *self.callbacks, *(s.callback_id for s in self.shortcuts))

    @property
    def handled_verbs(self) -> frozenset[str]:
        """The verbs the service's own handlers answer (the built-in ones excluded)."""
        named = {verb.name for verb in self.verbs} | {self.empty_verb}
        if self.free_text_verb is not None:
            named.add(self.free_text_verb)
        if self.argument_verb is not None:
            named.add(self.argument_verb.verb)
        return frozenset(named - BUILT_IN_VERBS)


# Every service has `help`; its words are reserved in every service's vocabulary.
HELP_VERB = Verb(HELP, Words(en=("help",), es=("ayuda",)))
# Words that ask for the general help at the start of a mention (any other word gets it too).
HELP_WORDS: dict[str, str] = {"help": "en", "ayuda": "es", "?": "en"}
# Answers "@bot help" and unknown mentions. The general help is built from every declaration,
# so any service could; this one keeps the messages of the Slack contract as they were.
GENERAL_HELP_SERVICE = "search"

_GENERAL_HELP = {
    "en": ("*Estafeta* understands:", "• `help` – this message",
           "Use them as slash commands ({commands}) or mention me."),
    "es": ("*Estafeta* entiende:", "• `ayuda` – este mensaje",
           "Úsalos como comandos ({commands}) o mencióname."),
}


def commands_module(service: str) -> str:
    """The module where `service` declares its commands."""
    return f"workers.{service}.commands"


@dataclass(frozen=True)
class _Vocabulary:
    services: Mapping[str, ServiceCommands]
    verbs: Mapping[str, Mapping[str, tuple[str, str]]]  # service -> word -> (verb, language)
    service_words: Mapping[str, tuple[str, str]]  # word -> (service, language)
    mention_verbs: Mapping[str, str]  # word -> service
    general_help: Mapping[str, str]  # language -> text


def _load(service: str) -> ServiceCommands:
    declared = getattr(importlib.import_module(commands_module(service)), "COMMANDS", None)
    if not isinstance(declared, ServiceCommands):
        raise DeclarationError(f"{commands_module(service)} declares no ServiceCommands "
                               "named COMMANDS")
    if declared.service != service:
        raise DeclarationError(f"{commands_module(service)} declares the commands of "
                               f"{declared.service!r}, not of {service!r}")
    for lang in LANGS:
        if not declared.help.get(lang) or not declared.overview.get(lang):
            raise DeclarationError(f"service {service!r} has no help or overview in {lang!r}")
    ids = declared.interaction_ids
    if foreign := [i for i in ids if not i.startswith(f"{service}.")]:
        raise DeclarationError(f"service {service!r}: interaction ids must start with "
                               f"{service + '.'!r}: {', '.join(foreign)}")
    if len(set(ids)) != len(ids):
        raise DeclarationError(f"service {service!r} declares an interaction id twice")
    if unknown := sorted(set(declared.forms) - set(declared.callbacks)):
        raise DeclarationError(f"service {service!r}: forms of undeclared callback ids: "
                               f"{', '.join(unknown)}")
    return declared


def _claim(table: dict[str, tuple[str, str]], word: str, value: tuple[str, str],
           what: str) -> None:
    if word in table and table[word] != value:
        raise DeclarationError(f"{what}: the word {word!r} means both {table[word][0]!r} "
                               f"and {value[0]!r}")
    table[word] = value


def _service_verbs(declared: ServiceCommands) -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    names = [verb.name for verb in declared.verbs]
    if HELP in names or len(set(names)) != len(names):
        raise DeclarationError(f"service {declared.service!r} declares a verb twice "
                               f"(or `{HELP}`, which every service has): {names}")
    for verb in (HELP_VERB, *declared.verbs):
        for word, lang in verb.words.folded():
            _claim(table, word, (verb.name, lang), f"service {declared.service!r}")
    return table


@functools.cache
def _vocabulary_of(services: tuple[str, ...]) -> _Vocabulary:
    declared = {name: _load(name) for name in services}
    verbs = {name: _service_verbs(commands) for name, commands in declared.items()}
    service_words: dict[str, tuple[str, str]] = {}
    mention_verbs: dict[str, tuple[str, str]] = {}
    for name, commands in declared.items():
        for word, lang in commands.names.folded():
            _claim(service_words, word, (name, lang), "the words that name services")
        for verb in commands.verbs:
            if verb.opens_mention:
                for word, lang in verb.words.folded():
                    _claim(mention_verbs, word, (name, lang), "the verbs that open mentions")
    for word in HELP_WORDS.keys() & (service_words.keys() | mention_verbs.keys()):
        raise DeclarationError(f"the word {word!r} asks for the general help")
    for word in service_words.keys() & mention_verbs.keys():
        raise DeclarationError(f"the word {word!r} names a service and opens a mention")
    slash = ", ".join(f"`{commands.slash_command}`" for commands in declared.values())
    general = {}
    for lang, (title, help_line, footer) in _GENERAL_HELP.items():
        lines = [title, *(f"• {c.overview[lang]}" for c in declared.values()), help_line,
                 footer.format(commands=slash)]
        general[lang] = "\n".join(lines)
    return _Vocabulary(
        services=declared,
        verbs=verbs,
        service_words=service_words,
        mention_verbs={word: service for word, (service, _) in mention_verbs.items()},
        general_help=general,
    )


def _vocabulary() -> _Vocabulary:
    # Keyed by the services `routing` names (so a test's extra service gets its own); each
    # declaration module is imported once, on first use.
    return _vocabulary_of(tuple(routing.SERVICES))


def declaration(service: str) -> ServiceCommands:
    """The command declaration of `service` (`KeyError` when `routing` has no such service)."""
    return _vocabulary().services[service]


def declarations() -> tuple[ServiceCommands, ...]:
    """Every service's command declaration, in `routing.SERVICES` order."""
    return tuple(_vocabulary().services.values())


def interaction_service(interaction_id: str) -> str | None:
    """The service that declared `interaction_id` (an action or callback id), if any."""
    declared = _vocabulary().services.get(interaction_id.partition(".")[0])
    if declared is None or interaction_id not in declared.interaction_ids:
        return None
    return declared.service


def home_services() -> tuple[str, ...]:
    """The services that add a section to the App Home tab, in `routing.SERVICES` order."""
    return tuple(d.service for d in declarations() if d.home)


def slash_commands() -> dict[str, str]:
    """Slash command → service, as each service declares it (the default of `SLASH_COMMANDS`)."""
    return {d.slash_command: d.service for d in declarations() if d.slash_command}


_UNKNOWN = {
    "en": "I don't know `{word}`.",
    "es": "No conozco `{word}`.",
}
_TOO_LONG = {
    "en": "That text is too long ({length} characters; the limit is {limit}).",
    "es": "Ese texto es demasiado largo ({length} caracteres; el límite es {limit}).",
}


def help_text(service: str | None, lang: str = "en") -> str:
    """The help of one service, or of the whole bot when `service` is None (or unknown)."""
    vocabulary = _vocabulary()
    commands = vocabulary.services.get(service) if service is not None else None
    texts = commands.help if commands is not None else vocabulary.general_help
    return texts.get(lang, texts["en"])


def _split_first(text: str) -> tuple[str, str]:
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1].strip() if len(parts) > 1 else ""


def parse(service: str, text: str, lang: str | None = None) -> Command:
    """Parse the text of a command addressed to `service` (a slash command or HTTP body).

    `lang`: the language the caller already knows; without it, and with no word that decides
    it, the command is in English with `lang_known` False.
    """
    known_lang = lang is not None
    lang = lang or "en"
    vocabulary = _vocabulary()
    commands = vocabulary.services.get(service)
    if commands is None:
        raise UsageError(None, lang, _UNKNOWN[lang].format(word=escape(service[:40])))
    if len(text) > MAX_TEXT_LENGTH:
        raise UsageError(
            service, lang, _TOO_LONG[lang].format(length=len(text), limit=MAX_TEXT_LENGTH)
        )
    first, rest = _split_first(text)
    if not first:
        return Command(service, commands.empty_verb, "", lang, known_lang)
    known = vocabulary.verbs[service].get(fold(first))
    if known is not None:
        verb, verb_lang = known
        # Help takes no arguments; its `args` carry only the usage reason built below, so
        # nothing a user typed after `help` is ever echoed.
        return Command(service, verb, "" if verb == HELP else rest, verb_lang)
    argument = commands.argument_verb
    if argument is not None and argument.pattern.match(first):
        return Command(service, argument.verb, text.strip(), lang, known_lang)
    if commands.free_text_verb is None:
        # The reply quotes the user's word, inert: `<!channel>` is shown, never sent.
        raise UsageError(service, lang, _UNKNOWN[lang].format(word=escape(first[:40])))
    return Command(service, commands.free_text_verb, text.strip(), lang, known_lang)


_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


def parse_mention(text: str) -> Command:
    """Parse an app mention such as `<@U123> busca deploy`; unknown words get the general help."""
    vocabulary = _vocabulary()
    stripped = _MENTION.sub("", text, count=1)
    first, rest = _split_first(stripped)
    word = fold(first)
    if word in vocabulary.mention_verbs:
        service = vocabulary.mention_verbs[word]
        try:
            return parse(service, stripped, vocabulary.verbs[service][word][1])
        except UsageError as error:
            return Command(service, HELP, error.reason, error.lang)
    if word in vocabulary.service_words:
        service, lang = vocabulary.service_words[word]
        try:
            return parse(service, rest, lang)
        except UsageError as error:
            return Command(service, HELP, error.reason, error.lang)
    return Command(GENERAL_HELP_SERVICE, OVERVIEW, "", HELP_WORDS.get(word, "en"),
                   word in HELP_WORDS)
