import pytest

from gateway.bodies import json_object
from gateway.errors import ApiError


def test_an_object_is_decoded() -> None:
    assert json_object(b'{"text": "caf\\u00e9 \\ud83d\\ude00"}') == {"text": "café 😀"}


@pytest.mark.parametrize("raw, reason", [
    (b'{"text": "x\\ud800y"}', "surrogate"),
    (b'{"text": ["\\udfff"]}', "surrogate"),
    (b'{"\\udc00": 1}', "surrogate"),
    (b"[1]", "JSON object"),
    (b"{", "not valid JSON"),
    (b"[" * 100_000, "not valid JSON"),
])
def test_what_no_worker_could_store_is_a_400(raw: bytes, reason: str) -> None:
    with pytest.raises(ApiError) as refused:
        json_object(raw)
    assert refused.value.status == 400 and reason in refused.value.message
