"""The Microsoft Teams door: Bot Framework activities in, Adaptive Cards out.

Every botbuilder import lives in this package, so that a move to botbuilder's successor stays
one package's work. Pure converters turn an activity into an `Incoming` and a `Reply` into an
activity; `TeamsDoor` is the HTTP handler and the turn; `Outbox` and `Connectors` add what
the SDK lacks (retries on throttling, a pace per conversation, token and connector clients
kept across turns, one shared aiohttp session); `TeamsSender` sends on the coach's own
initiative to a stored, serialised conversation reference.

botbuilder authenticates the inbound request and parses the activity; the turn itself is ours.
CloudAdapter's turn would build a new UserTokenClient for every activity (2.7 ms of CPU,
msrest's retry policy most of it) and send through msrest in executor threads.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any, Final

from aiohttp import web
from botbuilder.integration.aiohttp import (
    ConfigurationBotFrameworkAuthentication,
    ConfigurationServiceClientCredentialFactory,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    DeliveryModes,
)

from adapters.teams.activities import (
    Press,
    address_of,
    event_id_of,
    parse_activity,
    press_of,
    problem_of,
    read_body,
    scope_of,
    team_name_of,
    team_of,
    tenant_of,
    thread_root,
    to_incoming,
)
from adapters.teams.cards import (
    activity_json,
    answered_card,
    card_activity,
    link_card,
    prompt_card,
    to_activity,
)
from adapters.teams.connector import (
    ConnectorError,
    Connectors,
    JsonObject,
    SdkSettings,
    Unreachable,
    chat_link,
)
from adapters.teams.delivery import UNDELIVERABLE, Address, DeliveryError, Outbox, Target
from adapters.teams.identity import (
    CALLER_ID,
    ChannelIdentity,
    KeysUnavailable,
    Refused,
    SigningKeys,
    Verified,
)
from adapters.teams.names import (
    ANSWERS_ELSEWHERE,
    OPEN_CHAT,
    OPEN_FOR_PRIVATE,
    PERSONAL_WELCOME,
    PLATFORM,
    PRIVATE_COMMANDS,
    SENT_PRIVATELY,
    SHARED_COMMANDS,
    SHARED_WELCOME,
    WELCOME_WINDOW,
)
from bot.caches import LruCache
from bot.config import Config
from bot.messages import (
    Incoming,
    MemberKey,
    Noted,
    Outgoing,
    Parcel,
    Post,
    Reply,
    TeamKey,
    Turn,
    Undeliverable,
)
from bot.port import Port, StoreBusy
from bot.render import joined_names

log = logging.getLogger("coffee_coach.teams")


class TeamsSender:
    """Proactive delivery (check-ins) to a stored conversation reference, after any restart."""

    platform: str = PLATFORM

    def __init__(self, connectors: Connectors, outbox: Outbox) -> None:
        self.connectors = connectors
        self.outbox = outbox

    def messages(self, outgoing: Outgoing) -> int:
        return sum(1 for reply in outgoing.replies if to_activity(reply) is not None)

    async def send(self, outgoing: Outgoing) -> None:
        """Deliver the replies in order, to the conversation itself (not as a reply).

        Raises `Undeliverable` when the connector's answer cannot change on a retry (the
        conversation is gone, the bot was removed), and `DeliveryError` otherwise.
        """
        activities = [a for a in map(to_activity, outgoing.replies) if a is not None]
        target = self.target(outgoing.address)
        try:
            for activity in activities:
                await self.outbox.send(target, activity)
        except DeliveryError as exc:
            if exc.status in UNDELIVERABLE:
                raise Undeliverable(str(exc)) from exc
            raise

    def target(self, address: str) -> Target:
        """A stored address (a serialised ConversationReference) as somewhere to send to."""
        reference = json.loads(address)
        conversation = reference["conversation"]
        envelope = {
            "channelId": reference.get("channelId"),
            "serviceUrl": reference["serviceUrl"],
            "conversation": conversation,
            "from": reference.get("bot"),
            "recipient": reference.get("user"),
        }
        return Target(
            self.connectors.client(reference["serviceUrl"]),
            conversation["id"],
            {k: v for k, v in envelope.items() if v is not None},
        )


class TeamsDoor:
    """`POST /api/messages`: authenticates the request, parses the activity, runs the turn."""

    def __init__(self, coach: Port, config: Config) -> None:
        self.coach = coach
        self.app_id = config.microsoft_app_id or None
        settings = SdkSettings(
            APP_ID=self.app_id,
            APP_PASSWORD=config.microsoft_app_password,
            APP_TYPE=config.microsoft_app_type,
            APP_TENANTID=config.microsoft_app_tenant_id,
        )
        credentials = ConfigurationServiceClientCredentialFactory(settings)
        self.auth = ConfigurationBotFrameworkAuthentication(
            settings, credentials_factory=credentials
        )
        self.connectors = Connectors(
            credentials,
            app_id=self.app_id,
            app_password=config.microsoft_app_password,
            app_type=config.microsoft_app_type,
            tenant_id=config.microsoft_app_tenant_id,
            audience=self.auth.get_originating_audience(),
        )
        self.outbox = Outbox()
        self.sender = TeamsSender(self.connectors, self.outbox)
        self.keys = SigningKeys(self.connectors.http)
        self.identity = ChannelIdentity(self.keys, self.app_id) if self.app_id else None
        self.relay = coach.relay(PLATFORM, self._deliver, queue=None)
        # Group chats named after their members, read once per chat.
        self._group_names: LruCache[str, str] = LruCache(10_000)

    async def close(self) -> None:
        await self.keys.close()
        await self.connectors.close()

    async def handle(self, request: web.Request) -> web.Response:
        verified: Verified | None = None
        if self.identity is not None:
            # The token is checked before the body is read or parsed.
            try:
                verified = await self.identity.verify(request.headers.get("Authorization", ""))
            except Refused as exc:
                log.warning("Refused an unauthenticated request to /api/messages: %s", exc)
                return web.json_response({"error": "unauthorized"}, status=401)
            except KeysUnavailable as exc:
                log.error("Cannot check a request to /api/messages: %s", exc)
                return web.json_response(
                    {"error": "the Bot Framework's signing keys are unavailable; retry later"},
                    status=503,
                    headers={"Retry-After": "30"},
                )
        try:
            body = read_body(await request.read())
            activity = parse_activity(body)
        except ValueError as exc:
            return _bad_request(f"the body is not a Bot Framework activity ({exc})")
        if (problem := problem_of(body, activity)) is not None:
            return _bad_request(problem)
        if verified is not None:
            try:
                ChannelIdentity.check(verified, activity)
            except Refused as exc:
                log.warning("Refused a request to /api/messages: %s", exc)
                return web.json_response({"error": "unauthorized"}, status=401)
            activity.caller_id = CALLER_ID
        target = self._reply_target(body, activity)
        try:
            await self.on_turn(activity, target)
        except StoreBusy as exc:
            # Bot Framework redelivers; the redelivery is recognised by its activity id.
            log.warning("Teams: answered 503, the store is busy: %s", exc)
            return web.json_response(
                {"error": "busy, retry"}, status=503, headers={"Retry-After": "1"}
            )
        if target.buffered is not None:
            # expectReplies: the replies are the HTTP response, none goes to the connector.
            return web.json_response({"activities": target.buffered})
        if activity.type == ActivityTypes.invoke:
            return web.json_response(None, status=501)  # no invoke is handled
        return web.Response(status=200)

    def _reply_target(self, body: JsonObject, activity: Activity) -> Target:
        """Replies to an activity: from its recipient to its sender, in its conversation."""
        envelope = {
            "channelId": body.get("channelId"),
            "serviceUrl": activity.service_url,
            "conversation": body["conversation"],
            "from": body.get("recipient"),
            "recipient": body.get("from"),
            "locale": body.get("locale"),
        }
        return Target(
            self.connectors.client(activity.service_url),
            activity.conversation.id,
            {k: v for k, v in envelope.items() if v is not None},
            reply_to_id=activity.id,
            buffered=[] if activity.delivery_mode == DeliveryModes.expect_replies else None,
        )

    async def on_turn(self, activity: Activity, target: Target) -> None:
        kind = activity.type
        if kind in (ActivityTypes.message, ActivityTypes.message_update):
            if activity.from_property is not None and activity.from_property.id:
                await self._on_message(activity, target)
        elif kind == ActivityTypes.conversation_update:
            added = activity.members_added or ()
            if any(member.id == activity.recipient.id for member in added):
                await self._on_install(activity, target)
        elif kind == ActivityTypes.installation_update and str(activity.action or "").startswith(
            "add"
        ):
            await self._on_install(activity, target)

    async def _on_message(self, activity: Activity, target: Target) -> None:
        shared = scope_of(activity) != "personal"
        if shared and activity.type == ActivityTypes.message_update:
            return  # an edit in a channel is never an answer, nor worth a reply
        incoming = to_incoming(activity)
        if incoming.group and not incoming.team_name:
            incoming = replace(incoming, team_name=await self._group_name(activity))
        command = (incoming.value or incoming.text).casefold().rstrip(".!").split()
        word = command[0] if command else ""
        if shared and word not in SHARED_COMMANDS:
            noted = await self.coach.note_member(incoming)
            if noted is not None:
                card = await self._open_chat_card(activity, noted)
                await self._send(target, [card_activity(card)])
            return
        if shared and word in PRIVATE_COMMANDS:
            await self._in_personal_chat(activity, target, incoming)
            return
        press = press_of(activity)
        if target.buffered is not None:
            # expectReplies: the replies are the HTTP response itself, not posts.
            turn = await self.coach.handle(incoming)
            if not turn.duplicate:
                await self._send(
                    target, [a for a in map(to_activity, turn.replies) if a is not None]
                )
            return

        redraw = activity.reply_to_id if press is not None else None
        render = functools.partial(for_turn, target.address, press, redraw)
        # The POST is answered once the turn is stored with its replies; they go out from
        # the outbox, so throttling never holds Teams' request open.
        _, parcels = await self.coach.handle_and_post(incoming, render, relay=self.relay)
        self.relay.dispatch(parcels)

    async def _deliver(self, parcel: Parcel) -> None:
        """Send one post of the outbox (at once after its turn, or after a restart)."""
        payload = parcel.payload
        target = Target(
            self.connectors.client(payload["serviceUrl"]),
            payload["conversation"],
            {},
            reply_to_id=payload.get("replyTo"),
        )
        try:
            if payload["op"] == UPDATE:
                await self.outbox.update_body(target, payload["activityId"], payload["body"])
            else:
                await self.outbox.send_body(target, payload["body"])
        except DeliveryError as exc:
            if exc.status in UNDELIVERABLE:
                raise Undeliverable(str(exc)) from exc
            raise

    async def _send(self, target: Target, activities: Iterable[Activity]) -> None:
        for activity in activities:
            try:
                await self.outbox.send(target, activity)
            except DeliveryError as exc:
                # The turn is saved; what is lost is the message. Stop here rather than send
                # the rest out of order; the member's next `start` shows where they are.
                log.error("A reply to %s was not delivered: %s", target.reply_to_id, exc)
                return

    async def _group_name(self, activity: Activity) -> str | None:
        """A group chat with no topic, by the names people know it by: its members'."""
        conversation = thread_root(activity.conversation.id)
        known = self._group_names.get(conversation)
        if known is not None:
            return known
        connector = self.connectors.client(activity.service_url)
        try:
            members = await connector.members(conversation)
        except (ConnectorError, Unreachable) as exc:
            log.warning("Teams: the members of a group chat could not be read: %s", exc)
            return None
        names = [
            str(m["name"])
            for m in members
            if m.get("name") and m.get("id") != activity.recipient.id
        ]
        if not names:
            return None
        name = self._group_names[conversation] = joined_names(names)
        return name

    async def _in_personal_chat(
        self, activity: Activity, target: Target, incoming: Incoming
    ) -> None:
        """What is the member's own goes to their personal chat; the channel hears where."""
        name = activity.from_property.name or "Hi"
        key = MemberKey(PLATFORM, incoming.key.workspace, incoming.key.user)
        address = await self.coach.known_address(key)
        if address is None:
            text = OPEN_FOR_PRIVATE.format(name=name)
            card = link_card(text, "Open our chat", chat_link(activity.recipient.id))
            await self._send(target, [card_activity(card)])
            return
        private = self.sender.target(address).address
        said = SENT_PRIVATELY.format(name=name)
        render = functools.partial(for_private, private, target.address, said)
        _, parcels = await self.coach.handle_and_post(incoming, render, relay=self.relay)
        self.relay.dispatch(parcels)

    async def _open_chat_card(self, activity: Activity, noted: Noted) -> dict[str, Any]:
        key = TeamKey(PLATFORM, tenant_of(activity), team_of(activity) or "")
        name = await self.coach.team_name(key)
        words = {
            "name": activity.from_property.name or "Hi",
            "bot": activity.recipient.name or "Coffee Coach",
        }
        if noted.here:
            text = OPEN_CHAT.format(where=name or "this team", **words)
        else:
            text = ANSWERS_ELSEWHERE.format(team=noted.team, **words)
        if noted.line:
            text = noted.line + "\n" + text
        return link_card(text, "Open our chat", chat_link(activity.recipient.id))

    async def _on_install(self, activity: Activity, target: Target) -> None:
        if not await self._first_welcome(activity):
            return
        if scope_of(activity) == "personal":
            await self._send(target, [card_activity(prompt_card(PERSONAL_WELCOME))])
            return
        name = await self._register_team(activity)
        text = SHARED_WELCOME.format(
            where=name or "everyone", bot=activity.recipient.name or "Coffee Coach"
        )
        if activity.from_property is not None and activity.from_property.id:
            # Whoever added the app is in this team: what they answered counts for it now.
            noted = await self.coach.note_member(replace(to_incoming(activity), event_id=None))
            if noted is not None and noted.line:
                text = f"{activity.from_property.name or 'You'}: {noted.line}\n{text}"
        card = link_card(text, "Open a chat with Coffee Coach", chat_link(activity.recipient.id))
        await self._send(target, [card_activity(card)])
        if scope_of(activity) == "channel":
            await self._bring_members(activity)

    async def _bring_members(self, activity: Activity) -> None:
        """The app added to a team: its other members who answered in our personal chat
        before now answer for it, and each is told so there."""
        conversation = thread_root(activity.conversation.id)
        try:
            members = await self.connectors.client(activity.service_url).members(conversation)
        except (ConnectorError, Unreachable) as exc:
            log.warning("Teams: the members of a new team could not be read: %s", exc)
            return
        base = replace(to_incoming(activity), event_id=None, command=False)
        installer = activity.from_property.id if activity.from_property else None
        for member in members:
            user = str(member.get("id") or "")
            if not user or user in (installer, activity.recipient.id):
                continue
            key = base.key._replace(user=user)
            # Only those the coach already talks to: the rest join when they first write.
            address = await self.coach.known_address(key._replace(team=None))
            if address is None:
                continue
            noted = await self.coach.note_member(
                replace(base, key=key, display_name=member.get("name") or None, timezone=None)
            )
            if noted is not None and noted.line:
                told = card_activity(prompt_card(Reply(noted.line)))
                await self._send(self.sender.target(address), [told])

    async def _first_welcome(self, activity: Activity) -> bool:
        """One welcome per install: Teams sends two events for it, and retries either."""
        # Claimed in the store, so that every server process agrees on the first one.
        return await self.coach.welcome_once(
            TeamKey(PLATFORM, tenant_of(activity), team_of(activity) or ""),
            event_id=event_id_of(activity),
            welcome=f"welcome:{thread_root(activity.conversation.id)}",
            within=WELCOME_WINDOW,
        )

    async def _register_team(self, activity: Activity) -> str | None:
        """Record the team (or group chat), its name and where to post to it; return its name."""
        key = TeamKey(PLATFORM, tenant_of(activity), team_of(activity) or "")
        name = team_name_of(activity)
        installer = activity.from_property.id if activity.from_property else None
        return await self.coach.register_team(
            key,
            name=name,
            lead=installer,
            address=address_of(activity),
            group=scope_of(activity) == "groupChat",
        )


