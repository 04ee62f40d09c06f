"""Bad input against the real broker: nothing reaches a queue.

Every kind of bad input is tested without a broker in tests/unit/gateway/test_bad_input.py,
through a recording publisher; this checks that the real publisher agrees with it.
"""

import json

from flask.testing import FlaskClient

from slacksim.signing import SlackSigner
from tests.conftest import API_TOKEN
from tests.integration.broker import Vhost

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def test_bad_requests_leave_every_real_queue_empty(
    client: FlaskClient, signer: SlackSigner, gateway_vhost: Vhost
) -> None:
    event = (b'{"type": "event_callback", "event_id": "EvB1", "team_id": "T1", "event": '
             b'{"type": "message", "channel": "C1", "user": "U1", "ts": "1.0", '
             b'"text": "\\udfff"}}')
    big = json.dumps({"text": "x" * (1024 * 1024)}).encode()
    requests = [
        client.post("/slack/events", data=b"{}", content_type="application/json"),
        client.post("/slack/events", data=event, headers=signer.headers(event, "application/json")),
        client.post("/api/v1/commands/search", data=b"{not json",
                    content_type="application/json", headers=AUTH),
        client.post("/api/v1/commands/weather", json={"text": "x"}, headers=AUTH),
        client.post("/api/v1/commands/sentiment", json={"text": "frobnicate"}, headers=AUTH),
        client.post("/api/v1/commands/search", data=big, content_type="application/json",
                    headers=AUTH),
    ]
    assert [r.status_code for r in requests] == [401, 400, 400, 404, 400, 413]
    assert gateway_vhost.total_depth() == 0
