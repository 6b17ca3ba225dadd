"""What the coach's views (report, export) read: the store and the flows, not the engine."""

from __future__ import annotations

from typing import Protocol

from bot.store import Store
from flows import Flow, Ladder


class Coaching(Protocol):
    """The store and the flows one coach works with; `bot.engine.Coach` is one."""

    @property
    def store(self) -> Store: ...

    @property
    def ladder(self) -> Ladder: ...

    @property
    def interview(self) -> Flow: ...
