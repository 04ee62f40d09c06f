"""A VADER-style sentiment scorer for Spanish chat.

VADER's shape: every word with a valence in the lexicon counts, modified by the words just
before it (boosters, dampeners, negations), by contrast (`pero`: what follows weighs more), by
ALL CAPS and by exclamation marks; the sum is squashed into [-1, 1] by x/sqrt(x² + 15).

The lexicon is the translated VADER lexicon cleaned by `build_lexicon` (`data/lexicon_es.tsv`)
plus chat words it lacks (`data/chat_es.tsv`), emoji (`data/emoji.tsv`) and laughter. The
grammar below — negation, degree words, contrast — is Spanish, written by hand, because the
translated lists were wrong (`no` translated as a word with a valence, `tan` missing).
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from workers.sentiment.slack_text import EMOJI, emoji_table

# VADER's empirically derived constants (Hutto & Gilbert, 2014), kept for the same scale.
BOOST = 0.293  # a degree word's push
CAPS_BOOST = 0.733  # a sentiment word in ALL CAPS among lower-case ones
NEGATION = -0.74  # a negated word keeps most of its strength, opposite sign
EXCLAMATION = 0.292  # per `!`, up to four
ALPHA = 15.0  # normalisation: x / sqrt(x² + ALPHA)
# Every laugh (`jajaja`, `jeje`, `jsjs`, `xDD`, `lol`) is read as `jaja`, whose valence is the
# lexicon's (VADER's `haha`): amusement, though in a complaint it only softens it.
LAUGH = "jaja"

# Spanish negative concord: `no está nada mal`, `no tengo ninguna queja` are one negation,
# not two, so several negators before a word negate it once.
NEGATORS = frozenset("""
    no nunca ni jamas tampoco nadie nada sin ningun ninguno ninguna ningunos ningunas poco
""".split())
# Bare `poco` is in NEGATORS: `poco útil`, `poco claro` mean unhelpful, unclear; `un poco`
# (below) only dampens: `un poco lento` is still slow.
NOT_NEGATING_AFTER_NO = frozenset({"solo", "solamente", "unicamente"})  # no solo … sino …

BOOSTERS: dict[str, float] = {
    **dict.fromkeys("""
        muy bastante super tan demasiado increiblemente realmente totalmente completamente
        absolutamente extremadamente sumamente tremendamente enormemente especialmente
        particularmente profundamente altamente re recontra mega hiper mucho muchisimo mas
        menudo menuda vaya
    """.split(), BOOST),
    "de verdad": BOOST,
    **dict.fromkeys("algo casi medio apenas ligeramente relativamente poquito".split(), -BOOST),
    "un poco": -BOOST, "un poquito": -BOOST, "un tanto": -BOOST, "un pelin": -BOOST,
    "mas o menos": -BOOST,
}
# Degree words that are also sentiment words: a booster before a sentiment word
# (`bien lento`, `súper útil`), their own valence otherwise (`todo bien`).
BOOSTER_BEFORE_SENTIMENT = {"bien": BOOST}
# Exclamative `qué` (`¡qué pena!`, `qué bien`) intensifies; only written with its accent,
# since unaccented `que` is the commonest conjunction.
EXCLAMATIVE = "qué"

# Contrast: the turn of the message. What follows it weighs more, what precedes less —
# except sentence-initial `aunque`, whose own clause is the concession: `Aunque tuvimos
# problemas, el resultado es muy bueno` weighs the clause after the comma.
CONTRAST = frozenset({"pero", "sin embargo", "no obstante", "aunque", "aun asi"})
CONCESSIVE = "aunque"
BEFORE_CONTRAST, AFTER_CONTRAST = 0.5, 1.5

# Set phrases that are not sentiment words: matched before single words so `sin embargo`
# is not a negation and `un poco` is not `un` + `poco`.
MODIFIER_PHRASES = frozenset(p for p in (*BOOSTERS, *CONTRAST) if " " in p)
MAX_PHRASE = 4

_MARKS_BUT_TILDE = re.compile(r"[\u0300-\u0302\u0304-\u036f]")
_LAUGH = re.compile(r"^(?:(?:ja|je|ji|ha|he|js){2,}j?|x+d+|lol|lmao)$")
_REPEAT = re.compile(r"(\w)\1{2,}")
_PUNCTUATION = string.punctuation + "¡¿«»“”‘’…–—"
_CLAUSE_END = frozenset(",;:.!?…")
_SENTENCE_END = frozenset(".!?…")
_SUPERLATIVE = re.compile(r"(.+?)(qu|gu)?isim([oa]s?)$")


CACHE_SIZE = 50_000

# A whitespace-separated chunk of text: word, lexicon key, whether it is an emoji or
# emoticon, opens a sentence (`¿`, `¡`), ends a clause, ends a sentence.
_Chunk = tuple[str, str, bool, bool, bool, bool]


@dataclass
class _Token:
    raw: str  # as written, punctuation stripped
    key: str  # folded, the lexicon key
    clause_end: bool = False  # punctuation between this token and the next
    sentence_end: bool = False
    emoji: bool = False  # emoji and emoticons: no word before them negates or boosts them


def fold(text: str) -> str:
    """Lower case, accents and diaeresis off, `ñ` kept: `Según` → `segun`, `Año` → `año`."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    decomposed = unicodedata.normalize("NFD", lowered)
    return unicodedata.normalize("NFC", _MARKS_BUT_TILDE.sub("", decomposed))


