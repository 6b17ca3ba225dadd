"""A small fake Slack for tests and benchmarks, over real HTTP on 127.0.0.1.

Two halves, one per direction:

- `FakeSlackAPI` is the Slack Web API the app calls (point `SLACK_API_URL` at `api.url`). It
  answers the methods Coffee Coach uses the way Slack does (`{"ok": ...}` bodies, `ts`
  values, `missing_scope`, `not_in_channel`, 429 with Retry-After), records every call, and
  lets a test wait for calls without sleeping. It also serves Socket Mode
  (`apps.connections.open` and a WebSocket) and OAuth (`oauth.v2.access`).
- `SlackDriver` is Slack calling the app: slash commands (form-encoded), Events API
  callbacks (JSON) and interactivity (`payload=`), signed exactly as Slack signs them.

    async with FakeSlackAPI(scopes=manifest_scopes) as api:
        slack = SlackDriver(session, signing_secret="s3cret", api=api)
        await slack.command("U1", "", channel="C1")
        [prompt] = await api.wait_for("chat.postMessage")
        await slack.press("U1", api.message(prompt), "B2B")

Supported methods: auth.test, conversations.open, chat.postMessage, chat.update,
chat.postEphemeral, views.publish, users.info, files.getUploadURLExternal (plus the upload
URL it returns), files.completeUploadExternal, oauth.v2.access, apps.connections.open.
Any other method answers `unknown_method`, so an unexpected call fails loudly.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import yaml
from aiohttp import web
from aiohttp.test_utils import TestClient

TEAM = "T0001"
BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
BOT_USER = "UCOFFEEBOT"
BOT_ID = "BCOFFEE"
APP_ID = "ACOFFEE"

# The bot scope each method needs (Slack's method reference). Methods that need none, or an
# app-level token or client credentials instead, map to None.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "conversations.open": "im:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.postEphemeral": "chat:write",
    "views.publish": None,
    "users.info": "users:read",
    "conversations.info": "channels:read",
    "conversations.members": "mpim:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "oauth.v2.access": None,
    "apps.connections.open": None,
}


def manifest_scopes(path: str | Path = "manifest.yml") -> list[str]:
    """The bot scopes manifest.yml declares: grant exactly these to make the fake strict."""
    manifest = yaml.safe_load(Path(path).read_text())
    return list(manifest["oauth_config"]["scopes"]["bot"])


def dm_channel(user: str) -> str:
    """The id of the direct-message channel between the bot and `user`, as the fake opens it."""
    return "D" + user


@dataclass(frozen=True, slots=True)
class Call:
    """One Web API call as the fake received it."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int
    # What the fake answered, and time.perf_counter() at arrival (for benchmarks).
    result: dict[str, Any]
    at: float
    # Answered as arranged by rate_limit_once or fail_once rather than by the method.
    injected: bool = False

    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def view(self) -> dict[str, Any]:
        view = self.args["view"]
        return json.loads(view) if isinstance(view, str) else dict(view)

    def rendered(self) -> str:
        """Everything a person would read in this call: its text and its blocks, as JSON."""
        return json.dumps(
            {k: self.args.get(k) for k in ("text", "blocks", "view", "initial_comment")},
            ensure_ascii=False,
        )


