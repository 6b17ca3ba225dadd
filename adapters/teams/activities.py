"""Pure converters from Bot Framework activities to `Incoming` and addresses."""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, Final

from botbuilder.schema import (
    Activity,
    ActivityTypes,
    ConversationReference,
)
from msrest.serialization import Deserializer

from adapters.teams.names import DATA_KEY, PICKED_KEY, PLATFORM, Scope
from bot.messages import (
    Incoming,
    MemberKey,
)

JsonObject = dict[str, Any]

# --- reading an activity -------------------------------------------------------------------


# `Activity.deserialize` builds a new Deserializer, with a table of every schema model, for
# each activity (about a fifth of its cost): this one is built once and kept.
_READ: Final = Deserializer(Activity._infer_class_models())  # type: ignore[no-untyped-call]
# Keys the door never reads, left out before msrest sees them: its ISO 8601 parsing of the two
# timestamps was 40% of the cost of reading a message.
_UNREAD: Final = frozenset({"timestamp", "localTimestamp"})


def read_body(raw: bytes) -> Any:
    """The request's JSON, safely: ValueError for bytes that are not UTF-8 JSON or nest
    deeper than Python can parse, and lone surrogates (a "\\ud800" escape) replaced."""
    try:
        body = json.loads(raw)
        if b"\\u" in raw:
            body = _without_lone_surrogates(body)
    except RecursionError as exc:
        raise ValueError("the JSON nests too deeply") from exc
    return body


_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def parse_activity(body: object) -> Activity:
    """A Bot Framework activity from a request's JSON; ValueError if it is not one.

    What msrest's `Deserializer` makes of it (each plain value read by msrest's own
    `deserialize_data`, keys a model does not know kept in its `additional_properties`),
    without msrest's walk over every attribute of every model and its key extractors
    (`Activity` has 42, most of them absent from a message): that walk was most of the cost
    of reading one. Anything but a JSON object where a model belongs goes to msrest as it is.
    """
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    read = {key: value for key, value in body.items() if key not in _UNREAD}
    try:
        activity: Activity = _model(Activity, read)
    except (RecursionError, TypeError, AttributeError, KeyError) as exc:
        raise ValueError(f"unreadable activity: {type(exc).__name__}") from exc
    return activity


# msrest's table of the schema's models, by the names their attribute maps give as types.
_MODELS: Final[dict[str, type]] = _READ.dependencies


@functools.cache
def _fields(model: type) -> tuple[dict[str, tuple[str, str]], dict[str, None]] | None:
    """A model's JSON keys with the attribute each fills and its msrest type, and all its
    attributes as None (as msrest passes an absent one); None for a model msrest must
    read itself (a subtype map, read-only or constant attributes, flattened keys)."""
    attributes: dict[str, dict[str, str]] = getattr(model, "_attribute_map", {})
    if getattr(model, "_subtype_map", None) or getattr(model, "_validation", None):
        return None
    if any("." in desc["key"] or not desc["key"] for desc in attributes.values()):
        return None
    keys = {desc["key"]: (name, desc["type"]) for name, desc in attributes.items()}
    return keys, dict.fromkeys(attributes)


def _model(model: type, data: dict[str, Any]) -> Any:
    fields = _fields(model)
    if fields is None:
        return _READ(model.__name__, data)
    keys, absent = fields
    values = dict(absent)
    unknown: dict[str, Any] = {}
    for key, value in data.items():
        field = keys.get(key)
        if field is None:
            unknown[key] = value
        else:
            name, kind = field
            values[name] = _value(kind, value)
    made = model(**values)
    if unknown:
        made.additional_properties = unknown
    return made


def _value(kind: str, value: Any) -> Any:
    if isinstance(value, dict) and kind in _MODELS:
        return _model(_MODELS[kind], value)
    if (
        isinstance(value, list)
        and kind.startswith("[")
        and kind[1:-1] in _MODELS
        and all(isinstance(item, dict) for item in value)
    ):
        return [_model(_MODELS[kind[1:-1]], item) for item in value]
    return _READ.deserialize_data(value, kind)  # type: ignore[no-untyped-call]


def problem_of(body: JsonObject, activity: Activity) -> str | None:
    """Why the door cannot act on an activity (a 400's reason), or None.

    The raw JSON is checked as well as the parsed activity: msrest turns a number where a
    string belongs into that string, and an object it cannot read into None.
    """
    if not isinstance(activity.type, str) or not activity.type:
        return "an activity needs a type"
    url = body.get("serviceUrl")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return "an activity needs a serviceUrl (an http or https URL)"
    if not _has_id(body.get("conversation")) or activity.conversation is None:
        return "an activity needs a conversation with an id"
    if not _has_id(body.get("recipient")) or activity.recipient is None:
        return "an activity needs a recipient with an id"
    if "from" in body and not _has_id(body["from"]):
        return "an activity's from needs an id"
    wrong = [k for k in ("id", "replyToId", "channelId", "text") if not _text_or_none(body.get(k))]
    if wrong:
        return f"{', '.join(wrong)} must be text"
    for key in ("entities", "membersAdded", "membersRemoved", "attachments"):
        items = body.get(key)
        if items is not None and not (
            isinstance(items, list) and all(isinstance(i, dict) for i in items)
        ):
            return f"{key} must be a list of objects"
    if any(not _has_id(m) for m in body.get("membersAdded") or ()):
        return "each of membersAdded needs an id"
    return None


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _has_id(account: object) -> bool:
    return isinstance(account, dict) and isinstance(account.get("id"), str) and bool(account["id"])


def channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def _part(activity: Activity, name: str) -> dict[str, Any]:
    """A part of channelData that Teams sends as an object; anything else counts as absent."""
    found = channel_data(activity).get(name)
    return found if isinstance(found, dict) else {}


def tenant_of(activity: Activity) -> str:
    """The tenant, from channelData: CloudAdapter drops Teams' `conversation.tenantId`."""
    found = _part(activity, "tenant").get("id") or activity.conversation.tenant_id
    return str(found or activity.channel_id)


def scope_of(activity: Activity) -> Scope:
    kind = activity.conversation.conversation_type
    return "channel" if kind == "channel" else "groupChat" if kind == "groupChat" else "personal"


def thread_root(conversation_id: str) -> str:
    """A channel conversation id names its thread after `;messageid=`; the channel is before."""
    return conversation_id.split(";messageid=", 1)[0]


def team_of(activity: Activity) -> str | None:
    """The Teams team (or the group chat itself); None in a personal chat."""
    if scope_of(activity) == "personal":
        return None
    return str(_part(activity, "team").get("id") or thread_root(activity.conversation.id))


def team_name_of(activity: Activity) -> str | None:
    name = _part(activity, "team").get("name") or (
        activity.conversation.name if scope_of(activity) == "groupChat" else None
    )
    return str(name) if name else None


def timezone_of(activity: Activity) -> str | None:
    if activity.local_timezone:
        return str(activity.local_timezone)
    for entity in activity.entities or ():
        if entity.type == "clientInfo" and entity.additional_properties.get("timezone"):
            return str(entity.additional_properties["timezone"])
    return None


_AT = re.compile(r"<at>(.*?)</at>", re.IGNORECASE | re.DOTALL)


def command_text(activity: Activity) -> str:
    """The text with the bot's own @mention taken out; other mentions as `@Name` text."""
    text = str(activity.text or "")
    for entity in activity.entities or ():
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        if entity.type == "mention" and mentioned.get("id") == activity.recipient.id:
            text = text.replace(str(props.get("text") or ""), " ")
    text = _AT.sub(lambda m: "@" + m.group(1).strip(), text)
    return text.replace("&nbsp;", " ").strip()


def address_of(activity: Activity) -> str:
    """Where to reach this conversation later: a serialised ConversationReference.

    Only the stable fields are kept (no activity id, no display names), so the address of a
    conversation is the same string from one message to the next, and the tenant is stored
    with it, since CloudAdapter loses it.
    """
    conversation = activity.conversation
    personal = scope_of(activity) == "personal"
    sender = activity.from_property
    # The JSON msrest's ConversationReference.serialize() writes (its keys, None left out),
    # written directly: msrest takes about 200 us for it, on every message.
    reference = _present(
        channelId=activity.channel_id,
        serviceUrl=activity.service_url,
        bot=_present(id=activity.recipient.id),
        user=_present(id=sender.id, aadObjectId=sender.aad_object_id)
        if personal and sender is not None
        else None,
        conversation=_present(
            id=thread_root(conversation.id),
            conversationType=conversation.conversation_type,
            isGroup=conversation.is_group,
            tenantID=tenant_of(activity),
        ),
    )
    return json.dumps(reference, sort_keys=True, separators=(",", ":"))


def _present(**fields: Any) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def reference_from(address: str) -> ConversationReference:
    return ConversationReference.deserialize(json.loads(address))


def event_id_of(activity: Activity) -> str | None:
    """Teams' message ids are unique per conversation only, so the conversation is part of it."""
    if not activity.id:
        return None
    event = f"{activity.conversation.id}|{activity.id}"
    if activity.type == ActivityTypes.message_update:
        # An edit keeps the message's id: tell one edit from the next by what it says.
        event += "|edit:" + hashlib.sha256((activity.text or "").encode()).hexdigest()[:16]
    return event


@dataclass(frozen=True, slots=True)
class Press:
    """What a pressed card button carried back (see `_submit`)."""

    value: str
    label: str
    prompt: str
    token: str | None


def press_of(activity: Activity) -> Press | None:
    data = activity.value.get(DATA_KEY) if isinstance(activity.value, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("value"), str):
        return None
    token = data.get("token")
    value = data["value"]
    if data.get("picked"):
        # The button beside a multi-select: its answer is what was ticked ("1,3" → "1 3").
        ticked = activity.value.get(PICKED_KEY)
        value = " ".join(v for v in str(ticked or "").split(",") if v)
    return Press(
        value=value,
        label=str(data.get("label") or data["value"]),
        prompt=str(data.get("prompt") or ""),
        token=token if isinstance(token, str) else None,
    )


def to_incoming(activity: Activity) -> Incoming:
    """A message, card press or edit from Teams, as the coach reads it."""
    sender = activity.from_property
    scope = scope_of(activity)
    press = press_of(activity)
    edit = activity.type == ActivityTypes.message_update
    typed = press is None and not edit
    address = address_of(activity)
    return Incoming(
        key=MemberKey(PLATFORM, tenant_of(activity), str(sender.id), team_of(activity)),
        text=command_text(activity),
        value=press.value if press else None,
        prompt_token=press.token if press else None,
        event_id=event_id_of(activity),
        message_id=activity.id if typed else None,
        edits=activity.id if edit else None,
        dm_address=address if scope == "personal" else None,
        team_address=address if scope != "personal" else None,
        display_name=sender.name or None,
        team_name=team_name_of(activity),
        timezone=timezone_of(activity),
        # What is written to the coach in a channel or group chat is a command.
        command=scope != "personal",
        shared=scope != "personal",
        group=scope == "groupChat",
        # A personal chat opens on the install's welcome card, or from the team's welcome
        # and its open-chat card: the coach has introduced itself either way.
        welcomed=scope == "personal",
    )
