"""The App Home tab: each service's section, one after the other, then how to use the bot."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from estafeta import grammar

MAX_BLOCKS = 100  # Slack refuses a view with more
_TITLE = {"en": "Estafeta", "es": "Estafeta"}


def home_view(sections: list[list[dict[str, Any]]], lang: str) -> dict[str, Any]:
    """The `home` view to publish: the sections (Block Kit dicts) and the general help."""
    blocks: list[dict[str, Any]] = [HeaderBlock(text=_TITLE.get(lang, _TITLE["en"])).to_dict()]
    for section in sections:
        if section:
            blocks.extend(section)
            blocks.append(DividerBlock().to_dict())
    # The help comes last, and always fits: sections are cut to leave it room.
    help_blocks = [
        SectionBlock(text=MarkdownTextObject(text=grammar.help_text(None, lang))).to_dict(),
    ]
    blocks = blocks[:MAX_BLOCKS - len(help_blocks)] + help_blocks
    return {"type": "home", "blocks": blocks}