SEND, UPDATE = "send", "update"


# --- renders: what a turn becomes, as plain data and module-level functions ------------------
# The port is handed `functools.partial(render, ...)`; the turn may run in another process
# (`bot.store_process`), so a render must pickle.


def for_turn(address: Address, press: Press | None, card_id: str | None, turn: Turn) -> list[Post]:
    """The pressed card redrawn with the answer (when a card was pressed), then the replies."""
    out = []
    if press is not None and card_id:
        out.append(update_post(address, redrawn(card_id, press, turn)))
    out.extend(send_post(address, a) for a in map(to_activity, turn.replies) if a is not None)
    return out


def for_private(private: Address, here: Address, said: str, turn: Turn) -> list[Post]:
    """The replies in the member's personal chat, and `said` where they asked."""
    out = [send_post(private, a) for a in map(to_activity, turn.replies) if a is not None]
    return [*out, send_post(here, card_activity(prompt_card(Reply(said))))]


def redrawn(card_id: str, press: Press, turn: Turn) -> Activity:
    """The pressed card, its buttons replaced by the answer (or by "already answered")."""
    if turn.stale:
        card = answered_card(press, "Already answered.", stale=True)
    else:
        shown = next((r.answered for r in turn.replies if r.answered), press.label)
        card = answered_card(press, shown)
    activity = card_activity(card)
    activity.id = card_id
    return activity


