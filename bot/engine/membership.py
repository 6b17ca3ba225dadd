"""The team model, the same behind every door: whose answers count for which team.

A member's answers belong to the member, and count for the one team they answer for (the
team of their member row). A message may come from a place: a channel, a Teams team, a
group chat, a terminal `--team` (`MemberKey.team`); a direct message has none. The rules:

- Someone the coach never met joins the team of the place they first use it from; from a
  direct message, their answers are kept in a personal team until their team is known.
- A member in a personal team who appears in a team's place moves there with everything
  they answered, and is told so in one line.
- A member who answers for one team and uses the coach in another team's place is never
  moved silently: team commands (`report`, `export`, the schedule) answer for the place,
  and starting the interview there asks first, with buttons.
- `team` shows the team the member answers for, and in another team's place offers to
  switch.
- A group DM or group chat is not a team until someone makes it one (`team make`), under
  the name its door gives it (its members' names).
"""

from __future__ import annotations

from datetime import timedelta

from bot.clock import Cutoff
from bot.engine.lifecycle import Lifecycle
from bot.engine.step import ACTIVE, INTERVIEW, Step
from bot.messages import Choice, Incoming, MemberKey, Noted, TeamKey
from bot.store import GROUP, PERSONAL, TEAM, Conversation, Member, Team
from bot.zones import canonical_zone

TOUCH_EVERY_S = 60.0
# Shared by every coach in the process: it holds one moment's text, not anyone's data.
_TOUCH_CUTOFF = Cutoff(timedelta(seconds=TOUCH_EVERY_S))
JOIN, KEEP, MAKE = "team join", "team keep", "team make"
# The same answers to the question asked when the interview was started elsewhere: they
# go on to the interview.
START_JOIN, START_KEEP = "team start", "team stay"


def personal_key(key: MemberKey) -> MemberKey:
    return key.with_team(f"personal:{key.user}")


