"""The turn: one message in, one store transaction, dispatched to the command or answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from bot.clock import iso
from bot.engine.answers import Answers
from bot.engine.core import OwnHook
from bot.engine.lifecycle import Lifecycle
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
from bot.store import Conversation, Member
from bot.zones import canonical_zone

MAX_ANSWER_CHARS = 20_000
TOUCH_EVERY_S = 60.0

_EDIT = re.compile(r"^edit\s*#?\s*(\d+)$")
_EXPORT = re.compile(r"^export(?:\s+(md|markdown|json|csv))?$")
_NUMBERS = re.compile(r"\d+")
# "/foo" or "!foo" on its own looks like a command, not an answer.
_SLASHED = re.compile(r"^[/!][a-z][\w-]*$", re.IGNORECASE)


class Coach(Lifecycle, Navigation, Answers, Placing):
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
            member, conv = self._member(msg)
            step = Step(msg=msg, member=member, conv=conv)
            if msg.edits:
                self._apply_edit(step, text)
                turn = Turn(replies=step.replies, team=member.team.key)
            elif msg.prompt_token is not None and (
                conv is None or msg.prompt_token != self.token(conv)
            ):
                turn = Turn(
                    replies=[Reply("That question was already answered; nothing changed.")],
                    team=member.team.key,
                    stale=True,
                )
            else:
                self._dispatch(step, text)
                turn = Turn(replies=step.replies, team=member.team.key)
            if then is not None:
                then(turn)
        return turn

    def _member(self, msg: Incoming) -> tuple[Member, Conversation | None]:
        """The member this message is from, and their latest conversation."""
        key = msg.key
        store = self.store
        found = store.member_and_conversation(key)
        team_name = msg.team_name
        if found is None and key.team is None:
            # A direct message from someone never seen in a team: their own team.
            key = key.with_team(f"personal:{key.user}")
            found = store.member_and_conversation(key)
            team_name = team_name or (
                f"{msg.display_name} (personal)" if msg.display_name else "Personal"
            )
        if found is None:
            member = store.ensure_member(key, name=msg.display_name)
            zone = None if member.team.timezone else canonical_zone(msg.timezone)
            fields = {"name": team_name, "address": msg.team_address, "timezone": zone}
            if any(fields.values()):
                store.update_team(member.team.id, **{k: v for k, v in fields.items() if v})
            found = (member, None)
        member, conv = found
        # An explicit team refreshes `last_seen` (the team a direct message belongs to),
        # at most once a minute, to keep the per-turn write small.
        seen_long_ago = key.team is not None and member.last_seen < iso(
            store.moment() - timedelta(seconds=TOUCH_EVERY_S)
        )
        changed_address = msg.dm_address is not None and msg.dm_address != member.address
        changed_name = msg.display_name is not None and msg.display_name != member.name
        if seen_long_ago or changed_address or changed_name:
            store.touch_member(member, name=msg.display_name, address=msg.dm_address)
            member.address = msg.dm_address or member.address
            member.name = msg.display_name or member.name
        if msg.team_address and msg.team_address != member.team.address:
            store.update_team(member.team.id, address=msg.team_address)
            member.team.address = msg.team_address
        return member, conv

    # --- commands -----------------------------------------------------------------------

    def _dispatch(self, step: Step, text: str) -> None:
        if any(extension.command(self, step, text) for extension in self.extensions):
            return
        command = text.casefold().rstrip(".!")
        conv = step.conv
        active = conv is not None and conv.status == "active"
        if command in ("start", "coffee", "/coffee", "begin"):
            self._start(step)
        elif command in ("help", "?", "commands"):
            self._help(step)
        elif command in ("status", "progress"):
            self._status(step)
        elif command == "report":
            card = team_report(self, step.member.team)
            step.say(f"Team picture for {step.member.team.label}.", card=card)
        elif m := _EXPORT.match(command):
            fmt = {"markdown": "md", None: "md"}.get(m.group(1), m.group(1))
            content, mime = export_team(self, step.member.team, fmt or "md")
            name = f"coffee-coach-{slug(step.member.team.label)}.{fmt}"
            step.say("Here is your team's strategy so far.", file=FileOut(name, content, mime))
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
        elif conv is None or conv.status not in ACTIVE:
            self._idle(step, text)
        elif conv.status == "paused":
            step.say(
                "You paused the interview. Type `resume` to carry on where you left off,"
                " or `help` for the commands.",
                choices=(Choice("Resume", "resume", "primary"),),
            )
        elif command == "skip":
            self._skip(step)
        elif command == "back":
            self._back(step)
        elif command == "edit":
            self._list_questions(step)
        elif m := _EDIT.match(command):
            self._edit(step, int(m.group(1)))
        elif active and not text:
            step.say("I didn't catch anything there.")
            self._prompt(step)
        elif _SLASHED.match(text):
            step.say(
                f"There's no command {quote(text)}. Answer the question in your own words,"
                " or type `help` for the commands."
            )
            self._prompt(step)
        else:
            self._answer(step, text)
