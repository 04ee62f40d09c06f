"""Bad input gets a clear 4xx JSON error (never a 5xx) and nothing is published."""

import json
import time
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from estafeta import grammar
from gateway.recording import RecordingPublisher
from slacksim.fake_slack import FakeSlack
from slacksim.signing import SlackSigner
from tests.conftest import API_TOKEN, SIGNING_SECRET

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
SLACK_PATHS = ["/slack/events", "/slack/commands", "/slack/interactions"]


@pytest.fixture(autouse=True)
def _nothing_published(publisher: RecordingPublisher, app: Flask):
    yield
    assert publisher.sent == [], "bad input must never be published"


def _assert_json_error(response, status: int) -> None:
    assert response.status_code == status, response.data
    assert response.is_json
    assert response.json["error"] and response.json["message"]


@pytest.mark.parametrize("path", SLACK_PATHS)
def test_missing_signature_is_401(client: FlaskClient, path: str) -> None:
    _assert_json_error(client.post(path, data=b"{}", content_type="application/json"), 401)


@pytest.mark.parametrize("path", SLACK_PATHS)
def test_bad_signature_is_401(client: FlaskClient, signer: SlackSigner, path: str) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers = signer.headers(body, "application/json")
    headers["X-Slack-Signature"] = "v0=" + "0" * 64
    _assert_json_error(client.post(path, data=body, headers=headers), 401)


def test_body_changed_after_signing_is_401(client: FlaskClient, signer: SlackSigner) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers = signer.headers(body, "application/json")
    _assert_json_error(client.post("/slack/events", data=body + b" ", headers=headers), 401)


def test_stale_timestamp_is_401(client: FlaskClient, signer: SlackSigner) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers = signer.headers(body, "application/json", timestamp=int(time.time()) - 301)
    _assert_json_error(client.post("/slack/events", data=body, headers=headers), 401)


def test_non_numeric_timestamp_is_401(client: FlaskClient, signer: SlackSigner) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers = signer.headers(body, "application/json")
    headers["X-Slack-Request-Timestamp"] = "yesterday"
    _assert_json_error(client.post("/slack/events", data=body, headers=headers), 401)


