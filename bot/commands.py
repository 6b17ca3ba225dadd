"""Commands beyond the core chat: serving, scheduling, packaging.

Their parsers are declared here and their code is imported only when the command runs,
so `coffee-coach chat` starts without loading aiohttp, slack-bolt or botbuilder.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]
Runner = Callable[[argparse.Namespace], int]

REGISTER: list[Register] = []


def lazy(target: str) -> Runner:
    """A runner that imports `module:function` on first use."""
    module_name, _, function_name = target.partition(":")

    def run(args: argparse.Namespace) -> int:
        function: Runner = getattr(importlib.import_module(module_name), function_name)
        return function(args)

    return run


def _serve(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = sub.add_parser("serve", help="serve Slack and Teams over HTTP, with the scheduler")
    serve.add_argument("--port", type=int, default=None, help="default: $PORT or 3000")
    serve.add_argument("--host", default=None, help="default: $HOST or 0.0.0.0")
    serve.set_defaults(run=lazy("bot.server:cmd_serve"))


REGISTER.append(_serve)


def load() -> list[Register]:
    """Import the modules that register commands, and return their registrars."""
    return REGISTER
