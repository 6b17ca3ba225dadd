"""The member steering through the interview: skip, back, and editing an earlier answer."""

from __future__ import annotations

from bot.engine.clarify import Clarifying
from bot.engine.step import Step
from bot.engine.text import clip, quote
from bot.ladder import (
    clarify_question,
)
from bot.messages import Reply
from flows import fire


class Navigation(Clarifying):
    """`skip`, `back`, `edit` and `edit <n>`."""

    def _skip(self, step: Step) -> None:
        conv = step.conv
        assert conv is not None
        spec = self._flow(conv).states[conv.state]
        if not spec.skippable:
            step.say("This one can't be skipped, sorry.")
            self._prompt(step)
            return
        if spec.answer == "commitments":
            conv.context["committed"] = []
        elif spec.answer == "clarify":
            # Skipped, it is not asked again: the more specific statement decides.
            criterion = str(conv.context.get("clarifying"))
            self.store.add_answer(conv.id, clarify_question(criterion), text="", skipped=True)
            conv.context["clarified"] = int(conv.context.get("clarified", 0)) + 1
            self._clarify_next(step)
            return
        else:
            given = self.store.answers(conv.id).get(conv.state)
            if given is None or given.skipped:
                # A skip is stored, so the team report can show the gap; an answer already
                # given (the member came `back` to it) is kept.
                self.store.add_answer(conv.id, conv.state, text="", skipped=True)
        self._move(step, "skip")

    def _back(self, step: Step) -> None:
        conv = step.conv
        assert conv is not None
        if conv.return_to is not None:
            # Leaving an edit without answering: return to where the member was.
            target, conv.return_to = conv.return_to, None
            conv.state = target
            self._save(conv)
            self._prompt(step)
            return
        if not conv.trail:
            step.say("This is the first question; there's nothing before it.")
            self._prompt(step)
            return
        target = conv.trail.pop()
        before = len(step.replies)
        if not self._move(step, "back", target=target):
            conv.trail.append(target)
            step.say("I can't go back from here.")
            self._prompt(step)
            return
        # Say what the member answered here, before the question is asked again.
        given = self.store.answers(conv.id).get(target)
        if given is not None:
            earlier = (
                "You skipped this one."
                if given.skipped
                else f"Your answer was: {quote(given.text)}. Send a new one to change it, or"
                " `skip` to keep it."
            )
            step.replies.insert(before, Reply(earlier))

    def _list_questions(self, step: Step) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        answers = self.store.answers(conv.id)
        lines = ["Which answer would you like to change? Type `edit <n>`:"]
        for q in flow.questions:
            given = answers.get(q.id)
            shown = "(skipped)" if given and given.skipped else clip(given.text) if given else "-"
            lines.append(f"{q.number}. {q.title}: {shown}")
        step.say("\n".join(lines))

    def _edit(self, step: Step, number: int) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        spec = flow.question(number)
        if spec is None:
            step.say(
                f"There's no question {number}; the questions run from 1 to {len(flow.questions)}."
            )
            return
        if conv.state == spec.id:
            self._prompt(step)
            return
        back_to = conv.return_to or conv.state
        new = fire(flow, conv.state, "jump", target=spec.id)
        if new is None:
            step.say("I can't edit that from here.")
            return
        conv.state, conv.return_to, conv.followed_up = new, back_to, False
        self._save(conv)
        current = self.store.answers(conv.id).get(spec.id)
        if current is not None and not current.skipped:
            step.say(f"Your answer was: {quote(current.text)}. Send the new one.")
        self._prompt(step)
