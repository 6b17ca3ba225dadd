"""Reading an activity: the door's reader gives what msrest's Deserializer gives."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.teams.activities import _READ, _UNREAD, parse_activity

PERSON = {"id": "29:ann", "name": "Ann Baker", "aadObjectId": "aad-ann", "role": "user"}
MESSAGE: dict[str, Any] = {
    "type": "message",
    "id": "1a2b",
    "channelId": "msteams",
    "serviceUrl": "https://smba.trafficmanager.net/emea/",
    "from": PERSON,
    "conversation": {"id": "a:1", "conversationType": "personal", "tenantId": "t1"},
    "recipient": {"id": "28:bot", "name": "Coffee Coach"},
    "text": "<at>Coffee Coach</at> start",
    "textFormat": "plain",
    "locale": "en-GB",
    "localTimezone": "Europe/London",
    "channelData": {"tenant": {"id": "t1"}, "team": {"id": "19:team"}},
    "entities": [
        {"type": "mention", "text": "<at>Coffee Coach</at>", "mentioned": {"id": "28:bot"}},
        {"type": "clientInfo", "locale": "en-GB", "timezone": "Europe/London"},
    ],
    "attachments": [{"contentType": "text/html", "content": "<p>start</p>"}],
    "membersAdded": [PERSON],
    "value": {"answer": "b2b", "token": "7.3"},
    "timestamp": "2026-12-03T09:00:00.000Z",
    "somethingNew": {"nested": [1, "two"]},
}


def read_by_msrest(body: dict[str, Any]) -> Any:
    return _READ("Activity", {k: v for k, v in body.items() if k not in _UNREAD})


def outcome(read: Any, body: dict[str, Any]) -> tuple[str, Any]:
    try:
        activity = read(body)
    except ValueError:
        return ("refused", None)
    return ("read", (activity, activity.additional_properties))


def test_a_full_message_reads_as_msrest_reads_it_unknown_keys_included() -> None:
    ours, theirs = outcome(parse_activity, MESSAGE), outcome(read_by_msrest, MESSAGE)
    assert ours == theirs and ours[0] == "read"
    activity = parse_activity(MESSAGE)
    assert activity.from_property.aad_object_id == "aad-ann"
    assert activity.entities[0].additional_properties["mentioned"] == {"id": "28:bot"}
    assert activity.additional_properties == {"somethingNew": {"nested": [1, "two"]}}


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


# Objects with the keys the schema's nested models know, holding any JSON at all.
NESTED_KEYS = ["id", "name", "aadObjectId", "role", "conversationType", "tenantId", "isGroup"]
NESTED_KEYS += ["type", "text", "mentioned", "contentType", "content", "contentUrl"]
MODELISH = st.dictionaries(st.sampled_from(NESTED_KEYS), JSON, max_size=4)
VALUES = JSON | st.sampled_from(list(MESSAGE.values())) | MODELISH | st.lists(MODELISH, max_size=3)


@settings(max_examples=400, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([*MESSAGE, "replyToId", "action", "summary", "deliveryMode"]),
        VALUES,
        max_size=8,
    )
)
def test_any_json_object_reads_or_is_refused_as_msrest_would(body: dict[str, Any]) -> None:
    assert outcome(parse_activity, body) == outcome(read_by_msrest, body)