def test_signature_with_another_secret_is_401(client: FlaskClient) -> None:
    body = b'{"type": "url_verification", "challenge": "x"}'
    headers = SlackSigner("not-" + SIGNING_SECRET).headers(body, "application/json")
    _assert_json_error(client.post("/slack/events", data=body, headers=headers), 401)


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
def test_missing_or_wrong_bearer_token_is_401(client: FlaskClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = client.post("/api/v1/commands/search", json={"text": "x"}, headers=headers)
    _assert_json_error(response, 401)
    assert "WWW-Authenticate" in response.headers


def test_malformed_json_is_400(client: FlaskClient, signer: SlackSigner) -> None:
    _assert_json_error(client.post("/api/v1/commands/search", data=b"{not json",
                                   content_type="application/json", headers=AUTH), 400)
    body = b"{not json"
    _assert_json_error(client.post("/slack/events", data=body,
                                   headers=signer.headers(body, "application/json")), 400)


def test_malformed_form_is_400(client: FlaskClient, signer: SlackSigner) -> None:
    body = b"command=/search&text=x"  # no team, channel, user or response_url
    _assert_json_error(client.post("/slack/commands", data=body, headers=signer.headers(
        body, "application/x-www-form-urlencoded")), 400)
    body = b"payload=%7Bbroken"
    _assert_json_error(client.post("/slack/interactions", data=body, headers=signer.headers(
        body, "application/x-www-form-urlencoded")), 400)


@pytest.mark.parametrize("payload", [{}, {"txt": "x"}, {"text": 42}, [], "text", {"text": None}])
def test_missing_or_non_string_text_is_400(client: FlaskClient, payload: object) -> None:
    _assert_json_error(client.post("/api/v1/commands/search", json=payload, headers=AUTH), 400)


def test_deeply_nested_json_is_400_not_500(client: FlaskClient, signer: SlackSigner) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    _assert_json_error(client.post("/api/v1/commands/search", data=deep,
                                   content_type="application/json", headers=AUTH), 400)
    _assert_json_error(client.post("/slack/events", data=deep,
                                   headers=signer.headers(deep, "application/json")), 400)


def test_a_lone_surrogate_is_400_and_not_published(client: FlaskClient, signer: SlackSigner,
                                                  publisher: RecordingPublisher) -> None:
    # It decodes from JSON, but no worker could store or post it (UTF-8 cannot carry it).
    body = b'{"text": "x\\ud800y"}'
    _assert_json_error(client.post("/api/v1/commands/search", data=body,
                                   content_type="application/json", headers=AUTH), 400)
    event = (b'{"type": "event_callback", "event_id": "EvS1", "team_id": "T1", "event": '
             b'{"type": "message", "channel": "C1", "user": "U1", "ts": "1.0", '
             b'"text": "\\udfff"}}')
    _assert_json_error(client.post("/slack/events", data=event,
                                   headers=signer.headers(event, "application/json")), 400)
    assert publisher.sent == []


def test_unknown_service_is_404(client: FlaskClient) -> None:
    _assert_json_error(client.post("/api/v1/commands/weather", json={"text": "x"},
                                   headers=AUTH), 404)


def test_unknown_sub_command_over_http_is_400_with_usage(client: FlaskClient) -> None:
    response = client.post("/api/v1/commands/sentiment", json={"text": "frobnicate"},
                           headers=AUTH)
    _assert_json_error(response, 400)
    assert "/mood help" in response.json["usage"]


def test_body_over_one_mebibyte_is_413(client: FlaskClient, signer: SlackSigner) -> None:
    big = json.dumps({"text": "x" * (1024 * 1024)}).encode()
    _assert_json_error(client.post("/api/v1/commands/search", data=big,
                                   content_type="application/json", headers=AUTH), 413)
    _assert_json_error(client.post("/slack/events", data=big,
                                   headers=signer.headers(big, "application/json")), 413)


def test_wrong_content_type_is_415(client: FlaskClient, signer: SlackSigner) -> None:
    _assert_json_error(client.post("/api/v1/commands/search", data=b"text=x",
                                   content_type="text/plain", headers=AUTH), 415)
    body = b'{"type": "url_verification", "challenge": "x"}'
    _assert_json_error(client.post("/slack/commands", data=body,
                                   headers=signer.headers(body, "application/json")), 415)
    _assert_json_error(client.post("/slack/events", data=body,
                                   headers=signer.headers(body, "text/plain")), 415)


def test_unknown_task_id_is_404(client: FlaskClient) -> None:
    _assert_json_error(client.get("/api/v1/tasks/not-a-uuid", headers=AUTH), 404)


def test_wrong_method_and_unknown_path_are_json(client: FlaskClient) -> None:
    _assert_json_error(client.get("/slack/events"), 405)
    _assert_json_error(client.get("/nowhere"), 404)


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("GET", "/slack/events", {"POST"}),
    ("TRACE", "/api/v1/commands/search", {"POST"}),
    ("DELETE", "/api/v1/tasks/00000000-0000-0000-0000-000000000000", {"GET", "HEAD"}),
])
def test_405_names_the_allowed_methods(client: FlaskClient, method: str, path: str,
                                       allowed: set[str]) -> None:
    response = client.open(path, method=method, headers=AUTH)
    _assert_json_error(response, 405)
    assert allowed <= {m.strip() for m in response.headers["Allow"].split(",")}
    assert response.headers["Content-Type"] == "application/json"


def test_unknown_lang_over_http_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/commands/search", json={"text": "x", "lang": "fr"},
                           headers=AUTH)
    _assert_json_error(response, 400)
    assert "lang" in response.json["message"]


def test_event_callback_without_event_id_is_400(client: FlaskClient, signer: SlackSigner) -> None:
    body = json.dumps({"type": "event_callback", "team_id": "T1", "event": {}}).encode()
    _assert_json_error(client.post("/slack/events", data=body,
                                   headers=signer.headers(body, "application/json")), 400)


