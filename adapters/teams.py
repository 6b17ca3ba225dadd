"""The Microsoft Teams door: Bot Framework activities in, Adaptive Cards out.

Every botbuilder import lives in this module, so that a move to botbuilder's successor stays
one module's work. Pure converters turn an activity into an `Incoming` and a `Reply` into an
activity; `TeamsDoor` is the HTTP handler and the turn; `Outbox` and `ConnectorCache` add what
the SDK lacks (retries on throttling, a pace per conversation, connector clients kept across
turns); `TeamsSender` sends on the coach's own initiative to a stored, serialised
conversation reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal

from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
    ErrorResponseException,
)
from msrest.exceptions import ClientRequestError

from bot.config import Config
from bot.messages import (
    Card,
    Choice,
    Incoming,
    MemberKey,
    Outgoing,
    Reply,
    StageCard,
    SummaryCard,
    TeamKey,
    TeamReportCard,
    Turn,
    Undeliverable,
)
from bot.pacing import ConversationPacer
from bot.port import Port
from bot.render import checkins_line

log = logging.getLogger("coffee_coach.teams")

PLATFORM: Final = "msteams"
Scope = Literal["personal", "channel", "groupChat"]

ADAPTIVE_CARD: Final = "application/vnd.microsoft.card.adaptive"
CARD_VERSION: Final = "1.5"
# Teams refuses a message over about 28 KB, card included; keep a margin for the envelope.
MAX_CARD_BYTES: Final = 24_000
MAX_TEXT_CHARS: Final = 20_000
# In a team channel or group chat only these go to the coach; the interview itself is private.
SHARED_COMMANDS: Final = frozenset({"report", "status"})
# Teams announces one install twice (conversationUpdate and installationUpdate).
WELCOME_WINDOW: Final = timedelta(minutes=10)
# Submitted card data lives under this key, apart from anything Teams adds.
DATA_KEY: Final = "coffeeCoach"

PERSONAL_WELCOME = Reply(
    text=(
        "Hi, I'm Coffee Coach. I ask the nine questions a good marketing consultant would ask"
        " over a coffee, one at a time, then show where your team stands on the social media"
        " ladder and what to do next. It takes about ten minutes, and you can pause at any"
        " point.\nPress *Start* or type `start` to begin; `help` lists what I understand."
    ),
    choices=(Choice("Start", "start", "primary"), Choice("Help", "help")),
)
SHARED_WELCOME = (
    "Hello {where}! I'm Coffee Coach. I help a team agree on its social media strategy: each"
    " of you answers nine short questions in a personal chat with me, and `@{bot} report` here"
    " posts the team picture: where you agree, where you differ, your rung on the ladder and"
    " the next steps.\nTo take part, send `@{bot} start` here so that I know you're in this"
    " team, then answer in our chat."
)
OPEN_CHAT = (
    "{name}, the interview happens in our personal chat, so that you can answer at your own"
    " pace; your answers count for {where}. Open it with the button below and type `start`."
    "\nHere, `@{bot} report` posts the team picture."
)


# --- reading an activity -------------------------------------------------------------------


def parse_activity(body: object) -> Activity:
    """A Bot Framework activity from a request's JSON; ValueError if it is not one."""
    if not isinstance(body, dict):
        raise ValueError("the body is not a JSON object")
    return Activity.deserialize(body)  # msrest's DeserializationError is a ValueError


def channel_data(activity: Activity) -> dict[str, Any]:
    data = activity.channel_data
    return data if isinstance(data, dict) else {}


def tenant_of(activity: Activity) -> str:
    """The tenant, from channelData: CloudAdapter drops Teams' `conversation.tenantId`."""
    tenant = channel_data(activity).get("tenant") or {}
    found = tenant.get("id") or activity.conversation.tenant_id or activity.channel_id
    return str(found)


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
    team = channel_data(activity).get("team") or {}
    return str(team.get("id") or thread_root(activity.conversation.id))


