"""Everything stored for a team, as JSON, CSV, or a one-page Markdown strategy."""

from __future__ import annotations

import csv
import io
import json
import re

from bot.coaching import Coaching
from bot.render import evidence_line
from bot.report import team_report
from bot.store import Team

FORMATS = {"md": "text/markdown", "json": "application/json", "csv": "text/csv"}


def export_team(coach: Coaching, team: Team, fmt: str) -> tuple[str, str]:
    """The export's text and its MIME type."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(coach.store.export_team(team.id), indent=2, ensure_ascii=False), FORMATS[
            fmt
        ]
    if fmt == "csv":
        return _csv(coach, team), FORMATS[fmt]
    return _markdown(coach, team), FORMATS[fmt]


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP's CSV
# injection): member text gets a leading apostrophe, shown as text and never run.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _csv(coach: Coaching, team: Team) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "team",
            "member",
            "conversation",
            "flow",
            "status",
            "question",
            "version",
            "answer",
            "value",
            "skipped",
            "answered_at",
        ]
    )
    data = coach.store.export_team(team.id)
    for member in data["members"]:
        for conv in member["conversations"]:
            for a in conv["answers"]:
                writer.writerow(
                    [
                        _inert(team.label),
                        _inert(member["name"] or member["user"]),
                        conv["id"],
                        conv["flow"],
                        conv["status"],
                        a["question"],
                        a["version"],
                        _inert(a["text"]),
                        _inert(a["value"] or ""),
                        bool(a["skipped"]),
                        a["created_at"],
                    ]
                )
    return out.getvalue()


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")


def _cell(text: str) -> str:
    """Member text on one line, inert in Markdown: no links, images, HTML or emphasis."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def _markdown(coach: Coaching, team: Team) -> str:
    report = team_report(coach, team)
    lines = [f"# Social media strategy: {team.label}", ""]
    if report.summary:
        lines += [*(f"> {_cell(line)}" for line in report.summary), ""]
    if report.stage is not None:
        stage = report.stage
        lines += [
            f"**Where we stand:** rung {stage.rung} of {len(stage.ladder)}, *{stage.stage}*. "
            + stage.summary,
            "",
        ]
        if stage.evidence:
            lines += ["**Why:**", ""]
            lines += [f"- {evidence_line(e, _cell)}" for e in stage.evidence]
            lines.append("")
        if stage.actions:
            target = f" (toward {stage.next_stage})" if stage.next_stage else ""
            lines += [f"## Next actions{target}", ""]
            lines += [f"{i}. {_cell(a)}" for i, a in enumerate(stage.actions, start=1)]
            lines.append("")
    else:
        lines += ["*Nobody has finished the interview yet, so there is no rung.*", ""]
    lines += ["## Our answers", ""]
    for q in report.questions:
        head = f"{q.number}. {q.title}" if q.number is not None else q.title
        lines.append(f"### {head}")
        notes = []
        if q.disagreement:
            notes.append("members answered differently: worth a conversation")
        if q.gaps:
            notes.append("no answer yet from " + ", ".join(q.gaps))
        if notes:
            lines.append(f"*{'; '.join(notes)}*")
        lines.append("")
        lines += [f"- **{_cell(who)}:** {_cell(text)}" for who, text in q.answers] or ["- (none)"]
        lines.append("")
    if report.commitments:
        lines += ["## Commitments", ""]
        lines += [f"- **{_cell(who)}:** {_cell(what)}" for who, what in report.commitments]
        lines.append("")
    if report.stage_history:
        lines += ["## Stage history", ""]
        lines += [f"- {d}: {s}" for d, s in report.stage_history]
        lines.append("")
    if report.checkins:
        lines += ["## Check-ins", "", "| Date | Answered | Asked |", "| --- | ---: | ---: |"]
        lines += [f"| {r.day.isoformat()} | {r.answered} | {r.asked} |" for r in report.checkins]
        lines.append("")
    return "\n".join(lines)