# -- property-based: random bodies and headers at every endpoint ------------------------------

ENDPOINTS = [
    ("POST", "/slack/events"),
    ("POST", "/slack/commands"),
    ("POST", "/slack/interactions"),
    ("POST", "/api/v1/commands/search"),
    ("POST", "/api/v1/commands/agenda"),
    ("POST", "/api/v1/commands/nope"),
    ("GET", "/api/v1/tasks/00000000-0000-0000-0000-000000000000"),
    ("GET", "/healthz"),
]
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                 "text/plain", "multipart/form-data", ""]) | header_text
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=10,
)
bodies = st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode())


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    body=bodies,
    content_type=content_types,
    sign=st.booleans(),
    timestamp=st.one_of(st.none(), header_text),
    authorization=st.one_of(st.none(), st.just(f"Bearer {API_TOKEN}"), header_text),
)
def test_random_requests_never_get_a_5xx_nor_publish(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher,
    fake_slack: FakeSlack,
    endpoint: tuple[str, str], body: bytes, content_type: str, sign: bool,
    timestamp: str | None, authorization: str | None,
) -> None:
    method, path = endpoint
    headers = signer.headers(body, content_type) if sign else {"Content-Type": content_type}
    if timestamp is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
    if authorization is not None:
        headers["Authorization"] = authorization
    response = client.open(path, method=method, data=body, headers=headers)
    assert response.status_code < 500, (response.status_code, response.data)
    if response.status_code >= 400:
        assert response.is_json
    # Random text could be a valid search; only a body carrying a string `text` may publish.
    if publisher.sent:
        assert response.status_code in (200, 202)
        decoded = json.loads(body) if path.startswith("/api/") else None
        assert isinstance(decoded, dict) and isinstance(decoded.get("text"), str)
        publisher.clear()


interaction_ids = st.sampled_from(["search.more", "agenda.add", "agenda.cancel", "nope.x",
                                   "search", ""]) | st.text(max_size=12)
interaction_payloads = st.fixed_dictionaries(
    {"type": st.sampled_from(["block_actions", "view_submission", "shortcut",
                              "message_action", "view_closed", "interactive_message"])},
    optional={
        "team": st.one_of(st.just({"id": "T0001"}), json_values),
        "user": st.one_of(st.just({"id": "U0001"}), json_values),
        "channel": st.one_of(st.just({"id": "C0001"}), json_values),
        "trigger_id": st.one_of(st.text(max_size=8), json_values),
        "callback_id": st.one_of(interaction_ids, json_values),
        "actions": st.one_of(st.lists(st.fixed_dictionaries(
            {"action_id": interaction_ids}, optional={"value": json_values}), max_size=2),
            json_values),
        "view": st.one_of(st.fixed_dictionaries(
            {"callback_id": interaction_ids},
            optional={"state": json_values, "private_metadata": json_values,
                      "id": json_values}), json_values),
        "response_url": st.one_of(st.just("https://evil.example/x"), json_values),
    })


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=interaction_payloads)
def test_signed_interaction_payloads_never_get_a_5xx_and_publish_only_declared_ids(
    client: FlaskClient, signer: SlackSigner, publisher: RecordingPublisher,
    payload: dict[str, object],
) -> None:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post("/slack/interactions", data=body,
                           headers=signer.headers(body, "application/x-www-form-urlencoded"))
    assert response.status_code < 500, (response.status_code, response.data)
    if response.status_code >= 400:
        assert response.is_json and response.json["error"]
    if publisher.sent:
        assert response.status_code == 200
        assert grammar.interaction_service(_used_id(payload)) is not None
        assert payload.get("response_url") in (None, "")
        publisher.clear()


def _used_id(payload: dict[str, object]) -> str:
    if payload["type"] == "block_actions":
        actions = payload["actions"]
        assert isinstance(actions, list)
        return str(actions[0]["action_id"])
    view = payload.get("view")
    if payload["type"] == "view_submission" and isinstance(view, dict):
        return str(view["callback_id"])
    return str(payload.get("callback_id"))
