"""Reading a phrase: folding, applying the rules, the title and the language."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from workers.agenda.when.facts import _Facts
from workers.agenda.when.rules import _RULES
from workers.agenda.when.vocabulary import _LEADING, _STOP_WORDS, _TRAILING


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_char(char: str) -> str:
    if char in "\u2019\u2018`´":
        return "'"
    if char.isspace():
        return " "
    lowered = char.lower()
    if len(lowered) != 1:
        return char
    folded = _strip_marks(lowered)
    return folded if len(folded) == 1 else lowered


# One character in, one character out: positions in the folded text are positions in the
# original, which is how the title keeps its accents and capitals.
_FOLD_TABLE = {code: _fold_char(chr(code)) for code in range(0x80, 0x2100)}


def _fold(text: str) -> str:
    lowered = text.lower()
    if len(lowered) != len(text):
        return "".join(_fold_char(char) for char in text)
    return lowered.translate(_FOLD_TABLE)


# The word in front of a date says the language when the date itself does not ("el 5/5").
_LEADING_LANGUAGE = {"on": "en", "for": "en", "el": "es", "para": "es", "del": "es"}


def _read(text: str, today: date) -> tuple[_Facts, str]:
    """The facts found in `text` and the words left over for the title."""
    facts = _Facts(today)
    folded = _fold(text)
    consumed = [False] * len(text)
    for lang, pattern, handler in _RULES:
        matched = False
        for match in pattern.finditer(folded):
            if not match.group(0).strip() or handler(match, facts) is False:
                continue
            voter = lang or _LEADING_LANGUAGE.get(match.group(0).split(maxsplit=1)[0])
            if voter:
                facts.votes[voter] += 2
            start, end = match.span()
            consumed[start:end] = [True] * (end - start)
            matched = True
        if matched:
            # A NUL stands for consumed text: no later rule can match across or into it.
            folded = "".join("\0" if gone else char
                             for char, gone in zip(folded, consumed, strict=True))
    title = "".join(" " if gone else char for char, gone in zip(text, consumed, strict=True))
    return facts, _clean_title(title)


def _clean_title(text: str) -> str:
    text = " ".join(text.split())
    text = re.sub(r"\s+([,;:.!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    while True:
        text = text.strip(" ,;:.-–—")
        words = text.split(" ")
        if len(words) > 1 and _fold(words[-1]) in _TRAILING:
            text = " ".join(words[:-1])
        elif len(words) > 1 and _fold(words[0]) in _LEADING:
            text = " ".join(words[1:])
        elif len(words) == 1 and (_fold(words[0]) in _TRAILING | _LEADING):
            return ""
        else:
            return text


def _language(facts: _Facts, title: str, hint: str) -> str:
    votes = dict(facts.votes)
    for word in re.findall(r"\w+", _fold(title)):
        for lang, stop_words in _STOP_WORDS.items():
            if word in stop_words:
                votes[lang] += 1
    if votes["en"] == votes["es"]:
        return hint if hint in ("en", "es") else "en"
    return "en" if votes["en"] > votes["es"] else "es"
