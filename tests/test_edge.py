"""The server's edge under stalled clients: `coffee-coach serve` as a real process with a
low descriptor limit, and real sockets that connect and then send nothing, or headers and
no body."""

from __future__ import annotations

import io
import logging
import selectors
import socket
import time
from pathlib import Path

from bot.floods import RepeatFilter
from tests.edge_process import ServeProcess

STALLED = 300
FD_LIMIT = 256
STALLED_BODY = (
    b"POST /api/messages HTTP/1.1\r\nHost: coach\r\nContent-Type: application/json\r\n"
    b"Content-Length: 5000\r\n\r\n{"
)


def closed_by_the_server(socks: list[socket.socket], *, within_s: float = 60.0) -> int:
    """How many of the sockets the server closed (read to the end, or reset) in the time."""
    waiting = selectors.DefaultSelector()
    socks_by_fd = {sock.fileno(): sock for sock in socks}
    for sock in socks:
        sock.setblocking(False)
        waiting.register(sock, selectors.EVENT_READ)
    closed = 0
    deadline = time.monotonic() + within_s
    while closed < len(socks) and (left := deadline - time.monotonic()) > 0:
        for ready, _ in waiting.select(left):
            sock = socks_by_fd[ready.fd]
            try:
                if sock.recv(65536):
                    continue
            except ConnectionResetError:
                pass
            waiting.unregister(sock)
            closed += 1
    waiting.close()
    return closed


def test_stalled_connections_neither_lock_out_health_nor_exhaust_descriptors(
    tmp_path: Path,
) -> None:
    with ServeProcess(tmp_path / "coach.db", fd_limit=FD_LIMIT) as serve:
        stalled: list[socket.socket] = []
        try:
            for n in range(STALLED):
                sock = socket.create_connection(("127.0.0.1", serve.port))
                if n % 2:
                    sock.sendall(STALLED_BODY)
                stalled.append(sock)
            answers = [serve.get("/healthz") for _ in range(20)]
            fds_under_load = serve.open_fds()
            closed = closed_by_the_server(stalled)
        finally:
            for sock in stalled:
                sock.close()
        after = serve.get("/healthz")
        log = serve.log()
        assert serve.stop() == 0

    assert all(status == 200 and body["ok"] for status, body in answers), answers
    assert after[0] == 200
    assert closed == STALLED
    assert fds_under_load < FD_LIMIT - 64
    assert "Too many open files" not in log
    assert "Traceback" not in log


def test_a_body_that_never_arrives_gets_a_408_and_the_connection_closed(tmp_path: Path) -> None:
    with ServeProcess(tmp_path / "coach.db") as serve:
        sock = socket.create_connection(("127.0.0.1", serve.port))
        sock.sendall(STALLED_BODY)
        sock.settimeout(60)
        received = b""
        while chunk := sock.recv(4096):
            received += chunk
        sock.close()
        assert serve.stop() == 0
    assert received.startswith(b"HTTP/1.1 408 ")
    assert b"did not arrive in time" in received


def test_a_flood_of_one_message_is_logged_a_few_times_then_counted() -> None:
    now = [0.0]
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RepeatFilter(per_interval=5, interval_s=10.0, clock=lambda: now[0]))
    logger = logging.getLogger("coffee_coach.test_floods")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for n in range(10_000):
            logger.error("socket.accept() out of system resource: %s", n)
        logger.error("a different message")
        now[0] = 10.0
        logger.error("socket.accept() out of system resource: %s", "later")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines[:5] == [f"socket.accept() out of system resource: {n}" for n in range(5)]
    assert lines[5:] == [
        "a different message",
        "socket.accept() out of system resource: later [9995 more like this were not logged]",
    ]
