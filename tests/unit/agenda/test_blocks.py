"""The agenda's Block Kit: long texts are cut to Slack's limit without breaking their markup."""

from __future__ import annotations

from workers.agenda import blocks


def test_a_long_listing_line_is_cut_before_a_token_it_would_break() -> None:
    # A line of Slack's limit, less a few characters, then a channel link across the limit.
    line = "&amp;" * 599 + "a <#C0123456789>"
    assert len(line) > blocks.SECTION_LIMIT
    (section,) = blocks.listing("", [(line, 7)], "", "en")
    text = section["text"]["text"]
    assert len(text) <= blocks.SECTION_LIMIT
    assert text == "&amp;" * 599 + "a …"
    assert section["accessory"]["value"] == "7"


def test_a_long_reminder_is_cut_between_escapes() -> None:
    text = "x" * (blocks.SECTION_LIMIT - 3) + "&lt;&gt;"
    section, actions = blocks.reminder(text, 3, 1_800_000_000.0, "es")
    assert section["text"]["text"] == "x" * (blocks.SECTION_LIMIT - 3) + "…"
    assert actions["type"] == "actions"
