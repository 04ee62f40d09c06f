"""The add form: the modal `/agenda` opens, and what its submitted values mean as an event.

Pure functions, no I/O. The inputs are those `workers/agenda/commands.py` declares (`ADD_FORM`):
the gateway checks a submission against them before publishing it, and `read_form` checks it
again here (a message need not come from the gateway) before turning it into a `When`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    DatePickerElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
    TimePickerElement,
)
from slack_sdk.models.views import View

from workers.agenda import texts
from workers.agenda.commands import ADD_FORM, REPEATS, TITLE_LIMIT
from workers.agenda.when import MAX_YEARS_AHEAD, RuleError, When, check_rule

ADD_CALLBACK = "agenda.add"  # the form's callback_id (its submission's handler)
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_TITLE_ROOM = 24  # Slack's limit on a modal's title, submit and close texts


class FormProblem(ValueError):
    """The submitted values do not make an event; `text` says why, in the form's language."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Submitted:
    """What the form asks for: a title and when it starts (and repeats)."""

    title: str
    when: When


def metadata(channel: str, lang: str) -> str:
    """The view's `private_metadata`: where the form was opened from, and its language."""
    return json.dumps({"channel": channel, "lang": lang}, separators=(",", ":"))


def modal(lang: str, channel: str) -> dict[str, Any]:
    """The add form's view, in `lang`; `channel`: where its confirmation goes ('' for a DM)."""
    say = _say(lang)
    repeat_options = [Option(value=name, text=say(f"repeat_{name}")) for name in REPEATS]
    blocks = [
        InputBlock(block_id="title", label=say("form_what"),
                   element=PlainTextInputElement(action_id="title", max_length=TITLE_LIMIT,
                                                 placeholder=say("form_what_hint"))),
        InputBlock(block_id="date", label=say("form_date"),
                   element=DatePickerElement(action_id="date")),
        InputBlock(block_id="time", label=say("form_time"),
                   element=TimePickerElement(action_id="time", initial_time="09:00")),
        InputBlock(block_id="repeat", label=say("form_repeat"),
                   element=StaticSelectElement(action_id="repeat", options=repeat_options,
                                               initial_option=repeat_options[0])),
    ]
    view = View(type="modal", callback_id=ADD_CALLBACK,
                title=say("form_title")[:_TITLE_ROOM],
                submit=say("form_submit")[:_TITLE_ROOM],
                close=say("form_close")[:_TITLE_ROOM],
                blocks=blocks, private_metadata=metadata(channel, lang))
    return view.to_dict()


def _say(lang: str) -> Any:
    return lambda key: texts.get(lang, key)


def _wall(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """A wall time in `zone`: moved forward across a DST gap, the first of a repeated hour."""
    naive = datetime(day.year, day.month, day.day, hour, minute)
    return naive.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)


def rule_for(repeat: str, start: datetime) -> str | None:
    """The RRULE of a "repeat" choice for an event starting at `start` (None: no repeat)."""
    if repeat == "daily":
        return "FREQ=DAILY"
    if repeat == "weekdays":
        return "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"
    if repeat == "weekly":
        return f"FREQ=WEEKLY;BYDAY={_DAYS[start.weekday()]}"
    if repeat == "monthly":
        return f"FREQ=MONTHLY;BYMONTHDAY={start.day}"
    return None


def read_form(values: dict[str, str], tz: str, now: datetime, lang: str) -> Submitted:
    """The event the submitted `values` describe, in timezone `tz`; `FormProblem` if none."""
    errors = ADD_FORM.errors(values, lang, today=now.astimezone(ZoneInfo(tz)).date())
    if errors:
        labels = {name: texts.get(lang, f"form_{key}") for name, key in
                  (("title", "what"), ("date", "date"), ("time", "time"),
                   ("repeat", "repeat"))}
        problems = "; ".join(f"{labels.get(name, name)}: {text}"
                             for name, text in errors.items())
        raise FormProblem(texts.get(lang, "form_invalid").format(problems=problems))
    zone = ZoneInfo(tz)
    day = date.fromisoformat(values["date"])
    hour, minute = (int(part) for part in values["time"].split(":"))
    repeat = values["repeat"]
    if repeat == "weekdays":
        # The first occurrence is the first weekday from the day picked.
        while day.weekday() >= 5:
            day += timedelta(days=1)
    start = _wall(day, hour, minute, zone)
    invalid = texts.get(lang, "form_invalid")
    if start <= now:
        raise FormProblem(invalid.format(problems=texts.get(lang, "form_past")))
    if start > now + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise FormProblem(invalid.format(problems=texts.get(lang, "form_too_far")))
    rrule = rule_for(repeat, start)
    if rrule is not None:
        try:
            check_rule(rrule, start)
        except RuleError as exc:  # never expected of these rules: refused rather than stored
            raise FormProblem(invalid.format(problems=str(exc))) from exc
    return Submitted(" ".join(values["title"].split()), When(start, rrule, True))
