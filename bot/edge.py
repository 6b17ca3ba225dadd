"""The server's edge: how long a client may take, and how many connections it may hold.

aiohttp waits forever for a request's headers and for its body, and accepts connections
until the process runs out of file descriptors. Here every connection has a deadline to
send its request's headers (and, kept alive, its next request), every body must arrive
within a time limit, and the connections held stay under a cap derived from the
descriptor limit. At the cap, the connection idle longest (waiting for headers, a body or
its next request) makes room for the new one, so that a few hundred stalled sockets never
lock out `/healthz` or a real request, and no request being handled is ever cut.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Final

from aiohttp import web
from aiohttp.web_server import Server

from bot.config import Limits

log = logging.getLogger("coffee_coach.edge")

# Descriptors kept back from the client connections: the store's files, the listening
# socket, the event loop's own, and the pooled connections to Slack and the Bot Connector.
RESERVED_FDS: Final = 128
MOST_CONNECTIONS: Final = 4096
LINGER_S: Final = 0.5


def connection_cap() -> int:
    """Half the descriptors left beyond the reserve: at least 16, at most 4,096."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MOST_CONNECTIONS
    return max(16, min(MOST_CONNECTIONS, (soft - RESERVED_FDS) // 2))


WAITING, READING, HANDLING = "waiting", "reading", "handling"


class _Connection:
    __slots__ = ("deadline", "phase", "since", "transport")

    def __init__(self, transport: asyncio.Transport, deadline: float) -> None:
        self.transport = transport
        self.phase = WAITING
        self.since = time.monotonic()
        self.deadline = deadline


class Edge:
    """The connections the server holds, their deadlines, and the cap on how many."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.cap = self.limits.max_connections or connection_cap()
        self._held: dict[asyncio.BaseTransport, _Connection] = {}
        # Connections refused at the cap, closed to make room, and closed for being late.
        self.refused = 0
        self.evicted = 0
        self.timed_out = 0

    @property
    def held(self) -> int:
        return len(self._held)

    # --- connections --------------------------------------------------------------------

    def opened(self, transport: asyncio.Transport) -> bool:
        """A new connection: False if it must be refused (every one held is being handled)."""
        if len(self._held) >= self.cap and not self._make_room():
            self.refused += 1
            log.warning("connection limit (%d) reached: a new connection was refused", self.cap)
            return False
        deadline = time.monotonic() + self.limits.header_timeout_s
        self._held[transport] = _Connection(transport, deadline)
        return True

    def closed(self, transport: asyncio.BaseTransport) -> None:
        self._held.pop(transport, None)

    def _make_room(self) -> bool:
        idle = [c for c in self._held.values() if c.phase != HANDLING]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.since)
        self._drop(oldest)
        self.evicted += 1
        log.warning(
            "connection limit (%d) reached: the longest idle connection was closed", self.cap
        )
        return True

    def _drop(self, connection: _Connection) -> None:
        self._held.pop(connection.transport, None)
        connection.transport.abort()

    def sweep(self) -> None:
        """Close the connections that missed their deadline for headers or a next request."""
        now = time.monotonic()
        late = [c for c in self._held.values() if c.phase == WAITING and c.deadline <= now]
        for connection in late:
            self.timed_out += 1
            self._drop(connection)
        if late:
            log.info("closed %d connection(s) that sent no request in time", len(late))

    async def sweeping(self, every_s: float = 0.5) -> None:
        while True:
            await asyncio.sleep(every_s)
            self.sweep()

    def protocol_factory(self, server: Server) -> Callable[[], asyncio.Protocol]:
        def make() -> asyncio.Protocol:
            return _GuardedProtocol(self, server())

        return make

    # --- requests -----------------------------------------------------------------------

    def _phase(self, request: web.BaseRequest, phase: str) -> None:
        transport = request.transport
        connection = self._held.get(transport) if transport is not None else None
        if connection is None:
            return
        connection.phase = phase
        connection.since = time.monotonic()
        if phase == WAITING:
            connection.deadline = connection.since + self.limits.idle_timeout_s

    @web.middleware
    async def middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        """Read the whole body within the time limit before any handler sees the request."""
        self._phase(request, READING)
        try:
            if request.can_read_body:
                try:
                    async with asyncio.timeout(self.limits.body_timeout_s):
                        await request.read()  # kept by aiohttp for the handler's own read
                except TimeoutError:
                    self.timed_out += 1
                    log.info("a request body did not arrive in %.0fs", self.limits.body_timeout_s)
                    response = web.json_response(
                        {"error": "the request body did not arrive in time"}, status=408
                    )
                    response.force_close()
                    return response
                except ConnectionResetError:
                    # Closed mid-body (by the client, or to make room): nobody is listening.
                    response = web.json_response({"error": "the connection closed"}, status=400)
                    response.force_close()
                    return response
            self._phase(request, HANDLING)
            return await handler(request)
        finally:
            self._phase(request, WAITING)


class _GuardedProtocol(asyncio.Protocol):
    """aiohttp's own request handler, with the edge told when its connection opens and closes."""

    def __init__(self, edge: Edge, inner: asyncio.Protocol) -> None:
        self.edge = edge
        self.inner = inner
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)  # a TCP server's are
        if not self.edge.opened(transport):
            transport.abort()
            return
        self.transport = transport
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:
            return  # refused: aiohttp never saw it
        self.edge.closed(self.transport)
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class EdgeSite(web.BaseSite):
    """A TCP site whose connections go through the edge."""

    __slots__ = ("_edge", "_host", "_listening", "_port", "_sweeper")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, edge: Edge) -> None:
        # asyncio accepts up to `backlog` connections in one go before any protocol (and so
        # the cap) sees them: a small backlog keeps such a burst inside the descriptor limit.
        super().__init__(runner, backlog=max(16, min(128, edge.cap // 4)))
        self._host = host
        self._port = port
        self._edge = edge
        self._sweeper: asyncio.Task[None] | None = None
        self._listening: asyncio.Server | None = None

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def port(self) -> int:
        if self._listening is not None and self._listening.sockets:
            return int(self._listening.sockets[0].getsockname()[1])
        return self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert isinstance(server, Server)
        loop = asyncio.get_running_loop()
        self._listening = await loop.create_server(
            self._edge.protocol_factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=True,
        )
        self._server = self._listening
        self._sweeper = asyncio.create_task(self._edge.sweeping(), name="coffee-coach edge")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        await super().stop()


EDGE: Final = web.AppKey("edge", Edge)


async def serve(app: web.Application, *, host: str, port: int, edge: Edge) -> None:
    """Serve `app` through the edge until SIGINT or SIGTERM (raised as GracefulExit)."""
    # aiohttp lingers up to 10 s reading what is left of a refused body: not for a staller.
    runner = web.AppRunner(
        app,
        handle_signals=True,
        keepalive_timeout=edge.limits.idle_timeout_s,
        lingering_time=LINGER_S,
    )
    await runner.setup()
    try:
        site = EdgeSite(runner, host, port, edge)
        await site.start()
        log.info("listening on %s, at most %d connections", site.name, edge.cap)
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def run(app: web.Application, *, host: str, port: int) -> None:
    """`web.run_app`, through the edge the app was built with."""
    with suppress(web.GracefulExit, KeyboardInterrupt):
        asyncio.run(serve(app, host=host, port=port, edge=app[EDGE]))