def _read_tsv(name: str) -> dict[str, float]:
    text = resources.files("workers.sentiment").joinpath(f"data/{name}").read_text("utf-8")
    entries: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            term, valence = line.split("\t")[:2]
            entries[term] = float(valence)
    return entries


@lru_cache(maxsize=1)
def default_lexicon() -> dict[str, float]:
    """The shipped Spanish lexicon: cleaned translation, then chat words, then emoji."""
    lexicon = _read_tsv("lexicon_es.tsv")
    for term, valence in _read_tsv("chat_es.tsv").items():
        key = " ".join(fold(term).split())
        # 0 is kept: it marks a word or set phrase with no mood in a work chat
        # (`por defecto`), whatever the translation or a similar word says.
        lexicon[key] = valence
    lexicon.update(emoji_table()[1])
    return lexicon


class SpanishScorer:
    """VADER-style compound score in [-1, 1] for normalised Spanish text."""

    def __init__(self, lexicon: Mapping[str, float] | None = None) -> None:
        self.lexicon = dict(default_lexicon() if lexicon is None else lexicon)
        self._phrases = frozenset(t for t in self.lexicon if " " in t) | MODIFIER_PHRASES
        self._phrase_starts = frozenset(p.split(" ", 1)[0] for p in self._phrases)
        # Chat repeats its words: what a chunk of text tokenises to and what a word is worth
        # are remembered (bounded, for a long-running worker).
        self._chunks: dict[str, _Chunk] = {}
        self._valences: dict[str, float] = {}

    # Tokens -----------------------------------------------------------------------------

    def tokens(self, text: str) -> list[_Token]:
        """Words, emoticons, emoji and set phrases, with where clauses and sentences end."""
        tokens: list[_Token] = []
        if not text.isascii():  # an emoji is a word of its own: `listo🎉` is `listo 🎉`
            text = EMOJI.sub(r" \g<0> ", text)
        for piece in text.split():
            chunk = self._chunks.get(piece)
            if chunk is None:
                chunk = self._chunk(piece)
                if len(self._chunks) >= CACHE_SIZE:
                    self._chunks.clear()
                self._chunks[piece] = chunk
            word, key, emoji, opens, clause_end, sentence_end = chunk
            if opens and tokens:  # `¿` and `¡` open a sentence: the one before has ended
                tokens[-1].clause_end = tokens[-1].sentence_end = True
            if word:
                tokens.append(_Token(word, key, clause_end, sentence_end, emoji))
            elif tokens and clause_end:  # punctuation standing alone: ` - `, ` ... `
                tokens[-1].clause_end = True
                tokens[-1].sentence_end |= sentence_end
        return self._join_phrases(tokens)

    def _chunk(self, chunk: str) -> _Chunk:
        if chunk in self.lexicon and not chunk.isalpha():  # emoji, emoticons: `:D`, not `:d`
            return chunk, chunk, True, False, False, False
        word = chunk.strip(_PUNCTUATION)
        lead = set(chunk[: len(chunk) - len(chunk.lstrip(_PUNCTUATION))])
        trail = set(chunk[len(chunk.rstrip(_PUNCTUATION)):] if word else chunk)
        return (word, self._key(word) if word else "", False, bool(lead & {"¿", "¡"}),
                bool(trail & _CLAUSE_END), bool(trail & _SENTENCE_END))

    def _key(self, word: str) -> str:
        key = fold(word)
        if _LAUGH.match(key):
            return LAUGH
        if key not in self.lexicon and _REPEAT.search(key):  # `geniaaal`, `nooo`
            key = _REPEAT.sub(r"\1", key)
        return key

    def _join_phrases(self, tokens: list[_Token]) -> list[_Token]:
        joined: list[_Token] = []
        i = 0
        while i < len(tokens):
            if tokens[i].key in self._phrase_starts:
                for size in range(min(MAX_PHRASE, len(tokens) - i), 1, -1):
                    span = tokens[i:i + size]
                    if any(t.clause_end for t in span[:-1]):
                        continue
                    key = " ".join(t.key for t in span)
                    if key in self._phrases:
                        raw = " ".join(t.raw for t in span)
                        joined.append(_Token(raw, key, span[-1].clause_end,
                                             span[-1].sentence_end))
                        i += size
                        break
                else:
                    joined.append(tokens[i])
                    i += 1
            else:
                joined.append(tokens[i])
                i += 1
        return joined

    # Valence ----------------------------------------------------------------------------

    def valence(self, key: str) -> float:
        """A word's valence: the lexicon's, else its superlative's or plural's base word's."""
        known = self._valences.get(key)
        if known is None:
            known = self._valence(key)
            if len(self._valences) >= CACHE_SIZE:
                self._valences.clear()
            self._valences[key] = known
        return known

    def _valence(self, key: str) -> float:
        found = self.lexicon.get(key)
        if found is not None:
            return found
        superlative = _SUPERLATIVE.match(key)
        if superlative:  # lentísima → lenta, lento; riquísimo → rico; facilísimo → facil
            stem, hard, ending = superlative.groups()
            stem += {"qu": "c", "gu": "g"}.get(hard or "", "")
            for base in (stem + ending, stem + "o", stem, stem + "e"):
                found = self.lexicon.get(base)
                if found:  # as if `muy` came before it
                    return found + math.copysign(BOOST, found)
        if len(key) > 3:
            # Another number or gender: rotas → roto, horribles → horrible, errores → error,
            # caída → caido, mentira → mentiras.
            for base in _inflections(key):
                found = self.lexicon.get(base)
                if found is not None:
                    return found
        return 0.0

    def polarity(self, text: str) -> float:
        """Compound score in [-1, 1] of normalised Spanish text."""
        tokens = self.tokens(text)
        if not tokens:
            return 0.0
        cased = [t for t in tokens if sum(c.isalpha() for c in t.raw) > 1]
        caps_differ = 0 < sum(t.raw.isupper() for t in cased) < len(cased)
        sentiments = [self._sentiment(tokens, i, caps_differ) for i in range(len(tokens))]
        sentiments = _weigh_contrast(tokens, sentiments)
        total = sum(sentiments)
        if total:
            total += math.copysign(_punctuation_emphasis(text), total)
        return _normalise(total)

    def _is_modifier(self, tokens: list[_Token], i: int) -> bool:
        key = tokens[i].key
        if key in BOOSTERS or key in NEGATORS or key in CONTRAST:
            return True
        if key in BOOSTER_BEFORE_SENTIMENT or tokens[i].raw.lower() == EXCLAMATIVE:
            following = tokens[i + 1].key if i + 1 < len(tokens) else ""
            return not tokens[i].clause_end and bool(self.valence(following))
        return False

    def _sentiment(self, tokens: list[_Token], i: int, caps_differ: bool) -> float:
        token = tokens[i]
        if self._is_modifier(tokens, i):
            return 0.0
        if i == 0 and token.key == "bueno" and token.clause_end:
            return 0.0  # `Bueno, lo miro mañana`: a discourse marker, not praise
        value = self.valence(token.key)
        if not value:
            return 0.0
        if token.emoji:
            return value  # `IT sigue sin contestar 😒` is not a negated 😒
        if caps_differ and token.raw.isupper() and sum(c.isalpha() for c in token.raw) > 1:
            value += math.copysign(CAPS_BOOST, value)
        negated = False
        # Look back up to three words, within the clause, until an earlier sentiment word:
        # in `sin duda la mejor`, `sin` negates `duda`, not `mejor`.
        for distance in (1, 2, 3):
            j = i - distance
            if j < 0 or tokens[j].clause_end:
                break
            before = tokens[j]
            if before.key in NEGATORS:
                following = tokens[j + 1].key
                if not (before.key == "no" and following in NOT_NEGATING_AFTER_NO):
                    negated = True
                continue
            if self._is_modifier(tokens, j) and before.key not in CONTRAST:
                # VADER's distance damping: the further the degree word, the weaker.
                push = BOOSTERS.get(before.key, BOOST) * (1.0, 0.95, 0.9)[distance - 1]
                if push > 0 and caps_differ and before.raw.isupper():
                    push += CAPS_BOOST
                # A dampener shrinks a word towards 0, never past it.
                value = math.copysign(max(0.0, abs(value) + push), value)
                continue
            if self.valence(before.key):
                break
        return value * NEGATION if negated else value


