"""The team picture: members' answers side by side, where they disagree, the team's rung."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from bot.clock import parse_iso
from bot.coaching import Coaching as Coach
from bot.ladder import place, read_answers, team_rung
from bot.messages import CheckinRound, QuestionView, StageCard, TeamReportCard
from bot.reader import Reading
from bot.store import Answer, Interview, StoredPlacement, Team
from bot.summary import (
    MemberView,
    customer_groups,
    networks,
    purposes,
    summary_lines,
    texts_disagree,
    things_disagree,
)
from bot.zones import today_in
from flows import StateSpec

# The open questions whose answers are compared by the things they name.
NAMED_THINGS = {"customers": customer_groups, "networks": networks, "pathway": purposes}


def stage_next(card: StageCard | None) -> str | None:
    return card.next_stage if card is not None else None


def business_model(answers: Mapping[str, Answer]) -> str | None:
    answer = answers.get("business_model")
    return answer.value if answer is not None and not answer.skipped else None


def interviews(coach: Coach, team: Team) -> list[Interview]:
    result = []
    for member, conv in coach.store.conversations_in(team.id, flow="coffee"):
        result.append(
            Interview(member=member, conversation=conv, answers=coach.store.answers(conv.id))
        )
    return result


def latest_placements(coach: Coach, team: Team) -> dict[int, StoredPlacement]:
    latest: dict[int, StoredPlacement] = {}
    for row in coach.store.placements(team.id):
        if row.member_id is not None:
            latest[row.member_id] = row
    return latest


def team_business_model(found: list[Interview]) -> str | None:
    models = Counter(
        i.answers["business_model"].value
        for i in found
        if "business_model" in i.answers and not i.answers["business_model"].skipped
    )
    return models.most_common(1)[0][0] if models else None


def team_stage(
    coach: Coach, team: Team, found: list[Interview], readings: Mapping[int, Reading]
) -> StageCard | None:
    """The team's rung (the lower median of its members') with a member's evidence for it.

    `readings` holds each member's reading of their answers, by member id.
    """
    placed = latest_placements(coach, team)
    rung = team_rung([p.rung for p in placed.values()])
    if rung is None:
        return None
    model = team_business_model(found)
    for interview in found:
        row = placed.get(interview.member.id)
        if row is not None and row.rung == rung:
            placement = place(
                interview.answers,
                readings[interview.member.id],
                ladder=coach.ladder,
                flow=coach.interview,
                business_model=model,
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
    readings = {i.member.id: read_answers(i.answers, coach.interview) for i in found}
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
        elif spec.id in NAMED_THINGS:
            answered = [i for i in found if spec.id in i.answers and not i.answers[spec.id].skipped]
            named = [NAMED_THINGS[spec.id](readings[i.member.id]) for i in answered]
            disagree = things_disagree(named) or texts_disagree([a.text for _, a in given])
        else:
            disagree = texts_disagree([a.text for _, a in given])
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
        (names.get(member_id, str(row.user)), row.stage) for member_id, row in placed.items()
    )
    commitments = tuple(
        (c.who, f"{c.action} ({c.status})") for c in coach.store.commitments(team_id=team.id)
    )
    stage = team_stage(coach, team, found, readings)
    stages = {member_id: row.stage for member_id, row in placed.items()}
    views = [
        MemberView(
            name=names[i.member.id],
            model=business_model(i.answers),
            reading=readings[i.member.id],
            stage=stages.get(i.member.id),
        )
        for i in found
    ]
    gap = next(
        (
            e
            for e in (stage.evidence if stage else ())
            if not e.met and e.stage == stage_next(stage)
        ),
        None,
    )
    return TeamReportCard(
        team=team.label,
        members=tuple(names.values()),
        summary=summary_lines(
            views,
            team_stage=stage.stage if stage else None,
            first_gap=f"the team {gap.because}" if gap else None,
        ),
        stage=stage,
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
        if row.member_id is None:
            continue
        latest[row.member_id] = row.rung
        rung = team_rung(list(latest.values()))
        assert rung is not None
        name = coach.ladder.stage(rung).name
        if not history or history[-1][1] != name:
            history.append((row.created_at[:10], name))
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
    rung = team_rung([p.rung for p in placed.values()])
    if team.personal:
        return (
            "You don't answer for a team yet: your answers are kept for you, and count for"
            " your team from the first time you use me in its channel or chat."
        )
    members = len(coach.store.members(team.id))
    if rung is None:
        return f"Team {team.label} has no rung yet: nobody has finished the interview."
    return (
        f"Team {team.label} is on rung {rung} of {len(coach.ladder.stages)}: "
        f"{coach.ladder.stage(rung).name} ({len(placed)} of {members} members placed)."
    )
