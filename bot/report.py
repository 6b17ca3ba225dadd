"""The team picture: members' answers side by side, where they disagree, the team's rung."""

from __future__ import annotations

import re
from collections import Counter
from itertools import combinations

from bot.clock import parse_iso
from bot.coaching import Coaching as Coach
from bot.ladder import place, team_rung
from bot.messages import CheckinRound, QuestionView, StageCard, TeamReportCard
from bot.store import Answer, Interview, Team
from bot.zones import today_in
from flows import StateSpec

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_STOP = frozenset(
    """
    the and for with our are who that this from they their them about what more most
    mainly mostly some any all also into out over than then very just like will would can
    could should have has had was were been being not but its it's your you we us via per
    people customers customer clients client
    """.split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    word = word.casefold()
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + repl
    return word


def content_words(text: str) -> frozenset[str]:
    return frozenset(_stem(w) for w in _WORD.findall(text) if w.casefold() not in _STOP)


def answers_disagree(texts: list[str]) -> bool:
    """Two members whose answers share no content word describe different things."""
    words = [content_words(t) for t in texts]
    return any(a and b and not (a & b) for a, b in combinations(words, 2))


def interviews(coach: Coach, team: Team) -> list[Interview]:
    result = []
    for member, conv in coach.store.conversations_in(team.id, flow="coffee"):
        result.append(
            Interview(member=member, conversation=conv, answers=coach.store.answers(conv.id))
        )
    return result


def latest_placements(coach: Coach, team: Team) -> dict[int, dict[str, object]]:
    latest: dict[int, dict[str, object]] = {}
    for row in coach.store.placements(team.id):
        if row["member_id"] is not None:
            latest[int(row["member_id"])] = row
    return latest


def team_business_model(found: list[Interview]) -> str | None:
    models = Counter(
        i.answers["business_model"].value
        for i in found
        if "business_model" in i.answers and not i.answers["business_model"].skipped
    )
    return models.most_common(1)[0][0] if models else None


def team_stage(coach: Coach, team: Team, found: list[Interview]) -> StageCard | None:
    """The team's rung (the lower median of its members') with a member's evidence for it."""
    placed = latest_placements(coach, team)
    rung = team_rung([int(str(p["rung"])) for p in placed.values()])
    if rung is None:
        return None
    model = team_business_model(found)
    for interview in found:
        row = placed.get(interview.member.id)
        if row is not None and int(str(row["rung"])) == rung:
            placement = place(
                interview.answers, ladder=coach.ladder, flow=coach.interview, business_model=model
            )
            if placement.rung == rung:
                return placement.card(coach.ladder)
    stage = coach.ladder.stage(rung)
    return StageCard(
        rung=rung,
        stage=stage.name,
        summary=stage.summary,
        ladder=tuple(s.name for s in coach.ladder.stages),
        evidence=(),
        next_stage=coach.ladder.stage(rung + 1).name if rung < len(coach.ladder.stages) else None,
        actions=(),
    )


def team_report(coach: Coach, team: Team) -> TeamReportCard:
    found = interviews(coach, team)
    names = {i.member.id: i.member.label for i in found}
    questions = []
    for spec in [*coach.interview.questions, *_stage_check(coach)]:
        given: list[tuple[str, Answer]] = [
            (names[i.member.id], i.answers[spec.id])
            for i in found
            if spec.id in i.answers and not i.answers[spec.id].skipped
        ]
        gaps = tuple(
            names[i.member.id]
            for i in found
            if spec.id not in i.answers or i.answers[spec.id].skipped
        )
        if spec.answer == "choice":
            disagree = len({a.value for _, a in given}) > 1
        else:
            disagree = answers_disagree([a.text for _, a in given])
        questions.append(
            QuestionView(
                number=spec.number,
                title=spec.title or spec.prompt,
                answers=tuple((who, a.text) for who, a in given),
                disagreement=disagree,
                gaps=gaps,
            )
        )
    placed = latest_placements(coach, team)
    placements = tuple(
        (names.get(member_id, str(row["user"])), str(row["stage"]))
        for member_id, row in placed.items()
    )
    commitments = tuple(
        (str(c["name"] or c["user"]), f"{c['action']} ({c['status']})")
        for c in coach.store.commitments(team_id=team.id)
    )
    return TeamReportCard(
        team=team.label,
        members=tuple(names.values()),
        stage=team_stage(coach, team, found),
        placements=placements,
        questions=tuple(questions),
        commitments=commitments,
        stage_history=stage_history(coach, team),
        checkins=checkin_rounds(coach, team),
    )


def _stage_check(coach: Coach) -> list[StateSpec]:
    """The stage-check questions: the interview's states that come from an included file."""
    own = str(coach.interview.source)
    return [
        spec
        for spec in (coach.interview.states[s] for s in coach.interview.order)
        if spec.source != own and spec.answer == "choice"
    ]


def stage_history(coach: Coach, team: Team) -> tuple[tuple[str, str], ...]:
    """The team's rung after each placement, as (date, stage), skipping repeats."""
    latest: dict[int, int] = {}
    history: list[tuple[str, str]] = []
    for row in coach.store.placements(team.id):
        if row["member_id"] is None:
            continue
        latest[int(row["member_id"])] = int(row["rung"])
        rung = team_rung(list(latest.values()))
        assert rung is not None
        name = coach.ladder.stage(rung).name
        if not history or history[-1][1] != name:
            history.append((str(row["created_at"])[:10], name))
    return tuple(history)


def checkin_rounds(coach: Coach, team: Team) -> tuple[CheckinRound, ...]:
    """How many members each check-in round asked and how many answered, oldest first.

    A round is dated by the day it was scheduled for where the team is: a 08:00 check-in in
    Tokyo falls on the previous day in UTC.
    """
    zone = coach.store.checkin_zone(team.id)
    return tuple(
        CheckinRound(today_in(parse_iso(round_key), zone), asked, answered)
        for round_key, asked, answered in coach.store.checkin_rounds(team.id)
    )


def team_rung_line(coach: Coach, team: Team) -> str:
    placed = latest_placements(coach, team)
    rung = team_rung([int(str(p["rung"])) for p in placed.values()])
    members = len(coach.store.members(team.id))
    if rung is None:
        return f"Team {team.label} has no rung yet: nobody has finished the interview."
    return (
        f"Team {team.label} is on rung {rung} of {len(coach.ladder.stages)}: "
        f"{coach.ladder.stage(rung).name} ({len(placed)} of {members} members placed)."
    )
