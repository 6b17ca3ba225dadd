"""Check-ins: the coach coming back to each member, and the commands that steer it.

`extension.install(coach)` adds, through the engine's extension interface: the `schedule`, `snooze`,
`opt out`, `opt in`, `checkin now` and `stage check` commands; the hooks that run a
check-in (record how the last step went, pick the next one, store the new commitment and,
with a stage check, a new placement); turning check-ins on after a team's first completed
interview; and a celebration in the team's place when the team moves up the ladder. The
scheduler asks `CheckIns.prepare` (in `deliveries.py`) for the message each due delivery
carries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.checkins import agenda
from bot.checkins.deliveries import CHECKIN_FLOW, STAGE_FLOW, CheckInDeliveries
from bot.checkins.next_steps import choose_next, load_smaller_steps
from bot.checkins.schedules import default_schedule
from bot.engine import (
    INTERVIEW,
    Coach,
    CoachCore,
    ConflictError,
    Step,
    business_model,
    fill,
)
from bot.ladder import Placement, place, read_answers, team_rung
from bot.messages import Reply
from bot.report import latest_placements
from bot.store import CELEBRATION, Answer, Conversation, Member, Team
from bot.zones import today_in
from flows import Flow

CHECKIN_FLOWS = (CHECKIN_FLOW, STAGE_FLOW)
HELP = {
    "schedule": "the team's check-in schedule; the lead changes it, as in"
    " `schedule tuesday 10:00 zone Europe/Paris`",
    "snooze <days>": "no check-ins for a while (or `snooze until <date>`)",
    "opt out": "no more check-ins for you (`opt in` to come back)",
    "checkin now": "the lead starts a check-in for the whole team",
    "stage check": "re-run the short stage check now",
}
# Commitment statuses: still on the member's list, and what a check-in can set.
LIVE = ("open", "partly", "not_yet")
REPLACED = "replaced"
REFLECT = {
    "done": "Well done! What helped you get it done?",
    "partly": "Good progress. What helped, and what got in the way?",
    "not_yet": "That happens. What got in the way?",
}
# Before the question about each recalled step after the first.
NEXT_STEP = "And the next one:"
OFFER = {
    "next": "here's your next step toward *{stage}*:\n{action}",
    "different": "let's try a different step toward *{stage}*:\n{action}",
    "smaller": "that one hasn't moved yet, so here's a smaller step:\n{action}",
}


class CheckIns(CheckInDeliveries):
    """The check-in side of one coach: its commands, its hooks, and its deliveries."""

    def __init__(self, coach: Coach) -> None:
        self.coach = coach
        self.store = coach.store
        self.smaller = load_smaller_steps(coach.ladder)
        # The check-ins' open questions: what members say there is read for placement too.
        self.reflections = frozenset(
            spec.id
            for flow in (coach.flows[STAGE_FLOW], coach.flows[CHECKIN_FLOW])
            for spec in flow.states.values()
            if spec.answer == "text"
        )
        # The stage check's questions: asked again in a check-in, they update the interview's.
        self.stage_questions = frozenset(coach.flows[STAGE_FLOW].states) & frozenset(
            coach.interview.states
        )
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when something may now be due sooner (the scheduler wakes)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    def stage_check(self, member: Member) -> list[Reply]:
        """Re-run the stage check now, on the member's request: a check-in with it."""
        context = self.context(member, round_key=None)
        return self.coach.begin_flow(member.key, STAGE_FLOW, context).replies

    # --- the check-in conversation --------------------------------------------------------

    def context(self, member: Member, *, round_key: str | None) -> dict[str, Any]:
        """What a check-in's prompts are filled from: the member's steps, recalled."""
        live = [
            c
            for c in self.store.commitments(team_id=member.team.id, member_id=member.id)
            if c.status in LIVE
        ]
        if live:
            recalled = [c.action for c in live]
            intro = "Last time you committed to:"
        else:
            recalled = list(self.placement(member, None).actions[:1])
            intro = "Last time you didn't pick a step; the first one I suggested was:"
        return {
            "recall": intro + "\n" + "\n".join(f"• {a}" for a in recalled),
            "step": with_step(recalled[0]) if len(recalled) > 1 else "",
            "recalled": recalled,
            "commitment_ids": [c.id for c in live],
            # Which recalled step is being asked about, and how each one went so far.
            "asking": 0,
            "outcomes": [],
            "round": round_key,
        }

    def answers(self, member: Member, conv: Conversation | None) -> dict[str, Answer]:
        """The interview's answers, with the stage-check answers of later check-ins on top."""
        store = self.store
        merged: dict[str, Answer] = {}
        interview = store.conversation(member.id, flow=INTERVIEW)
        if interview is not None:
            merged.update(store.answers(interview.id))
        for later in (store.conversation(member.id, flow=STAGE_FLOW), conv):
            if later is not None:
                merged.update(
                    (q, a) for q, a in store.answers(later.id).items() if q in self.stage_questions
                )
        return merged

    def placement(self, member: Member, conv: Conversation | None) -> Placement:
        answers = self.answers(member, conv)
        coach = self.coach
        # What the member told later check-ins is read along with the interview.
        said = [
            (q, a.text)
            for later in (self.store.conversation(member.id, flow=STAGE_FLOW), conv)
            if later is not None
            for q, a in self.store.answers(later.id).items()
            if q in self.reflections and a.text and not a.skipped
        ]
        return place(
            answers,
            read_answers(answers, coach.interview, more=said),
            ladder=coach.ladder,
            flow=coach.interview,
            business_model=business_model(answers),
        )

    def _outcome(self, conv: Conversation) -> str:
        """How the recalled steps went, together: done only if every one is done."""
        outcomes: list[str] = conv.context.get("outcomes") or []
        if not outcomes:
            answer = self.store.answers(conv.id).get("ci_progress")
            return (answer.value if answer is not None else None) or "not_yet"
        if all(o == "done" for o in outcomes):
            return "done"
        return "partly" if any(o in ("done", "partly") for o in outcomes) else "not_yet"

    def _save(self, conv: Conversation) -> None:
        if not self.store.save_conversation(conv):
            raise ConflictError

    def _enter_reflect(self, coach: CoachCore, step: Step, flow: Flow) -> None:
        """How a recalled step went: it takes the answer as its status, and the next one is
        asked about on its own; after the last, what helped or got in the way."""
        conv = step.conv
        assert conv is not None
        context = conv.context
        answer = self.store.answers(conv.id).get("ci_progress")
        outcome = (answer.value if answer is not None else None) or "not_yet"
        asking = int(context.get("asking", 0))
        ids: list[int] = context.get("commitment_ids", [])
        if asking < len(ids):
            self.store.set_commitment_status(ids[asking], step.member.id, outcome)
        context["outcomes"] = [*context.get("outcomes", []), outcome]
        recalled: list[str] = context.get("recalled", [])
        if asking + 1 < len(recalled):
            context.update(
                asking=asking + 1, recall=NEXT_STEP, step=with_step(recalled[asking + 1])
            )
            # The same question again, about the next step: not a place to go `back` to.
            if conv.trail and conv.trail[-1] == "ci_progress":
                conv.trail.pop()
            conv.state = "ci_progress"
            self._save(conv)
            self.coach._prompt(step)
            return
        context["reflect"] = REFLECT.get(self._outcome(conv), REFLECT["not_yet"])
        self._save(conv)

    def _enter_next(self, coach: CoachCore, step: Step, flow: Flow) -> None:
        """Choose the step to offer, from the placement (fresh after a stage check)."""
        conv, member = step.conv, step.member
        assert conv is not None
        placement = self.placement(member, conv if flow.id == STAGE_FLOW else None)
        outcome = self._outcome(conv)
        previous = self.store.previous_outcome(member.id, before=conv.id)
        model = business_model(self.answers(member, conv))
        done = frozenset(
            c.action
            for c in self.store.commitments(team_id=member.team.id, member_id=member.id)
            if c.status == "done"
        )
        # A recalled step is matched to its ladder key by its wording in this placement.
        keyed = dict(zip(placement.actions, placement.action_keys, strict=True))
        offer = choose_next(
            placement.actions,
            recalled=conv.context.get("recalled", []),
            done=done,
            outcome=outcome,
            stalled_twice=outcome == "not_yet" and previous == "not_yet",
            smaller=lambda action: (
                step_.worded_for(model)
                if (key := keyed.get(action)) and (step_ := self.smaller.get(key))
                else None
            ),
        )
        target = placement.next_stage or placement.stage
        conv.context.update(
            offer=_capital(fill(OFFER[offer.kind], {"stage": target.name, "action": offer.action})),
            action=offer.action,
            target=target.name,
        )
        self._save(conv)

    def _finish_checkin(self, coach: CoachCore, step: Step, flow: Flow) -> None:
        conv, member = step.conv, step.member
        assert conv is not None
        store = self.store
        if flow.id == STAGE_FLOW:
            self._record_placement(step, conv)
        answer = store.answers(conv.id).get("ci_next")
        action = str(conv.context.get("action", ""))
        if answer is not None and answer.value == "yes" and action:
            # The new step replaces the recalled ones not done; those done stay done.
            outcomes = conv.context.get("outcomes") or []
            for i, commitment in enumerate(conv.context.get("commitment_ids", [])):
                if (outcomes[i] if i < len(outcomes) else self._outcome(conv)) != "done":
                    store.set_commitment_status(commitment, member.id, REPLACED)
            store.add_commitments(
                team_id=member.team.id,
                member_id=member.id,
                conversation_id=conv.id,
                stage=str(conv.context.get("target", "")),
                actions=[action],
            )
            step.say(f"Committed: {action}\nI'll ask how it went at the next check-in.")
        else:
            step.say("No problem: your earlier steps stay on your list for next time.")
        if flow.done:
            step.say(fill(flow.done, {"name": member.label, **conv.context}))

    def _record_placement(self, step: Step, conv: Conversation) -> None:
        member = step.member
        before = self._team_rung(member.team)
        placement = self.placement(member, conv)
        self.coach.save_placement(member, conv.id, placement)
        step.say(
            f"Your rung, from this stage check: *{placement.stage.name}*.",
            card=placement.card(self.coach.ladder),
        )
        self._celebrate_if_up(step, before, conv.id)

    def _team_rung(self, team: Team) -> int | None:
        return team_rung([p.rung for p in latest_placements(self.coach, team).values()])

    def _celebrate_if_up(self, step: Step, before: int | None, conversation: int) -> None:
        """A new placement that lifts the team's rung is celebrated in the team's place."""
        team = step.member.team
        after = self._team_rung(team)
        if before is None or after is None or after <= before:
            return
        ladder = self.coach.ladder
        stage = ladder.stage(after)
        following = (
            f" Next up: {ladder.stage(after + 1).name}." if after < len(ladder.stages) else ""
        )
        text = (
            f"🎉 {team.label} has moved up the ladder to *{stage.name}* (rung {after} of"
            f" {len(ladder.stages)}): {stage.summary}{following} Well done, everyone!"
        )
        self.store.enqueue(
            key=f"{CELEBRATION}:{team.id}:{conversation}:{after}",
            kind=CELEBRATION,
            team_id=team.id,
            member_id=None,
            due=self.coach.clock.now(),
            detail={"text": text},
        )
        step.say(f"🎉 Your team just moved up to *{stage.name}*! I'll tell the whole team.")
        self.changed()

    # --- wrapping the interview's hooks -----------------------------------------------------

    def _celebrating(
        self, coach: CoachCore, step: Step, flow: Flow, proceed: Callable[[], None]
    ) -> None:
        """Around placing the member: a placement that lifts the team is celebrated."""
        before = self._team_rung(step.member.team)
        proceed()
        if step.conv is not None:
            self._celebrate_if_up(step, before, step.conv.id)

    def _finishing_interview(
        self, coach: CoachCore, step: Step, flow: Flow, proceed: Callable[[], None]
    ) -> None:
        """After the interview: check-ins turn on for the team, the first time."""
        self._celebrating(coach, step, flow, proceed)
        team = step.member.team
        zone = team.timezone or step.msg.timezone
        schedule = default_schedule(zone, today_in(self.coach.clock.now(), zone))
        if agenda.ensure_schedule(self.store, team.id, schedule):
            step.say(
                f"Check-ins are now on for {team.label}: {schedule.describe()}."
                " `schedule` shows it; your lead can change it."
            )
            self.changed()


def with_step(action: str) -> str:
    """The end of "How far did you get …?" that names one of several recalled steps."""
    return f" with “{action}”"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