def _inflections(key: str) -> list[str]:
    forms = []
    if key.endswith("s"):
        forms.append(key[:-1])
        if key.endswith("es"):
            forms.append(key[:-2])
        if key.endswith("as"):
            forms.append(key[:-2] + "o")
    elif key.endswith("a"):
        forms.append(key[:-1] + "o")
    if not key.endswith("s"):
        forms.append(key + "s")
    return forms


def _weigh_contrast(tokens: list[_Token], sentiments: list[float]) -> list[float]:
    turns = [i for i, t in enumerate(tokens) if t.key in CONTRAST]
    if not turns:
        return sentiments
    turn = turns[-1]
    starts_sentence = turn == 0 or tokens[turn - 1].sentence_end
    if tokens[turn].key == CONCESSIVE and starts_sentence:
        # `Aunque X, Y`: X is conceded, Y is what the writer means.
        end = next((k for k in range(turn, len(tokens)) if tokens[k].clause_end), len(tokens))
        return [s * (BEFORE_CONTRAST if turn < k <= end else AFTER_CONTRAST if k > end else 1.0)
                for k, s in enumerate(sentiments)]
    return [s * (BEFORE_CONTRAST if k < turn else AFTER_CONTRAST if k > turn else 1.0)
            for k, s in enumerate(sentiments)]


def _punctuation_emphasis(text: str) -> float:
    # VADER's: up to four `!`; two or three `?` add a little, more add 0.96. The opening
    # `¡` and `¿` are not counted: they only pair with the closing marks.
    emphasis = min(text.count("!"), 4) * EXCLAMATION
    questions = text.count("?")
    if questions > 1:
        emphasis += questions * 0.18 if questions <= 3 else 0.96
    return emphasis


def _normalise(total: float) -> float:
    return max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))
