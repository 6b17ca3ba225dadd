"""The check-in commands members and leads type: `schedule`, `snooze`, `opt out`, `opt in`,
`checkin now` and `stage check`, in every door (Slack, Teams, the terminal).

Only the team's lead (who set the team up) or a workspace or tenant admin changes the
team's schedule or starts a check-in for everyone; each member snoozes or opts out for
themselves. Anything that does not parse gets a reply that says why, and changes nothing.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Protocol

from bot.checkins import agenda
from bot.checkins.schedules import Rhythm, Schedule, ScheduleError, default_schedule, localize
from bot.checkins.settings import USAGE, apply_change, describe_days, parse_change, parse_date
from bot.clock import parse_iso
from bot.engine import INTERVIEW, Coach, CoachCore, Step
from bot.messages import Reply, mention
from bot.store import Member, Store, Team
from bot.zones import canonical_zone, today_in

MAX_SNOOZE_DAYS = 365
_SNOOZE = re.compile(r"^snooze(?: (?:for )?(\d+)(?: ?days?| ?d)?| until (.+)| (off))?$")
_OPT_OUT = frozenset({"opt out", "opt-out", "optout", "stop check-ins", "stop checkins"})
_OPT_IN = frozenset({"opt in", "opt-in", "optin"})
_CHECKIN_NOW = frozenset({"checkin now", "check-in now", "check in now"})
_STAGE_CHECK = frozenset({"stage check", "stage-check", "stagecheck"})


class Rounds(Protocol):
    """What the commands need of the check-in service (`bot.checkins.CheckIns` is one)."""

    @property
    def store(self) -> Store: ...

    @property
    def coach(self) -> Coach: ...

    def changed(self) -> None: ...

    def start_round(self, team_id: int, occurrence: datetime) -> int: ...

    def stage_check(self, member: Member) -> list[Reply]: ...


class CheckInCommands:
    """The check-in chat commands, for the engine through `CheckInExtension`: True when ours."""

    def __init__(self, checkins: Rounds) -> None:
        self.checkins = checkins
        self.store = checkins.store
        self.clock = checkins.coach.clock

    def command(self, coach: CoachCore, step: Step, text: str) -> bool:
        # Messages carry the zone the platform reports: keep it (for quiet hours) when it
        # changed, without a write on every message.
        zone = canonical_zone(step.msg.timezone)
        if zone is not None and zone != step.member.timezone:
            self.store.remember_zone(step.member.id, zone)
            step.member.timezone = zone
        command = " ".join(text.casefold().split()).rstrip(".!")
        busy = step.conv is not None and step.conv.status == "active"
        if command == "schedule":
            self._show(step)
        elif command.startswith("schedule "):
            rest = command.removeprefix("schedule ")
            if busy and not step.msg.command and not _parses(rest):
                return False  # an answer that starts with the word, such as "schedule posts"
            self._change(step, rest)
        elif m := _SNOOZE.match(command):
            self._snooze(step, days=m.group(1), until=m.group(2), off=bool(m.group(3)))
        elif command == "unsnooze":
            self._snooze(step, days=None, until=None, off=True)
        elif command in _OPT_OUT:
            self._opt(step, out=True)
        elif command in _OPT_IN:
            self._opt(step, out=False)
        elif command in _CHECKIN_NOW:
            self._checkin_now(step)
        elif command in _STAGE_CHECK:
            self._stage_check(step)
        else:
            return False
        return True

    def _is_lead(self, step: Step) -> bool:
        return step.msg.is_admin or step.team.lead == step.member.user

    def _lead(self, team: Team) -> str:
        """` (@Name)` of the team's lead, for the lines that say who may change the schedule:
        a mention in the door's idiom, never a platform id."""
        if not team.lead:
            return ""
        found = next((m for m in self.store.members(team.id) if m.user == team.lead), None)
        return f" ({mention(team.lead, found.label)})" if found is not None else ""

    def _refuse(self, step: Step, what: str) -> None:
        team = step.team
        lead = self._lead(team)
        step.say(
            f"Only the team's lead{lead} or a workspace admin can {what} for {team.label};"
            " nothing changed. `schedule` shows the current schedule."
        )

    def _show(self, step: Step) -> None:
        team = step.team
        found = agenda.schedule_of(self.store, team.id)
        lines = []
        if found is None:
            schedule = default_schedule(team.timezone, today_in(self.clock.now(), team.timezone))
            lines.append(
                f"Check-ins for {team.label} start after the team's first completed interview:"
                f" {describe_schedule(schedule)}."
            )
        else:
            schedule, due = found
            lines.append(f"Check-ins for {team.label}: {describe_schedule(schedule)}.")
            if due is not None:
                lines.append(f"Next check-in: {when(due, schedule.rhythm)}.")
            else:
                lines.append("Check-ins are off; the lead can turn them on with `schedule weekly`.")
        rounds = self.store.checkin_rounds(team.id)[-3:]
        if rounds:
            lines.append(
                "Recent check-ins: "
                + "; ".join(
                    f"{parse_iso(r):%d %b}: {answered} of {asked} answered"
                    for r, asked, answered in rounds
                )
                + "."
            )
        prefs = self.store.prefs_of(step.member.id)
        now = self.clock.now()
        rhythm = agenda.rhythm_for(self.store, team.id, step.member.id)
        if prefs.opted_out:
            lines.append("You have opted out of check-ins; `opt in` brings them back.")
        elif prefs.snoozed(now) and prefs.snoozed_until is not None:
            lines.append(f"You're snoozed until {when(prefs.snoozed_until, rhythm)}.")
        lines.append(
            f"The lead{self._lead(team)} can change it: {USAGE}. Anyone can `snooze 7`,"
            " `snooze until 2026-12-07`, `opt out` or `opt in` for themselves."
        )
        step.say("\n".join(lines))

    def _change(self, step: Step, rest: str) -> None:
        if not self._is_lead(step):
            self._refuse(step, "change the check-in schedule")
            return
        team = step.team
        found = agenda.schedule_of(self.store, team.id)
        current = (
            found[0] if found else default_schedule(team.timezone, today_in(self.clock.now(), None))
        )
        try:
            change = parse_change(rest)
            today = today_in(self.clock.now(), change.zone or current.zone)
            updated = apply_change(current, change, today)
        except ScheduleError as exc:
            step.say(f"{exc} Nothing changed.")
            return
        due = agenda.save_schedule(self.store, team.id, updated, by=step.member.user)
        self.checkins.changed()
        if due is None:
            step.say(f"Check-ins for {team.label} are off. `schedule weekly` turns them back on.")
        else:
            step.say(
                f"Done: check-ins for {team.label} are now {describe_schedule(updated)}."
                f"\nNext check-in: {when(due, updated.rhythm)}."
            )

    def _snooze(self, step: Step, *, days: str | None, until: str | None, off: bool) -> None:
        member = step.member
        prefs = self.store.prefs_of(member.id)
        rhythm = agenda.rhythm_for(self.store, member.team.id, member.id)
        today = self.clock.now().astimezone(rhythm.tz).date()
        if off:
            self.store.set_prefs(member.id, opted_out=prefs.opted_out, snoozed_until=None)
            step.say("Snooze ended: check-ins are back on for you.")
            return
        if days is None and until is None:
            step.say("Snooze for how long? Try `snooze 7` (days) or `snooze until 2026-12-07`.")
            return
        try:
            if days is not None:
                if not 1 <= int(days) <= MAX_SNOOZE_DAYS:
                    raise ScheduleError(
                        f"Snooze for 1 to {MAX_SNOOZE_DAYS} days; for longer, `opt out`."
                    )
                resume = today + timedelta(days=int(days))
            else:
                assert until is not None
                resume = parse_date(until, today)
                if (resume - today).days > MAX_SNOOZE_DAYS:
                    raise ScheduleError(
                        f"Snooze for at most {MAX_SNOOZE_DAYS} days; for longer, `opt out`."
                    )
        except ScheduleError as exc:
            step.say(f"{exc} Nothing changed.")
            return
        resumes = localize(resume, datetime.min.time(), rhythm.tz)
        self.store.set_prefs(member.id, opted_out=prefs.opted_out, snoozed_until=resumes)
        step.say(
            f"Snoozed: no check-ins or reminders until {resume:%A %d %B %Y}."
            " `snooze off` ends it early."
        )

    def _opt(self, step: Step, *, out: bool) -> None:
        member = step.member
        prefs = self.store.prefs_of(member.id)
        self.store.set_prefs(member.id, opted_out=out, snoozed_until=prefs.snoozed_until)
        team = member.team.label
        if out:
            step.say(
                f"You're opted out: no more check-ins or reminders from me for {team}."
                " Your answers stay; `opt in` brings check-ins back."
            )
        else:
            step.say(f"You're opted in: check-ins for {team} are back on for you.")
            self.checkins.changed()

    def _checkin_now(self, step: Step) -> None:
        if not self._is_lead(step):
            self._refuse(step, "start a check-in")
            return
        team = step.team
        asked = self.checkins.start_round(team.id, self.clock.now())
        if not asked:
            step.say(
                f"Nobody in {team.label} has finished the interview (or everyone opted out),"
                " so there is nobody to check in with yet."
            )
            return
        step.say(
            f"Starting a check-in for {asked} member(s) of {team.label} now. Anyone in their"
            " quiet hours or weekend gets it when their day starts."
        )

    def _stage_check(self, step: Step) -> None:
        member = step.member
        interview = self.store.conversation(member.id, flow=INTERVIEW)
        if interview is None or interview.status != "done":
            step.say(
                "The stage check is part of the coffee interview: finish that first"
                " (type `start`), then `stage check` re-runs it whenever you like."
            )
            return
        step.replies.extend(self.checkins.stage_check(member))


def _parses(rest: str) -> bool:
    try:
        parse_change(rest)
    except ScheduleError:
        return False
    return True


def describe_schedule(schedule: Schedule) -> str:
    """The schedule in a sentence, with its working days, quiet hours and stage checks."""
    if schedule.cadence == "off":
        return "off"
    rhythm = schedule.rhythm
    text = schedule.describe()
    every = schedule.stage_check_every
    stage = {0: "no stage checks", 1: "a stage check at every check-in"}.get(
        every, f"a stage check every {every} check-ins"
    )
    return (
        f"{text}; working days {describe_days(rhythm.working_days)};"
        f" quiet hours {rhythm.quiet}; {stage}"
    )


def when(moment: datetime, rhythm: Rhythm) -> str:
    """A moment as the person reads it: their weekday, date and time, and the zone."""
    local = moment.astimezone(rhythm.tz)
    return f"{local:%A %d %B %Y, %H:%M} ({rhythm.zone})"
