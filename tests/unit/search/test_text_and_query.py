import pytest

from workers.search import text
from workers.search.query import MAX_QUERY_LENGTH, QueryError, parse


@pytest.mark.parametrize(("query_word", "indexed_text"), [
    ("reunion", "Mañana tenemos la Reunión de equipo"),
    ("reuniones", "Mañana tenemos la reunión de equipo"),
    ("Reunión", "las reuniones de los lunes"),
    ("deploys", "the deploy failed on staging"),
    ("deploy", "all deploys are frozen"),
    ("meetings", "the meeting moved to Tuesday"),
    ("despliegue", "los despliegues fallaron otra vez"),
    ("canción", "una cancion nueva"),
])
def test_accents_and_stems_meet_in_both_languages(query_word: str, indexed_text: str) -> None:
    indexed = set(text.index_terms(indexed_text).split())
    assert indexed & set(text.query_stems(query_word))


def test_slack_markup_is_not_indexed_but_link_labels_are() -> None:
    terms = text.index_terms("ping <@U123ABC> in <#C999|general>, see <https://x.io/a|runbook>")
    assert "u123abc" not in terms and "https" not in terms
    assert "runbook" in terms and "general" in terms


def test_modifiers_are_parsed() -> None:
    query = parse('"database migration" -staging from:<@U1|ana> in:<#C2|ops> '
                  "before:2026-02-01 after:2026-01-01 deploy")
    assert query.words == ["deploy"]
    assert query.phrases == [["database", "migration"]]
    assert query.excluded == ["staging"]
    assert query.from_users == ["U1"] and query.in_channels == ["C2"]
    assert query.before is not None and query.after is not None
    assert query.after < query.before


@pytest.mark.parametrize("raw", ['"unbalanced', "a AND OR NOT (", "NEAR(x y) * ^", '""" -"'
                                 ' word', "col:umn: ::", "-- deploy"])
def test_anything_typed_compiles_to_a_safe_expression(raw: str) -> None:
    try:
        expression = parse(raw).match_expression()
    except QueryError:
        return  # a helpful refusal is fine too
    # Only quoted terms and our own operators: never raw user syntax.
    assert expression.replace('"', "").count("(") == expression.replace('"', "").count(")")


@pytest.mark.parametrize("raw", ["", "   ", "the and of", "-deploy"])
def test_nothing_to_look_for_is_a_helpful_error(raw: str) -> None:
    with pytest.raises(QueryError, match="what to look for"):
        parse(raw)


def test_bad_dates_and_long_queries_are_helpful_errors() -> None:
    with pytest.raises(QueryError, match="YYYY-MM-DD"):
        parse("deploy before:yesterday")
    with pytest.raises(QueryError, match="too long"):
        parse("x" * (MAX_QUERY_LENGTH + 1))
