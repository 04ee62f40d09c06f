"""Slack endpoints against the real broker: what is accepted is in the right queue, once.

Verification, parsing and replays run without a broker in tests/unit/gateway/test_slack.py;
these prove the real topology: a heard message in both listening queues, a command in one.
"""

from flask.testing import FlaskClient

import routing
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner, message_event
from tests.integration.broker import Vhost


def _post_event(client: FlaskClient, signer: SlackSigner, event: dict, **kw: object):
    body, headers, event_id = signer.event(event, **kw)  # type: ignore[arg-type]
    return client.post("/slack/events", data=body, headers=headers), event_id


def test_heard_message_is_published_once_and_reaches_search_and_sentiment(
    client: FlaskClient, signer: SlackSigner, gateway_vhost: Vhost
) -> None:
    response, _ = _post_event(client, signer, message_event("the deploy failed"))
    assert response.status_code == 200 and response.json == {"ok": True}
    assert gateway_vhost.depth(routing.SEARCH.heard_queue.name) == 1
    assert gateway_vhost.depth(routing.SENTIMENT.heard_queue.name) == 1
    assert gateway_vhost.depth(routing.AGENDA.command_queue.name) == 0
    assert gateway_vhost.depth(routing.SEARCH.command_queue.name) == 0


def test_slash_command_is_acked_ephemerally_and_queued(
    client: FlaskClient, signer: SlackSigner, fake_slack: FakeSlack, gateway_vhost: Vhost
) -> None:
    body, headers = signer.slash_command("/search", "deploy failed",
                                         response_url=fake_slack.response_url())
    response = client.post("/slack/commands", data=body, headers=headers)
    assert response.status_code == 200
    assert response.json["response_type"] == "ephemeral"
    assert gateway_vhost.depth(routing.SEARCH.command_queue.name) == 1
