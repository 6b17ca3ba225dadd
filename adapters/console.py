"""The terminal door: the whole coach on stdin and stdout, with no credentials.

Typed lines become `Incoming` messages from one member of one team; replies are printed as
plain lines. Piped input runs the same flow, so the chat is scriptable.
"""

from __future__ import annotations

import io
import os
import re
import sys
from dataclasses import replace
from typing import TextIO

from bot.messages import Choice, Incoming, MemberKey, Reply
from bot.port import SyncPort
from bot.render import reply_text

PLATFORM = "console"
WORKSPACE = "local"
QUIT = frozenset({"quit", "exit", "bye", ":q"})
_BOLD = re.compile(r"\*([^*\n]+)\*")


def member_key(team: str, user: str) -> MemberKey:
    return MemberKey(PLATFORM, WORKSPACE, user, team)


def incoming(key: MemberKey, text: str) -> Incoming:
    """A typed line as a message. A terminal member's address is their user name: check-ins
    for them are printed by `coffee-coach tick` and answered with `coffee-coach chat`."""
    return Incoming(key=key, text=text, dm_address=key.user)


def default_user() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "me"


class ConsoleChat:
    """One member chatting with the coach in a terminal."""

    def __init__(
        self,
        coach: SyncPort,
        *,
        team: str,
        user: str,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        self.coach = coach
        self.key = member_key(team, user)
        self.stdin = stdin or sys.stdin
        if isinstance(self.stdin, io.TextIOWrapper):
            # Bytes that are not UTF-8 (a paste from another encoding) become U+FFFD, not a
            # crash mid-interview.
            self.stdin.reconfigure(errors="replace")
        self.stdout = stdout or sys.stdout
        self.interactive = self.stdin.isatty()
        # The numbered choices of the latest reply that asked something outside the flow
        # (switching teams, confirming forget): a number typed next picks one of them, as a
        # button press does on the chat platforms. A flow's own question reads its numbers.
        self.offered: list[Choice] = []

    def show(self, replies: list[Reply]) -> None:
        for reply in replies:
            if reply.answered is not None and not reply.text:
                continue
            text = reply_text(reply)
            answers = [c for c in reply.choices if not c.nav]
            if answers:
                numbered = reply.prompt_token is None and not any(
                    c.value.isdigit() for c in answers
                )
                self.offered = answers if numbered else []
            if any(c.value.isdigit() for c in answers):
                # The prompt's own numbers already mean something (commitments).
                text += "\n  " + "  ".join(f"[{c.label}]" for c in answers)
            elif answers:
                text += "\n  " + "  ".join(
                    f"{i}) {c.label}" for i, c in enumerate(answers, start=1)
                )
            if any(c.nav for c in reply.choices):
                text += "\n  (skip · back · pause · help)"
            if reply.file is not None:
                text += f"\n--- {reply.file.name} ---\n{reply.file.content}"
            self.stdout.write(self.markup(text) + "\n\n")
        self.stdout.flush()

    def markup(self, text: str) -> str:
        """`*bold*` as real bold on a terminal, as plain text when piped."""
        return _BOLD.sub("\x1b[1m\\1\x1b[0m" if self.interactive else "\\1", text)

    def send(self, text: str) -> None:
        offered, self.offered = self.offered, []
        message = incoming(self.key, text)
        picked = text.strip()
        if picked.isdigit() and 1 <= int(picked) <= len(offered):
            message = replace(message, value=offered[int(picked) - 1].value)
        self.show(self.coach.handle(message).replies)

    def run(self) -> int:
        self.send("start")
        while True:
            if self.interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            try:
                line = self.stdin.readline()
            except KeyboardInterrupt:
                line = ""
            if not line:
                self.stdout.write(
                    "\nBye for now. Your place is saved:"
                    " run `coffee-coach chat` again to carry on.\n"
                )
                return 0
            line = line.rstrip("\r\n")
            if not self.interactive:
                self.stdout.write(f"> {line}\n")
            if line.strip().casefold() in QUIT:
                self.stdout.write("Bye for now. Your place is saved.\n")
                return 0
            # A choice picked by its number arrives as typed text; the engine reads it.
            self.send(line)
