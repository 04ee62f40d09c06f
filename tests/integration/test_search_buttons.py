"""Search answers with buttons on the real broker path: a signed `/search`, then the signed
`block_actions` Slack sends for "Next results" and "Share in channel"; and the language of an
answer from the person's Slack locale when their words do not decide it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from flask.testing import FlaskClient

from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, message_event
from tests.conftest import TEAM
from tests.integration.conftest import Stack
from tests.integration.test_search import hear, wait_indexed

RESPONSE_TIMEOUT = 20.0


def _word(prefix: str) -> str:
    """A word no other test indexes (the stack's index lives for the whole session)."""
    return prefix + uuid.uuid4().hex[:8]


def slash_search(client: FlaskClient, signer: SlackSigner, slack: FakeSlack, text: str,
                 channel: str, user: str) -> dict[str, Any]:
    """Run `/search text` as Slack sends it; the body the service posts to its response_url."""
    url = slack.response_url()
    body, headers = signer.slash_command("/search", text, response_url=url, channel=channel,
                                         user=user)
    assert client.post("/slack/commands", data=body, headers=headers).status_code == 200
    return slack.wait_for(lambda: slack.responses(url), timeout=RESPONSE_TIMEOUT)[0]


def buttons_of(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The buttons of a Block Kit answer, by action_id."""
    return {element["action_id"]: element for block in answer.get("blocks") or []
            if block["type"] == "actions" for element in block["elements"]}


def click_payload(button: dict[str, Any], *, channel: str, user: str, response_url: str,
                  ephemeral: bool = True) -> dict[str, Any]:
    """The `block_actions` payload Slack sends when `button` is clicked in `channel`."""
    trigger = f"trigger.click.{uuid.uuid4().hex}"
    return {
        "type": "block_actions",
        "api_app_id": "A0001",
        "token": "deprecated-verification-token",
        "trigger_id": trigger,
        "team": {"id": TEAM, "domain": "estafeta-demo"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM},
        "channel": {"id": channel, "name": "buttons"},
        "container": {"type": "message", "message_ts": f"{time.time():.6f}",
                      "channel_id": channel, "is_ephemeral": ephemeral},
        "response_url": response_url,
        "actions": [{"type": "button", "block_id": "search.buttons",
                     "action_id": button["action_id"], "value": button["value"],
                     "text": button["text"], "action_ts": f"{time.time():.6f}"}],
    }


def click(client: FlaskClient, signer: SlackSigner, payload: dict[str, Any]) -> Any:
    """POST a signed interaction, form-encoded as Slack does: the JSON answer of the gateway."""
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post("/slack/interactions", data=body,
                           headers=signer.headers(body, "application/x-www-form-urlencoded"))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def hear_many(client: FlaskClient, signer: SlackSigner, texts: list[str], channel: str,
              channel_type: str = "channel") -> None:
    for text in texts:
        hear(client, signer, message_event(text, channel=channel, channel_type=channel_type))


def test_next_results_replace_the_answer_and_share_posts_it_for_the_channel(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    word = _word("kakapo")
    hear_many(stack_client, signer, [f"{word} nesting report {n}" for n in range(7)], "C0BTN")
    wait_indexed(stack, word, "C0BTN", 7)

    first = slash_search(stack_client, signer, fake_slack, word, "C0BTN", "U0CLICK")
    assert first["text"].startswith(f"Results 1–5 for “{word}”:")
    assert first.get("response_type") == "ephemeral"
    kinds = [block["type"] for block in first["blocks"]]
    assert kinds.count("section") == 6 and kinds.count("context") == 5
    assert kinds[-1] == "actions"
    buttons = buttons_of(first)
    assert set(buttons) == {"search.more", "search.share"}

    # "Next results": the answer to the click replaces the clicked message.
    next_url = fake_slack.response_url()
    payload = click_payload(buttons["search.more"], channel="C0BTN", user="U0CLICK",
                            response_url=next_url)
    assert click(stack_client, signer, payload) == {"ok": True}
    second = fake_slack.wait_for(lambda: fake_slack.responses(next_url),
                                 timeout=RESPONSE_TIMEOUT)[0]
    assert second["replace_original"] is True
    assert second["text"].startswith(f"Results 6–7 for “{word}”:")
    assert second["text"].count("• ") == 2
    assert set(buttons_of(second)) == {"search.share"}  # no page after this one
    # The same click again (a replay of the signed request): acknowledged, answered once.
    assert click(stack_client, signer, payload) == {"ok": True, "duplicate": True}

    # "Share in channel": the page shown, posted anew, visible, saying who shared it.
    share_url = fake_slack.response_url()
    assert click(stack_client, signer, click_payload(
        buttons["search.share"], channel="C0BTN", user="U0SHARER",
        response_url=share_url)) == {"ok": True}
    shared = fake_slack.wait_for(lambda: fake_slack.responses(share_url),
                                 timeout=RESPONSE_TIMEOUT)[0]
    assert shared["response_type"] == "in_channel"
    assert not shared.get("replace_original")
    assert shared["text"].startswith(f"<@U0SHARER> shared these results:\n"
                                     f"Results 1–5 for “{word}”:")
    assert shared["blocks"][0]["elements"][0]["text"] == "<@U0SHARER> shared these results:"
    assert buttons_of(shared) == {}
    time.sleep(1.0)  # a duplicate, had one been published, would have been answered by now
    assert len(fake_slack.responses(next_url)) == 1
    assert len(fake_slack.responses(share_url)) == 1


def test_a_button_clicked_outside_a_private_channel_never_shows_or_shares_it(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    word = _word("takahe")
    hear_many(stack_client, signer, [f"{word} salary table, confidential"], "G0BTNPRIV",
              channel_type="group")
    hear_many(stack_client, signer, [f"{word} public lunch menu"], "C0BTNPUB")
    wait_indexed(stack, word, "G0BTNPRIV", 2)

    inside = slash_search(stack_client, signer, fake_slack, word, "G0BTNPRIV", "U0PRIV")
    assert "confidential" in inside["text"] and "lunch" in inside["text"]
    share = buttons_of(inside)["search.share"]
    # The same button in a public channel: the channel and the team come from the click.
    url = fake_slack.response_url()
    click(stack_client, signer, click_payload(share, channel="C0BTNPUB", user="U0PRIV",
                                              response_url=url))
    shared = fake_slack.wait_for(lambda: fake_slack.responses(url),
                                 timeout=RESPONSE_TIMEOUT)[0]
    assert shared["response_type"] == "in_channel"
    assert "lunch" in shared["text"]
    assert "confidential" not in shared["text"] + json.dumps(shared["blocks"])
    # Inside the private channel its own results are shared there.
    url = fake_slack.response_url()
    click(stack_client, signer, click_payload(share, channel="G0BTNPRIV", user="U0PRIV",
                                              response_url=url))
    shared = fake_slack.wait_for(lambda: fake_slack.responses(url),
                                 timeout=RESPONSE_TIMEOUT)[0]
    assert "confidential" in shared["text"]


def test_the_language_is_the_locale_unless_the_words_say_it(
    stack: Stack, stack_client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack
) -> None:
    # Users only this test has: the worker remembers a person's locale for an hour.
    spanish, english = f"U0ES{uuid.uuid4().hex[:6].upper()}", f"U0EN{uuid.uuid4().hex[:6].upper()}"
    fake_slack.users[spanish] = {"locale": "es-ES"}
    fake_slack.users[english] = {"locale": "en-US"}
    missing = _word("despliegue")

    answer = slash_search(stack_client, signer, fake_slack, missing, "C0LANG", spanish)
    assert answer["text"] == f"No encontré nada para «{missing}»."
    answer = slash_search(stack_client, signer, fake_slack, missing, "C0LANG", english)
    assert answer["text"] == f"Nothing found for “{missing}”."
    # A Spanish verb decides the language, whatever the locale says.
    answer = slash_search(stack_client, signer, fake_slack, "más", "C0LANG", english)
    assert answer["text"] == f"No hay más resultados para «{missing}»."
    locale_calls = [c for c in fake_slack.calls_to("users.info")
                    if c.params.get("user") in {spanish, english}]
    assert {c.params["user"] for c in locale_calls} == {spanish, english}

    # Buttons speak the answer's language, and so does the page they show.
    word = _word("kea")
    hear_many(stack_client, signer, [f"{word} despliegue número {n}" for n in range(6)],
              "C0LANG")
    wait_indexed(stack, word, "C0LANG", 6)
    answer = slash_search(stack_client, signer, fake_slack, word, "C0LANG", spanish)
    assert answer["text"].startswith(f"Resultados 1–5 para «{word}»:")
    buttons = buttons_of(answer)
    assert buttons["search.more"]["text"]["text"] == "Más resultados"
    assert buttons["search.share"]["text"]["text"] == "Compartir en el canal"
    url = fake_slack.response_url()
    click(stack_client, signer, click_payload(buttons["search.more"], channel="C0LANG",
                                              user=spanish, response_url=url))
    page = fake_slack.wait_for(lambda: fake_slack.responses(url), timeout=RESPONSE_TIMEOUT)[0]
    assert page["replace_original"] is True
    assert page["text"].startswith(f"Resultados 6–6 para «{word}»:")