@dataclass(slots=True)
class Message:
    """A message the bot posted, as it stands now (after any chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]

    def buttons(self) -> list[dict[str, Any]]:
        return [
            element | {"block_id": block.get("block_id")}
            for block in self.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
            if element.get("type") == "button"
        ]

    def labels(self) -> list[str]:
        return [button["text"]["text"] for button in self.buttons()]


@dataclass(slots=True)
class Workspace:
    team: str
    bot_user: str
    bot_id: str


@dataclass(slots=True)
class _Override:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlackAPI:
    """The Slack Web API on 127.0.0.1: answers, records, and can misbehave on request."""

    def __init__(
        self,
        *,
        scopes: Iterable[str] | None = None,
        public_channels: Iterable[str] = (),
    ) -> None:
        # None grants every scope; a set makes the fake answer `missing_scope` like Slack.
        self.scopes = None if scopes is None else frozenset(scopes)
        # Channels the bot was never invited to: public ones accept posts only with
        # chat:write.public; any other channel not listed is one the bot is in.
        self.public_channels = set(public_channels)
        self.channels: dict[str, dict[str, Any]] = {}
        self.private_channels: set[str] = set()
        self.tokens: dict[str, Workspace] = {BOT_TOKEN: Workspace(TEAM, BOT_USER, BOT_ID)}
        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self._accepted: dict[str, list[Call]] = {}
        # Accepted chat.postMessage calls per channel, and who waits for how many: a load
        # of hundreds of members each waiting on its own channel, without rescanning.
        self._posts_to: dict[str, int] = {}
        self._post_waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}
        self.messages: dict[tuple[str, str], Message] = {}
        self.uploads: dict[str, bytes] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._overrides: dict[str, list[_Override]] = {}
        self._refusals: dict[str, str] = {}
        self._holds: dict[str, asyncio.Event] = {}
        # Errors a test provokes on purpose (say "not_in_channel"), left out of errors().
        self.expected_errors: set[str] = set()
        self._changed = asyncio.Condition()
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_acks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.root = f"http://127.0.0.1:{port}/"
        self.url = self.root + "api/"
        return self.url

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSlackAPI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- arranging --------------------------------------------------------------------------

    def add_user(
        self,
        user: str,
        name: str,
        *,
        tz: str = "Europe/London",
        is_admin: bool = False,
        team: str = TEAM,
    ) -> None:
        self.users[user] = {
            "id": user,
            "team_id": team,
            "name": name.casefold().replace(" ", "."),
            "real_name": name,
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": False,
            "profile": {"display_name": name, "real_name": name},
        }

    def add_channel(
        self, channel: str, name: str, *, members: Iterable[str] = (), mpim: bool = False
    ) -> None:
        """A channel (or, with `mpim`, a group DM) that conversations.info and .members know."""
        self.channels[channel] = {
            "id": channel,
            "name": name,
            "is_channel": not mpim,
            "is_mpim": mpim,
            "members": list(members),
        }

    def rate_limit_once(self, method: str, *, retry_after: int = 0) -> None:
        """The next call to `method` gets 429 Too Many Requests with this Retry-After."""
        self._overrides.setdefault(method, []).append(
            _Override(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)})
        )

    def fail_once(self, method: str, error: str) -> None:
        """The next call to `method` answers `{"ok": false, "error": error}`."""
        self._overrides.setdefault(method, []).append(_Override(200, {"ok": False, "error": error}))

    def refuse(self, method: str, error: str = "internal_error") -> None:
        """Every call to `method` answers `{"ok": false, "error": error}` until `accept`."""
        self._refusals[method] = error

    def accept(self, method: str) -> None:
        self._refusals.pop(method, None)

    def hold(self, method: str) -> asyncio.Event:
        """Calls to `method` wait for the returned event to be set before they are answered."""
        gate = self._holds[method] = asyncio.Event()
        return gate

    # --- inspecting -------------------------------------------------------------------------

    def sent(self, method: str, *, channel: str | None = None) -> list[Call]:
        """Calls to `method` that Slack accepted (to one channel, if given), oldest first."""
        accepted = self._accepted.get(method, [])
        return [c for c in accepted if channel is None or _channel_of(c) == channel]

    def forget(self) -> None:
        """Drop the calls and messages recorded so far: a benchmark's waves would otherwise
        grow the heap wave after wave, and the full collections that brings land mid-wave."""
        self.calls.clear()
        self._accepted.clear()
        self.messages.clear()

    def errors(self) -> list[Call]:
        """Calls the fake refused on its own (missing scope, bad arguments, unknown method)."""
        return [
            c
            for c in self.calls
            if not c.injected
            and not c.result.get("ok")
            and c.result.get("error") not in self.expected_errors
        ]

    def message(self, call: Call) -> Message:
        """The message a chat.postMessage call created, as it stands now."""
        return self.messages[(str(call.result["channel"]), str(call.result["ts"]))]

    def conversation(self, channel: str) -> list[Message]:
        """The bot's messages in one channel, oldest first."""
        return [m for (c, _), m in sorted(self.messages.items()) if c == channel]

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 5.0,
    ) -> list[Call]:
        """Wait until `count` successful calls to `method` (matching `where`) were received."""

        def matching() -> list[Call]:
            return [c for c in self.sent(method) if where is None or where(c)]

        def done() -> bool:
            # Cheap when there is no filter: benchmarks wait on hundreds of calls.
            if where is None:
                return len(self._accepted.get(method, ())) >= count
            return len(matching()) >= count

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(done), timeout)
        return matching()

    # --- the Web API ------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        method = request.match_info["method"]
        args = await _arguments(request)
        token = _credentials(request, args)
        if (gate := self._holds.get(method)) is not None:
            await gate.wait()
        override = self._take_override(method)
        if override is not None:
            status, body, headers = override.status, override.body, override.headers
        else:
            status, headers = 200, {}
            body = self._answer(method, args, token)
        call = Call(method, args, token, status, body, arrived, injected=override is not None)
        await self._record(call)
        return web.json_response(body, status=status, headers=headers)

    def _take_override(self, method: str) -> _Override | None:
        queued = self._overrides.get(method)
        if queued:
            return queued.pop(0)
        if method in self._refusals:
            return _Override(200, {"ok": False, "error": self._refusals[method]})
        return None

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            if call.status == 200 and call.result.get("ok"):
                self._accepted.setdefault(call.method, []).append(call)
                if call.method == "chat.postMessage":
                    self._count_post(_channel_of(call))
            self._changed.notify_all()

    def _count_post(self, channel: str) -> None:
        count = self._posts_to[channel] = self._posts_to.get(channel, 0) + 1
        waiting = self._post_waiters.get(channel, [])
        for wanted, future in [w for w in waiting if w[0] <= count]:
            waiting.remove((wanted, future))
            if not future.done():
                future.set_result(None)

    def posts_to(self, channel: str) -> int:
        """How many messages Slack accepted in `channel`."""
        return self._posts_to.get(channel, 0)

    async def wait_for_posts(self, channel: str, count: int, *, timeout: float = 5.0) -> None:
        """Wait until `count` messages were accepted in `channel` (cheap with many waiters)."""
        if self.posts_to(channel) >= count:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._post_waiters.setdefault(channel, []).append((count, future))
        await asyncio.wait_for(future, timeout)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method not in METHOD_SCOPES:
            return {"ok": False, "error": "unknown_method"}
        if method == "oauth.v2.access":
            return self._oauth_access(args)
        if method == "apps.connections.open":
            if not (token or "").startswith("xapp-"):
                return {"ok": False, "error": "invalid_auth"}
            return {"ok": True, "url": self.root.replace("http", "ws", 1) + "socket"}
        workspace = self.tokens.get(token or "")
        if workspace is None:
            return {"ok": False, "error": "invalid_auth"}
        needed = METHOD_SCOPES[method]
        if needed is not None and self.scopes is not None and needed not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": needed}
        handler: Callable[[dict[str, Any], Workspace], dict[str, Any]] = getattr(
            self, "_" + method.replace(".", "_")
        )
        return handler(args, workspace)

    def _auth_test(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake Team",
            "user": "coffeecoach",
            "team_id": ws.team,
            "user_id": ws.bot_user,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users or "," in users:
            return {"ok": False, "error": "users_list_not_supplied"}
        return {"ok": True, "channel": {"id": dm_channel(users)}}

    def _can_post(self, channel: str) -> str | None:
        if not channel:
            return "channel_not_found"
        if channel in self.private_channels:
            return "not_in_channel"
        if channel in self.public_channels and not self._granted("chat:write.public"):
            return "not_in_channel"
        return None

    def _granted(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes

    def _chat_postMessage(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if channel.startswith("U"):
            channel = dm_channel(channel)
        if error := self._can_post(channel):
            return {"ok": False, "error": error}
        if not args.get("text") and not args.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        blocks = _json(args.get("blocks")) or []
        self.messages[(channel, ts)] = Message(channel, ts, str(args.get("text", "")), blocks)
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {
                "type": "message",
                "text": args.get("text", ""),
                "blocks": blocks,
                "ts": ts,
                "user": ws.bot_user,
                "bot_id": ws.bot_id,
            },
        }

    def _chat_update(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        key = (str(args.get("channel", "")), str(args.get("ts", "")))
        message = self.messages.get(key)
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if "text" in args:
            message.text = str(args["text"])
        if "blocks" in args:
            message.blocks = _json(args["blocks"]) or []
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message.text}

    def _chat_postEphemeral(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        channel = str(args.get("channel", ""))
        if not args.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        if error := self._can_post(channel):
            return {"ok": False, "error": error}
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_publish(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        view = _json(args.get("view"))
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        self.views[str(args.get("user_id"))] = view
        return {"ok": True, "view": {"id": "V" + str(args.get("user_id")), **view}}

    def _users_info(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        user = str(args.get("user", ""))
        if user not in self.users:
            self.add_user(user, f"Member {user}", team=ws.team)
            self.users[user]["is_bot"] = user == BOT_USER
        return {"ok": True, "user": self.users[user]}

    def _conversations_info(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        found = self.channels.get(str(args.get("channel", "")))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {k: v for k, v in found.items() if k != "members"}}

    def _conversations_members(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        found = self.channels.get(str(args.get("channel", "")))
        if found is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "members": found["members"], "response_metadata": {"next_cursor": ""}}

    def _files_getUploadURLExternal(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        if not args.get("filename") or not args.get("length"):
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._files):05d}"
        return {"ok": True, "upload_url": f"{self.root}upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any], ws: Workspace) -> dict[str, Any]:
        files = _json(args.get("files")) or []
        missing = [f["id"] for f in files if f.get("id") not in self.uploads]
        if missing or not files:
            return {"ok": False, "error": "file_not_found"}
        channel = str(args.get("channel_id", ""))
        if channel and (error := self._can_post(channel)):
            return {"ok": False, "error": error}
        return {
            "ok": True,
            "files": [
                {"id": f["id"], "title": f.get("title"), "channels": [channel]} for f in files
            ],
        }

    def _oauth_access(self, args: dict[str, Any]) -> dict[str, Any]:
        code = str(args.get("code", ""))
        if not code or not args.get("client_id") or not args.get("client_secret"):
            return {"ok": False, "error": "invalid_code"}
        # The code names the workspace being installed: "code-T0002" installs into T0002.
        team = code.removeprefix("code-")
        token = f"xoxb-{team}-installed"
        self.tokens[token] = Workspace(team, f"UBOT{team}", f"BBOT{team}")
        return {
            "ok": True,
            "app_id": APP_ID,
            "authed_user": {"id": "UINSTALLER"},
            "scope": ",".join(sorted(self.scopes or ())),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": f"UBOT{team}",
            "team": {"id": team, "name": f"Workspace {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            data = await part.read() if isinstance(part, aiohttp.BodyPartReader) else b""
        self.uploads[file_id] = data
        return web.Response(text=f"OK - {len(data)}")

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    # --- Socket Mode --------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP_ID}}
        )
        async with self._changed:
            self._changed.notify_all()
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                ack = json.loads(frame.data)
                waiter = self._socket_acks.pop(ack.get("envelope_id", ""), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(ack)
        self._sockets.remove(ws)
        return ws

    async def socket_connected(self, timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: bool(self._sockets)), timeout)

    async def socket_send(
        self, kind: str, payload: Mapping[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Push one envelope ("slash_commands", "events_api", "interactive") and await its ack."""
        envelope_id = str(uuid.uuid4())
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._socket_acks[envelope_id] = waiter
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": dict(payload),
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        return await asyncio.wait_for(waiter, timeout)


# --- Slack calling the app ------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to a request: v0 HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + digest.hexdigest()}


class SlackDriver:
    """Slack's side of the HTTP door: signed slash commands, events and button presses.

    `session` is a pytest-aiohttp test client (paths are relative to the app) or a plain
    `aiohttp.ClientSession` with a full `url`.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | TestClient[web.Request, web.Application],
        *,
        signing_secret: str,
        url: str = "/slack/events",
        team: str = TEAM,
        api: FakeSlackAPI | None = None,
        same_slack_as: SlackDriver | None = None,
    ) -> None:
        """`same_slack_as`: another driver of the same Slack (to another server behind the
        same load balancer), whose event ids, timestamps and triggers this one continues."""
        self.session = session
        self.secret = signing_secret
        self.url = url
        self.team = team
        self.api = api
        self._events: Iterator[int]
        self._ts: Iterator[int]
        self._triggers: Iterator[int]
        if same_slack_as is not None:
            self._events = same_slack_as._events
            self._ts = same_slack_as._ts
            self._triggers = same_slack_as._triggers
        else:
            self._events = itertools.count(1)
            self._ts = itertools.count(1)
            self._triggers = itertools.count(1)

    async def post(
        self,
        body: bytes,
        content_type: str,
        *,
        headers: Mapping[str, str] | None = None,
        timestamp: int | None = None,
    ) -> aiohttp.ClientResponse:
        """POST a body signed as Slack would sign it (extra `headers` override the signature)."""
        sent = {"Content-Type": content_type, **sign(self.secret, body, timestamp)}
        sent.update(headers or {})
        async with self.session.post(self.url, data=body, headers=sent) as response:
            await response.read()
            return response

    def command_body(
        self,
        user: str,
        text: str = "",
        *,
        channel: str = "C0001",
        channel_name: str = "marketing",
        command: str = "/coffee",
    ) -> str:
        """A slash command's form body, as Slack posts it (and as Socket Mode's payload)."""
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": self.team,
                "team_domain": "fake",
                "channel_id": channel,
                "channel_name": channel_name,
                "user_id": user,
                "user_name": user.casefold(),
                "command": command,
                "text": text,
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": "https://hooks.slack.test/commands/1",
                "trigger_id": f"{next(self._triggers)}.trigger",
            }
        )

    async def command(self, user: str, text: str = "", **where: str) -> aiohttp.ClientResponse:
        """The member types `/coffee text` (in `channel`, "C0001" unless given)."""
        body = self.command_body(user, text, **where).encode()
        return await self.post(body, "application/x-www-form-urlencoded")

    def event_body(self, event: Mapping[str, Any], *, event_id: str | None = None) -> bytes:
        return json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": self.team,
                "api_app_id": APP_ID,
                "event": dict(event),
                "type": "event_callback",
                "event_id": event_id or f"Ev{next(self._events):08d}",
                "event_time": int(time.time()),
                "authorizations": [
                    {
                        "enterprise_id": None,
                        "team_id": self.team,
                        "user_id": BOT_USER,
                        "is_bot": True,
                        "is_enterprise_install": False,
                    }
                ],
                "is_ext_shared_channel": False,
            }
        ).encode()

    async def event(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str | None = None,
        retry: int | None = None,
    ) -> aiohttp.ClientResponse:
        headers = {}
        if retry is not None:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        body = self.event_body(event, event_id=event_id)
        return await self.post(body, "application/json", headers=headers)

    def next_ts(self) -> str:
        return f"1800000000.{next(self._ts):06d}"

    def dm_event(self, user: str, text: str, *, ts: str | None = None) -> dict[str, Any]:
        """A message.im event: the member typed `text` in their DM with the app."""
        ts = ts or self.next_ts()
        return {
            "type": "message",
            "channel": dm_channel(user),
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "client_msg_id": str(uuid.uuid4()),
            "team": self.team,
        }

    async def message(
        self,
        user: str,
        text: str,
        *,
        ts: str | None = None,
        event_id: str | None = None,
        retry: int | None = None,
    ) -> aiohttp.ClientResponse:
        """The member types `text` in their DM with the app."""
        return await self.event(self.dm_event(user, text, ts=ts), event_id=event_id, retry=retry)

    async def edit(
        self, user: str, ts: str, text: str, *, before: str = ""
    ) -> aiohttp.ClientResponse:
        """The member edits their DM message `ts` to say `text` (a message_changed event)."""
        now = self.next_ts()
        event = {
            "type": "message",
            "subtype": "message_changed",
            "channel": dm_channel(user),
            "channel_type": "im",
            "hidden": True,
            "ts": now,
            "event_ts": now,
            "message": {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts,
                "edited": {"user": user, "ts": now},
            },
            "previous_message": {"type": "message", "user": user, "text": before, "ts": ts},
        }
        return await self.event(event)

    async def press(self, user: str, message: Message, label: str) -> aiohttp.ClientResponse:
        """The member clicks the button labelled `label` on a message the bot posted."""
        return await self.interact(self.press_payload(user, message, label))

    def press_payload(self, user: str, message: Message, label: str) -> dict[str, Any]:
        """The block_actions payload of a click on the button labelled `label`."""
        [button] = [b for b in message.buttons() if b["text"]["text"] == label]
        return {
            "type": "block_actions",
            "user": {"id": user, "username": user.casefold(), "team_id": self.team},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"{next(self._triggers)}.trigger",
            "team": {"id": self.team, "domain": "fake"},
            "channel": {"id": message.channel, "name": "directmessage"},
            "message": {
                "type": "message",
                "ts": message.ts,
                "text": message.text,
                "blocks": message.blocks,
                "user": BOT_USER,
                "bot_id": BOT_ID,
            },
            "response_url": "https://hooks.slack.test/actions/1",
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": button["block_id"],
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }

    async def press_home(self, user: str, label: str) -> aiohttp.ClientResponse:
        """The member clicks a button on their App Home tab, as last published."""
        assert self.api is not None, "press_home needs the FakeSlackAPI"
        view = self.api.views[user]
        [(block, button)] = [
            (block, element)
            for block in view["blocks"]
            if block.get("type") == "actions"
            for element in block["elements"]
            if element["text"]["text"] == label
        ]
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.casefold(), "team_id": self.team},
            "api_app_id": APP_ID,
            "container": {"type": "view", "view_id": "V" + user},
            "trigger_id": f"{next(self._triggers)}.trigger",
            "team": {"id": self.team, "domain": "fake"},
            "view": {"id": "V" + user, "type": "home", **view},
            "actions": [
                {
                    "type": "button",
                    "action_id": button["action_id"],
                    "block_id": block.get("block_id", ""),
                    "text": button["text"],
                    "value": button.get("value", ""),
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.interact(payload)

    async def interact(self, payload: Mapping[str, Any]) -> aiohttp.ClientResponse:
        body = urlencode({"payload": json.dumps(dict(payload))}).encode()
        return await self.post(body, "application/x-www-form-urlencoded")

    async def open_home(self, user: str) -> aiohttp.ClientResponse:
        now = self.next_ts()
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel(user),
            "tab": "home",
            "event_ts": now,
        }
        return await self.event(event)


# --- helpers ----------------------------------------------------------------------------------


async def _arguments(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            args.update(body)
    elif request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if isinstance(part, aiohttp.BodyPartReader) and part.name:
                args[part.name] = await part.text()
    else:
        args.update(parse_qsl((await request.read()).decode(), keep_blank_values=True))
    return args


def _credentials(request: web.Request, args: dict[str, Any]) -> str | None:
    """The call's token; HTTP Basic client credentials (oauth.v2.access) go into `args`."""
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth.removeprefix("Bearer ")
    if auth.startswith("Basic "):
        client_id, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        args.setdefault("client_id", client_id)
        args.setdefault("client_secret", secret)
        return None
    token = args.get("token")
    return str(token) if token else None


def _channel_of(call: Call) -> str:
    channel = str(call.args.get("channel") or call.args.get("channel_id") or "")
    return dm_channel(channel) if channel.startswith("U") else channel


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) and value else value
