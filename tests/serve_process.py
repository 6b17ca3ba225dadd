"""`coffee-coach serve` as a real process on 127.0.0.1, for tests and benchmarks of crashes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(db: Path, port: int, env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """Run serve on `db` and `port` with `env` added; killed at the end if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=os.environ
        | {"COFFEE_COACH_DB": str(db), "HOST": "127.0.0.1", "PORT": str(port)}
        | dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def until_healthy(session: aiohttp.ClientSession, port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("serve did not come up")
