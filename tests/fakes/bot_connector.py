"""A fake Bot Connector and a fake Microsoft Teams, over real HTTP on 127.0.0.1.

`FakeBotConnector` is the service a bot calls back (the activity's `serviceUrl`): it records
every call the bot makes (and on which connection), answers as the connector does, and can be
told to answer 429 (with Retry-After), 412, 502 or any status for the next calls. It also
hands out access tokens as Microsoft Entra does (at `login_url`). `TeamsService` plays
Microsoft Teams: it builds activities exactly as Teams sends them (personal chat, team
channel, group chat, card submits, installs) and posts them to the bot's `/api/messages`, with
the connector's URL as their `serviceUrl`.

    async with FakeBotConnector() as connector:
        teams = TeamsService(session, bot_url, connector)
        ann = Person("29:ann", "Ann Baker")
        await teams.say(ann, teams.personal_chat(ann), "start")
        intro, question = await connector.wait_for(Call.is_post, count=2)
        await teams.press(ann, teams.personal_chat(ann), question, "B2B")

Waiting is bounded (`timeout`), never a sleep: `wait_for` returns as soon as the calls are in.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from aiohttp import ClientSession, web

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """One request the bot made to the connector, and how the fake answered it."""

    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None  # from the URL: replied to (POST) or updated (PUT)
    body: Any
    headers: Mapping[str, str]
    status: int
    # The id the fake gave a posted activity (a card's id, for pressing its buttons later).
    id: str | None
    at: float  # time.perf_counter() on arrival
    # The bot's end of the TCP connection the call came on ("127.0.0.1:53412"): calls on one
    # kept-alive connection share it, a new connection has a new one.
    peer: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 300

    def is_post(self) -> bool:
        """A successfully sent activity (to the conversation, or in reply to an activity)."""
        return self.ok and self.method == "POST" and self.conversation_id is not None

    def is_update(self) -> bool:
        return self.ok and self.method == "PUT"

    @property
    def text(self) -> str:
        return str(self.body.get("text") or "") if isinstance(self.body, dict) else ""

    @property
    def card(self) -> JsonObject | None:
        """The first Adaptive Card attached, if any."""
        for attachment in (self.body or {}).get("attachments") or ():
            if attachment.get("contentType") == ADAPTIVE_CARD:
                content: JsonObject = attachment["content"]
                return content
        return None

    @property
    def card_texts(self) -> list[str]:
        """Every TextBlock and fact in the card, in order."""
        return list(_texts(self.card or {}))

    @property
    def everything(self) -> str:
        """The message text and all of its card's text, for assertions on what a user sees."""
        return "\n".join([self.text, *self.card_texts])

    @property
    def buttons(self) -> list[JsonObject]:
        """Every action of the card, in the order a user sees them."""
        return list(_actions(self.card or {}))

    def inputs(self) -> list[JsonObject]:
        """Every Input.ChoiceSet of the card."""
        return [e for e in _elements(self.card or {}) if e.get("type") == "Input.ChoiceSet"]

    def button(self, title: str) -> JsonObject:
        found = [b for b in self.buttons if b.get("title") == title]
        if not found:
            titles = [b.get("title") for b in self.buttons]
            raise AssertionError(f"no button {title!r} on this card; it has {titles}")
        return found[0]


def _texts(element: Any) -> Iterator[str]:
    if isinstance(element, dict):
        if element.get("type") == "TextBlock":
            yield str(element.get("text", ""))
        if element.get("type") == "RichTextBlock":
            yield "".join(str(run.get("text", "")) for run in element.get("inlines", ()))
        if element.get("type") == "FactSet":
            for fact in element.get("facts", ()):
                yield f"{fact['title']}: {fact['value']}"
        for key in ("body", "items", "columns"):
            for child in element.get(key, ()):
                yield from _texts(child)


def _elements(element: Any) -> Iterator[JsonObject]:
    if isinstance(element, dict):
        yield element
        for key in ("body", "items", "columns", "actions"):
            for child in element.get(key, ()):
                yield from _elements(child)


def _actions(element: Any) -> Iterator[JsonObject]:
    if isinstance(element, dict):
        if element.get("type", "").startswith("Action."):
            yield element
        for key in ("body", "items", "columns", "actions"):
            for child in element.get(key, ()):
                yield from _actions(child)


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: str | None
    method: str | None
    body: JsonObject


