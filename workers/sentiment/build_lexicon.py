"""Rebuild `data/lexicon_es.tsv`, the Spanish lexicon the scorer reads, from the raw one.

    python -m workers.sentiment.build_lexicon RAW_LEXICON OUT_TSV

The raw lexicon is the machine-translated Spanish VADER lexicon (one row per row of the English
one: term, mean valence, deviation, ratings). Cleaning, in order:

1. Terms are folded the way the scorer folds words: lower case, accents off, `ñ` kept.
2. Untranslated English is dropped: a term that is also in VADER's English lexicon goes unless
   it is Spanish too (`SPANISH_ALSO`); emoticons stay; so do the chat acronyms Spanish
   speakers write (`lol`, `xd`).
3. Multi-word entries are dropped unless listed in `PHRASES`: most are compositional
   (`más triste`, `sin miedo`, `no amable`), which the scorer's booster and negation rules
   already handle, or noun compounds that never carry a mood in chat (`buque de guerra`).
4. Duplicates are resolved: same-signed valences are averaged; terms whose translations
   disagree in sign are dropped.
5. `CORRECTIONS` replaces the valence of common words the translation got wrong for Spanish
   chat, or drops them (None): function words (`no`, `si`, `solo`), politeness (`por favor`),
   and words whose usual Spanish sense carries no mood (`seguridad`, `tipo`, `sentido`).
   A valence of 0 is kept in the output: it stops the scorer from lending the word the
   mood of a similar one (`cara` is not a form of `caro`).

The output is sorted and has no timestamp: the same input always gives the same bytes.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from workers.sentiment.spanish import fold

# Terms of VADER's English lexicon that are Spanish words as well (same sense) or chat
# acronyms used in Spanish; everything else the translation left in English is dropped.
SPANISH_ALSO = frozenset("""
    admirable adorable amor amoral amoroso brutal consolable criminal crisis cruel error
    excitable fatal favorable festival fiasco fiesta fiestas flexible funeral genial gracioso
    gratis grave honor honorable horrible horribles horror hostiles humor ideal impersonal
    indestructible inferior invulnerable irresistible irreversible irritable lamentable
    magnifico fantastico miserable noble original paranoia paranoias peculiar perfecta
    perfectas perfecto popular propaganda romance romances sentimental sexy sociable superior
    supremo supremos terrible terror trauma traumas trivial tumor vigor virtuosa virtuosas
    virtuoso virtuosos vital vulnerable
    lol lmao xd wtf wow meh ugh grrr
""".split())

# Left-over English the translation produced that is not in VADER's English lexicon.
NOT_SPANISH = frozenset("""
    biter desespeirer gigolier inocenter interesant netened snobishly trucosy oo vv
""".split())

# Multi-word entries kept: set expressions whose mood no word-by-word rule would find.
PHRASES = frozenset(phrase.strip() for phrase in """
    me gusta|lo siento|bien hecho|vale la pena|por suerte|de mierda|maldita sea|hijo de puta
    hijos de puta|obra maestra|obras maestras|falta de respeto|mal humor|punto muerto
    tener exito|alma gemela|chivo expiatorio|lavado del cerebro|daños y perjuicios|de luto
    en panico|volviendo loco|pedir disculpas|salvador de la vida|de chuparse los dedos
    larga vida|sorpresa desagradable|correo no deseado|corazon pesado
