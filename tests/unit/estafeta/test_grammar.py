import sys
import types
from collections.abc import Iterator
from dataclasses import replace

import pytest

import routing
from estafeta import grammar, mrkdwn
from estafeta.grammar import Command, DeclarationError, ServiceCommands, UsageError, Verb, Words


@pytest.mark.parametrize(
    ("service", "text", "expected"),
    [
        ("search", "deploy failed", Command("search", "find", "deploy failed", "en")),
        ("search", "  help ", Command("search", "help", "", "en")),
        ("search", "AYUDA", Command("search", "help", "", "es")),
        ("search", "", Command("search", "help", "", "en")),
        ("sentiment", "", Command("sentiment", "summary", "", "en")),
        ("sentiment", "analyze I love it", Command("sentiment", "analyze", "I love it", "en")),
        ("sentiment", "analiza qué bien", Command("sentiment", "analyze", "qué bien", "es")),
        ("agenda", "help", Command("agenda", "help", "", "en")),
    ],
)
def test_parse_known_commands(service: str, text: str, expected: Command) -> None:
    assert grammar.parse(service, text) == expected


def test_unknown_sub_command_is_a_usage_error_with_help() -> None:
    with pytest.raises(UsageError) as caught:
        grammar.parse("sentiment", "frobnicate tomorrow")
    assert "frobnicate" in caught.value.usage
    assert "/mood help" in caught.value.usage


def test_unknown_service_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        grammar.parse("weather", "today")


def test_too_long_text_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        grammar.parse("search", "x" * (grammar.MAX_TEXT_LENGTH + 1))
    assert "too long" in caught.value.reason


@pytest.mark.parametrize(
    ("text", "service", "verb", "args", "lang"),
    [
        ("<@U123> search deploy failed", "search", "find", "deploy failed", "en"),
        ("<@U123> busca despliegue", "search", "find", "despliegue", "es"),
        ("<@U123|bot>: mood", "sentiment", "summary", "", "en"),
        ("<@U123> Ánimo analiza genial", "sentiment", "analyze", "genial", "es"),
        ("<@U123> animo", "sentiment", "summary", "", "es"),
        ("<@U123> agenda help", "agenda", "help", "", "en"),
        ("<@U123> help", "search", "overview", "", "en"),
        ("<@U123> ayuda", "search", "overview", "", "es"),
        ("<@U123> what's up?", "search", "overview", "", "en"),
    ],
)
def test_parse_mention(text: str, service: str, verb: str, args: str, lang: str) -> None:
    assert grammar.parse_mention(text) == Command(service, verb, args, lang)


def test_mention_with_unknown_sub_command_becomes_help_with_reason() -> None:
    command = grammar.parse_mention("<@U1> mood frobnicate")
    assert command.verb == "help"
    assert command.service == "sentiment"
    assert "frobnicate" in command.args


def test_command_round_trips_through_json_form() -> None:
    command = Command("search", "find", "x", "es")
    assert Command.from_dict(command.as_dict()) == command


def test_help_texts_exist_in_both_languages() -> None:
    for service in (None, "search", "agenda", "sentiment"):
        assert grammar.help_text(service, "en") != grammar.help_text(service, "es")


# Usage replies quote what the user typed: inert, never a ping or a link -------------------

# `<@U1>` alone is a `/mood` argument (whose mood), so it is tried glued to a word.
PINGS = ["<!channel>", "<!here>", "<!everyone>", "<!subteam^S1|@team>", "hi<@U1>",
         "<https://evil.example|label>"]


@pytest.mark.parametrize("typed", PINGS)
def test_a_usage_reply_quotes_the_users_word_escaped(typed: str) -> None:
    with pytest.raises(UsageError) as caught:
        grammar.parse("sentiment", f"{typed} tomorrow")
    assert typed not in caught.value.usage and "<" not in caught.value.reason
    assert f"`{mrkdwn.escape(typed[:40])}`" in caught.value.usage


def test_an_unknown_service_is_quoted_escaped() -> None:
    with pytest.raises(UsageError) as caught:
        grammar.parse("<!channel>", "x")
    assert "<!channel>" not in caught.value.usage
    assert "&lt;!channel&gt;" in caught.value.reason


@pytest.mark.parametrize("typed", PINGS)
def test_a_mention_usage_reply_carries_the_escaped_word(typed: str) -> None:
    command = grammar.parse_mention(f"<@U1> mood {typed}")
    assert command.verb == "help"
    assert typed not in command.args and mrkdwn.escape(typed) in command.args


@pytest.mark.parametrize("text", ["help <!channel>", "ayuda <@U1> hola", "help x"])
def test_help_takes_no_arguments_so_nothing_after_it_is_echoed(text: str) -> None:
    # The help handler prints `args` above the help as a usage reason: only the grammar's own.
    for service in ("search", "agenda", "sentiment"):
        assert grammar.parse(service, text).args == ""
    assert grammar.parse_mention(f"<@U1> agenda {text}").args == ""


