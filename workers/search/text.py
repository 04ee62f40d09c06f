"""Text for the index: Slack markup removed, accents folded, stop words dropped, words stemmed.

Spanish and English share one index. A message is stemmed in the language it is most likely
written in; a query word is looked up under both its Spanish and its English stem, so
`reuniones` finds `reunión` and `deploys` finds `deploy` whatever language surrounds them.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# <url|label>, <#C1|name>, <@U1>. Markup never contains `<`: excluding it keeps a message of
# thousands of raw `<` linear (each one is tried against the text up to the next, not to the end).
_SLACK_LINK = re.compile(r"<(?:[^<>|]*\|)?([^<>]*)>")
_USER_OR_CHANNEL = re.compile(r"^[@#!][A-Z0-9]+$")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)

STOP_WORDS = {
    "es": set(
        "a al algo como con de del el ella ellos en es esa ese eso esta este esto fue ha hay la "
        "las le les lo los me mi mas muy nos o para pero por que se si sin su sus te tu un una "
        "uno unos unas y ya yo".split()
    ),
    "en": set(
        "a an and are as at be been but by for from had has have he her his i if in is it its "
        "me my no not of on or our she so that the their them then there they this to was we "
        "were what when which who will with you your".split()
    ),
}
_ALL_STOP_WORDS = STOP_WORDS["es"] | STOP_WORDS["en"]


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# Latin letters with accents, folded by a lookup table: most text never needs the slow path.
_LATIN_FOLD = {code: _strip_marks(chr(code)) for code in range(0x80, 0x250)}
_BEYOND_LATIN = re.compile("[^\x00-\u024f]")


def fold(text: str) -> str:
    """Lower-case and strip accents: `Reunión` → `reunion`."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    folded = lowered.translate(_LATIN_FOLD)
    if _BEYOND_LATIN.search(folded) is None:
        return folded
    return _strip_marks(folded)


def plain(text: str) -> str:
    """Slack markup to plain words: links keep their label, mentions their id's label."""

    def label(match: re.Match[str]) -> str:
        inner = match.group(1)
        return "" if _USER_OR_CHANNEL.match(inner) else inner

    return _SLACK_LINK.sub(label, text)


def words(text: str) -> list[str]:
    """The folded words of `text`."""
    return _WORD.findall(fold(plain(text)))


def guess_language(tokens: list[str]) -> str:
    """`es` or `en`, from the stop words a text uses (English when in doubt)."""
    spanish = sum(1 for t in tokens if t in STOP_WORDS["es"] and t not in STOP_WORDS["en"])
    english = sum(1 for t in tokens if t in STOP_WORDS["en"] and t not in STOP_WORDS["es"])
    return "es" if spanish > english else "en"


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    name = {"es": "spanish", "en": "english"}[language]
    stemmer = Stemmer.Stemmer(name)
    stemmer.maxCacheSize = 50_000
    return stemmer


def index_terms(text: str) -> str:
    """The space-separated stems that represent `text` in the full-text index."""
    tokens = words(text)
    stems = _stemmer(guess_language(tokens)).stemWords(
        [t for t in tokens if t not in _ALL_STOP_WORDS]
    )
    return " ".join(stems)


def stem(word: str, language: str) -> str:
    """The stem of one word in `language` (`es` or `en`)."""
    return str(_stemmer(language).stemWord(fold(word)))


def query_stems(word: str) -> list[str]:
    """Every stem a query word may have been indexed under (Spanish and English)."""
    return sorted({stem(word, "es"), stem(word, "en")})


def is_stop_word(word: str) -> bool:
    """Whether a (folded) word is too common to be worth looking up."""
    return fold(word) in _ALL_STOP_WORDS
