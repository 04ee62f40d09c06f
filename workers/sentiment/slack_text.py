"""Slack message markup to the plain text a sentiment scorer reads.

Mentions and bare links carry no sentiment and would only confuse the language detector, so
they go; a link's or channel's label is words someone chose, so it stays. Emoji short codes
(`:tada:`, and the `:slightly_smiling_face:` Slack stores for a typed `:)`) become the unicode
emoji that both scorers know (`data/emoji.tsv`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

# Slack's own escapes; nothing else is escaped in message text. A chain of escaped escapes
# (`&amp;amp;lt;`) is undone in one match, so unescaping never needs one pass per level.
_ESCAPED = re.compile(r"&(?:amp;)*(lt;|gt;)?")
_UNESCAPED = {"lt;": "<", "gt;": ">"}

_CODE_BLOCK = re.compile(r"```.*?```", re.DOTALL)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_ENTITY = re.compile(r"<([^<>\s][^<>]*)>")
# Not between digits, so the `:30:` of `10:30:45` stays a time.
_SHORT_CODE = re.compile(r"(?<!\d):([a-z0-9_+\-']+):(?!\d)")
_RAW_URL = re.compile(r"\bhttps?://\S+")
_SKIN_TONE = re.compile(r":skin-tone-[2-6]:")
# Emoji modifiers that only change how an emoji looks: skin tones, the emoji/text variation
# selectors and the zero-width joiner (🤦‍♀️ → 🤦 ♀). Dropping them lets one table entry per emoji do.
_EMOJI_DECORATION = re.compile("[\U0001f3fb-\U0001f3ff\ufe0e\ufe0f]")
_ZWJ = "\u200d"
# *bold*, _italic_, ~strike~: a marker run that touches a word on one side and not the
# other, so `snake_case`, `2 * 3` and `a~b` keep theirs.
_FORMAT_OPEN = re.compile(r"(?<![\w*_~])[*_~]+(?=[^\s*_~])")
_FORMAT_CLOSE = re.compile(r"(?<=[^\s*_~])[*_~]+(?![\w*_~])")
_SPACES = re.compile(r"\s+")
# The blocks emoji come from (arrows, symbols, dingbats, pictographs), for telling an emoji
# apart from the word it is glued to.
EMOJI = re.compile(
    "[\u2190-\u21ff\u2300-\u23ff\u2460-\u27bf\u2900-\u2bff\U0001f000-\U0001faff]"
)
# Characters that may start any rewrite; text without them only needs its spaces collapsed.
_SPECIAL = re.compile(r"[<>&`:*_~\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
# Passes of `_once` before giving up on markup: ordinary messages settle in two or three
# (the last only confirms), markup revealed by unescaping included; links nested four deep
# take six. Each pass is linear, so this bound keeps a 40,000-character hostile message
# linear too.
MAX_PASSES = 8


@lru_cache(maxsize=1)
def emoji_table() -> tuple[dict[str, str], dict[str, float]]:
    """Slack short code → emoji, and emoji → valence (-4..+4), from `data/emoji.tsv`."""
    codes: dict[str, str] = {}
    valences: dict[str, float] = {}
    text = resources.files("workers.sentiment").joinpath("data/emoji.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        emoji, valence, names = line.split("\t")
        valences[emoji] = float(valence)
        for name in names.split(","):
            codes[name] = emoji
    return codes, valences


def _entity(match: re.Match[str]) -> str:
    inner = match.group(1)
    target, _, label = inner.partition("|")
    if target.startswith("@"):  # <@U123> and <@U123|ana>: who is addressed carries no mood
        return " "
    if target.startswith("#"):  # <#C123|general>: the channel's name
        return f" {label} " if label else " "
    if target.startswith("!"):  # <!here>, <!date^…|fallback>, <!subteam^S1|@team>
        return f" {label} " if label and not label.startswith("@") else " "
    if ":" in target or "." in target:  # <https://…|label>, <mailto:…>, bare links
        return f" {label} " if label else " "
    return match.group(0)  # not Slack markup: someone typed angle brackets


def _short_code(match: re.Match[str]) -> str:
    emoji = emoji_table()[0].get(match.group(1))
    # Unknown (often custom) emoji: their names are private jokes more often than moods.
    return f" {emoji} " if emoji else " "


def _once(text: str) -> str:
    text = _CODE_BLOCK.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = _ENTITY.sub(_entity, text)
    text = _RAW_URL.sub(" ", text)  # not Slack's, but pasted tweets and e-mails have them
    text = _SKIN_TONE.sub("", text)
    text = _SHORT_CODE.sub(_short_code, text)
    text = _EMOJI_DECORATION.sub("", text).replace(_ZWJ, " ")
    text = _FORMAT_OPEN.sub("", text)
    text = _FORMAT_CLOSE.sub("", text)
    if "&" in text:
        text = _ESCAPED.sub(_unescaped, text)
    return _SPACES.sub(" ", text).strip()


def _unescaped(match: re.Match[str]) -> str:
    return _UNESCAPED.get(match.group(1), "&")


def normalise(text: str) -> str:
    """Slack markup, code and emoji short codes removed or resolved; spaces collapsed.

    Linear in the length of `text`: every pass is, and there are at most `MAX_PASSES`.
    """
    if _SPECIAL.search(text) is None:
        return _SPACES.sub(" ", text).strip()
    # Unescaping can reveal markup (`&lt;@U1&gt;`), and removing markup can complete more
    # (`_:+1:_`, `<@U1|<#C1|x>>`); repeating until nothing changes makes normalise idempotent.
    for _ in range(MAX_PASSES):
        cleaner = _once(text)
        if cleaner == text:
            return text
        text = cleaner
    # Still changing: markup nested deeper than any person writes it, so only hostile text
    # gets here. Dropping every character that could start a rewrite ends it in one pass
    # (and the result is its own normal form, so normalise stays idempotent).
    return _SPACES.sub(" ", _SPECIAL.sub(" ", text)).strip()
