"""Check-ins plugged into the engine: `install(coach)` and the one `Extension` it adds."""

from __future__ import annotations

from collections.abc import Callable
from weakref import WeakKeyDictionary

from bot.checkins.chat_commands import CheckInCommands
from bot.checkins.service import CHECKIN_FLOWS, HELP, CheckIns
from bot.engine import (
    INTERVIEW,
    AroundHook,
    Coach,
    CoachCore,
    EnterHook,
    Step,
)
from flows import Flow


class CheckInExtension:
    """Check-ins as the engine sees them: their chat commands, and their hooks."""

    help = HELP

    def __init__(self, checkins: CheckIns) -> None:
        self.checkins = checkins
        self._commands = CheckInCommands(checkins).command

    def command(self, coach: CoachCore, step: Step, text: str) -> bool:
        conv = step.conv
        if conv is not None and conv.flow in CHECKIN_FLOWS:
            # A check-in begun before each step was asked about on its own has no `step`
            # in its context: its question reads as it did then.
            conv.context.setdefault("step", "")
        return self._commands(coach, step, text)

    def around_enter(self, flow: str, state: str) -> AroundHook | None:
        checkins = self.checkins
        if flow in CHECKIN_FLOWS and state == "ci_reflect":
            return _replacing(checkins._enter_reflect)
        if flow in CHECKIN_FLOWS and state == "ci_next":
            return _replacing(checkins._enter_next)
        if (flow, state) == (INTERVIEW, "commit"):
            return checkins._celebrating
        return None

    def around_finish(self, flow: str) -> AroundHook | None:
        if flow in CHECKIN_FLOWS:
            return _replacing(self.checkins._finish_checkin)
        if flow == INTERVIEW:
            return self.checkins._finishing_interview
        return None


def _replacing(hook: EnterHook) -> AroundHook:
    """An around hook that runs `hook` instead of the engine's own."""

    def run(coach: CoachCore, step: Step, flow: Flow, proceed: Callable[[], None]) -> None:
        hook(coach, step, flow)

    return run


_INSTALLED: WeakKeyDictionary[Coach, CheckIns] = WeakKeyDictionary()


def install(coach: Coach) -> CheckIns:
    """Add check-ins to a coach (once; a second call returns the same CheckIns)."""
    if coach in _INSTALLED:
        return _INSTALLED[coach]
    checkins = CheckIns(coach)
    coach.extend(CheckInExtension(checkins))
    _INSTALLED[coach] = checkins
    return checkins
