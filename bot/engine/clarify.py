"""The clarifying questions before a placement: one per disagreement between words and picks."""

from __future__ import annotations

from bot.engine.moves import Moves
from bot.engine.step import Step
from bot.ladder import (
    MAX_CLARIFY,
    clarify_choices,
    clarify_context,
    clarify_question,
    conflicts,
)
from bot.messages import (
    Reply,
)
from flows import Criterion, Flow


class Clarifying(Moves):
    """Asking, and reading the answers to, the clarifying questions."""

    def _enter_clarify(self, step: Step, flow: Flow) -> None:
        """Before placing: one question per disagreement between words and picks."""
        conv = step.conv
        assert conv is not None
        self._clarify_next(step, entering=True)

    def _clarify_next(self, step: Step, *, entering: bool = False) -> None:
        """Ask the next disagreement worth a question, or move on to the placement."""
        conv = step.conv
        assert conv is not None
        asked = int(conv.context.get("clarified", 0))
        pending = (
            conflicts(self.store.answers(conv.id), ladder=self.ladder, flow=self.interview)
            if asked < MAX_CLARIFY
            else []
        )
        if pending:
            conv.context.update(clarify_context(pending[0], self.interview))
            self._save(conv)
            if not entering:
                self._prompt(step)
            return
        conv.context.pop("clarifying", None)
        self._move(step, "answer")

    def _answer_clarify(self, step: Step, text: str) -> None:
        conv = step.conv
        assert conv is not None
        criterion = self.ladder_criterion(str(conv.context.get("clarifying")))
        choices = clarify_choices(self.ladder, conv.context)
        wanted = text.strip().casefold()
        picked = next(
            (
                c
                for i, c in enumerate(choices, start=1)
                if wanted in (c.value, c.label.casefold(), str(i))
            ),
            None,
        )
        if criterion is None or picked is None:
            options = " or ".join(f"{i}. {c.label}" for i, c in enumerate(choices, start=1))
            step.say(f"Please pick one (the number is enough): {options}.")
            self._prompt(step)
            return
        self.store.add_answer(
            conv.id,
            clarify_question(criterion.id),
            text=picked.label,
            value=picked.value,
            message_id=step.msg.message_id,
        )
        step.replies.append(Reply(text="", answered=picked.label))
        conv.context["clarified"] = int(conv.context.get("clarified", 0)) + 1
        self._clarify_next(step)

    def ladder_criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for _, c in self.ladder.criteria() if c.id == criterion_id), None)
