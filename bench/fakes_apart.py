"""The fake platforms in a process of their own, for `bench.slack_latency` (the Slack
Web API) and `bench.scheduler` (that and the Bot Connector).

In the benchmark's own process a fake would share the event loop with the servers it
measures: every chat.postMessage and chat.update would be charged, parsed and answered on
that loop (about 380 µs a call on the development machine), work that Slack's servers do,
not the app's. The floor makes one call per answer and a press two, so the shared fake
would also weigh on the two unequally. Here the fake (`tests/fakes/slack_api.FakeSlackAPI`
unchanged) answers from a child process; the benchmark reads what it received through a
small control API beside it:

- `POST /forget`: drop what was recorded, keeping each channel's latest message (the next
  press is made on it), so the child's heap does not grow wave after wave;
- `GET /wait?method=...&count=...`: once `count` calls to `method` were accepted, each
  one's channel and arrival time (`time.perf_counter()`, the system's monotonic clock, so
  it compares with the benchmark's own);
- `GET /latest`: each channel's latest message (channel, ts, text, blocks);
- `GET /posts`: each activity the fake Bot Connector beside it
  (`tests/fakes/bot_connector.FakeBotConnector`) received, as its conversation id and
  arrival time.

The scheduler's pass would otherwise pay for both fakes' 10,000 calls on the loop that
sends them: work that belongs to Slack and Microsoft, not to the pass.

    python -m bench.fakes_apart     (prints the URLs as one JSON line, serves until killed)
"""

from __future__ import annotations

import asyncio
import gc
import json
import signal
import sys
from dataclasses import asdict
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_api import FakeSlackAPI, Message


def _latest(api: FakeSlackAPI) -> dict[str, Message]:
    latest: dict[str, Message] = {}
    for (channel, _), message in sorted(api.messages.items()):
        latest[channel] = message
    return latest


def control_app(api: FakeSlackAPI, connector: FakeBotConnector) -> web.Application:
    async def forget(request: web.Request) -> web.Response:
        kept = _latest(api)
        api.forget()
        api.messages.update({(m.channel, m.ts): m for m in kept.values()})
        return web.json_response({"ok": True})

    async def wait(request: web.Request) -> web.Response:
        method, count = request.query["method"], int(request.query["count"])
        calls = await api.wait_for(method, count=count, timeout=30)
        return web.json_response([[str(c.args.get("channel")), c.at] for c in calls])

    async def latest(request: web.Request) -> web.Response:
        return web.json_response({ch: asdict(m) for ch, m in _latest(api).items()})

    async def posts(request: web.Request) -> web.Response:
        return web.json_response([[p.conversation_id, p.at] for p in connector.posts()])

    app = web.Application()
    app.router.add_get("/posts", posts)
    app.router.add_post("/forget", forget)
    app.router.add_get("/wait", wait)
    app.router.add_get("/latest", latest)
    return app


async def _serve() -> None:
    async with FakeSlackAPI() as api, FakeBotConnector() as connector:
        runner = web.AppRunner(control_app(api, connector))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        control = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        # What start-up allocated stays out of the collector's way, as in the benchmark.
        gc.collect()
        gc.freeze()
        urls = {"api": api.url, "control": control, "connector": connector.service_url}
        print(json.dumps(urls), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await runner.cleanup()


class FakeApart:
    """The benchmark's handle on the child: start, ask, stop.

    `url` is the fake Slack Web API's; `service_url` the fake Bot Connector's (where Teams
    addresses point).
    """

    def __init__(self) -> None:
        self.url = ""
        self.service_url = ""
        self.pid = 0
        self._control = ""
        self._child: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FakeApart:
        self._child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fakes_apart", stdout=asyncio.subprocess.PIPE
        )
        assert self._child.stdout is not None
        line = await asyncio.wait_for(self._child.stdout.readline(), 30)
        if not line:
            raise RuntimeError("the fakes' process did not start")
        urls = json.loads(line)
        self.url, self._control, self.pid = urls["api"], urls["control"], self._child.pid
        self.service_url = urls["connector"]
        self._http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()
        if self._child is not None and self._child.returncode is None:
            self._child.terminate()
            await self._child.wait()

    async def _ask(self, verb: str, path: str, **query: str) -> Any:
        assert self._http is not None
        async with self._http.request(verb, self._control + path, params=query) as response:
            response.raise_for_status()
            return await response.json()

    async def forget(self) -> None:
        """Drop what the fake recorded, all but each channel's latest message."""
        await self._ask("POST", "forget")

    async def arrivals(self, method: str, count: int) -> list[tuple[str, float]]:
        """Once `count` calls to `method` were accepted: each one's channel and arrival."""
        calls = await self._ask("GET", "wait", method=method, count=str(count))
        return [(str(channel), float(at)) for channel, at in calls]

    async def latest(self) -> dict[str, Message]:
        """Each channel's latest message, as it stands now."""
        return {ch: Message(**m) for ch, m in (await self._ask("GET", "latest")).items()}

    async def connector_posts(self) -> list[tuple[str, float]]:
        """Each activity the fake Bot Connector received: its conversation and arrival."""
        posts = await self._ask("GET", "posts")
        return [(str(conversation), float(at)) for conversation, at in posts]


if __name__ == "__main__":
    asyncio.run(_serve())