def team_name_of(activity: Activity) -> str | None:
    team = channel_data(activity).get("team") or {}
    name = team.get("name") or (
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


def command_text(activity: Activity) -> str:
    """The text with the bot's own @mention taken out (other mentions stay)."""
    text = str(activity.text or "")
    for entity in activity.entities or ():
        props = entity.additional_properties or {}
        mentioned = props.get("mentioned") or {}
        if entity.type == "mention" and mentioned.get("id") == activity.recipient.id:
            text = text.replace(str(props.get("text") or ""), " ")
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
    reference = ConversationReference(
        channel_id=activity.channel_id,
        service_url=activity.service_url,
        bot=ChannelAccount(id=activity.recipient.id),
        user=ChannelAccount(id=sender.id, aad_object_id=sender.aad_object_id)
        if personal and sender is not None
        else None,
        conversation=ConversationAccount(
            id=thread_root(conversation.id),
            conversation_type=conversation.conversation_type,
            is_group=conversation.is_group,
            tenant_id=tenant_of(activity),
        ),
    )
    return json.dumps(reference.serialize(), sort_keys=True, separators=(",", ":"))


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
    return Press(
        value=data["value"],
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
    )


# --- writing a reply ---------------------------------------------------------------------

_BOLD = re.compile(r"(?<![*\w])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![*\w])")
_CODE = re.compile(r"`([^`\n]+)`")


def message_markdown(text: str) -> str:
    """The coach writes `*bold*` (as Slack does); Teams reads `**bold**` and needs blank lines."""
    return "\n\n".join(_BOLD.sub(r"**\1**", line) for line in text.split("\n") if line.strip())


def card_markdown(text: str) -> str:
    """Adaptive Cards have no inline code: commands are shown in bold instead."""
    return _CODE.sub(r"**\1**", _BOLD.sub(r"**\1**", text))


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _lines(text: str, **style: Any) -> list[dict[str, Any]]:
    return [_text(card_markdown(line), **style) for line in text.split("\n") if line.strip()]


def _heading(text: str) -> dict[str, Any]:
    return _text(text, weight="Bolder", spacing="Medium")


def _facts(rows: Iterable[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in rows]}


def adaptive_card(
    body: Sequence[dict[str, Any]],
    actions: Sequence[dict[str, Any]] = (),
    *,
    wide: bool = False,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": list(body),
    }
    if actions:
        card["actions"] = list(actions)
    if wide:
        card["msteams"] = {"width": "Full"}
    return card


def _submit(choice: Choice, reply: Reply) -> dict[str, Any]:
    """A button that sends its value back, with the prompt it belongs to.

    Teams returns only the pressed button's data, so the data carries the prompt's text (to
    redraw the card with the answer) and token (so a press on an old card is recognised).
    """
    data: dict[str, Any] = {"value": choice.value, "label": choice.label, "prompt": reply.text}
    if reply.prompt_token is not None:
        data["token"] = reply.prompt_token
    action: dict[str, Any] = {"type": "Action.Submit", "title": choice.label}
    action["data"] = {DATA_KEY: data}
    if choice.style is not None:
        action["style"] = "positive" if choice.style == "primary" else "destructive"
    return action


def prompt_card(reply: Reply) -> dict[str, Any]:
    """A question with its answers stacked one per row and navigation along the bottom."""
    body = _lines(reply.text)
    body += [
        {"type": "ActionSet", "actions": [_submit(choice, reply)]}
        for choice in reply.choices
        if not choice.nav
    ]
    nav = [_submit(choice, reply) for choice in reply.choices if choice.nav]
    return adaptive_card(body, nav)


def answered_card(press: Press, shown: str, *, stale: bool = False) -> dict[str, Any]:
    """The prompt again with the answer in place of its buttons, so it cannot be pressed twice."""
    mark = _text(shown, isSubtle=True) if stale else _text(f"✓ {shown}", weight="Bolder")
    return adaptive_card([*_lines(press.prompt), mark])


def link_card(text: str, title: str, url: str) -> dict[str, Any]:
    return adaptive_card(_lines(text), [{"type": "Action.OpenUrl", "title": title, "url": url}])


def stage_body(card: StageCard) -> list[dict[str, Any]]:
    body = [
        _text(
            f"Rung {card.rung} of {len(card.ladder)}: {card.stage}", size="Medium", weight="Bolder"
        ),
        {
            "type": "ColumnSet",
            "columns": [
                {
                    "type": "Column",
                    "width": "stretch",
                    "items": [
                        _text(name, horizontalAlignment="Center", weight="Bolder", color="Accent")
                        if rung == card.rung
                        else _text(name, horizontalAlignment="Center", isSubtle=True)
                    ],
                }
                for rung, name in enumerate(card.ladder, start=1)
            ],
        },
    ]
    if card.summary:
        body.append(_text(card.summary))
    if card.evidence:
        body.append(_heading("Why"))
        body += [
            _text(
                f"{'✓' if e.met else '✗'} {e.because} ({e.stage})",
                color="Good" if e.met else "Attention",
                spacing="Small",
            )
            for e in card.evidence
        ]
    if card.actions:
        toward = f" toward {card.next_stage}" if card.next_stage else ""
        body.append(_heading(f"Next actions{toward}"))
        body += [_text(f"{i}. {a}", spacing="Small") for i, a in enumerate(card.actions, 1)]
    return body


def summary_body(card: SummaryCard) -> list[dict[str, Any]]:
    body = [_text(card.title, size="Medium", weight="Bolder")]
    for question, answer in card.rows:
        body += [_heading(question), _text(answer, spacing="None")]
    return body


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report_body(card: TeamReportCard, *, clip: int) -> list[dict[str, Any]]:
    """The team picture; answers clipped to `clip` characters, or left out when it is 0."""
    members = ", ".join(card.members) or "nobody yet"
    body = [
        _text(f"Team {card.team}", size="Large", weight="Bolder"),
        _text(f"{len(card.members)} member(s): {members}", isSubtle=True, spacing="None"),
    ]
    if card.stage is not None:
        body += stage_body(card.stage)
    if card.placements:
        body += [_heading("Members' placements"), _facts(card.placements)]
    if card.stage_history:
        history = " → ".join(f"{stage} ({day})" for day, stage in card.stage_history)
        body.append(_text(f"Stage history: {history}", isSubtle=True))
    if card.checkins:
        body.append(_text(checkins_line(card.checkins), isSubtle=True, spacing="None"))
    for q in card.questions:
        title = f"{q.number}. {q.title}" if q.number is not None else q.title
        items = [_heading(title)]
        if q.disagreement:
            items.append(_text("Members disagree here.", color="Attention", spacing="None"))
        if q.gaps:
            gaps = ", ".join(q.gaps)
            items.append(_text(f"No answer from {gaps}.", color="Warning", spacing="None"))
        if clip and q.answers:
            items.append(_facts((who, _clip(text, clip)) for who, text in q.answers))
        body.append({"type": "Container", "items": items})
    if not clip and any(q.answers for q in card.questions):
        body.append(_text("Too many answers to show here: `export` has them all.", isSubtle=True))
    if card.commitments:
        body += [_heading("Commitments"), _facts(card.commitments)]
    return body


def card_for(card: Card, heading: str = "") -> dict[str, Any]:
    """A coach card as an Adaptive Card, the team picture shortened to fit Teams' size limit."""
    top = _lines(heading, isSubtle=True)
    if isinstance(card, StageCard):
        return adaptive_card([*top, *stage_body(card)], wide=True)
    if isinstance(card, SummaryCard):
        return adaptive_card([*top, *summary_body(card)], wide=True)
    for clip in (600, 240, 80):
        rendered = adaptive_card([*top, *report_body(card, clip=clip)], wide=True)
        if len(json.dumps(rendered, ensure_ascii=False).encode()) <= MAX_CARD_BYTES:
            return rendered
    return adaptive_card([*top, *report_body(card, clip=0)], wide=True)


def _card_activity(card: dict[str, Any], *, summary: str = "") -> Activity:
    return Activity(
        type=ActivityTypes.message,
        summary=_clip(summary.split("\n", 1)[0], 120) or None,
        attachments=[Attachment(content_type=ADAPTIVE_CARD, content=card)],
    )


def _file_text(reply: Reply) -> str:
    assert reply.file is not None
    content = reply.file.content
    clipped = len(content) > MAX_TEXT_CHARS
    if clipped:
        content = content[:MAX_TEXT_CHARS]
    if reply.file.mime != "text/markdown":
        content = f"```\n{content}\n```"
    parts = [message_markdown(reply.text), f"**{reply.file.name}**", content]
    if clipped:
        parts.append("(Clipped to fit in Teams: `coffee-coach export` writes the whole file.)")
    return "\n\n".join(part for part in parts if part)


def to_activity(reply: Reply) -> Activity | None:
    """A coach reply as a Teams message; None for a reply that only marks an answered card."""
    if reply.card is not None:
        return _card_activity(card_for(reply.card, reply.text), summary=reply.text)
    if reply.choices:
        return _card_activity(prompt_card(reply), summary=reply.text)
    if reply.file is not None:
        return Activity(type=ActivityTypes.message, text=_file_text(reply), text_format="markdown")
    if not reply.text:
        return None
    return Activity(
        type=ActivityTypes.message, text=message_markdown(reply.text), text_format="markdown"
    )


# --- delivery ------------------------------------------------------------------------------

RETRYABLE: Final = frozenset({412, 429, 502, 504})
# Answers that sending the same message again cannot change: the conversation is gone (404),
# the bot was removed from it or blocked (403), or the message itself is refused (400, 413).
UNDELIVERABLE: Final = frozenset({400, 403, 404, 413})


class DeliveryError(RuntimeError):
    """The Bot Connector refused a message, or kept throttling it past the retry budget."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        # The connector's HTTP status; None when it could not be reached at all.
        self.status = status


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter; a Retry-After from the connector takes precedence."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 8.0
    max_retry_after_s: float = 60.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s) * random.uniform(1.0, 1.1)
        backoff = min(self.cap_s, self.base_s * 2**attempt)
        return random.uniform(backoff / 2, backoff)


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, from either of its forms (seconds, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


Sleep = Callable[[float], Awaitable[None]]


class Outbox:
    """Sends and updates activities through a turn's connector: paced, retried when throttled.

    botbuilder retries nothing on 429 or 412 (and nothing at all on a POST), so each call is
    retried here on 412, 429, 502 and 504, honouring Retry-After.
    """

    def __init__(
        self,
        *,
        policy: RetryPolicy | None = None,
        pacer: ConversationPacer | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.policy = policy or RetryPolicy()
        # Teams allows about 7 messages per second per conversation.
        self.pacer = pacer or ConversationPacer(rate=7, per_s=1.0)
        self.sleep = sleep

    async def send(self, context: TurnContext, activity: Activity) -> None:
        await self._call(context, lambda: context.send_activity(activity))

    async def update(self, context: TurnContext, activity: Activity) -> None:
        await self._call(context, lambda: context.update_activity(activity))

    async def _call(self, context: TurnContext, call: Callable[[], Awaitable[object]]) -> None:
        conversation = thread_root(context.activity.conversation.id)
        for attempt in range(self.policy.attempts):
            wait = self.pacer.reserve(conversation)
            if wait > 0:
                await self.sleep(wait)
            try:
                await call()
                return
            except ErrorResponseException as exc:
                status = exc.response.status_code
                if status not in RETRYABLE or attempt + 1 == self.policy.attempts:
                    raise DeliveryError(
                        f"the connector answered {status}{_error_code(exc)}", status=status
                    ) from exc
                after = retry_after(exc.response.headers.get("Retry-After"))
                log.info("Connector answered %s; retry %d after %s", status, attempt + 1, after)
                await self.sleep(self.policy.delay(attempt, after))
            except ClientRequestError as exc:
                raise DeliveryError(f"the connector could not be reached: {exc}") from exc


def _error_code(exc: ErrorResponseException) -> str:
    """The connector's own name for the error (ConversationNotFound, BotDisabledByAdmin)."""
    code = getattr(getattr(exc.error, "error", None), "code", None)
    return f" ({code})" if code else ""


# --- the door ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _SdkSettings:
    """Our configuration under the attribute names botbuilder's readers look up."""

    APP_ID: str | None
    APP_PASSWORD: str | None
    APP_TYPE: str
    APP_TENANTID: str | None


class ConnectorCache:
    """One ConnectorClient per service URL and audience, kept across turns.

    CloudAdapter asks for a new client on every activity: building one costs milliseconds of
    CPU (msrest's retry policy), and each new client opens a new connection to the Bot
    Connector. A client is safe to share: its HTTP sessions are per thread.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._clients: dict[tuple[str, str | None], Any] = {}

    def around(self, factory: Any) -> _CachedFactory:
        """A connector factory for CloudAdapter that answers from this cache."""
        return _CachedFactory(self, factory)

    async def client(self, factory: Any, service_url: str, audience: str | None) -> Any:
        key = (service_url, audience)
        found = self._clients.get(key)
        if found is None:
            if len(self._clients) >= self.limit:
                self._clients.pop(next(iter(self._clients)))
            found = self._clients[key] = await factory.create(service_url, audience)
        return found


@dataclass(frozen=True, slots=True)
class _CachedFactory:
    cache: ConnectorCache
    inner: Any

    async def create(self, service_url: str, audience: str | None = None) -> Any:
        return await self.cache.client(self.inner, service_url, audience)


def chat_link(bot_id: str) -> str:
    """A Teams deep link that opens the member's personal chat with the bot."""
    return f"https://teams.microsoft.com/l/chat/0/0?users={bot_id}"


class TeamsSender:
    """Proactive delivery (check-ins) to a stored conversation reference, after any restart."""

    platform: str = PLATFORM

    def __init__(self, adapter: CloudAdapter, outbox: Outbox, *, app_id: str | None) -> None:
        self.adapter = adapter
        self.outbox = outbox
        self.app_id = app_id

    def messages(self, outgoing: Outgoing) -> int:
        return sum(1 for reply in outgoing.replies if to_activity(reply) is not None)

    async def send(self, outgoing: Outgoing) -> None:
        """Deliver the replies in order.

        Raises `Undeliverable` when the connector's answer cannot change on a retry (the
        conversation is gone, the bot was removed), and `DeliveryError` otherwise.
        """
        activities = [a for a in map(to_activity, outgoing.replies) if a is not None]

        async def deliver(context: TurnContext) -> None:
            # The continuation activity's id is made up: without it the SDK would send each
            # message as a reply to that id instead of posting to the conversation.
            context.activity.id = None
            for activity in activities:
                await self.outbox.send(context, activity)

        try:
            await self.adapter.continue_conversation(
                reference_from(outgoing.address), deliver, bot_app_id=self.app_id
            )
        except DeliveryError as exc:
            if exc.status in UNDELIVERABLE:
                raise Undeliverable(str(exc)) from exc
            raise


class TeamsDoor:
    """`POST /api/messages`: authenticates, hands the activity to CloudAdapter, runs the turn."""

    def __init__(self, coach: Port, config: Config) -> None:
        self.coach = coach
        self.app_id = config.microsoft_app_id or None
        self.auth = ConfigurationBotFrameworkAuthentication(
            _SdkSettings(
                APP_ID=self.app_id,
                APP_PASSWORD=config.microsoft_app_password,
                APP_TYPE=config.microsoft_app_type,
                APP_TENANTID=config.microsoft_app_tenant_id,
            )
        )
        self.adapter = CloudAdapter(self.auth)
        self.outbox = Outbox()
        self.sender = TeamsSender(self.adapter, self.outbox, app_id=self.app_id)
        self.connectors = ConnectorCache()

    async def handle(self, request: web.Request) -> web.Response:
        try:
            activity = parse_activity(await request.json())
        except ValueError as exc:
            return _bad_request(f"the body is not a Bot Framework activity ({exc})")
        try:
            # Authenticating here rather than in CloudAdapter.process: the SDK answers 500 to
            # an Authorization header it cannot parse, where the answer is 401.
            auth = await self.auth.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as exc:  # any failure to authenticate is a refusal
            log.warning("Refused an unauthenticated request to /api/messages: %s", exc)
            return web.json_response({"error": "unauthorized"}, status=401)
        if not (activity.type and activity.service_url and activity.conversation):
            return _bad_request("an activity needs a type, a serviceUrl and a conversation")
        auth.connector_factory = self.connectors.around(auth.connector_factory)
        response = await self.adapter.process_activity(auth, activity, self.on_turn)
        if response is None:
            return web.Response(status=200)
        # expectReplies and invokes answer in the HTTP response (CloudAdapter.process fails
        # to serialise the former in 4.17.1).
        return web.json_response(response.body, status=response.status)

    async def on_turn(self, context: TurnContext) -> None:
        activity = context.activity
        kind = activity.type
        if kind in (ActivityTypes.message, ActivityTypes.message_update):
            if activity.from_property is not None and activity.from_property.id:
                await self._on_message(context)
        elif kind == ActivityTypes.conversation_update:
            added = activity.members_added or ()
            if any(member.id == activity.recipient.id for member in added):
                await self._on_install(context)
        elif kind == ActivityTypes.installation_update and str(activity.action or "").startswith(
            "add"
        ):
            await self._on_install(context)

    async def _on_message(self, context: TurnContext) -> None:
        activity = context.activity
        shared = scope_of(activity) != "personal"
        if shared and activity.type == ActivityTypes.message_update:
            return  # an edit in a channel is never an answer, nor worth a reply
        incoming = to_incoming(activity)
        command = (incoming.value or incoming.text).casefold().rstrip(".!")
        if shared and command not in SHARED_COMMANDS:
            if self._seen_in_team(incoming):
                await self._send(context, [_card_activity(self._open_chat_card(activity))])
            return
        turn = self.coach.handle(incoming)
        if turn.duplicate:
            return
        press = press_of(activity)
        redraw = None
        if press is not None and activity.reply_to_id:
            # The redraw goes alongside the replies; the next prompt is sent at once, not
            # queued behind the redraw or behind other turns.
            redraw = asyncio.create_task(
                self._update(context, self._redraw(activity.reply_to_id, press, turn))
            )
        await self._send(context, [a for a in map(to_activity, turn.replies) if a is not None])
        if redraw is not None:
            await redraw

    def _redraw(self, card_id: str, press: Press, turn: Turn) -> Activity:
        if turn.stale:
            card = answered_card(press, "Already answered.", stale=True)
        else:
            shown = next((r.answered for r in turn.replies if r.answered), press.label)
            card = answered_card(press, shown)
        redrawn = _card_activity(card)
        redrawn.id = card_id
        return redrawn

    async def _send(self, context: TurnContext, activities: Iterable[Activity]) -> None:
        for activity in activities:
            try:
                await self.outbox.send(context, activity)
            except DeliveryError as exc:
                # The turn is saved; what is lost is the message. Stop here rather than send
                # the rest out of order; the member's next `start` shows where they are.
                log.error("A reply to %s was not delivered: %s", context.activity.id, exc)
                return

    async def _update(self, context: TurnContext, activity: Activity) -> None:
        try:
            await self.outbox.update(context, activity)
        except DeliveryError as exc:
            log.warning("A card was not redrawn after its button was pressed: %s", exc)

    def _seen_in_team(self, incoming: Incoming) -> bool:
        """Note the member in this team (their personal chat now belongs to it), once per event."""
        return self.coach.note_member(incoming)

    def _open_chat_card(self, activity: Activity) -> dict[str, Any]:
        name = self.coach.team_name(TeamKey(PLATFORM, tenant_of(activity), team_of(activity) or ""))
        text = OPEN_CHAT.format(
            name=activity.from_property.name or "Hi",
            where=name or "this team",
            bot=activity.recipient.name or "Coffee Coach",
        )
        return link_card(text, "Open our chat", chat_link(activity.recipient.id))

    async def _on_install(self, context: TurnContext) -> None:
        activity = context.activity
        if not self._first_welcome(activity):
            return
        if scope_of(activity) == "personal":
            await self._send(context, [_card_activity(prompt_card(PERSONAL_WELCOME))])
            return
        name = self._register_team(activity)
        text = SHARED_WELCOME.format(
            where=name or "everyone", bot=activity.recipient.name or "Coffee Coach"
        )
        card = link_card(text, "Open a chat with Coffee Coach", chat_link(activity.recipient.id))
        await self._send(context, [_card_activity(card)])

    def _first_welcome(self, activity: Activity) -> bool:
        """One welcome per install: Teams sends two events for it, and retries either."""
        # Claimed in the store, so that every server process agrees on the first one.
        return self.coach.welcome_once(
            TeamKey(PLATFORM, tenant_of(activity), team_of(activity) or ""),
            event_id=event_id_of(activity),
            welcome=f"welcome:{thread_root(activity.conversation.id)}",
            within=WELCOME_WINDOW,
        )

    def _register_team(self, activity: Activity) -> str | None:
        """Record the team (or group chat), its name and where to post to it; return its name."""
        key = TeamKey(PLATFORM, tenant_of(activity), team_of(activity) or "")
        name = team_name_of(activity)
        installer = activity.from_property.id if activity.from_property else None
        return self.coach.register_team(
            key, name=name, lead=installer, address=address_of(activity)
        )


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


TEAMS: Final = web.AppKey("teams", TeamsDoor)


def mount(app: web.Application, coach: Port, config: Config) -> TeamsDoor:
    """Open the Teams door on the serve app; the caller registers its `sender`."""
    door = TeamsDoor(coach, config)
    app[TEAMS] = door
    app.router.add_post("/api/messages", door.handle)
    if door.app_id:
        log.info("Teams: POST /api/messages for Microsoft app id %s", door.app_id)
    else:
        log.warning(
            "Teams: POST /api/messages is open WITHOUT authentication (no MicrosoftAppId):"
            " anyone who can reach it can speak as any Teams user. Local development only."
        )
    return door
