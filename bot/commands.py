"""Commands beyond the core chat: each registers its own subparser here.

Kept apart from `bot/cli.py` so that serving, scheduling and packaging each add their
command without touching the others.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[[argparse._SubParsersAction], None]  # type: ignore[type-arg]

REGISTER: list[Register] = []


def load() -> list[Register]:
    """Import the modules that register commands, and return their registrars."""
    import bot.server  # noqa: F401

    return REGISTER