""".replace("\n", "|").split("|") if phrase.strip())

# Corrections for Spanish chat: valence on VADER's -4..+4 scale, or None to drop the term.
CORRECTIONS: dict[str, float | None] = {
    # Function words and discourse markers the translation gave a mood.
    "no": None, "si": None, "son": None, "solo": None, "tiempo": None, "mayor": None,
    "pasado": None, "tipo": None, "grandes": None, "acuerdo": None, "sentido": None,
    "numero": None, "derecho": None, "verdad": None, "cierto": None, "claro": None,
    "listo": None, "favor": None, "tia": None, "chica": None, "dios": None, "super": None,
    "importante": None, "ayuda": None, "ayudar": None, "seguridad": None,
    "grande": None, "cumple": None, "limpiar": None, "libre": None, "bajo": None,
    "pequeño": None, "serio": None, "salir": None, "puesto": None, "crear": None,
    "creado": None, "aumento": None, "aumentar": None, "intereses": None, "esperar": None,
    "esperando": None, "energetico": None, "fuente": None, "seguro": None, "dominio": None,
    # Kept at 0 so that no similar word lends them a mood: `cara` (face) is not `caro`,
    # `seria` is mostly an unaccented `sería` (would be), not `serio`.
    "cara": 0.0, "seria": 0.0,
    # Senses that differ in Spanish chat.
    "mejor": 1.0,  # mostly "better to …" (`mejor lo vemos mañana`), not "best"
    "perdon": -0.3,  # an apology, as English "sorry"
    "brutal": 1.5,  # colloquially "awesome" (`qué brutal`) far more than "cruel"
    "urgente": -0.6,  # in a work chat, trouble
    "saludos": 0.8,  # a sign-off
    "caro": -1.0,  # "expensive"; the translation took it for "dear"
    "alerta": -0.5,  # a monitoring alert, not "alert" the quality
    "duda": -0.3,  # `tengo una duda`: a question, barely a worry
    "dudas": -0.3,
}

_WORD_PAIR = re.compile(r"[^\W\d_]{2}")


def _english_terms() -> set[str]:
    text = resources.files("vaderSentiment").joinpath("vader_lexicon.txt").read_text("utf-8")
    return {line.split("\t", 1)[0].lower() for line in text.splitlines() if line}


def _is_emoticon(term: str) -> bool:
    # `:-D`, `(^;o`, `</3`: no two letters in a row. `xd` and acronyms have them.
    return _WORD_PAIR.search(term) is None


def clean(rows: Iterable[tuple[str, float]], english: set[str]) -> dict[str, float]:
    """The cleaned lexicon: folded term → valence."""
    values: dict[str, list[float]] = defaultdict(list)
    for raw_term, valence in rows:
        raw = " ".join(raw_term.split())
        if _is_emoticon(raw):
            if " " not in raw:
                values[raw].append(valence)  # emoticons keep their case: `:D` is not `:d`
            continue
        term = fold(raw)
        if " " in term:
            if term in PHRASES:
                values[term].append(valence)
            continue
        if term in NOT_SPANISH or (term in english and term not in SPANISH_ALSO):
            continue
        values[term].append(valence)
    lexicon: dict[str, float] = {}
    for term, found in values.items():
        if all(v > 0 for v in found) or all(v < 0 for v in found):
            lexicon[term] = round(sum(found) / len(found), 3)
    for term, corrected in CORRECTIONS.items():
        if corrected is None:
            lexicon.pop(term, None)
        else:
            lexicon[term] = corrected
    return lexicon


def read_raw(path: Path) -> list[tuple[str, float]]:
    """(term, mean valence) rows of a VADER-format lexicon file."""
    rows = []
    for line in path.read_text("utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) >= 2 and fields[0].strip():
            rows.append((fields[0].strip(), float(fields[1])))
    return rows


def render(lexicon: dict[str, float]) -> str:
    """The TSV text: a header, then `term<TAB>valence` sorted by term."""
    header = (
        "# Spanish sentiment lexicon for workers.sentiment.spanish: term (folded: lower case,\n"
        "# no accents, ñ kept) and valence on VADER's -4..+4 scale. Generated by\n"
        "# `python -m workers.sentiment.build_lexicon` from the machine-translated VADER\n"
        "# lexicon (MIT, (c) 2016 C.J. Hutto; see vader_LICENSE.txt and README.md).\n"
    )
    body = "".join(f"{term}\t{lexicon[term]:g}\n" for term in sorted(lexicon))
    return header + body


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("raw", type=Path, help="the raw Spanish VADER lexicon.txt")
    parser.add_argument("out", type=Path, help="where to write the cleaned TSV")
    args = parser.parse_args(argv)
    rows = read_raw(args.raw)
    lexicon = clean(rows, _english_terms())
    args.out.write_text(render(lexicon), "utf-8")
    print(f"{len(rows)} rows in, {len(lexicon)} terms out: {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
