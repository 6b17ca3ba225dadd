"""The interview's lifecycle commands: start, pause, resume, cancel, restart, status, help."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.engine.moves import Moves
from bot.engine.step import ACTIVE, INTERVIEW, ConflictError, Step
from bot.engine.text import fill, quote
from bot.messages import (
    Choice,
    Incoming,
    MemberKey,
    Turn,
)
from bot.report import team_rung_line
from bot.store import Conversation
from flows import END


class Lifecycle(Moves):
    """Starting, stopping and reporting on a member's conversation."""

    def _idle(self, step: Step, text: str) -> None:
        conv = step.conv
        if not text:
            step.say("Type `start` to begin the coffee interview, or `help` for the commands.")
        elif conv is not None and conv.status == "done":
            step.say(
                "Your interview is complete. `status` shows your team's rung, `report` the team"
                " picture, `edit <n>` changes an answer, and `restart` begins again."
            )
        else:
            step.say(
                f"I didn't understand {quote(text)}. Type `start` to begin the coffee"
                " interview, or `help` for what I can do."
            )

    def _help(self, step: Step) -> None:
        conv = step.conv
        lines = []
        # The current question is the member's own: not for a channel's eyes.
        if step.msg.shared:
            pass
        elif conv is not None and conv.status == "active" and conv.state != END:
            spec = self.flows[conv.flow].states[conv.state]
            lines.append(f"*Why I ask:* {spec.help}")
            lines.append("")
        lines.append("*Commands*")
        lines.extend(f"`{name}`: {what}" for name, what in self.help.items())
        step.say("\n".join(lines))

    def _finished_interview(self, step: Step) -> Conversation | None:
        """The member's interview, if it is done and nothing else is in progress."""
        conv = step.conv
        if conv is not None and conv.status in ACTIVE:
            return None
        if conv is None or conv.flow != INTERVIEW:
            conv = self.store.conversation(step.member.id, flow=INTERVIEW)
        return conv if conv is not None and conv.status == "done" else None

    def _start(self, step: Step) -> None:
        conv = step.conv
        if conv is not None and conv.status == "active":
            step.say("Welcome back! Here's where we were.")
            self._prompt(step)
        elif conv is not None and conv.status == "paused":
            self._resume(step)
        elif self._finished_interview(step) is not None:
            step.say(
                "You've completed the interview. `status` shows your team's rung, `report` the"
                " team picture, and `restart` begins the interview again."
            )
        else:
            self._begin(step)

    def _begin(self, step: Step, *, restart: bool = False, flow_id: str = INTERVIEW) -> None:
        store = self.store
        old = step.conv
        if old is not None and old.status in ACTIVE:
            old.status = "restarted" if restart else "cancelled"
            if not store.save_conversation(old):
                raise ConflictError
        flow = self.flows[flow_id]
        step.conv = store.start_conversation(step.member.id, flow=flow.id, state=flow.initial)
        if restart:
            step.say("Starting again from the top. Your earlier answers stay in the history.")
        if flow.intro:
            step.say(fill(flow.intro, self._context(step)))
        self._prompt(step)

    def begin_flow(self, key: MemberKey, flow_id: str, context: Mapping[str, Any]) -> Turn:
        """Open a flow for a member on the coach's own initiative (a check-in)."""
        with self.store.transaction():
            member = self.store.member(key) or self.store.ensure_member(key)
            step = Step(
                msg=Incoming(key=key), member=member, conv=self.store.conversation(member.id)
            )
            old = step.conv
            if old is not None and old.status in ACTIVE:
                old.status = "cancelled"
                if not self.store.save_conversation(old):
                    raise ConflictError
            flow = self.flows[flow_id]
            step.conv = self.store.start_conversation(
                member.id, flow=flow_id, state=flow.initial, context=dict(context)
            )
            if flow.intro:
                step.say(fill(flow.intro, self._context(step)))
            self._prompt(step)
        return Turn(replies=step.replies, team=member.team.key)

    def _pause(self, step: Step) -> None:
        conv = step.conv
        if conv is None or conv.status != "active":
            step.say("There's no interview in progress to pause. Type `start` to begin one.")
            return
        conv.status = "paused"
        self._save(conv)
        step.say(
            f"Paused at {self._where(conv)}. Your answers are saved; type `resume` whenever"
            " you're ready, today or next week.",
            choices=(Choice("Resume", "resume", "primary"),),
        )

    def _resume(self, step: Step) -> None:
        conv = step.conv
        if conv is None or conv.status not in ACTIVE:
            step.say("There's nothing paused. Type `start` to begin the interview.")
            return
        if conv.status == "paused":
            conv.status = "active"
            self._save(conv)
        step.say("Welcome back! Picking up where you left off.")
        self._prompt(step)

    def _cancel(self, step: Step) -> None:
        conv = step.conv
        if conv is None or conv.status not in ACTIVE:
            step.say("There's no interview in progress to cancel.")
            return
        conv.status = "cancelled"
        self._save(conv)
        step.say(
            "Cancelled. The answers you gave are kept; type `start` to begin a new interview,"
            " or `forget` to delete them."
        )

    def _status(self, step: Step) -> None:
        conv = step.conv
        lines = []
        interview = self.store.conversation(step.member.id, flow=INTERVIEW)
        if interview is None:
            lines.append("You haven't started the interview yet; type `start` to begin.")
        else:
            answers = self.store.answers(interview.id)
            total = len(self.interview.questions)
            answered = sum(
                1 for q in self.interview.questions if q.id in answers and not answers[q.id].skipped
            )
            skipped = sum(
                1 for q in self.interview.questions if q.id in answers and answers[q.id].skipped
            )
            state = {
                "active": f"in progress, at {self._where(interview)}",
                "paused": f"paused at {self._where(interview)}",
                "done": "complete",
                "cancelled": "cancelled",
                "restarted": "restarted",
            }[interview.status]
            lines.append(
                f"Your interview is {state}: {answered} of {total} questions answered"
                + (f", {skipped} skipped." if skipped else ".")
            )
        if conv is not None and conv.flow != INTERVIEW and conv.status in ACTIVE:
            lines.append(f"A {self.flows[conv.flow].title.lower()} is open: {self._where(conv)}.")
        lines.append(team_rung_line(self, step.member.team))
        place = step.place
        if place is not None and place.kind == "team" and place.id != step.member.team.id:
            lines.append(
                f"You answer for *{step.member.team.label}*, not {place.label}; `team` sent from"
                f" {place.label} offers to switch."
            )
        step.say("\n".join(lines))