# The parser is generic: every service's vocabulary comes from its own declaration ----------

@pytest.fixture
def declare(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Lets a test declare services of its own; the grammar forgets them afterwards."""
    grammar._vocabulary_of.cache_clear()  # built once per set of services, normally
    yield monkeypatch
    monkeypatch.undo()
    grammar._vocabulary_of.cache_clear()


def _declare(monkeypatch: pytest.MonkeyPatch, commands: ServiceCommands,
             module_service: str | None = None) -> None:
    """Make `commands` a service's declaration, as `workers/<svc>/commands.py` would."""
    name = module_service or commands.service
    module = types.ModuleType(grammar.commands_module(name))
    module.COMMANDS = commands  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, f"workers.{name}", types.ModuleType(f"workers.{name}"))
    monkeypatch.setitem(sys.modules, grammar.commands_module(name), module)
    monkeypatch.setitem(routing.SERVICES, name,
                        routing.Service(name, routing.Priority.INTERACTIVE, hears=False))


WEATHER = ServiceCommands(
    service="weather",
    names=Words(en=("weather",), es=("tiempo",)),
    slash_command="/weather",
    verbs=(Verb("forecast", Words(en=("forecast",), es=("pronóstico",))),),
    free_text_verb="now",
    empty_verb="now",
    help={"en": "*weather* – `/weather <city>`", "es": "*tiempo* – `/weather <ciudad>`"},
    overview={"en": "`weather <city>` – the weather now",
              "es": "`tiempo <ciudad>` – el tiempo ahora"},
)


def test_a_fourth_service_is_parsed_from_its_declaration_alone(
    declare: pytest.MonkeyPatch
) -> None:
    _declare(declare, WEATHER)
    assert grammar.parse("weather", "pronostico Lima") == Command(
        "weather", "forecast", "Lima", "es")
    assert grammar.parse("weather", "") == Command("weather", "now", "", "en")
    assert grammar.parse_mention("<@U1> tiempo Lima") == Command("weather", "now", "Lima", "es")
    assert grammar.help_text("weather", "es") == WEATHER.help["es"]
    general = grammar.help_text(None)
    assert "• `weather <city>` – the weather now\n" in general
    assert "(`/search`, `/agenda`, `/mood`, `/weather`)" in general
    # The other services are as they were.
    assert grammar.parse_mention("<@U1> busca x") == Command("search", "find", "x", "es")


def test_the_general_help_lists_every_service_in_routing_order() -> None:
    general = grammar.help_text(None, "es")
    lines = [f"• {d.overview['es']}" for d in grammar.declarations()]
    assert general.splitlines()[1:1 + len(lines)] == lines
    assert [d.service for d in grammar.declarations()] == list(routing.SERVICES)


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"names": Words(en=("mood",))}, "'mood'"),  # sentiment's word
    ({"names": Words(es=("ayuda",))}, "general help"),
    ({"verbs": (Verb("a", Words(en=("x",))), Verb("b", Words(es=("X",))))}, "'x'"),
    ({"verbs": (Verb("a", Words(en=("ayuda",))),)}, "'ayuda'"),  # help is every service's
    ({"verbs": (Verb("help", Words(en=("hilfe",))),)}, "twice"),
    ({"verbs": (Verb("a", Words(en=("remind",)), opens_mention=True),)}, "'remind'"),
    ({"verbs": (Verb("a", Words(en=("agenda",)), opens_mention=True),)}, "'agenda'"),
    ({"help": {"en": "only English"}}, "'es'"),
    ({"service": "forecast"}, "not of 'weather'"),
])
def test_an_inconsistent_declaration_is_refused(
    declare: pytest.MonkeyPatch, changes: dict[str, object], complaint: str
) -> None:
    _declare(declare, replace(WEATHER, **changes), module_service="weather")  # type: ignore[arg-type]
    with pytest.raises(DeclarationError) as caught:
        grammar.parse("weather", "x")
    assert complaint in str(caught.value)


def test_a_module_without_a_declaration_is_refused(declare: pytest.MonkeyPatch) -> None:
    _declare(declare, WEATHER)
    declare.setitem(sys.modules, grammar.commands_module("weather"),
                    types.ModuleType(grammar.commands_module("weather")))
    with pytest.raises(DeclarationError, match="COMMANDS"):
        grammar.help_text(None)


def test_declared_verbs_are_what_handlers_answer() -> None:
    assert grammar.declaration("search").handled_verbs == {"find", "more", "reindex"}
    assert grammar.declaration("sentiment").handled_verbs == {"summary", "analyze", "alerts"}
    assert grammar.declaration("agenda").handled_verbs == {
        "add", "remind", "list", "next", "search", "cancel", "export", "form"}