def send_post(target: Target | Address, activity: Activity) -> Post:
    """An activity to send to the target's conversation, as an outbox post."""
    body = activity_json(activity) | target.envelope
    body.pop("id", None)
    if target.reply_to_id:
        body["replyToId"] = target.reply_to_id
    payload = {
        "op": SEND,
        "serviceUrl": target.envelope["serviceUrl"],
        "conversation": target.conversation_id,
        "replyTo": target.reply_to_id,
        "body": body,
    }
    return Post(target.conversation_id, payload)


def update_post(target: Target | Address, activity: Activity) -> Post:
    """A card to redraw in place; its own channel, so the next prompt never waits for it."""
    assert activity.id, "an update names the activity it replaces"
    payload = {
        "op": UPDATE,
        "serviceUrl": target.envelope["serviceUrl"],
        "conversation": target.conversation_id,
        "activityId": activity.id,
        "body": activity_json(activity) | target.envelope,
    }
    return Post(f"{target.conversation_id} redraw {activity.id}", payload)


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=400)


TEAMS: Final = web.AppKey("teams", TeamsDoor)


def mount(app: web.Application, coach: Port, config: Config) -> TeamsDoor:
    """Open the Teams door on the serve app; the caller registers its `sender`."""
    door = TeamsDoor(coach, config)
    app[TEAMS] = door

    async def close(app: web.Application) -> None:
        await door.close()

    app.cleanup_ctx.append(door.relay.lifetime)
    app.on_cleanup.append(close)
    app.router.add_post("/api/messages", door.handle)
    if door.app_id:
        log.info("Teams: POST /api/messages for Microsoft app id %s", door.app_id)
    else:
        log.warning(
            "Teams: POST /api/messages is open WITHOUT authentication (no MicrosoftAppId):"
            " anyone who can reach it can speak as any Teams user. Local development only."
        )
    return door
