"""The agenda's Block Kit: answers with "Cancel" buttons, reminders with "Done" and "Snooze",
and its section of the App Home tab. Pure functions over texts already escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    MarkdownTextObject,
    SectionBlock,
)

from estafeta.mrkdwn import fit
from workers.agenda import texts

CANCEL = "agenda.cancel"
DONE = "agenda.done"
SNOOZES = {"agenda.snooze_10m": "10m", "agenda.snooze_1h": "1h",
           "agenda.snooze_tomorrow": "tomorrow"}
OPEN_FORM = "agenda.open_form"
SECTION_LIMIT = 3000  # characters of a section's text Slack takes
MAX_BLOCKS = 50  # blocks of a message Slack takes


def _section(text: str, accessory: ButtonElement | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit(text, SECTION_LIMIT)),
                        accessory=accessory)


def cancel_button(event_id: int, lang: str) -> ButtonElement:
    """The "Cancel" button of one event (its value is only a claim: the click re-checks)."""
    return ButtonElement(text=texts.get(lang, "button_cancel"), action_id=CANCEL,
                         value=str(event_id))


def listing(heading: str, lines: Sequence[tuple[str, int | None]], footer: str,
            lang: str) -> list[dict[str, Any]]:
    """A heading, one section per line (with a "Cancel" button when an event id is given),
    and a footer line."""
    blocks: list[Block] = [_section(heading)] if heading else []
    for text, event_id in lines:
        button = None if event_id is None else cancel_button(event_id, lang)
        blocks.append(_section(text, button))
    if footer:
        blocks.append(_section(footer))
    return [block.to_dict() for block in blocks[:MAX_BLOCKS]]


def occurrence_value(event_id: int, occurrence: float) -> str:
    """A reminder button's value: the event and the start of the occurrence reminded of."""
    return f"{event_id}:{occurrence:.3f}"


def read_occurrence(value: str) -> tuple[int, float] | None:
    """The (event id, occurrence) of a reminder button's value; None when malformed."""
    event, _, start = value.partition(":")
    if not event.isdigit() or len(event) > 12:
        return None
    try:
        occurrence = float(start)
    except ValueError:
        return None
    if not 0 < occurrence < 1e11:
        return None
    return int(event), occurrence


def reminder(text: str, event_id: int, occurrence: float, lang: str) -> list[dict[str, Any]]:
    """A posted reminder: its text, then "Done" and the snoozes."""
    value = occurrence_value(event_id, occurrence)
    buttons = [ButtonElement(text=texts.get(lang, "button_done"), action_id=DONE,
                             value=value, style="primary")]
    buttons += [ButtonElement(text=texts.get(lang, f"button_snooze_{suffix}"),
                              action_id=action, value=value)
                for action, suffix in SNOOZES.items()]
    return [_section(text).to_dict(), ActionsBlock(elements=buttons).to_dict()]


def home(lines: Sequence[str], lang: str) -> list[dict[str, Any]]:
    """The agenda's section of the Home tab: the next events, or a friendly line, and a
    button that opens the add form."""
    heading = f"*{texts.get(lang, 'home_title')}*"
    body = "\n".join(lines) if lines else texts.get(lang, "home_none")
    add = ButtonElement(text=texts.get(lang, "home_add"), action_id=OPEN_FORM, value="add",
                        style="primary")
    return [_section(heading).to_dict(), _section(body).to_dict(),
            ActionsBlock(elements=[add]).to_dict()]
