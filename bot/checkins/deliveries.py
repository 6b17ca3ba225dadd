"""Check-in deliveries: queuing each round's check-ins and the interview reminders, and
preparing the message each due delivery carries (or why it is skipped or deferred)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.checkins import agenda
from bot.checkins.schedules import Rhythm, add_working_days, deliverable
from bot.clock import iso, parse_iso
from bot.engine import ACTIVE, INTERVIEW, Coach
from bot.messages import Choice, MemberKey, Outgoing, Reply
from bot.store import (
    CELEBRATION,
    CHECKIN,
    NEW_LEAD,
    REMINDER,
    Conversation,
    Delivery,
    Member,
    Store,
)

CHECKIN_FLOW, STAGE_FLOW = "checkin", "checkin_stage"
# Working days of silence before the first and the second (last) interview reminder.
REMIND_AFTER = (2, 5)
# A member who finished the interview this recently is not checked in with yet.
SETTLE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Skip:
    """The delivery is not sent, for a reason worth keeping."""

    reason: str


@dataclass(frozen=True, slots=True)
class Defer:
    """The delivery is not sent yet; it is due again at `due`."""

    due: datetime
    detail: Mapping[str, Any]


Prepared = Outgoing | Skip | Defer


class CheckInDeliveries:
    """What the scheduler asks of the check-ins; `CheckIns` supplies the conversation side."""

    coach: Coach
    store: Store

    def context(self, member: Member, *, round_key: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def changed(self) -> None:
        raise NotImplementedError

    def start_round(self, team_id: int, occurrence: datetime) -> int:
        """Queue one check-in per member for an occurrence; returns how many were queued."""
        round_ = iso(occurrence)
        queued = 0
        for member_id in self.store.checkin_members(team_id):
            self.store.supersede(member_id, CHECKIN)
            rhythm = agenda.rhythm_for(self.store, team_id, member_id)
            queued += self.store.enqueue(
                key=f"{CHECKIN}:{member_id}:{round_}",
                kind=CHECKIN,
                team_id=team_id,
                member_id=member_id,
                due=deliverable(occurrence, rhythm),
                detail={"round": round_},
            )
        if queued:
            self.changed()
        return queued

    def watch_interviews(self, limit: int) -> int:
        """Queue the first reminder for each interview started since the last look."""
        found = self.store.new_interviews(limit)
        for conversation, member_id, team_id, activity in found:
            self._queue_reminder(conversation, member_id, team_id, 1, activity)
        return len(found)

    def _queue_reminder(
        self, conversation: int, member_id: int, team_id: int, n: int, basis: datetime
    ) -> None:
        rhythm = agenda.rhythm_for(self.store, team_id, member_id)
        self.store.enqueue(
            key=f"{REMINDER}:{conversation}:{n}",
            kind=REMINDER,
            team_id=team_id,
            member_id=member_id,
            due=deliverable(add_working_days(basis, REMIND_AFTER[n - 1], rhythm), rhythm),
            detail={"conversation": conversation, "n": n, "basis": iso(basis)},
        )

    def prepare(self, delivery: Delivery, now: datetime) -> Prepared:
        """The message a due delivery carries now, or why it is skipped or deferred.

        Runs inside the claiming transaction: a check-in's conversation starts in the same
        commit that claims it.
        """
        if delivery.kind == CELEBRATION:
            return self._prepare_celebration(delivery, now)
        assert delivery.member_id is not None
        member = self.store.member_by_id(delivery.member_id)
        if member is None:
            return Skip("the member was removed")
        if delivery.kind == NEW_LEAD:
            return self._prepare_new_lead(member)
        prefs = self.store.prefs_of(member.id)
        if prefs.opted_out:
            return Skip("opted out")
        rhythm = agenda.rhythm_for(self.store, member.team.id, member.id)
        address = member.address
        if delivery.kind == REMINDER:
            return self._prepare_reminder(
                delivery, member, address, rhythm, prefs.snoozed_until, now
            )
        if prefs.snoozed(now):
            return Skip("snoozed")
        latest = self.store.conversation(member.id)
        interview = self.store.conversation(member.id, flow=INTERVIEW)
        if interview is None or interview.status != "done":
            return Skip("has not finished the interview")
        if latest is not None and latest.flow == INTERVIEW and latest.status in ACTIVE:
            return Skip("is doing the interview again")
        if now - parse_iso(interview.updated_at) < SETTLE:
            return Skip("finished the interview less than a day ago")
        if address is None:
            return Skip("no direct-message address yet")
        if (later := deliverable(now, rhythm)) > now:
            return Defer(later, delivery.detail)
        found = agenda.schedule_of(self.store, member.team.id)
        every = found[0].stage_check_every if found else 0
        count = self.store.checkin_count(member.id) + 1
        flow = STAGE_FLOW if every and count % every == 0 else CHECKIN_FLOW
        context = self.context(member, round_key=delivery.detail.get("round"))
        turn = self.coach.begin_flow(member.key, flow, context)
        return Outgoing(address=address, replies=tuple(turn.replies), key=member.key)

    def recheck(self, delivery: Delivery, now: datetime) -> Skip | Defer | None:
        """A retry resends its claimed message, but still never after an opt-out or at night."""
        if delivery.member_id is not None and self.store.prefs_of(delivery.member_id).opted_out:
            return Skip("opted out")
        rhythm = agenda.rhythm_for(self.store, delivery.team_id, delivery.member_id)
        if (later := deliverable(now, rhythm)) > now:
            return Defer(later, delivery.detail)
        return None

    def _prepare_reminder(
        self,
        delivery: Delivery,
        member: Member,
        address: str | None,
        rhythm: Rhythm,
        snoozed_until: datetime | None,
        now: datetime,
    ) -> Prepared:
        detail = delivery.detail
        n = int(detail["n"])
        conv = self.store.conversation(member.id, flow=INTERVIEW)
        if conv is None or conv.id != detail["conversation"] or conv.status not in ACTIVE:
            return Skip("the interview was finished or restarted")
        activity = parse_iso(conv.updated_at)
        if activity > parse_iso(detail["basis"]):
            # The member carried on since: the silence is counted from their last answer.
            due = add_working_days(activity, REMIND_AFTER[n - 1], rhythm)
            return Defer(deliverable(due, rhythm), {**detail, "basis": iso(activity)})
        if snoozed_until is not None and now < snoozed_until:
            return Defer(deliverable(snoozed_until, rhythm), detail)
        if address is None:
            return Skip("no direct-message address yet")
        if (later := deliverable(now, rhythm)) > now:
            return Defer(later, detail)
        if n < len(REMIND_AFTER):
            self._queue_reminder(conv.id, member.id, member.team.id, n + 1, activity)
        where = self._where(conv)
        last = "" if n < len(REMIND_AFTER) else " This is my last reminder."
        text = (
            f"Hi {member.label}, you started the coffee interview with me and stopped at"
            f" {where}. Your answers so far are saved; carry on whenever you're ready and"
            " you'll get your team's rung and next steps at the end."
            f"{last} Reply `opt out` if you'd rather I didn't remind you."
        )
        choices = (Choice("Carry on", "start", "primary"),)
        return Outgoing(address=address, replies=(Reply(text, choices=choices),), key=member.key)

    def _prepare_new_lead(self, member: Member) -> Prepared:
        """The one line that tells a member they lead the team now (the lead forgot
        themselves, or left for another team): not held for working hours, it asks nothing."""
        if member.address is None or member.team.lead != member.user:
            return Skip("no direct-message address yet, or the lead changed again")
        text = (
            f"You now lead {member.team.label} on Coffee Coach (the previous lead left the team"
            " or had their data deleted): you can change the team's check-in `schedule`."
        )
        return Outgoing(address=member.address, replies=(Reply(text),), key=member.key)

    def _prepare_celebration(self, delivery: Delivery, now: datetime) -> Prepared:
        team = self.store.team_by_id(delivery.team_id)
        if team is None or not team.address:
            return Skip("the team has no shared channel or chat to celebrate in")
        rhythm = agenda.rhythm_for(self.store, team.id, None)
        if (later := deliverable(now, rhythm)) > now:
            return Defer(later, delivery.detail)
        # The key names the workspace, for adapters that hold a token per workspace.
        key = MemberKey(team.platform, team.workspace, team.lead or "", team.team)
        return Outgoing(
            address=team.address, replies=(Reply(str(delivery.detail["text"])),), key=key
        )

    def _where(self, conv: Conversation) -> str:
        spec = self.coach.interview.states.get(conv.state)
        if spec is None:
            return "the end"
        if spec.number is not None:
            total = len(self.coach.interview.questions)
            return f"question {spec.number} of {total} ({spec.title.lower()})"
        return f"“{spec.title or spec.prompt}”"
