"""The scoring core: Slack normalisation, language detection, the Spanish rules, English."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.sentiment.analysis import (
    LABELS,
    NEGATIVE,
    POSITIVE,
    Analyzer,
    Score,
    detect_language,
    label,
    normalise,
)


@pytest.fixture(scope="module")
def analyzer() -> Analyzer:
    return Analyzer()


def es(analyzer: Analyzer, text: str) -> float:
    """Compound score of `text` scored as Spanish."""
    score = analyzer.score(text, fallback_lang="es")
    assert score.lang == "es", text
    return score.compound


# Normalisation -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("<@U02ABCDEF> can you look?", "can you look?"),
    ("thanks <@U02ABCDEF|ana>!", "thanks !"),
    ("moving to <#C012AB|platform-team>", "moving to platform-team"),
    ("see <https://example.com/runbook|the runbook>", "see the runbook"),
    ("recording: <https://zoom.us/rec/abc123>", "recording:"),
    ("mail <mailto:ops@example.com|ops>", "mail ops"),
    ("<!here> deploy at 5", "deploy at 5"),
    ("run `make test` first", "run first"),
    ("```\nSELECT 1;\n``` returns one", "returns one"),
    ("Q&amp;A at 5 &lt;3 &gt; all", "Q&A at 5 <3 > all"),
    ("*muy* _bien_ ~mal~", "muy bien mal"),
    ("keep snake_case and 2 * 3", "keep snake_case and 2 * 3"),
    ("at 10:30:45 sharp", "at 10:30:45 sharp"),
    ("  lots   of\n\nspace ", "lots of space"),
    ("I <3 this > that", "I <3 this > that"),
])
def test_slack_markup_is_normalised(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


@pytest.mark.parametrize(("code", "emoji"), [
    (":smile:", "😄"), (":tada:", "🎉"), (":+1:", "👍"), (":thumbsup:", "👍"),
    (":heart:", "❤"), (":cry:", "😢"), (":rage:", "😡"), (":disappointed:", "😞"),
    (":joy:", "😂"), (":sob:", "😭"), (":fire:", "🔥"), (":-1:", "👎"),
    (":slightly_smiling_face:", "🙂"), (":thumbsup::skin-tone-3:", "👍"),
])
def test_emoji_codes_become_the_emoji_the_scorers_know(code: str, emoji: str) -> None:
    assert normalise(f"done {code}") == f"done {emoji}"


def test_unknown_custom_emoji_are_dropped_and_variation_selectors_ignored() -> None:
    assert normalise("shipped :party-parrot-fast:") == "shipped"
    assert normalise("love it ❤️ 👍🏽") == "love it ❤ 👍"


@pytest.mark.parametrize("text", [
    "&amp;lt;@U1&amp;gt; hola", "&lt;https://x.io|x&gt;", "*_~negrita~_*", ":tada::tada:",
    "`a` ``` b ``` `c`", "&amp;amp;amp;", "<@U1|<#C1|x>>", "_:+1:_",
])
def test_normalise_is_idempotent_on_tricky_markup(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab :+1_*~`<>@#|&;lgtamp\n😀é")), max_size=40))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


# Language ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "lang"), [
    ("el despliegue ha fallado otra vez y nadie sabe por qué", "es"),
    ("¿alguien me revisa la PR cuando pueda?", "es"),
    ("mañana no puedo ir a la reunión", "es"),
    ("the deploy failed again and nobody knows why", "en"),
    ("can someone review my PR when they have a minute?", "en"),
    ("<@U04XYZ> qué tal el finde? <https://example.com/a|enlace>", "es"),
])
def test_language_is_detected(text: str, lang: str) -> None:
    assert detect_language(text) == lang
    assert detect_language(text, fallback="en" if lang == "es" else "es") == lang


@pytest.mark.parametrize("text", ["ok", "vale", "👍", "+1", "lol", "", "<@U123>"])
def test_short_or_undecidable_text_falls_back(text: str) -> None:
    assert detect_language(text) is None
    assert detect_language(text, fallback="es") == "es"
    assert detect_language(text, fallback="en") == "en"


def test_the_fallback_language_decides_how_short_text_is_scored(analyzer: Analyzer) -> None:
    assert analyzer.score("vale", fallback_lang="es").lang == "es"
    assert analyzer.score("ok", fallback_lang="en").lang == "en"
    assert analyzer.score("genial").label == "positive"  # no fallback: either scorer


# Spanish rules -------------------------------------------------------------------------------

@pytest.mark.parametrize(("negated", "plain"), [
    ("el nuevo diseño no me gusta", "el nuevo diseño me gusta"),
    ("esto nunca ha sido fácil", "esto ha sido fácil"),
    ("ni bonito ni útil", "bonito y útil"),
    ("jamás fue tan bueno", "fue tan bueno"),
    ("tampoco es malo", "es malo"),
    ("nadie está contento", "todos están contentos"),
    ("nada interesante", "muy interesante"),
    ("sin problemas", "con problemas"),
    ("no hay ningún error", "hay un error"),
])
def test_negation_flips_the_sign(analyzer: Analyzer, negated: str, plain: str) -> None:
    assert es(analyzer, plain) != 0
    assert es(analyzer, negated) * es(analyzer, plain) < 0


def test_negative_concord_negates_once(analyzer: Analyzer) -> None:
    assert es(analyzer, "no está nada mal") > POSITIVE
    assert es(analyzer, "no me gusta nada") < NEGATIVE
    assert es(analyzer, "no tengo ninguna queja") > POSITIVE


def test_negation_stops_at_punctuation_and_at_an_earlier_sentiment_word(
    analyzer: Analyzer,
) -> None:
    assert es(analyzer, "no, está genial") > POSITIVE
    assert es(analyzer, "sin duda la mejor retro") > POSITIVE
    assert es(analyzer, "no solo es rápido sino también fiable") > 0


@pytest.mark.parametrize("booster", ["muy", "bastante", "súper", "tan", "demasiado",
                                     "increíblemente", "realmente"])
def test_boosters_intensify(analyzer: Analyzer, booster: str) -> None:
    assert es(analyzer, f"es {booster} lento") < es(analyzer, "es lento") < 0
    assert es(analyzer, f"está {booster} bonito") > es(analyzer, "está bonito") > 0


@pytest.mark.parametrize("dampener", ["un poco", "algo", "casi"])
def test_dampeners_soften_without_flipping(analyzer: Analyzer, dampener: str) -> None:
    assert es(analyzer, "es lento") < es(analyzer, f"es {dampener} lento") < 0
    assert es(analyzer, "es útil") > es(analyzer, f"es {dampener} útil") > 0


def test_bare_poco_means_not_very(analyzer: Analyzer) -> None:
    assert es(analyzer, "es poco útil") < 0 < es(analyzer, "es útil")


def test_degree_words_with_a_meaning_of_their_own(analyzer: Analyzer) -> None:
    assert es(analyzer, "está bien lento") < es(analyzer, "está lento") < 0
    assert es(analyzer, "todo bien") > 0
    assert es(analyzer, "¡qué bien!") > es(analyzer, "bien") > 0
    assert es(analyzer, "bueno, lo miro mañana") == 0  # a discourse marker


@pytest.mark.parametrize("turn", ["pero", "sin embargo", "no obstante", "aunque"])
def test_what_follows_a_contrast_weighs_more(analyzer: Analyzer, turn: str) -> None:
    assert es(analyzer, f"el diseño es bonito, {turn} es lento") < 0
    assert es(analyzer, f"es lento, {turn} el diseño es bonito") > 0


def test_sentence_initial_aunque_concedes_its_own_clause(analyzer: Analyzer) -> None:
    assert es(analyzer, "Aunque tuvimos problemas, el resultado es muy bueno") > POSITIVE
    assert es(analyzer, "Aunque el diseño es bonito, va lentísimo") < NEGATIVE


@pytest.mark.parametrize(("text", "sign"), [
    ("listo 🎉", 1), ("listo :tada:", 1), ("hecho :+1:", 1), ("me voy :sob:", -1),
    ("otra vez :rage:", -1), ("el deploy 🚀", 1), ("tests en rojo 😞", -1), ("jaja :joy:", 1),
])
def test_emoji_carry_sentiment(analyzer: Analyzer, text: str, sign: int) -> None:
    assert es(analyzer, text) * sign > 0


def test_a_negation_before_an_emoji_does_not_flip_it(analyzer: Analyzer) -> None:
    assert es(analyzer, "sigue sin contestar 😒") < 0


def test_exclamation_marks_and_all_caps_intensify(analyzer: Analyzer) -> None:
    assert es(analyzer, "genial!!!") > es(analyzer, "genial!") > es(analyzer, "genial") > 0
    assert es(analyzer, "esto es un desastre!!") < es(analyzer, "esto es un desastre") < 0
    assert es(analyzer, "el servicio está CAÍDO") < es(analyzer, "el servicio está caído") < 0
    assert es(analyzer, "qué GENIAL la demo") > es(analyzer, "qué genial la demo")


@pytest.mark.parametrize("laugh", ["jaja", "jajajaja", "jeje", "jiji", "xD", "XDDD", "lol",
                                   "jsjsjs"])
def test_laughter_is_positive(analyzer: Analyzer, laugh: str) -> None:
    assert es(analyzer, f"me muero {laugh}") > POSITIVE


def test_he_and_ha_are_not_laughter(analyzer: Analyzer) -> None:
    assert es(analyzer, "¿alguien ha probado la versión que he subido?") == 0


@pytest.mark.parametrize("text", [
    "genial", "guay", "qué chulo", "menudo currazo", "enhorabuena", "gracias", "felicidades",
    "ánimo", "me encanta", "chévere", "está padrísimo", "de lujo", "qué pasada",
    "buenísimo", "todo perfecto", "me alegro", "me quedo más tranquilo",
])
def test_spanish_chat_praise_is_positive(analyzer: Analyzer, text: str) -> None:
    assert label(es(analyzer, text)) == "positive"


@pytest.mark.parametrize("text", [
    "fatal", "qué mierda", "qué pena", "odio los lunes", "estoy harto", "estoy harta",
    "estoy agobiado", "el servicio está caído", "falla el login", "otro bug en producción",
    "error 500 en todo", "está roto", "urgente, se cayó el servidor", "ostras, vaya marrón",
    "qué chapuza", "menudo follón", "vaya tela", "va lentísimo",
])
def test_spanish_chat_complaints_are_negative(analyzer: Analyzer, text: str) -> None:
    assert label(es(analyzer, text)) == "negative"


@pytest.mark.parametrize("text", [
    "vale", "ok", "la reunión es a las 10", "¿puedes revisar la PR?", "por defecto usa UTC",
    "las nuevas normas entran en vigor en marzo", "hoy teletrabajo", "lo miro y te digo",
])
def test_spanish_work_talk_is_neutral(analyzer: Analyzer, text: str) -> None:
    assert label(es(analyzer, text)) == "neutral"


def test_accents_are_optional(analyzer: Analyzer) -> None:
    assert es(analyzer, "que pena, esta caido") == es(analyzer, "qué pena, está caído")
    assert es(analyzer, "jamas funciono") == es(analyzer, "jamás funcionó")


# English -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("Great job on the release today, everyone! 🎉", "positive"),
    ("the deploy failed again and nobody knows why", "negative"),
    ("standup moved to 10:30 tomorrow", "neutral"),
    ("not bad at all", "positive"),
    ("looks nice, but it is painfully slow", "negative"),
    ("shipped :rocket: :tada:", "positive"),
    ("staging outage again :rage:", "negative"),
    ("super annoying", "negative"),
    ("ok", "neutral"),
])
def test_english_is_scored_by_vader(analyzer: Analyzer, text: str, expected: str) -> None:
    score = analyzer.score(text, fallback_lang="en")
    assert (score.lang, score.label) == ("en", expected)


# The API -------------------------------------------------------------------------------------

def test_scores_are_frozen_and_labelled(analyzer: Analyzer) -> None:
    score = analyzer.score("¡Enhorabuena por el lanzamiento, equipo! 🎉")
    assert isinstance(score, Score) and score.lang == "es"
    assert score.label == "positive" and 0 < score.compound <= 1
    with pytest.raises(AttributeError):
        score.compound = 0.0  # type: ignore[misc]


def test_label_thresholds() -> None:
    assert LABELS == ("negative", "neutral", "positive")
    assert NEGATIVE < 0 < POSITIVE
    assert [label(x) for x in (-1.0, NEGATIVE, 0.0, POSITIVE, 1.0)] == [
        "negative", "negative", "neutral", "positive", "positive"]


def test_scoring_normalises_first_and_is_idempotent(analyzer: Analyzer) -> None:
    raw = "*genial* <@U1|ana>, ya está en <https://x.io/pr/1|la PR> :tada:"
    assert analyzer.score(raw) == analyzer.score(normalise(raw))
    assert analyzer.score(raw) == analyzer.score(raw)


def test_score_many_matches_score(analyzer: Analyzer) -> None:
    texts = ["genial", "the build is broken", "vale", "genial", "", "😭"]
    assert analyzer.score_many(texts, fallback_lang="es") == [
        analyzer.score(t, fallback_lang="es") for t in texts]
    assert analyzer.score_many([]) == []


def test_empty_text_is_neutral(analyzer: Analyzer) -> None:
    assert analyzer.score("", fallback_lang="en") == Score(0.0, "neutral", "en")
    assert analyzer.score("   ", fallback_lang="es").label == "neutral"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80), st.sampled_from([None, "es", "en"]))
def test_compound_is_always_in_range(text: str, fallback: str | None) -> None:
    score = _ANALYZER.score(text, fallback_lang=fallback)
    assert -1.0 <= score.compound <= 1.0
    assert score.label in LABELS and score.lang in ("es", "en")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["muy", "no", "genial", "mal", "pero", "!!!", "MAL", "jaja",
                                 "nada", "sin", "un", "poco", "😭", "🎉", "bien", ","]),
                max_size=30))
def test_spanish_compound_is_in_range_for_any_word_salad(words: list[str]) -> None:
    assert -1.0 <= _ANALYZER.score(" ".join(words), fallback_lang="es").compound <= 1.0


_ANALYZER = Analyzer()
