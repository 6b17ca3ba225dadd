"""The Slack door: `/coffee`, the interview in a DM, buttons, App Home, on slack-bolt.

Slash commands, events and button presses arrive at `POST /slack/events` (or over Socket
Mode) and go through one bolt `AsyncApp`. Each listener turns the payload into an
`Incoming` (the pure converters in `payloads.py`) and acknowledges; every Web API call happens after
the ack, in the background and in order per channel. Events and presses are handled by the
coach before the ack (it is fast and local, and the store records the event id in the
same transaction as the change, so a retry is recognised however late it comes); `/coffee`
is acked first, because the interview goes on in a DM the door may first have to open.

Bolt runs with `process_before_response=True`: the listener's return is the HTTP response,
so the ack never waits on the listener runner's 10 ms polling loop.

Every slack_bolt and slack_sdk import lives in this package.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncBoltRequest
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import posts
from adapters.slack.blocks import (
    SlackMessage,
    Upload,
    _fallback,
    escape,
    messages_for,
    plain_text,
    section_block,
)
from adapters.slack.home import home_view
from adapters.slack.installations import Lifecycle, oauth_settings
from adapters.slack.names import (
    ACTION,
    BUSY,
    CARRIED_TO_DM,
    COMMAND,
    MAX_BLOCKS,
    NAV_ACTION,
    NOT_IN_CHANNEL,
    NOT_INSTALLED,
    PLATFORM,
    REPORT,
    SENT_TO_DM,
    UNDELIVERABLE,
)
from adapters.slack.payloads import (
    _action,
    _workspace,
    action_incoming,
    command_incoming,
    is_dm,
    is_group_dm,
    malformed,
    message_incoming,
    parse_body,
    raw_message_text,
    signature_ok,
    unnamed,
    unnamed_channel,
    with_profile,
)
from adapters.slack.queue import logged
from adapters.slack.webapi import SlackWebApi, web_post
from bot.config import Config
from bot.messages import MemberKey, Parcel, Sender, Undeliverable
from bot.pacing import ConversationPacer
from bot.port import Port, StoreBusy
from bot.render import reply_text

log = logging.getLogger("coffee_coach.slack")


# --- the door -----------------------------------------------------------------------------


class SlackDoor(SlackWebApi):
    """Coffee Coach in Slack: the bolt app, its listeners, and the proactive `Sender`."""

    platform = PLATFORM

    @property
    def sender(self) -> Sender:
        """What the server registers for proactive sends: the door is its own Sender."""
        return self

    def __init__(
        self,
        coach: Port,
        config: Config,
        *,
        oauth_db: str | None = None,
        pacer: ConversationPacer | None = None,
    ) -> None:
        super().__init__(coach, config, pacer)
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._oauth_stores: Lifecycle | None = None
        self.bolt = self._bolt_app(oauth_db or config.db)
        self.bolt.command(COMMAND)(self._on_command)
        self.bolt.event("message")(self._on_message)
        self.bolt.event("app_home_opened")(self._on_home_opened)
        self.bolt.event("app_uninstalled")(self._on_uninstalled)
        self.bolt.event("tokens_revoked")(self._on_tokens_revoked)
        self.bolt.action(re.compile("^" + re.escape(ACTION)))(self._on_action)
        self.bolt.error(self._on_error)
        self.relay = coach.relay(PLATFORM, self._deliver, queue=self.queue)

    def _bolt_app(self, path: str) -> AsyncApp:
        config = self.config
        common: dict[str, Any] = {
            "name": "coffee-coach",
            "client": self.client,
            "signing_secret": config.slack_signing_secret or "",
            "process_before_response": True,
            # Verified in `_events` before the body is parsed: bolt checks only after parsing,
            # too late to answer a malformed unsigned body with a 401.
            "request_verification_enabled": False,
            "user_facing_authorize_error_message": NOT_INSTALLED,
        }
        if not self.multi_workspace:
            if not config.slack_bot_token:
                raise ValueError(
                    "Slack needs SLACK_BOT_TOKEN (one workspace), or SLACK_CLIENT_ID and"
                    " SLACK_CLIENT_SECRET (installs over OAuth)"
                )
            return AsyncApp(**common)
        self.installations, settings, self._oauth_stores = oauth_settings(config, path)
        return AsyncApp(**common, oauth_settings=settings)

    # --- wiring -------------------------------------------------------------------------

    def attach(self, app: web.Application) -> None:
        if self.config.slack_signing_secret:
            app.router.add_post("/slack/events", self._events)
        flow = self.bolt.oauth_flow
        if flow is not None:
            app.router.add_get(flow.install_path, self._oauth(flow.handle_installation))
            app.router.add_get(flow.redirect_uri_path, self._oauth(flow.handle_callback))
        app.on_startup.append(self._start)
        app.cleanup_ctx.append(self.relay.lifetime)
        app.on_cleanup.append(self._stop)
        app[SLACK_DOOR] = self

    async def _start(self, app: web.Application) -> None:
        if self._oauth_stores is not None:
            await self._oauth_stores.start()
        # One connection pool for every Web API call, bolt's per-request clients included.
        self._session = aiohttp.ClientSession()
        self.client.session = self._session
        if self.config.slack_app_token:
            self._socket = AsyncSocketModeHandler(
                self.bolt, self.config.slack_app_token, web_client=self.client
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]

    async def _stop(self, app: web.Application) -> None:
        await self.queue.drain(timeout=10)
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._session is not None:
            await self._session.close()
        if self._oauth_stores is not None:
            await self._oauth_stores.stop()

    async def _events(self, request: web.Request) -> web.Response:
        """POST /slack/events: verify, reject what Slack would never send, then answer.

        A member's DM message and a press on a prompt in the DM, the requests of every turn,
        go straight to the door's handler (one workspace, whose client is the door's own):
        bolt would only find the same listener again, build a Web client for the request
        and inject arguments, about a third of the door's own work per answer. Everything
        else goes through bolt.
        """
        body = await request.read()
        if not signature_ok(
            self.config.slack_signing_secret or "",
            body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
            now=time.time(),
        ):
            return web.json_response({"error": "invalid signature"}, status=401)
        try:
            text = body.decode("utf-8")
            parsed = parse_body(text, request.headers.get("Content-Type"))
        except (ValueError, TypeError, AttributeError, KeyError, RecursionError):
            return web.json_response({"error": "malformed body"}, status=400)
        if problem := malformed(parsed):
            return web.json_response({"error": problem}, status=400)
        if not self.multi_workspace and (handler := self._direct(parsed)):
            return await self._answer_directly(handler(parsed, self.client))
        bolt_request = AsyncBoltRequest(
            body=text, query=request.query_string, headers=dict(request.headers)
        )
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_request))

    def _direct(
        self, body: dict[str, Any]
    ) -> Callable[[dict[str, Any], AsyncWebClient], Awaitable[None]] | None:
        """The door's handler for a turn's request that needs nothing of bolt, if it is one."""
        kind = body.get("type")
        if kind == "event_callback" and body["event"]["type"] == "message":
            return self._message
        if kind == "block_actions" and _action(body) is not None:
            return self._press
        return None

    async def _answer_directly(self, work: Awaitable[None]) -> web.Response:
        """The HTTP answer to a request handled without bolt, as bolt would give it."""
        try:
            await work
        except Exception as error:
            response = await self._on_error(error)
            if response is None:
                return web.Response(status=500, text="")
            return await to_aiohttp_response(response)
        return web.Response(status=200, text="")

    def _oauth(
        self, handle: Callable[[AsyncBoltRequest], Awaitable[Any]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def route(request: web.Request) -> web.Response:
            bolt_request = AsyncBoltRequest(
                body="", query=request.query_string, headers=dict(request.headers)
            )
            return await to_aiohttp_response(await handle(bolt_request))

        return route

    async def _on_error(self, error: Exception) -> BoltResponse | None:
        """A busy store is a 503 (Slack retries events; the retry is processed once)."""
        if isinstance(error, StoreBusy):
            log.warning("Slack: answered 503, the store is busy: %s", error)
            return BoltResponse(status=503, body="busy, retry", headers={"Retry-After": "1"})
        log.error("Slack: a listener failed", exc_info=error)
        return None

    # --- listeners ----------------------------------------------------------------------

    async def _on_command(
        self, ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        text = plain_text(str(command.get("text") or "")).strip()
        word = text.split(maxsplit=1)[0].casefold() if text else "start"
        if word == REPORT and text.casefold().rstrip(".!") != REPORT:
            word = ""  # a report with arguments is no report: its help answers in place
        workspace, user = str(command["team_id"]), str(command["user_id"])
        client: AsyncWebClient = context.client
        if word not in CARRIED_TO_DM and word != REPORT:
            channel = str(command["channel_id"])
            name = self._channels.get((workspace, channel))
            if name is None and is_group_dm(command):
                # Named after its members from the next command on; not waited for here.
                self.queue.spawn(logged(self._group_name(client, workspace, channel), "group DM"))
            try:
                incoming = command_incoming(
                    command, dm=await self._known_dm(workspace, user), place_name=name
                )
                profile = self._cached_profile(client, incoming)
                turn = await self.coach.handle(with_profile(incoming, profile))
            except StoreBusy:
                # Slack never retries a slash command: say so rather than fail it.
                await ack(text=BUSY, response_type="ephemeral")
                return
            blocks = [
                b
                for m in messages_for(turn.replies)
                if isinstance(m, SlackMessage)
                for b in m.blocks
            ]
            await ack(
                text=_fallback([reply_text(r) for r in turn.replies]),
                blocks=blocks[:MAX_BLOCKS],
                response_type="ephemeral",
            )
            return
        try:
            in_app_dm = command["channel_id"] == await self._known_dm(workspace, user)
        except StoreBusy:
            await ack(text=BUSY, response_type="ephemeral")
            return
        if in_app_dm or word == REPORT:
            await ack()
        else:
            await ack(text=SENT_TO_DM, response_type="ephemeral")
        self.queue.spawn(logged(self._run_command(client, command, word), "/coffee " + word))

    async def _run_command(
        self, client: AsyncWebClient, command: dict[str, Any], word: str
    ) -> None:
        workspace, user = str(command["team_id"]), str(command["user_id"])
        channel = str(command["channel_id"])
        profile = await self._profile(client, workspace, user)
        dm = await self._dm(client, workspace, user)
        place = None
        if is_group_dm(command):
            place = await self._group_name(client, workspace, channel)
        elif unnamed_channel(command):
            place = await self._channel_name(client, workspace, channel)

        render = functools.partial(posts.for_command, channel, user, dm, word == REPORT)
        incoming = with_profile(command_incoming(command, dm=dm, place_name=place), profile)
        _, parcels = await self.coach.handle_and_post(incoming, render, relay=self.relay)
        self.relay.dispatch(parcels)

    async def _on_message(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        await self._message(body, context.client)

    async def _message(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        incoming = message_incoming(body)
        if incoming is None or incoming.dm_address is None:
            return
        channel = incoming.dm_address
        raw = raw_message_text(body)
        if unnamed(raw):
            # Mentions keep their meaning when the answer is shown again: `@Sara`, not an id.
            named = message_incoming(body, await self._names(client, _workspace(body), raw))
            incoming = named or incoming
        self._dms[(incoming.key.workspace, incoming.key.user)] = channel
        profile = self._cached_profile(client, incoming)
        _, parcels = await self.coach.handle_and_post(
            with_profile(incoming, profile),
            functools.partial(posts.to_channel, channel),
            relay=self.relay,
        )
        self.relay.dispatch(parcels)

    async def _on_action(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        # With process_before_response the ack is sent when the listener returns, so
        # acknowledging last changes nothing for Slack.
        await self._press(body, context.client)
        await ack()

    async def _press(self, body: dict[str, Any], client: AsyncWebClient) -> None:
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or "")
        incoming = action_incoming(body)
        if incoming is None:
            return
        if container.get("type") != "message" or not is_dm(channel):
            # App Home, or a message in a channel: the conversation goes on in the DM.
            work = self._run_press_elsewhere(client, body, home=container.get("type") == "view")
            self.queue.spawn(logged(work, "button press"))
            return
        self._dms[(incoming.key.workspace, incoming.key.user)] = channel
        render = functools.partial(posts.for_press, pressed(body), incoming.key.user)
        profile = self._cached_profile(client, incoming)
        _, parcels = await self.coach.handle_and_post(
            with_profile(incoming, profile), render, relay=self.relay
        )
        self.relay.dispatch(parcels)

    async def _run_press_elsewhere(
        self, client: AsyncWebClient, body: dict[str, Any], *, home: bool
    ) -> None:
        workspace, user = _workspace(body), str(body["user"]["id"])
        profile = await self._profile(client, workspace, user)
        dm = await self._dm(client, workspace, user)
        incoming = action_incoming(body, dm=dm)
        assert incoming is not None
        duplicate, parcels = await self.coach.handle_and_post(
            with_profile(incoming, profile),
            functools.partial(posts.to_channel, dm),
            relay=self.relay,
        )
        if duplicate:
            return
        sent = self.relay.dispatch(parcels)
        if home:
            if sent is not None:
                await sent
            await self._publish_home(client, workspace, user)

    # --- delivering the outbox ------------------------------------------------------------

    async def _deliver(self, parcel: Parcel) -> None:
        """Send one post of the outbox (at once after its turn, or after a restart)."""
        client = await self._client_for(MemberKey(PLATFORM, parcel.workspace, ""))
        payload, channel = parcel.payload, parcel.channel
        op, messages = payload["op"], posts.messages_of(payload)
        try:
            if op == posts.POST:
                await self._post_messages(client, channel, messages)
            elif op == posts.EPHEMERAL:
                await self._ephemeral(client, channel, payload["user"], messages)
            elif op == posts.SETTLE:
                # The redraw and the next prompt go together: neither waits for the other.
                redraw = web_post(client, "chat.update", posts.update_of(payload, channel))
                await asyncio.gather(redraw, self._post_messages(client, channel, messages))
            elif op == posts.REPORT:
                await self._report(client, channel, payload, messages)
            else:
                raise Undeliverable(f"no such Slack post: {op!r}")
        except SlackApiError as error:
            code = error.response.get("error")
            if code in UNDELIVERABLE:
                raise Undeliverable(f"Slack answered {code} for {channel}") from error
            raise

    async def _report(
        self,
        client: AsyncWebClient,
        channel: str,
        payload: dict[str, Any],
        messages: list[SlackMessage | Upload | posts.Encoded],
    ) -> None:
        try:
            if payload["public"]:
                await self._post_messages(client, channel, messages)
            else:
                await self._ephemeral(client, channel, payload["user"], messages)
        except SlackApiError as error:
            if error.response.get("error") not in ("not_in_channel", "channel_not_found"):
                raise
            note = SlackMessage(NOT_IN_CHANNEL, (section_block(escape(NOT_IN_CHANNEL)),))
            await self._post_messages(client, payload["dm"], [note, *messages])

    async def _on_home_opened(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        if event.get("tab") != "home" or not isinstance(event.get("user"), str):
            return
        work = self._publish_home(context.client, str(context.team_id), event["user"])
        self.queue.spawn(logged(work, "App Home"))

    async def _publish_home(self, client: AsyncWebClient, workspace: str, user: str) -> None:
        view = home_view(await self.coach.home(MemberKey(PLATFORM, workspace, user)))
        await client.views_publish(user_id=user, view=view)

    async def _on_uninstalled(self, context: AsyncBoltContext) -> None:
        log.info("Slack: uninstalled from %s; the coaching data is kept", context.team_id)
        self._forget_workspace(str(context.team_id))
        if self.installations is not None:
            await AsyncTokenRevocationListeners(self.installations).handle_app_uninstalled_events(
                context
            )

    async def _on_tokens_revoked(self, event: dict[str, Any], context: AsyncBoltContext) -> None:
        self._forget_workspace(str(context.team_id))
        if self.installations is not None:
            await AsyncTokenRevocationListeners(self.installations).handle_tokens_revoked_events(
                event, context
            )


def pressed(body: dict[str, Any]) -> posts.Pressed:
    """The prompt a press in a DM was made on (its container is a message there)."""
    action = _action(body) or {}
    message = body.get("message") or {}
    label = str((action.get("text") or {}).get("text") or action.get("value"))
    return posts.Pressed(
        channel=str(body["container"]["channel_id"]),
        ts=str(body["container"]["message_ts"]),
        text=str(message.get("text") or ""),
        blocks=tuple(message.get("blocks") or ()),
        label=label,
        nav=str(action["action_id"]).startswith(NAV_ACTION),
    )


SLACK_DOOR: web.AppKey[SlackDoor] = web.AppKey("slack_door", SlackDoor)


def mount(
    app: web.Application, coach: Port, config: Config, *, oauth_db: str | None = None
) -> SlackDoor:
    """Open the Slack door on `app`: /slack/events, OAuth routes, Socket Mode.

    The caller registers the returned door's `sender` for proactive sends.
    """
    door = SlackDoor(coach, config, oauth_db=oauth_db)
    door.attach(app)
    return door
