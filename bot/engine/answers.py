"""Answers: typed text (with its follow-up), a picked choice, the commitments, message edits."""

from __future__ import annotations

import re

from bot.engine.clarify import Clarifying
from bot.engine.moves import NAV
from bot.engine.step import Step
from bot.engine.text import fill
from bot.messages import (
    Reply,
)
from flows import Flow, StateSpec

_NUMBERS = re.compile(r"\d+")


def committed_to(actions: list[str], picked: list[str]) -> str:
    """The commitments answer in a few words, shown where its buttons were."""
    if not picked:
        return "None for now"
    if len(picked) == len(actions) > 1:
        return "All of them"
    numbers = [str(actions.index(a) + 1) for a in picked]
    listed = numbers[0] if len(numbers) == 1 else ", ".join(numbers[:-1]) + " and " + numbers[-1]
    return f"Committed to {listed}"


class Answers(Clarifying):
    """Recording what the member answered, and moving on."""

    def _answer(self, step: Step, text: str) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        spec = flow.states[conv.state]
        if spec.answer == "choice":
            self._answer_choice(step, spec, text)
        elif spec.answer == "commitments":
            self._answer_commitments(step, text)
        elif spec.answer == "clarify":
            self._answer_clarify(step, text)
        else:
            self._answer_text(step, flow, spec, text)

    def _answer_choice(self, step: Step, spec: StateSpec, text: str) -> None:
        conv = step.conv
        assert conv is not None
        choice = spec.choice(text)
        if choice is None:
            options = ", ".join(f"{i}. {c.label}" for i, c in enumerate(spec.choices, start=1))
            step.say(f"Please pick one of these (the number is enough): {options}.")
            self._prompt(step)
            return
        self.store.add_answer(
            conv.id, spec.id, text=choice.label, value=choice.value, message_id=step.msg.message_id
        )
        step.replies.append(Reply(text="", answered=choice.label))
        self._move(step, "answer")

    def _answer_text(self, step: Step, flow: Flow, spec: StateSpec, text: str) -> None:
        conv = step.conv
        assert conv is not None
        self.store.add_answer(conv.id, spec.id, text=text, message_id=step.msg.message_id)
        if spec.follow_up and not conv.followed_up and flow.follow_up.is_vague(text):
            conv.followed_up = True
            self._save(conv)
            step.say(
                fill(spec.follow_up, self._context(step)),
                prompt_token=self.token(conv),
                choices=NAV,
            )
            return
        self._move(step, "answer")

    def _answer_commitments(self, step: Step, text: str) -> None:
        conv = step.conv
        assert conv is not None
        actions: list[str] = conv.context.get("actions", [])
        command = text.casefold()
        if command in ("all", "all of them"):
            picked = list(actions)
        elif command in ("none", "none for now", "no", "not now"):
            picked = []
        else:
            numbers = [int(n) for n in _NUMBERS.findall(command)]
            if not numbers or any(n < 1 or n > len(actions) for n in numbers):
                step.say(
                    f"Reply with numbers between 1 and {len(actions)} (for example `1 3`),"
                    " `all`, or `none`."
                )
                self._prompt(step)
                return
            picked = [actions[n - 1] for n in dict.fromkeys(numbers)]
        conv.context["committed"] = picked
        step.replies.append(Reply(text="", answered=committed_to(actions, picked)))
        self.store.add_answer(
            conv.id, conv.state, text="\n".join(picked) or "none", message_id=step.msg.message_id
        )
        self._move(step, "answer")

    def _apply_edit(self, step: Step, text: str) -> None:
        """A platform message edit: the answer that message gave gets a new version."""
        msg = step.msg
        assert msg.edits is not None
        found = self.store.answer_for_message(step.member.id, msg.edits)
        if found is None or not text:
            return
        conversation_id, question = found
        conv = step.conv
        flow = self.flows[conv.flow] if conv else self.interview
        spec = flow.states.get(question)
        if spec is None or spec.answer != "text":
            step.say("I can only update typed answers this way; use `edit <n>` for the others.")
            return
        self.store.add_answer(conversation_id, question, text=text, message_id=msg.edits)
        where = f"question {spec.number}" if spec.number is not None else spec.title.lower()
        step.say(f"Updated your answer to {where}.")
