"""The turn: one message in, one store transaction, dispatched to the command or answer."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

from bot.engine.answers import Answers
from bot.engine.core import OwnHook
from bot.engine.membership import Membership
from bot.engine.navigation import Navigation
from bot.engine.placing import Placing
from bot.engine.step import ACTIVE, INTERVIEW, ConflictError, Step
from bot.engine.text import clean_text, quote, slug
from bot.export import export_team
from bot.messages import (
    Choice,
    FileOut,
    Incoming,
    Reply,
    Turn,
)
from bot.report import team_report
from bot.store import GROUP

MAX_ANSWER_CHARS = 20_000

_EDIT = re.compile(r"^edit\s*#?\s*(\d+)$")
_EXPORT = re.compile(r"^export(?:\s+(md|markdown|json|csv))?$")
_NUMBERS = re.compile(r"\d+")
# "/foo" or "!foo" on its own looks like a command, not an answer.
_SLASHED = re.compile(r"^[/!][a-z][\w-]*$", re.IGNORECASE)
_START = frozenset({"start", "coffee", "/coffee", "begin"})
# The first words of what `Coach._command` answers (with `edit <n>` on a finished
# interview): a message starting otherwise goes straight on to the interview.
_COMMAND_WORDS = frozenset(
    {*_START, "help", "?", "commands", "status", "progress", "report", "export", "forget"}
    | {"keep", "pause", "resume", "continue", "cancel", "restart"}
)
# What a group DM or group chat cannot do before it is a team.
_TEAM_WORDS = frozenset(
    {"start", "coffee", "/coffee", "begin", "report", "export", "schedule", "checkin"}
)
# The first words `_dispatch` reads a message's command by (with those starting "edit");
# any other message is an answer, or an extension's command, read from its text.
_LEADS = _COMMAND_WORDS | _TEAM_WORDS | {"team", "skip", "back"}


def _command_text(text: str, *, forced: bool) -> str:
    """The message as a command, folded and tidied, if its first word can start one (or
    it is `forced`: a slash command, an @mention); else "": an answer, however long, is
    not folded and split word by word for nothing."""
    first = text.split(None, 1)[:1]
    lead = _tidy(first[0].casefold()) if first else ""
    if forced or lead in _LEADS or lead.startswith("edit"):
        command = " ".join(text.casefold().split())
        # "help?" and "status?" are the commands; "forget yes?" is no confirmation.
        return _tidy(command) if " " not in command else command.rstrip(".!")
    return ""


def _tidy(word: str) -> str:
    """A one-word command without its trailing punctuation ("?" alone is a command)."""
    return word.rstrip(".!?") or word.rstrip(".!")


def message_event(msg: Incoming) -> str:
    """The platform message itself, as an event: a platform's message ids are unique within
    one member's conversation (Slack's ts in their DM, a Teams activity id in the chat)."""
    return f"message:{msg.key.team or '-'}:{msg.key.user}:{msg.message_id}"


class Coach(Membership, Navigation, Answers, Placing):
    """The whole coach behind every door: terminal, Slack, Teams, scheduler."""

    def _own_hooks(self) -> tuple[dict[tuple[str, str], OwnHook], dict[str, OwnHook]]:
        enter: dict[tuple[str, str], OwnHook] = {
            (INTERVIEW, "clarify"): self._enter_clarify,
            (INTERVIEW, "commit"): self._enter_commit,
        }
        return enter, {INTERVIEW: self._finish_interview}

    # --- the door ---------------------------------------------------------------------

    def handle(self, msg: Incoming, *, then: Callable[[Turn], None] | None = None) -> Turn:
        """One message in, the coach's replies out, in one store transaction.

        A repeated event id gives `Turn(duplicate=True)` and changes nothing; so does a
        button pressed on a prompt that was already answered (`stale`). An answer over
        `MAX_ANSWER_CHARS` is refused before anything is read or written. `then` runs
        inside the turn's transaction, after the turn and before its commit (the door's
        outbox), unless the turn changed nothing: a duplicate, a refusal, a conflict.
        """
        text = clean_text(msg.value if msg.value is not None else msg.text)
        if len(text) > MAX_ANSWER_CHARS:
            return Turn(
                replies=[
                    Reply(
                        f"That's {len(text):,} characters; answers can be up to "
                        f"{MAX_ANSWER_CHARS:,}. Nothing was saved for this question and your "
                        "earlier answers are safe: please send a shorter version, or split it "
                        "and use `edit <n>` to add to it."
                    )
                ]
            )
        try:
            return self._handle(msg, text, then)
        except ConflictError:
            return Turn(
                replies=[
                    Reply(
                        "That message crossed with another one for the same conversation and was"
                        " not applied; please send it again."
                    )
                ]
            )

    def _handle(self, msg: Incoming, text: str, then: Callable[[Turn], None] | None) -> Turn:
        store = self.store
        with store.transaction():
            if msg.event_id and not store.claim_event(
                msg.key.platform, msg.key.workspace, msg.event_id, user=msg.key.user
            ):
                return Turn(duplicate=True)
            if msg.message_id and not store.claim_event(
                msg.key.platform, msg.key.workspace, message_event(msg)
            ):
                # The same message delivered again under another event id: Slack can
                # deliver one DM twice, each time as a new event.
                return Turn(duplicate=True)
            member, conv, place, joined = self._member_at(msg)
            step = Step(msg, member, conv, [], place)
            if joined is not None:
                self._joined_line(step, joined)
            if msg.edits:
                self._apply_edit(step, text)
                turn = Turn(replies=step.replies, team=step.team.key)
            elif msg.prompt_token is not None and (
                conv is None or msg.prompt_token != self.token(conv)
            ):
                turn = Turn(
                    replies=[Reply("That question was already answered; nothing changed.")],
                    team=step.team.key,
                    stale=True,
                )
            else:
                self._dispatch(step, text)
                turn = Turn(replies=step.replies, team=step.team.key)
            if then is not None:
                then(turn)
        return turn

    # --- commands -----------------------------------------------------------------------

    def _dispatch(self, step: Step, text: str) -> None:
        command = _command_text(text, forced=step.msg.command)
        word, _, rest = command.partition(" ")
        if command and self._place_command(step, text, word):
            return
        for extension in self.extensions:
            if extension.command(self, step, text):
                return
        if command and self._command(step, command, word, rest):
            return
        conv = step.conv
        if step.msg.command and not (command in ("skip", "back", "edit") or _EDIT.match(command)):
            self._unknown_command(step, word, rest)
        elif conv is None or conv.status not in ACTIVE:
            self._idle(step, text)
        elif conv.status == "paused":
            step.say(
                "You paused the interview. Type `resume` to carry on where you left off,"
                " or `help` for the commands.",
                choices=(Choice("Resume", "resume", "primary"),),
            )
        elif command and self._navigate(step, command):
            pass
        elif not text:
            pressed = step.msg.value is not None
            if pressed and self._flow(conv).states[conv.state].answer == "commitments":
                # The button beside the boxes, with none ticked: the prompt comes again.
                step.replies.append(Reply("", answered="Nothing ticked"))
                step.say("Tick the steps you'll take first, or press *None for now*.")
            else:
                step.say("I didn't catch anything there.")
            self._prompt(step)
        elif text.startswith(("/", "!")) and _SLASHED.match(text):
            step.say(
                f"There's no command {quote(text)}. Answer the question in your own words,"
                " or type `help` for the commands."
            )
            self._prompt(step)
        else:
            self._answer(step, text)

    def _place_command(self, step: Step, text: str, word: str) -> bool:
        """`team`, and what a group DM or group chat cannot do before it is a team."""
        if word == "team":
            # Team keys keep their case (Slack's channel ids).
            self._team_command(step, " ".join(text.split()[1:]).rstrip(".!"))
            return True
        place = step.place
        if place is not None and place.kind == GROUP and word in _TEAM_WORDS:
            self._group_explained(step, place)
            return True
        return False

    def _navigate(self, step: Step, command: str) -> bool:
        """`skip`, `back`, `edit` and `edit <n>` in an interview in progress."""
        if command == "skip":
            self._skip(step)
        elif command == "back":
            self._back(step)
        elif command == "edit":
            self._list_questions(step)
        elif m := _EDIT.match(command):
            self._edit(step, int(m.group(1)))
        else:
            return False
        return True

    def _command(self, step: Step, command: str, word: str, rest: str) -> bool:
        """Answer `command` if it is one of the commands that come before the interview's
        own words (`skip`, `back`, `edit`); False if it is not."""
        if word not in _COMMAND_WORDS and not word.startswith("edit"):
            return False
        if command in _START:
            if (elsewhere := self._elsewhere(step)) is not None:
                self._offer_switch(step, elsewhere, starting=True)
            else:
                self._start(step)
        elif command in ("help", "?", "commands"):
            self._help(step)
        elif command in ("status", "progress"):
            self._status(step)
        elif command == "report":
            card = team_report(self, step.team)
            step.say(f"Team picture for *{step.team.label}*.", card=card)
        elif m := _EXPORT.match(command):
            fmt = {"markdown": "md", None: "md"}.get(m.group(1), m.group(1))
            content, mime = export_team(self, step.team, fmt or "md")
            name = f"coffee-coach-{slug(step.team.label)}.{fmt}"
            step.say(
                f"Here is the strategy of *{step.team.label}* so far.",
                file=FileOut(name, content, mime),
            )
        elif word == "export":
            step.say(
                f"I can export `md` (a one-page strategy), `json` or `csv`; {quote(rest)} isn't"
                " one of them. Try `export md`."
            )
        elif command == "forget":
            step.say(
                "This deletes your answers, placements and commitments for this team, for good."
                " Are you sure?",
                choices=(
                    Choice("Delete my data", "forget yes", "danger"),
                    Choice("Keep it", "keep"),
                ),
            )
        elif command in ("forget yes", "forget --yes", "forget confirm"):
            self.store.forget(step.member.team.id, user=step.member.user)
            step.say("Done: everything I stored about you for this team is deleted.")
        elif command == "keep":
            step.say("Kept. Nothing was deleted.")
        elif command == "pause":
            self._pause(step)
        elif command in ("resume", "continue"):
            self._resume(step)
        elif command == "cancel":
            self._cancel(step)
        elif command == "restart":
            self._begin(step, restart=True)
        elif (m := _EDIT.match(command)) and (
            finished := self._finished_interview(step)
        ) is not None:
            # A finished interview reopens for one edit, then returns to done.
            step.conv = finished
            finished.status = "active"
            self._edit(step, int(m.group(1)))
        else:
            return False
        return True

    def _unknown_command(self, step: Step, word: str, rest: str) -> None:
        """A command that isn't one, or one given arguments it doesn't take: never an answer."""
        words = sorted({name.split()[0] for name in self.help})
        if word in words:
            step.say(
                f"`{word}` doesn't take {quote(rest)}; nothing was saved."
                f" `help` shows how each command is used."
            )
            return
        close = difflib.get_close_matches(word, words, n=1, cutoff=0.7)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        listed = ", ".join(f"`{name}`" for name in self.help)
        step.say(
            f"There's no command {quote(word)}; nothing was saved.{hint} The commands are:"
            f" {listed}. To answer a question, reply to it in our chat."
        )
