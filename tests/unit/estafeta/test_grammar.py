import pytest

from estafeta import grammar, mrkdwn
from estafeta.grammar import Command, UsageError


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
