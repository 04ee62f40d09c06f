"""Reading Slack's interactive payloads, and checking a modal's inputs."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from estafeta.interactions import (
    DATE,
    TIME,
    BadInteraction,
    Form,
    Input,
    Interaction,
    read_interaction,
)

TODAY = date(2026, 12, 1)


def _click(**extra: Any) -> dict[str, Any]:
    return {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "U1"},
            "channel": {"id": "C1"}, "trigger_id": "1.2.t", "container": {"type": "message"},
            "message": {"ts": "1.000001"}, "response_url": "https://hooks.slack.com/a/b",
            "actions": [{"action_id": "search.more", "value": "page-2", "type": "button"}],
            **extra}


def _submission(values: dict[str, Any], metadata: str = "") -> dict[str, Any]:
    return {"type": "view_submission", "team": {"id": "T1"}, "user": {"id": "U1"},
            "trigger_id": "1.2.v",
            "view": {"id": "V1", "callback_id": "agenda.add", "private_metadata": metadata,
                     "state": {"values": values}}}


def test_a_click_names_its_action_person_and_message() -> None:
    item, context, reply = read_interaction(_click())
    assert (item.kind, item.id, item.value) == ("block_actions", "search.more", "page-2")
    assert (item.message_ts, item.container, item.trigger_id) == ("1.000001", "message", "1.2.t")
    assert (context.team, context.user, context.channel, context.source) == (
        "T1", "U1", "C1", "interaction")
    assert context.inside == "C1" and context.trigger_id == "1.2.t"
    assert (reply.kind, reply.url) == ("response_url", "https://hooks.slack.com/a/b")


def test_a_menu_gives_its_selected_option() -> None:
    item, _, _ = read_interaction(_click(actions=[{
        "action_id": "agenda.snooze", "selected_option": {"value": "1h"}}]))
    assert item.value == "1h"


def test_a_submission_flattens_its_inputs_and_answers_where_it_was_opened() -> None:
    values = {"title": {"title": {"type": "plain_text_input", "value": "Standup"}},
              "date": {"date": {"type": "datepicker", "selected_date": "2026-12-02"}},
              "time": {"time": {"type": "timepicker", "selected_time": "09:30"}},
              "repeat": {"repeat": {"type": "static_select",
                                    "selected_option": {"value": "weekly"}}}}
    item, context, reply = read_interaction(
        _submission(values, json.dumps({"channel": "C9", "lang": "es"})))
    assert item.values == {"title": "Standup", "date": "2026-12-02", "time": "09:30",
                           "repeat": "weekly"}
    assert item.metadata() == {"channel": "C9", "lang": "es"}
    assert context.channel == "C9" and context.channel_type == "channel"
    assert (reply.kind, reply.channel, reply.user) == ("ephemeral", "C9", "U1")
    assert Interaction.from_dict(json.loads(json.dumps(item.as_dict()))) == item


def test_a_global_shortcut_has_no_channel_and_no_reply_target() -> None:
    item, context, reply = read_interaction({
        "type": "shortcut", "callback_id": "agenda.new", "trigger_id": "1.2.s",
        "team": {"id": "T1"}, "user": {"id": "U1"}})
    assert (item.kind, item.id, context.channel, reply.kind) == (
        "shortcut", "agenda.new", "", "none")


@pytest.mark.parametrize("payload, reason", [
    ({"type": "dialog_submission"}, "not handled"),
    ({**_click(), "team": "T1"}, "`team` must be an object"),
    ({**_click(), "team": {}, "user": {}}, "no team or no user"),
    ({**_click(), "actions": []}, "non-empty list"),
    ({**_click(), "actions": [{"action_id": "<@U1>"}]}, "not an id"),
    ({**_click(), "actions": [{"action_id": "x" * 256}]}, "longer than"),
    ({**_click(), "actions": [{"action_id": "search.more", "value": 3}]}, "must be a string"),
    ({**_submission({}), "view": None}, "needs its `view`"),
    (_submission({"b": "not an object"}), "must be an object"),
    ({**_click(), "trigger_id": ["t"]}, "must be a string"),
])
def test_what_slack_never_sends_is_refused_with_a_reason(payload: dict[str, Any],
                                                         reason: str) -> None:
    with pytest.raises(BadInteraction, match=reason):
        read_interaction(payload)


def test_private_metadata_that_is_not_an_object_of_strings_reads_as_empty() -> None:
    for metadata in ("not json", "[1, 2]", '{"channel": 3}'):
        item, _, _ = read_interaction(_submission({}, metadata))
        assert item.metadata() == {}


FORM = Form((Input("title", max_length=10), Input("date", DATE), Input("time", TIME),
             Input("repeat", "choice", required=False, choices=("none", "weekly"))))


def test_a_form_says_what_is_wrong_on_each_field_in_the_person_s_language() -> None:
    errors = FORM.errors({"title": " ", "date": "2026-02-30", "time": "25:00",
                          "repeat": "hourly"}, "es", TODAY)
    assert errors == {"title": "Rellena este campo.",
                      "date": "Elige una fecha (AAAA-MM-DD).",
                      "time": "Elige una hora (HH:MM).",
                      "repeat": "Elige una de las opciones."}
    assert FORM.errors({"title": "x" * 11, "date": "2026-11-01", "time": "09:00"}, "en",
                       TODAY) == {"title": "At most 10 characters, please.",
                                  "date": "That date has already passed."}


def test_a_good_form_has_no_errors_and_optional_inputs_may_be_empty() -> None:
    assert FORM.errors({"title": "Standup", "date": "2026-11-30", "time": "09:00"},
                       "en", TODAY) == {}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)


@given(st.fixed_dictionaries(
    {"type": st.sampled_from(["block_actions", "view_submission", "shortcut",
                              "message_action", "view_closed", "other"])},
    optional={"team": _json, "user": _json, "channel": _json, "actions": _json,
              "view": _json, "callback_id": _json, "trigger_id": _json,
              "response_url": _json, "container": _json, "message": _json}))
def test_any_payload_is_read_or_refused_with_bad_interaction(payload: dict[str, Any]) -> None:
    try:
        item, context, _ = read_interaction(payload)
    except BadInteraction:
        return
    assert item.id and context.team and context.user
    assert Interaction.from_dict(item.as_dict()) == item
