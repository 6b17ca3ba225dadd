"""Answers, placements and commitments (all history), and a team's export and forgetting."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from bot.store.records import (
    Answer,
    Commitment,
    Conversation,
    Forgotten,
    Interview,
    Member,
    StoredPlacement,
    Team,
)
from bot.store.tables import Tables

CONV_COLUMNS = (
    "id, member_id, flow, state, status, version, trail, return_to, followed_up, context,"
    " started_at, updated_at"
)
_ANSWER_FIELDS = ("question", "version", "text", "value", "skipped", "message_id", "created_at")


# Most conversations carry no context (only a check-in or a placement adds some):
# the empty one is neither parsed nor written out again.
_EMPTY = "{}"


def json_object(text: str) -> dict[str, Any]:
    if text == _EMPTY:
        return {}
    value: dict[str, Any] = json.loads(text)
    return value


def json_text(value: dict[str, Any]) -> str:
    return json.dumps(value) if value else _EMPTY


def conversation_from(row: tuple[Any, ...], at: int = 0) -> Conversation:
    """The conversation in `row`'s columns from `at` on (CONV_COLUMNS, in the record's
    order); positional, since it runs once per turn."""
    (id_, member_id, flow, state, status, version, trail, return_to, followed_up, context,
     started_at, updated_at) = row[at : at + 12]  # fmt: skip
    return Conversation(
        id_,
        member_id,
        flow,
        state,
        status,
        version,
        json.loads(trail),
        return_to,
        bool(followed_up),
        json_object(context) if context != _EMPTY else {},
        started_at,
        updated_at,
    )


# An answer is the question's next version; bench/engine_turns.py's floor runs this text.
ADD_ANSWER = (
    "INSERT INTO answers (conversation_id, question, version, text, value, skipped,"
    " message_id, created_at)"
    " SELECT ?, ?, coalesce(max(version), 0) + 1, ?, ?, ?, ?, ? FROM answers"
    " WHERE conversation_id = ? AND question = ? RETURNING version"
)


class AnswerTables(Tables):
    """The history side of the store; the store class supplies the plumbing below."""

    def conversation(self, member_id: int, *, flow: str | None = None) -> Conversation | None:
        raise NotImplementedError

    def members(self, team_id: int) -> list[Member]:
        raise NotImplementedError

    def _replace_lead(self, team: Team) -> Member | None:
        raise NotImplementedError

    def team_by_id(self, team_id: int) -> Team | None:
        raise NotImplementedError

    # --- answers --------------------------------------------------------------------------

    def add_answer(
        self,
        conversation_id: int,
        question: str,
        *,
        text: str,
        value: str | None = None,
        skipped: bool = False,
        message_id: str | None = None,
    ) -> int:
        """Store an answer as the question's next version; returns that version."""
        row = self._conn.execute(
            ADD_ANSWER,
            (
                conversation_id,
                question,
                text,
                value,
                int(skipped),
                message_id,
                self.now(),
                conversation_id,
                question,
            ),
        ).fetchone()
        return int(row[0])

    def answers(self, conversation_id: int) -> dict[str, Answer]:
        """The current (latest) version of each answered question."""
        rows = self._conn.execute(
            "SELECT question, version, text, value, skipped, message_id, created_at"
            " FROM answers a WHERE conversation_id = ? AND version = ("
            "  SELECT max(version) FROM answers b"
            "  WHERE b.conversation_id = a.conversation_id AND b.question = a.question)"
            " ORDER BY id",
            (conversation_id,),
        ).fetchall()
        return {
            row[0]: Answer(row[0], row[1], row[2], row[3], bool(row[4]), row[5], row[6])
            for row in rows
        }

    def answer_history(self, conversation_id: int, question: str) -> list[Answer]:
        rows = self._conn.execute(
            "SELECT question, version, text, value, skipped, message_id, created_at"
            " FROM answers WHERE conversation_id = ? AND question = ? ORDER BY version",
            (conversation_id, question),
        ).fetchall()
        return [Answer(r[0], r[1], r[2], r[3], bool(r[4]), r[5], r[6]) for r in rows]

    def answer_for_message(self, member_id: int, message_id: str) -> tuple[int, str] | None:
        """The (conversation id, question) a platform message answered, for that member."""
        row = self._conn.execute(
            "SELECT a.conversation_id, a.question FROM answers a"
            " JOIN conversations c ON c.id = a.conversation_id"
            " WHERE a.message_id = ? AND c.member_id = ? ORDER BY a.id DESC LIMIT 1",
            (message_id, member_id),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def interview(self, member: Member, *, flow: str = "coffee") -> Interview | None:
        conv = self.conversation(member.id, flow=flow)
        if conv is None:
            return None
        return Interview(member=member, conversation=conv, answers=self.answers(conv.id))

    # --- placements and commitments -------------------------------------------------------

    def add_placement(
        self,
        *,
        team_id: int,
        member_id: int | None,
        conversation_id: int | None,
        rung: int,
        stage: str,
        evidence: list[dict[str, Any]],
    ) -> None:
        self._conn.execute(
            "INSERT INTO placements (team_id, member_id, conversation_id, rung, stage, evidence,"
            " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (team_id, member_id, conversation_id, rung, stage, json.dumps(evidence), self.now()),
        )

    def placements(self, team_id: int) -> list[StoredPlacement]:
        """Every placement of the team, oldest first (the stage history)."""
        rows = self._conn.execute(
            "SELECT p.id, p.member_id, m.user, m.name, p.conversation_id, p.rung, p.stage,"
            " p.evidence, p.created_at FROM placements p"
            " LEFT JOIN members m ON m.id = p.member_id"
            " WHERE p.team_id = ? ORDER BY p.id",
            (team_id,),
        ).fetchall()
        return [
            StoredPlacement(
                id=row[0],
                member_id=row[1],
                user=row[2],
                name=row[3],
                conversation_id=row[4],
                rung=row[5],
                stage=row[6],
                evidence=json.loads(row[7]),
                created_at=row[8],
            )
            for row in rows
        ]

    def add_commitments(
        self, *, team_id: int, member_id: int, conversation_id: int, stage: str, actions: list[str]
    ) -> None:
        now = self.now()
        self._conn.executemany(
            "INSERT INTO commitments (team_id, member_id, conversation_id, stage, action, status,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
            [(team_id, member_id, conversation_id, stage, action, now, now) for action in actions],
        )

    def commitments(
        self, *, team_id: int, member_id: int | None = None, status: str | None = None
    ) -> list[Commitment]:
        where = ["c.team_id = ?"]
        params: list[Any] = [team_id]
        if member_id is not None:
            where.append("c.member_id = ?")
            params.append(member_id)
        if status is not None:
            where.append("c.status = ?")
            params.append(status)
        rows = self._conn.execute(
            "SELECT c.id, c.member_id, m.user, m.name, c.stage, c.action, c.status,"
            " c.created_at, c.updated_at FROM commitments c"
            " JOIN members m ON m.id = c.member_id"
            f" WHERE {' AND '.join(where)} ORDER BY c.id",
            params,
        ).fetchall()
        return [Commitment(*row) for row in rows]

    def set_commitment_status(self, commitment_id: int, member_id: int, status: str) -> None:
        self._conn.execute(
            "UPDATE commitments SET status = ?, updated_at = ? WHERE id = ? AND member_id = ?",
            (status, self.now(), commitment_id, member_id),
        )

    # --- export and forget ----------------------------------------------------------------

    def export_team(self, team_id: int) -> dict[str, Any]:
        """Everything stored for one team, as plain data."""
        team = self.team_by_id(team_id)
        if team is None:
            raise KeyError(team_id)
        members = []
        for member in self.members(team_id):
            conversations = []
            for row in self._conn.execute(
                f"SELECT {CONV_COLUMNS} FROM conversations WHERE member_id = ? ORDER BY id",
                (member.id,),
            ).fetchall():
                conv = conversation_from(row)
                answers = [
                    dict(zip(_ANSWER_FIELDS, answer, strict=True))
                    for answer in self._conn.execute(
                        f"SELECT {', '.join(_ANSWER_FIELDS)} FROM answers"
                        " WHERE conversation_id = ? ORDER BY id",
                        (conv.id,),
                    ).fetchall()
                ]
                conversations.append(
                    {
                        "id": conv.id,
                        "flow": conv.flow,
                        "state": conv.state,
                        "status": conv.status,
                        "started_at": conv.started_at,
                        "updated_at": conv.updated_at,
                        "answers": answers,
                    }
                )
            members.append(
                {
                    "user": member.user,
                    "name": member.name,
                    "last_seen": member.last_seen,
                    "conversations": conversations,
                }
            )
        return {
            "team": {
                "platform": team.platform,
                "workspace": team.workspace,
                "team": team.team,
                "name": team.name,
                "timezone": team.timezone,
                "lead": team.lead,
            },
            "members": members,
            "placements": [asdict(p) for p in self.placements(team_id)],
            "commitments": [asdict(c) for c in self.commitments(team_id=team_id)],
        }

    def forget(self, team_id: int, *, user: str | None = None) -> Forgotten:
        """Delete a team's data, or one member's within it, with their event ids.

        A lead who forgets is replaced by the longest-standing member left, who is told in
        a one-line delivery; a checkpoint then empties the write-ahead log, so no copy of
        what was deleted stays on disk (secure_delete zeroes it in the main file).
        """
        with self.transaction():
            team = self.team_by_id(team_id)
            if team is None:
                return Forgotten(0)
            whom = "" if user is None else ' AND "user" = ?'
            users = [
                row[0]
                for row in self._conn.execute(
                    f'SELECT "user" FROM members WHERE team_id = ?{whom}',
                    (team_id,) if user is None else (team_id, user),
                )
            ]
            named = [user] if user is not None else users
            self._conn.executemany(
                'DELETE FROM events WHERE platform = ? AND workspace = ? AND "user" = ?',
                [(team.platform, team.workspace, name) for name in named],
            )
            # What was still to be sent to them, and what was sent: it quotes them.
            self._conn.executemany(
                'DELETE FROM outbox WHERE platform = ? AND workspace = ? AND "user" = ?',
                [(team.platform, team.workspace, name) for name in named],
            )
            if user is None:
                self._conn.execute("DELETE FROM teams WHERE id = ?", (team_id,))
                forgotten = Forgotten(len(users))
            else:
                self._conn.execute(
                    'DELETE FROM members WHERE team_id = ? AND "user" = ?', (team_id, user)
                )
                lead = self._replace_lead(team) if users and team.lead == user else None
                forgotten = Forgotten(len(users), lead)
        self._empty_wal()
        return forgotten
