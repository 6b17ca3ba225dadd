"""Placing the member on the ladder: recording the placement, the commitments, finishing."""

from __future__ import annotations

from typing import Any

from bot.engine.core import CoachCore
from bot.engine.step import Step
from bot.ladder import (
    Placement,
    place,
)
from bot.messages import (
    SummaryCard,
)
from bot.report import business_model
from bot.store import Conversation, Member
from flows import Flow


class Placing(CoachCore):
    """The interview's last steps: the placement, the commitments, the end."""

    def placement_for(self, member: Member, conv: Conversation) -> Placement:
        answers = self.store.answers(conv.id)
        return place(
            answers,
            ladder=self.ladder,
            flow=self.interview,
            business_model=business_model(answers),
        )

    def _enter_commit(self, step: Step, flow: Flow) -> None:
        conv = step.conv
        assert conv is not None
        answers = self.store.answers(conv.id)
        placement = self._record_placement(step)
        conv.context["actions"] = list(placement.actions)
        conv.context["rung"] = placement.rung
        self._save(conv)
        rows = tuple((f"{q.number}. {q.title}", shown(answers.get(q.id))) for q in flow.questions)
        step.say("Here's what you told me.", card=SummaryCard(title="Your answers", rows=rows))
        step.say(
            f"Your team's rung, from your answers: *{placement.stage.name}*.",
            card=placement.card(self.ladder),
        )

    def _record_placement(self, step: Step) -> Placement:
        conv = step.conv
        assert conv is not None
        placement = self.placement_for(step.member, conv)
        self.save_placement(step.member, conv.id, placement)
        return placement

    def save_placement(self, member: Member, conversation_id: int, placement: Placement) -> None:
        """Add a placement to the member's history, with the evidence for it."""
        self.store.add_placement(
            team_id=member.team.id,
            member_id=member.id,
            conversation_id=conversation_id,
            rung=placement.rung,
            stage=placement.stage.name,
            evidence=[
                {"criterion": e.criterion, "stage": e.stage, "met": e.met, "because": e.because}
                for e in placement.evidence
            ],
        )

    def _finish_interview(self, step: Step, flow: Flow) -> None:
        conv = step.conv
        assert conv is not None
        if conv.context.get("finished"):
            # Back at the end after editing a finished interview: place the member afresh.
            placement = self._record_placement(step)
            step.say(
                f"Answer updated. Your rung, from your answers now: *{placement.stage.name}*.",
                card=placement.card(self.ladder),
            )
            return
        conv.context["finished"] = True
        committed: list[str] = conv.context.get("committed", [])
        if committed:
            target = self.ladder.stage(
                min(int(conv.context.get("rung", 1)) + 1, len(self.ladder.stages))
            )
            self.store.add_commitments(
                team_id=step.member.team.id,
                member_id=step.member.id,
                conversation_id=conv.id,
                stage=target.name,
                actions=committed,
            )
            step.say(
                "Committed:\n"
                + "\n".join(f"• {a}" for a in committed)
                + "\nI'll ask how these went at the next check-in."
            )
        self._save(conv)
        self._finish_default(step, flow)


def shown(answer: Any) -> str:
    if answer is None:
        return "not answered"
    if answer.skipped:
        return "skipped"
    return str(answer.text)
