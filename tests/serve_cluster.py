"""Several `coffee-coach serve` processes on one database, as behind a load balancer.

For the multi-process tests and the scaling benchmark: each server is the real command in
a process of its own, on a free port of 127.0.0.1, started with the environment given.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import aiohttp

from tests.fakes.slack_api import TEAM, FakeSlackAPI, SlackDriver
from tests.serve_process import free_port

ROOT = Path(__file__).resolve().parent.parent
CLI = "from bot.cli import main; raise SystemExit(main())"


def coffee_coach(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """The command line, in a process of its own, with only `env` beyond the platform's."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "Microsoft"))}
    return subprocess.Popen(
        [sys.executable, "-c", CLI, *args],
        cwd=ROOT,
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def until_serving(proc: subprocess.Popen[str]) -> str:
    """What a serve process logged up to its start-up line (its doors); raises if it ended."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "doors open" in line:
            return "".join(seen)
    raise RuntimeError("a server stopped before it served:\n" + "".join(seen))


def until_healthy(url: str, *, within_s: float = 60.0) -> None:
    """Wait for `url`/healthz to answer 200: the start-up line comes before the listen."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
        time.sleep(0.05)


@contextmanager
def servers(count: int, env: Mapping[str, str], *args: str) -> Iterator[list[str]]:
    """`count` serve processes; yields their base URLs once each has opened its doors."""
    started: list[subprocess.Popen[str]] = []
    urls = []
    try:
        for _ in range(count):
            port = free_port()
            started.append(
                coffee_coach("serve", "--port", str(port), *args, env={**env, "HOST": "127.0.0.1"})
            )
            urls.append(f"http://127.0.0.1:{port}")
        for proc in started:
            until_serving(proc)
            assert proc.stderr is not None
            # Keep reading what it logs, so a full pipe never stalls it.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            assert proc.stdout is not None
            threading.Thread(target=proc.stdout.read, daemon=True).start()
        for url in urls:
            until_healthy(url)
        yield urls
    finally:
        for proc in started:
            proc.terminate()
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def slack_drivers(
    session: aiohttp.ClientSession, urls: list[str], *, secret: str, api: FakeSlackAPI
) -> list[SlackDriver]:
    """One Slack talking to every server: its event ids and triggers run on across them."""
    drivers: list[SlackDriver] = []
    for url in urls:
        drivers.append(
            SlackDriver(
                session,
                signing_secret=secret,
                url=url + "/slack/events",
                team=TEAM,
                api=api,
                same_slack_as=drivers[0] if drivers else None,
            )
        )
    return drivers
