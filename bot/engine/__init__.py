"""The coach: a platform-neutral message in, replies out.

Each message is one store transaction: claim the platform event id, restore the member's
conversation, fire the flow's trigger on the shared state machine, then write the answer
and the new state (guarded by the conversation's version) after the trigger returned.

The rooms, from the bottom: `text` and `step` (what a turn carries), `core` (store, flows,
extensions and their hooks), `moves` (prompt and move on), `clarify`, `navigation` (skip,
back, edit), `answers`, `lifecycle` (start, pause, resume, cancel, status, help),
`placing` (placement, commitments, the end) and `coach` (the turn and its dispatch).
"""

from bot.engine.coach import MAX_ANSWER_CHARS, Coach
from bot.engine.core import COMMANDS, AroundHook, CoachCore, EnterHook, Extension
from bot.engine.membership import TOUCH_EVERY_S
from bot.engine.moves import NAV
from bot.engine.step import ACTIVE, INTERVIEW, ConflictError, Step
from bot.engine.text import clean_text, fill
from bot.report import business_model

__all__ = [
    "ACTIVE",
    "COMMANDS",
    "INTERVIEW",
    "MAX_ANSWER_CHARS",
    "NAV",
    "TOUCH_EVERY_S",
    "AroundHook",
    "Coach",
    "CoachCore",
    "ConflictError",
    "EnterHook",
    "Extension",
    "Step",
    "business_model",
    "clean_text",
    "fill",
]
