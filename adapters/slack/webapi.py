"""The Slack Web API calls the door makes: posts, ephemerals, DMs and profiles, and the Sender.

Every call happens after the ack, in order per channel (`ChannelQueue`) and paced.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_cacheable_installation_store import (
    AsyncCacheableInstallationStore,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.blocks import SlackMessage, Upload, messages_for
from adapters.slack.names import DEFAULT_API_URL, PLATFORM, UNDELIVERABLE
from adapters.slack.payloads import Profile, unnamed
from adapters.slack.posts import Encoded
from adapters.slack.queue import logged
from bot.caches import LruCache
from bot.config import Config
from bot.messages import Incoming, MemberKey, Outgoing, Reply, Undeliverable
from bot.outbox import ChannelQueue
from bot.pacing import ConversationPacer
from bot.port import Port
from bot.render import joined_names

log = logging.getLogger("coffee_coach.slack")
CACHED_MEMBERS = 10_000


async def web_call(client: AsyncWebClient, method: str, **args: Any) -> None:
    """One Web API call with a JSON body, straight through the client's session.

    What the SDK client's call does for a turn's post, without its per-call machinery
    (about 60 µs on the loop of some 240): an answer that is not ok raises the SDK's own
    `SlackApiError` (an ok one is taken as it is, without building the SDK's response or
    decoding the message it echoes). A rate limit (after its Retry-After), a broken
    connection or an answer that is not JSON is handed to the SDK client, whose retry
    handlers take it from there.
    """
    await _call(client, method, args, None)


async def web_post(client: AsyncWebClient, method: str, body: Encoded) -> None:
    """`web_call` with its JSON body encoded already (a turn's post, as it was rendered)."""
    await _call(client, method, None, body.body)


async def _call(
    client: AsyncWebClient, method: str, args: dict[str, Any] | None, body: str | None
) -> None:
    session = client.session
    if session is None or session.closed or not client.token:
        await client.api_call(method, json=_arguments(args, body))
        return
    url = client.base_url + method
    headers, timeout = _call_settings(client.token, client.timeout)
    if body is None:
        sending = session.post(url, json=args, headers=headers, timeout=timeout)
    else:
        sending = session.post(url, data=body.encode(), headers=headers, timeout=timeout)
    wait = 0.0
    try:
        async with sending as response:
            if response.status == 429:
                stated = response.headers.get("Retry-After", "1")
                wait = float(stated) if stated.isascii() and stated.isdigit() else 1.0
            else:
                raw = await response.read()
                if response.status == 200 and raw.startswith(_OK):
                    return
                data = json.loads(raw) if raw.strip() else {}
                if response.status == 200 and isinstance(data, dict) and data.get("ok") is True:
                    return
                answer = AsyncSlackResponse(
                    client=client,
                    http_verb="POST",
                    api_url=url,
                    req_args={"json": _arguments(args, body)},
                    data=data,
                    headers=dict(response.headers),
                    status_code=response.status,
                )
                answer.validate()  # type: ignore[no-untyped-call]  # raises SlackApiError
                return
    except (aiohttp.ClientConnectionError, TimeoutError, ValueError):
        pass
    await asyncio.sleep(wait)
    await client.api_call(method, json=_arguments(args, body))


def _arguments(args: dict[str, Any] | None, body: str | None) -> dict[str, Any]:
    """The call's arguments, for the SDK client (which encodes them itself)."""
    if args is not None:
        return args
    decoded: dict[str, Any] = json.loads(body or "{}")
    return decoded


_JSON_UTF8 = "application/json; charset=utf-8"
# How an ok answer begins (Slack's, compact; a fake's, with a space). The rest of it, the
# posted message with its blocks, is not needed: not decoding it saves a tenth of a call.
_OK = (b'{"ok":true', b'{"ok": true')


@functools.lru_cache(maxsize=64)
def _call_settings(token: str, timeout_s: int) -> tuple[dict[str, str], aiohttp.ClientTimeout]:
    """A token's headers and the client's timeout, made once rather than for every call."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": _JSON_UTF8}
    return headers, aiohttp.ClientTimeout(total=timeout_s)


class SlackWebApi:
    """The door's side that talks to Slack: its client, its caches, and the proactive `Sender`."""

    def __init__(self, coach: Port, config: Config, pacer: ConversationPacer | None) -> None:
        self.coach = coach
        self.config = config
        # About one post per second per channel, Slack's limit for chat.postMessage.
        self.pacer = pacer or ConversationPacer(rate=1, per_s=1.0)
        self.queue = ChannelQueue()
        # One entry per member seen: bounded, so memory stays flat however many come by
        # (about 0.6 KiB an entry); an entry dropped is looked up again when needed.
        self._dms: LruCache[tuple[str, str], str] = LruCache(CACHED_MEMBERS)
        self._profiles: LruCache[tuple[str, str], Profile] = LruCache(CACHED_MEMBERS)
        # Channel names (for `<#C...>` in answers) and group DMs' names (their members').
        self._channels: LruCache[tuple[str, str], str] = LruCache(CACHED_MEMBERS)
        base_url = config.slack_api_url or DEFAULT_API_URL
        self.client = AsyncWebClient(
            token=None if self.multi_workspace else config.slack_bot_token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.installations: AsyncCacheableInstallationStore | None = None

    @property
    def multi_workspace(self) -> bool:
        return bool(self.config.slack_client_id and self.config.slack_client_secret)

    def _forget_workspace(self, workspace: str) -> None:
        for cache in (self._dms, self._profiles, self._channels):
            for key in [k for k in cache if k[0] == workspace]:
                del cache[key]

    # --- Web API --------------------------------------------------------------------------

    async def _post(self, client: AsyncWebClient, channel: str, replies: Sequence[Reply]) -> None:
        await self._post_messages(client, channel, messages_for(replies))

    async def _post_messages(
        self,
        client: AsyncWebClient,
        channel: str,
        messages: Sequence[SlackMessage | Upload | Encoded],
    ) -> None:
        for item in messages:
            if isinstance(item, Upload):
                await client.files_upload_v2(
                    channel=channel,
                    filename=item.file.name,
                    title=item.file.name,
                    content=item.file.content,
                    initial_comment=item.comment or None,
                )
                continue
            await self.pacer.wait(channel)
            if isinstance(item, Encoded):
                await web_post(client, "chat.postMessage", item)
                continue
            await web_call(
                client, "chat.postMessage", channel=channel, text=item.text, blocks=item.blocks
            )

    async def _ephemeral(
        self,
        client: AsyncWebClient,
        channel: str,
        user: str,
        messages: Sequence[SlackMessage | Upload | Encoded],
    ) -> None:
        for item in messages:
            if isinstance(item, SlackMessage):
                await client.chat_postEphemeral(
                    channel=channel, user=user, text=item.text, blocks=list(item.blocks)
                )

    async def _dm(self, client: AsyncWebClient, workspace: str, user: str) -> str:
        """The member's DM channel with the app: remembered, stored, or opened now."""
        known = await self._known_dm(workspace, user)
        if known is None:
            response = await client.conversations_open(users=user)
            known = str(response["channel"]["id"])
            self._dms[(workspace, user)] = known
        return known

    async def _known_dm(self, workspace: str, user: str) -> str | None:
        known = self._dms.get((workspace, user))
        if known is None:
            stored = await self.coach.known_address(MemberKey(PLATFORM, workspace, user))
            if stored:
                known = self._dms[(workspace, user)] = stored
        return known

    async def _profile(self, client: AsyncWebClient, workspace: str, user: str) -> Profile:
        profile = self._profiles.get((workspace, user))
        if profile is not None:
            return profile
        try:
            info = (await client.users_info(user=user))["user"]
        except SlackApiError as error:
            log.warning("Slack: users.info %s failed: %s", user, error.response.get("error"))
            return Profile()
        names = info.get("profile") or {}
        profile = Profile(
            name=names.get("display_name") or info.get("real_name") or info.get("name"),
            timezone=info.get("tz"),
            is_admin=bool(info.get("is_admin") or info.get("is_owner")),
            is_bot=bool(info.get("is_bot")),
        )
        self._profiles[(workspace, user)] = profile
        return profile

    async def _channel_name(
        self, client: AsyncWebClient, workspace: str, channel: str
    ) -> str | None:
        name = self._channels.get((workspace, channel))
        if name is not None:
            return name
        try:
            info = (await client.conversations_info(channel=channel))["channel"]
        except SlackApiError as error:
            log.warning(
                "Slack: conversations.info %s failed: %s", channel, error.response.get("error")
            )
            return None
        name = str(info.get("name") or "") or None
        if name:
            self._channels[(workspace, channel)] = name
        return name

    async def _group_name(self, client: AsyncWebClient, workspace: str, channel: str) -> str | None:
        """A group DM by the names people know it by: its members', the app's left out."""
        name = self._channels.get((workspace, channel))
        if name is not None:
            return name
        try:
            members = (await client.conversations_members(channel=channel))["members"]
        except SlackApiError as error:
            log.warning(
                "Slack: conversations.members %s failed: %s", channel, error.response.get("error")
            )
            return None
        names = []
        for user in members:
            profile = await self._profile(client, workspace, str(user))
            if profile.name and not profile.is_bot:
                names.append(profile.name)
        if not names:
            return None
        name = joined_names(names)
        self._channels[(workspace, channel)] = name
        return name

    async def _names(
        self, client: AsyncWebClient, workspace: str, text: str
    ) -> dict[tuple[str, str], str]:
        """Names for the unnamed mentions and channel links in a member's text."""
        names: dict[tuple[str, str], str] = {}
        for sigil, target in unnamed(text):
            if sigil == "@":
                found = (await self._profile(client, workspace, target)).name
            else:
                found = await self._channel_name(client, workspace, target)
            if found:
                names[(sigil, target)] = found
        return names

    def _cached_profile(self, client: AsyncWebClient, incoming: Incoming) -> Profile:
        """The member's profile if known; otherwise fetched for next time, not waited for."""
        key = (incoming.key.workspace, incoming.key.user)
        profile = self._profiles.get(key)
        if profile is None:
            self.queue.spawn(logged(self._profile(client, *key), "users.info"))
            return Profile()
        return profile

    # --- Sender ---------------------------------------------------------------------------

    def messages(self, outgoing: Outgoing) -> int:
        """A check-in's replies are packed into as few posts as Slack allows."""
        return len(messages_for(outgoing.replies))

    async def send(self, outgoing: Outgoing) -> None:
        """Post the coach's own messages to a stored address, in order and paced.

        Multi-workspace installs need `outgoing.key` to pick the workspace's bot token.
        Raises `Undeliverable` when Slack's answer cannot change on a retry (the channel is
        gone, the bot was removed, the member deactivated), and the Web API's error otherwise,
        so the scheduler can record it and try again.
        """
        client = await self._client_for(outgoing.key)
        channel = outgoing.address
        try:
            await self.queue.submit(channel, lambda: self._post(client, channel, outgoing.replies))
        except SlackApiError as error:
            code = error.response.get("error")
            if code in UNDELIVERABLE:
                raise Undeliverable(f"Slack answered {code} for {channel}") from error
            raise

    async def _client_for(self, key: MemberKey | None) -> AsyncWebClient:
        if self.installations is None:
            return self.client
        if key is None:
            raise ValueError("a multi-workspace Slack send needs Outgoing.key")
        bot = await self.installations.async_find_bot(enterprise_id=None, team_id=key.workspace)
        if bot is None:
            # Uninstalling deletes the workspace's installation: nobody is left to send as.
            raise Undeliverable(f"Coffee Coach is not installed in Slack workspace {key.workspace}")
        return AsyncWebClient(
            token=bot.bot_token,
            base_url=self.client.base_url,
            session=self.client.session,
            retry_handlers=list(self.client.retry_handlers),
        )