class Membership(Lifecycle):
    """Resolving a message to the member, their team and the place; the `team` command."""

    def _member_at(
        self, msg: Incoming
    ) -> tuple[Member, Conversation | None, Team | None, Team | None]:
        """The member, their current conversation, the place's team (if any), and the team
        they just joined with what they had answered (for the one line that says so).

        The first time a member in a personal team appears in a team's place, they move
        there.
        """
        store, key = self.store, msg.key
        found = store.member_and_conversation(key, anywhere=True)
        place = None
        if key.team is not None:
            # Most messages come from the member's own team's place: no second read then.
            mine = found[0].team if found is not None else None
            place = self._place(msg, mine if mine is not None and mine.team == key.team else None)
        if found is None:
            if place is not None and place.kind == TEAM:
                member = store.ensure_member(key, name=msg.display_name)
            else:
                own = personal_key(key)
                if store.team(TeamKey(key.platform, key.workspace, own.team or "")) is None:
                    # No name: `Team.label` says what it is ("just you, no team yet").
                    store.ensure_team(
                        TeamKey(key.platform, key.workspace, own.team or ""),
                        lead=key.user,
                        kind=PERSONAL,
                    )
                member = store.ensure_member(own, name=msg.display_name)
                zone = canonical_zone(msg.timezone)
                if zone and not member.team.timezone:
                    store.update_team(member.team.id, timezone=zone)
                    member.team.timezone = zone
            found = (member, None)
        member, conv = found
        joined = None
        if place is not None and place.kind == TEAM and member.team.kind == PERSONAL:
            had_answers = conv is not None
            before = member.team.id
            member = store.move_member(member, place.id)
            self._bring_schedule(before, place.id, member.user)
            if had_answers:
                joined = place
        seen_long_ago = (
            place is not None
            and place.id == member.team.id
            and member.last_seen < _TOUCH_CUTOFF.at(store.moment())
        )
        changed_address = msg.dm_address is not None and msg.dm_address != member.address
        changed_name = msg.display_name is not None and msg.display_name != member.name
        if seen_long_ago or changed_address or changed_name:
            store.touch_member(member, name=msg.display_name, address=msg.dm_address)
            member.address = msg.dm_address or member.address
            member.name = msg.display_name or member.name
        if place is not None and place.id == member.team.id:
            place = member.team
        return member, conv, place, joined

    def _bring_schedule(self, before: int, after: int, user: str) -> None:
        """Check-ins that began while the member had no team go on for the team they join,
        unless it has a schedule of its own."""
        store = self.store
        found = store.schedule_columns(before)
        if found is not None and store.schedule_columns(after) is None:
            columns, due = found
            store.save_schedule_columns(after, columns, due, by=user)

    def _place(self, msg: Incoming, known: Team | None = None) -> Team:
        """The team of the place a message came from (`known`, if already read): recorded,
        named and addressed."""
        store, key = self.store, msg.key
        team = known
        if team is None:
            team_key = TeamKey(key.platform, key.workspace, key.team or "")
            team = store.team(team_key)
            if team is None:
                kind = GROUP if msg.group else TEAM
                team = store.ensure_team(
                    team_key, name=msg.team_name, lead=key.user if kind == TEAM else None, kind=kind
                )
        fields: dict[str, str] = {}
        if msg.team_name and msg.team_name != team.name:
            fields["name"] = team.name = msg.team_name
        if msg.team_address and msg.team_address != team.address:
            fields["address"] = team.address = msg.team_address
        zone = canonical_zone(msg.timezone) if msg.timezone and not team.timezone else None
        if zone:
            fields["timezone"] = team.timezone = zone
        if fields:
            store.update_team(team.id, **fields)
        return team

    def note(self, msg: Incoming) -> Noted | None:
        """Note the member at the place they wrote from, once per event (None: a repeat)."""
        store, key = self.store, msg.key
        with store.transaction():
            if msg.event_id and not store.claim_event(
                key.platform, key.workspace, msg.event_id, user=key.user
            ):
                return None
            member, conv, place, joined = self._member_at(msg)
            here = place is None or place.id == member.team.id
            if joined is None:
                return Noted(member.team.label, here)
            step = Step(msg=msg, member=member, conv=conv, place=place)
            self._joined_line(step, joined)
            return Noted(member.team.label, here, step.replies[0].text)

    # --- saying where the member stands -------------------------------------------------

    @staticmethod
    def _joined_line(step: Step, joined: Team) -> None:
        step.say(
            f"Everything you answered so far now counts for *{joined.label}*;"
            " `team` shows the team you answer for."
        )

    def _elsewhere(self, step: Step) -> Team | None:
        """The place's team, when it is a team other than the one the member answers for."""
        place = step.place
        if place is None or place.kind != TEAM or place.id == step.member.team.id:
            return None
        return place

    def _offer_switch(self, step: Step, place: Team, *, starting: bool) -> None:
        own = step.member.team
        interview = self.store.conversation(step.member.id, flow=INTERVIEW)
        where = ""
        if step.msg.shared:
            pass  # the member's progress is theirs: not for a channel's eyes
        elif interview is not None and interview.status in ACTIVE:
            where = f" (your interview is at {self._where(interview)})"
        elif interview is not None and interview.status == "done":
            where = " (your interview is complete)"
        ask = "Should your interview count for" if starting else "Switch to"
        join, keep = (START_JOIN, START_KEEP) if starting else (JOIN, KEEP)
        step.say(
            f"You answer for *{own.label}*{where}. {ask} *{place.label}* instead?"
            " Everything you answered comes with you.",
            choices=(
                Choice(f"Answer for {place.label}", f"{join} {place.team}", "primary"),
                Choice(f"Keep {own.label}", keep),
            ),
        )

    def _group_explained(self, step: Step, group: Team) -> None:
        name = group.name or self._group_word(group)
        step.say(
            f"{_cap(self._group_word(group))} isn't a team, so nothing here counts for one yet."
            f" Make *{name}* a team, and `report` here shows the picture of everyone in it who"
            " answers; or use me in your team's channel. Your own interview carries on in our"
            " one-to-one chat either way.",
            choices=(Choice(f"Make {name} a team", f"{MAKE} {group.team}", "primary"),),
        )

    @staticmethod
    def _group_word(group: Team) -> str:
        return "this group DM" if group.platform == "slack" else "this group chat"

    # --- the `team` command ---------------------------------------------------------------

    def _team_command(self, step: Step, rest: str) -> None:
        member, store = step.member, self.store
        verb, _, target = rest.partition(" ")
        verb = verb.casefold()
        if not rest:
            self._team_show(step)
        elif verb in ("keep", "stay"):
            step.say(f"You keep answering for *{member.team.label}*; nothing moved.")
            if verb == "stay":
                self._start(step)
        elif verb in ("join", "make", "start") and target:
            found = store.team(TeamKey(member.team.platform, member.team.workspace, target))
            if found is None or found.kind == PERSONAL:
                step.say("I don't know that team; nothing moved. `team` shows yours.")
            elif verb == "make":
                self._team_make(step, found)
            elif found.kind == GROUP:
                self._group_explained(step, found)
            else:
                self._team_join(step, found)
                if verb == "start":
                    step.conv = self.store.conversation(step.member.id)
                    self._start(step)
        else:
            step.say(
                "`team` shows the team your answers count for; sent from another team's"
                " channel or chat, it offers to switch to that team."
            )

    def _team_show(self, step: Step) -> None:
        own = step.member.team
        place = step.place
        if place is not None and place.kind == GROUP:
            self._group_explained(step, place)
            return
        if own.personal:
            step.say(
                "You don't answer for a team yet: what you answer is kept for you, and counts"
                " for your team as soon as you use me in its channel or chat."
            )
            return
        elsewhere = self._elsewhere(step)
        if elsewhere is not None:
            self._offer_switch(step, elsewhere, starting=False)
            return
        step.say(
            f"You answer for *{own.label}*. To answer for another team, send `team` from that"
            " team's channel or chat."
        )

    def _team_join(self, step: Step, team: Team) -> None:
        if team.id == step.member.team.id:
            step.say(f"You already answer for *{team.label}*.")
            return
        before = step.member.team.label
        step.member = self.store.move_member(step.member, team.id)
        step.say(
            f"Done: you answer for *{team.label}* now, and everything you answered comes"
            f" with you (it no longer counts for {before})."
        )

    def _team_make(self, step: Step, group: Team) -> None:
        store = self.store
        if group.kind == GROUP:
            store.update_team(
                group.id, kind=TEAM, **({} if group.lead else {"lead": step.member.user})
            )
            group.kind = TEAM
            group.lead = group.lead or step.member.user
        if step.member.team.personal:
            step.member = store.move_member(step.member, group.id)
            step.say(f"Done: *{group.label}* is a team now, and your answers count for it.")
        elif step.member.team.id == group.id:
            step.say(f"*{group.label}* is a team, and you answer for it.")
        else:
            step.say(f"*{group.label}* is a team now.")
            step.place = group
            self._offer_switch(step, group, starting=False)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
