"""The Teams door's names, limits and fixed texts."""

from __future__ import annotations

from datetime import timedelta
from typing import Final, Literal

from bot.messages import (
    Choice,
    Reply,
)

PLATFORM: Final = "msteams"
Scope = Literal["personal", "channel", "groupChat"]

ADAPTIVE_CARD: Final = "application/vnd.microsoft.card.adaptive"
CARD_VERSION: Final = "1.5"
# Teams refuses a message over about 28 KB, card included; keep a margin for the envelope.
MAX_CARD_BYTES: Final = 24_000
MAX_TEXT_CHARS: Final = 20_000
# In a team channel or group chat only these go to the coach (by their first word); the
# interview itself is private. `status` is answered in the personal chat.
SHARED_COMMANDS: Final = frozenset({"report", "status", "progress", "help", "team"})
PRIVATE_COMMANDS: Final = frozenset({"status", "progress"})
SENT_PRIVATELY = "{name}, your progress is yours alone: I've sent it to our personal chat."
OPEN_FOR_PRIVATE = (
    "{name}, your progress is yours alone, so I don't post it here. Open our personal chat"
    " and type `status` there."
)
# Teams announces one install twice (conversationUpdate and installationUpdate).
WELCOME_WINDOW: Final = timedelta(minutes=10)
# Submitted card data lives under this key, apart from anything Teams adds.
DATA_KEY: Final = "coffeeCoach"

PERSONAL_WELCOME = Reply(
    text=(
        "Hi, I'm Coffee Coach. I ask the nine questions a good marketing consultant would ask"
        " over a coffee, one at a time, then show where your team stands on the social media"
        " ladder and what to do next. It takes about ten minutes, and you can pause at any"
        " point.\nPress *Start* or type `start` to begin; `help` lists what I understand."
    ),
    choices=(Choice("Start", "start", "primary"), Choice("Help", "help")),
)
SHARED_WELCOME = (
    "Hello {where}! I'm Coffee Coach. I help a team agree on its social media strategy: each"
    " of you answers nine short questions in a personal chat with me, and `@{bot} report` here"
    " posts the team picture: where you agree, where you differ, your rung on the ladder and"
    " the next steps.\nTo take part, send `@{bot} start` here so that I know you're in this"
    " team, then answer in our chat."
)
ANSWERS_ELSEWHERE = (
    "{name}, you answer for {team}, so your interview counts there, not here;"
    " `@{bot} team` here offers to switch. Your interview goes on in our personal chat."
    "\nHere, `@{bot} report` posts this team's picture."
)
OPEN_CHAT = (
    "{name}, the interview happens in our personal chat, so that you can answer at your own"
    " pace; your answers count for {where}. Open it with the button below and type `start`."
    "\nHere, `@{bot} report` posts the team picture."
)