@dataclass(slots=True)
class FakeBotConnector:
    """The Bot Connector REST API (v3) as far as a bot uses it; records every call."""

    host: str = "127.0.0.1"
    calls: list[Call] = field(default_factory=list)
    # GET .../members answers from here: conversation (or team) id -> member objects.
    members: dict[str, list[JsonObject]] = field(default_factory=dict)
    _failures: list[_Failure] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # What the fake's token endpoint (Microsoft Entra's client-credentials grant) hands out.
    token: str = "fake-connector-token"
    _runner: web.AppRunner | None = None
    _port: int = 0
    _arrived: asyncio.Event | None = None

    @property
    def service_url(self) -> str:
        """What activities carry as `serviceUrl`, with the trailing slash Teams gives it."""
        return f"http://{self.host}:{self._port}/"

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: str | None = None,
        method: str | None = None,
        body: JsonObject | None = None,
    ) -> None:
        """Answer the next `times` calls (of `method`, if given) with `status` instead."""
        error = body or {"error": {"code": "Throttled" if status == 429 else str(status)}}
        self._failures += [_Failure(status, retry_after, method, error) for _ in range(times)]

    def posts(self, conversation_id: str | None = None) -> list[Call]:
        """Activities delivered, in order, to one conversation or to any."""
        return [
            c for c in self.calls if c.is_post() and conversation_id in (None, c.conversation_id)
        ]

    def updates(self) -> list[Call]:
        return [c for c in self.calls if c.is_update()]

    def token_requests(self) -> list[Call]:
        """Requests for an access token (`login_url` points the bot at this fake)."""
        return [c for c in self.calls if c.path.endswith("/oauth2/v2.0/token")]

    @property
    def login_url(self) -> str:
        """Where a bot asks for its tokens, in place of https://login.microsoftonline.com."""
        return f"http://{self.host}:{self._port}"

    async def wait_for(
        self,
        predicate: Callable[[Call], bool] = Call.is_post,
        *,
        count: int = 1,
        after: int = 0,
        timeout: float = 10.0,
    ) -> list[Call]:
        """The first `count` calls from index `after` that match, once they have arrived."""
        assert self._arrived is not None, "start the connector first"
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls[after:] if predicate(c)]
            if len(found) >= count:
                return found[:count]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                summary = "\n".join(f"  {c.method} {c.path} {c.status}" for c in self.calls)
                raise AssertionError(
                    f"waited {timeout}s for {count} matching call(s), got {len(found)};"
                    f" calls so far:\n{summary or '  none'}"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                continue

    # --- serving ---------------------------------------------------------------------------

    async def start(self) -> Self:
        self._arrived = asyncio.Event()
        app = web.Application()
        conversation = "/v3/conversations/{conversation}"
        activity = conversation + "/activities/{activity}"
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post(conversation + "/activities", self._post)
        app.router.add_post(activity, self._post)
        app.router.add_put(activity, self._update)
        app.router.add_delete(activity, self._delete)
        app.router.add_get(conversation + "/members", self._members)
        app.router.add_get(conversation + "/pagedmembers", self._paged_members)
        app.router.add_get(conversation + "/members/{member}", self._member)
        app.router.add_post("/{tenant}/oauth2/v2.0/token", self._token)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _record(
        self,
        request: web.Request,
        answer: Callable[[Any], tuple[int, Any]],
        *,
        form: bool = False,
    ) -> web.Response:
        at = time.perf_counter()
        if form:
            body: Any = dict(await request.post())
        else:
            body = await request.json() if request.can_read_body else None
        failure = next((f for f in self._failures if f.method in (None, request.method)), None)
        headers: dict[str, str] = {}
        if failure is not None:
            self._failures.remove(failure)
            status, payload = failure.status, failure.body
            if failure.retry_after is not None:
                headers["Retry-After"] = failure.retry_after
        else:
            status, payload = answer(body)
        self.calls.append(
            Call(
                method=request.method,
                path=request.path,
                conversation_id=request.match_info.get("conversation"),
                activity_id=request.match_info.get("activity"),
                body=body,
                headers=dict(request.headers),
                status=status,
                id=payload.get("id") if isinstance(payload, dict) and status < 300 else None,
                at=at,
                peer=_peer(request),
            )
        )
        assert self._arrived is not None
        self._arrived.set()
        return web.json_response(payload, status=status, headers=headers)

    def _new_id(self) -> str:
        return f"activity-{next(self._ids)}"

    async def _post(self, request: web.Request) -> web.Response:
        return await self._record(request, lambda body: (200, {"id": self._new_id()}))

    async def _update(self, request: web.Request) -> web.Response:
        return await self._record(request, lambda body: (200, {"id": body.get("id")}))

    async def _delete(self, request: web.Request) -> web.Response:
        return await self._record(request, lambda body: (200, {}))

    async def _create(self, request: web.Request) -> web.Response:
        def created(body: JsonObject) -> tuple[int, JsonObject]:
            number = next(self._ids)
            return 201, {"id": f"a:created-{number}", "activityId": f"activity-{number}"}

        return await self._record(request, created)

    async def _token(self, request: web.Request) -> web.Response:
        def granted(body: JsonObject) -> tuple[int, JsonObject]:
            if body.get("grant_type") != "client_credentials" or not body.get("client_secret"):
                return 400, {"error": "invalid_request"}
            return 200, {"token_type": "Bearer", "expires_in": 3599, "access_token": self.token}

        return await self._record(request, granted, form=True)

    async def _members(self, request: web.Request) -> web.Response:
        found = self.members.get(request.match_info["conversation"], [])
        return await self._record(request, lambda body: (200, found))

    async def _paged_members(self, request: web.Request) -> web.Response:
        found = self.members.get(request.match_info["conversation"], [])
        return await self._record(request, lambda body: (200, {"members": found}))

    async def _member(self, request: web.Request) -> web.Response:
        wanted = request.match_info["member"]
        found = [
            m for m in self.members.get(request.match_info["conversation"], []) if m["id"] == wanted
        ]
        return await self._record(
            request,
            lambda body: (200, found[0]) if found else (404, {"error": {"code": "NotFound"}}),
        )


def _peer(request: web.Request) -> str:
    found = request.transport.get_extra_info("peername") if request.transport else None
    return f"{found[0]}:{found[1]}" if found else ""


# --- the Teams side --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Person:
    """A Teams user (`29:...`) or the bot itself (`28:...`)."""

    id: str
    name: str
    aad_object_id: str = ""

    def account(self) -> JsonObject:
        account: JsonObject = {"id": self.id, "name": self.name}
        if self.aad_object_id:
            account["aadObjectId"] = self.aad_object_id
        return account


@dataclass(frozen=True, slots=True)
class Chat:
    """Where an activity happens, in Teams' terms."""

    conversation_id: str
    kind: Literal["personal", "channel", "groupChat"]
    team_id: str | None = None
    team_name: str | None = None
    name: str | None = None


BOT = Person("28:0b5e5a1c-4f8a-4c61-9d6e-coffeecoach", "Coffee Coach")


class TeamsService:
    """Microsoft Teams: sends a bot activities shaped exactly as Teams sends them."""

    def __init__(
        self,
        session: ClientSession,
        bot_url: str,
        connector: FakeBotConnector,
        *,
        tenant: str = TENANT,
        bot: Person = BOT,
        timezone: str = "Europe/London",
        settle: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.session = session
        # The bot answers the POST once the turn is stored and sends its replies after:
        # `settle` waits for them, as a member waits to read the answer before replying.
        self.settle = settle
        self.bot_url = bot_url
        self.connector = connector
        self.tenant = tenant
        self.bot = bot
        self.timezone = timezone
        # Teams' message ids are milliseconds since the epoch.
        self._ids = itertools.count(1_763_800_000_000)

    # --- places ------------------------------------------------------------------------------

    def personal_chat(self, user: Person) -> Chat:
        return Chat(f"a:1{user.id.removeprefix('29:')}", "personal")

    def channel(self, team_id: str, team_name: str | None = None) -> Chat:
        """The team's General channel, whose id is the team's id."""
        return Chat(team_id, "channel", team_id=team_id, team_name=team_name)

    def group_chat(self, chat_id: str, name: str | None = None) -> Chat:
        return Chat(chat_id, "groupChat", name=name)

    # --- activities ----------------------------------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def activity(self, kind: str, chat: Chat, sender: Person, **fields: Any) -> JsonObject:
        """The envelope every Teams activity shares."""
        conversation: JsonObject = {
            "conversationType": chat.kind,
            "tenantId": self.tenant,
            "id": chat.conversation_id,
        }
        channel_data: JsonObject = {"tenant": {"id": self.tenant}}
        if chat.kind != "personal":
            conversation["isGroup"] = True
        if chat.name:
            conversation["name"] = chat.name
        if chat.kind == "channel":
            channel_data |= {
                "teamsChannelId": chat.conversation_id.split(";")[0],
                "teamsTeamId": chat.team_id,
                "channel": {"id": chat.conversation_id.split(";")[0]},
                "team": {"id": chat.team_id} | ({"name": chat.team_name} if chat.team_name else {}),
            }
        return {
            "type": kind,
            "id": self.next_id(),
            "timestamp": "2026-11-23T09:00:00.000Z",
            "serviceUrl": self.connector.service_url,
            "channelId": "msteams",
            "from": sender.account(),
            "conversation": conversation,
            "recipient": self.bot.account(),
            "channelData": channel_data,
            "locale": "en-GB",
        } | fields

    def message(self, user: Person, chat: Chat, text: str, *, mention: bool = False) -> JsonObject:
        """A typed message; with `mention`, it starts with an @mention of the bot."""
        entities: list[JsonObject] = [
            {
                "type": "clientInfo",
                "locale": "en-GB",
                "country": "GB",
                "platform": "Web",
                "timezone": self.timezone,
            }
        ]
        if mention:
            tag = f"<at>{self.bot.name}</at>"
            text = f"{tag} {text}"
            entities.insert(0, {"type": "mention", "text": tag, "mentioned": self.bot.account()})
        activity = self.activity(
            "message",
            chat,
            user,
            text=text,
            textFormat="plain",
            localTimezone=self.timezone,
            entities=entities,
        )
        if chat.kind == "channel":
            # A new post in a channel starts a thread named after the post's own id.
            activity["conversation"]["id"] = f"{chat.conversation_id};messageid={activity['id']}"
        return activity

    def edit(self, message: JsonObject, text: str) -> JsonObject:
        """What Teams sends when the author edits `message`: its id again, with the new text."""
        channel_data = message["channelData"] | {"eventType": "editMessage"}
        return message | {"type": "messageUpdate", "text": text, "channelData": channel_data}

    def submit(
        self, user: Person, chat: Chat, card: Call, button: str, *, ticked: Sequence[str] = ()
    ) -> JsonObject:
        """What Teams sends when `user` presses `button` on the card the bot posted in `card`,
        with the choices of the values in `ticked` ticked in its multi-select inputs."""
        action = card.button(button)
        assert action["type"] == "Action.Submit", action
        value = dict(action["data"])
        # Action.Submit gathers the card's inputs: a multi-select's values, comma-separated.
        for picker in card.inputs():
            chosen = [c["value"] for c in picker["choices"] if c["value"] in ticked]
            if chosen:
                value[picker["id"]] = ",".join(chosen)
        return self.activity(
            "message",
            chat,
            user,
            replyToId=card.id,
            value=value,
            localTimezone=self.timezone,
            entities=[{"type": "clientInfo", "locale": "en-GB", "timezone": self.timezone}],
        )

    def members_added(self, chat: Chat, by: Person, added: list[Person]) -> JsonObject:
        activity = self.activity(
            "conversationUpdate",
            chat,
            by,
            membersAdded=[{"id": p.id} for p in added],
        )
        activity["id"] = f"f:{self.next_id()}"
        if chat.kind == "channel":
            activity["channelData"]["eventType"] = "teamMemberAdded"
        return activity

    def installation_update(self, chat: Chat, by: Person, action: str = "add") -> JsonObject:
        activity = self.activity("installationUpdate", chat, by, action=action)
        activity["id"] = f"f:{self.next_id()}"
        activity["channelData"]["source"] = {"name": "message"}
        return activity

    # --- sending -------------------------------------------------------------------------------

    async def post(self, activity: JsonObject, *, headers: Mapping[str, str] = {}) -> int:
        """Deliver one activity to the bot; the HTTP status it answered."""
        async with self.session.post(self.bot_url, json=activity, headers=headers) as response:
            await response.read()
        if self.settle is not None:
            await self.settle()
        return response.status

    async def exchange(self, activity: JsonObject, *, replies: int = 1) -> list[Call]:
        """Post an activity, wait for `replies` new messages from the bot; every new call."""
        mark = len(self.connector.calls)
        status = await self.post(activity)
        assert status == 200, f"the bot answered {status}"
        if replies:
            await self.connector.wait_for(count=replies, after=mark)
        return self.connector.calls[mark:]

    async def say(self, user: Person, chat: Chat, text: str, *, mention: bool = False) -> int:
        return await self.post(self.message(user, chat, text, mention=mention))

    async def press(self, user: Person, chat: Chat, card: Call, button: str) -> int:
        return await self.post(self.submit(user, chat, card, button))

    async def install(self, chat: Chat, by: Person) -> None:
        """What Teams sends for one install: the bot joins, then the installation update."""
        assert await self.post(self.members_added(chat, by, [self.bot])) == 200
        assert await self.post(self.installation_update(chat, by)) == 200
