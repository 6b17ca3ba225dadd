"""Teams, members and their conversations: who talks to the coach, and where each one is.

A conversation's state change is guarded by its version column, so a repeated delivery or a
second process can never advance it twice.
"""

from __future__ import annotations

import json
from typing import Any

from bot.messages import MemberKey, TeamKey
from bot.store.answers import CONV_COLUMNS, conversation_from, json_text
from bot.store.records import NEW_LEAD, TEAM, Conversation, Member, Team
from bot.store.tables import Tables

_MEMBER = (
    "SELECT m.id, m.user, m.name, m.address, m.last_seen, t.id, t.platform, t.workspace,"
    " t.team, t.name, t.address, t.timezone, t.lead, m.timezone, t.kind"
    " FROM members m JOIN teams t ON t.id = m.team_id"
)
# A member's current conversation: the one in progress (active or paused) if any, else
# the latest; a finished check-in does not hide a paused or reopened interview.
_CURRENT = (
    "SELECT id FROM conversations WHERE member_id = m.id"
    " ORDER BY status IN ('active', 'paused') DESC, id DESC LIMIT 1"
)


def _member_select(where: str) -> str:
    return f"{_MEMBER} WHERE {where}"


def _member_from(row: tuple[Any, ...]) -> Member:
    (member_id, user, name, address, last_seen, team_id, platform, workspace, team, team_name,
     team_address, timezone, lead, member_zone, kind) = row[:15]  # fmt: skip
    return Member(
        member_id,
        Team(team_id, platform, workspace, team, team_name, team_address, timezone, lead, kind),
        user,
        name,
        address,
        last_seen,
        member_zone,
    )


# The member and their latest conversation (NULLs when they have none), in one query.
_MEMBER_WITH_CONVERSATION = (
    "SELECT m.id, m.user, m.name, m.address, m.last_seen, t.id, t.platform, t.workspace,"
    " t.team, t.name, t.address, t.timezone, t.lead, m.timezone, t.kind,"
    " c.id, c.member_id, c.flow, c.state, c.status, c.version, c.trail, c.return_to,"
    " c.followed_up, c.context, c.started_at, c.updated_at"
    " FROM members m JOIN teams t ON t.id = m.team_id"
    f" LEFT JOIN conversations c ON c.id = ({_CURRENT})"
)


# The member by explicit team, and by workspace at the team where they were last seen;
# built once, so each turn hands sqlite3's statement cache the same string.
_BY_TEAM = " WHERE t.platform = ? AND t.workspace = ? AND t.team = ? AND m.user = ?"
_BY_WORKSPACE = (
    " WHERE t.platform = ? AND t.workspace = ? AND m.user = ?"
    " ORDER BY m.last_seen DESC, m.id DESC LIMIT 1"
)
MEMBER_BY_TEAM = _MEMBER + _BY_TEAM
MEMBER_BY_WORKSPACE = _MEMBER + _BY_WORKSPACE
MEMBER_AND_CONVERSATION_BY_TEAM = _MEMBER_WITH_CONVERSATION + _BY_TEAM
MEMBER_AND_CONVERSATION_BY_WORKSPACE = _MEMBER_WITH_CONVERSATION + _BY_WORKSPACE

SAVE_CONVERSATION = (
    "UPDATE conversations SET state = ?, status = ?, trail = ?, return_to = ?,"
    " followed_up = ?, context = ?, updated_at = ?, version = version + 1"
    " WHERE id = ? AND version = ?"
)


class MemberTables(Tables):
    """Teams, members and conversations; the store class supplies the plumbing."""

    # --- teams and members ----------------------------------------------------------------

    def team(self, key: TeamKey) -> Team | None:
        row = self._conn.execute(
            "SELECT id, platform, workspace, team, name, address, timezone, lead, kind FROM teams"
            " WHERE platform = ? AND workspace = ? AND team = ?",
            (key.platform, key.workspace, key.team),
        ).fetchone()
        return Team(*row) if row else None

    def team_by_id(self, team_id: int) -> Team | None:
        row = self._conn.execute(
            "SELECT id, platform, workspace, team, name, address, timezone, lead, kind FROM teams"
            " WHERE id = ?",
            (team_id,),
        ).fetchone()
        return Team(*row) if row else None

    def teams(self) -> list[Team]:
        rows = self._conn.execute(
            "SELECT id, platform, workspace, team, name, address, timezone, lead, kind FROM teams"
            " ORDER BY id"
        ).fetchall()
        return [Team(*row) for row in rows]

    def ensure_team(
        self,
        key: TeamKey,
        *,
        name: str | None = None,
        lead: str | None = None,
        kind: str = TEAM,
    ) -> Team:
        with self.transaction():
            self._conn.execute(
                "INSERT INTO teams (platform, workspace, team, name, lead, kind, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key.platform, key.workspace, key.team, name, lead, kind, self.now()),
            )
            team = self.team(key)
        assert team is not None
        return team

    def update_team(self, team_id: int, **fields: str | None) -> None:
        allowed = {"name", "address", "timezone", "lead", "kind"}
        if not fields or set(fields) - allowed:
            raise ValueError(f"only {sorted(allowed)} can be updated")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self.transaction():
            self._conn.execute(
                f"UPDATE teams SET {assignments} WHERE id = ?", (*fields.values(), team_id)
            )

    def member(self, key: MemberKey) -> Member | None:
        """The member at an explicit team, or at the team where they were last seen."""
        found = self._member_row(key, with_conversation=False, anywhere=False)
        return _member_from(found) if found else None

    def member_and_conversation(
        self, key: MemberKey, *, anywhere: bool = False
    ) -> tuple[Member, Conversation | None] | None:
        """The member (as `member`) and their latest conversation, in one query; with
        `anywhere`, at the team where they were last seen whatever `key.team` says."""
        found = self._member_row(key, with_conversation=True, anywhere=anywhere)
        if found is None:
            return None
        conv = conversation_from(found, 15) if found[15] is not None else None
        return _member_from(found), conv

    def _member_row(
        self, key: MemberKey, *, with_conversation: bool, anywhere: bool
    ) -> tuple[Any, ...] | None:
        if anywhere or key.team is None:
            by_workspace = (
                MEMBER_AND_CONVERSATION_BY_WORKSPACE if with_conversation else MEMBER_BY_WORKSPACE
            )
            row: tuple[Any, ...] | None = self._conn.execute(
                by_workspace, (key.platform, key.workspace, key.user)
            ).fetchone()
        else:
            by_team = MEMBER_AND_CONVERSATION_BY_TEAM if with_conversation else MEMBER_BY_TEAM
            row = self._conn.execute(
                by_team, (key.platform, key.workspace, key.team, key.user)
            ).fetchone()
        return row

    def ensure_member(self, key: MemberKey, *, name: str | None = None) -> Member:
        if key.team is None:
            raise ValueError("ensure_member needs the member's team")
        with self.transaction():
            team = self.team(TeamKey(key.platform, key.workspace, key.team))
            if team is None:
                team = self.ensure_team(
                    TeamKey(key.platform, key.workspace, key.team), lead=key.user
                )
            self._conn.execute(
                'INSERT INTO members (team_id, "user", name, last_seen) VALUES (?, ?, ?, ?)'
                " ON CONFLICT DO NOTHING",
                (team.id, key.user, name, self.now()),
            )
            member = self.member(key)
        assert member is not None
        return member

    def touch_member(
        self, member: Member, *, name: str | None = None, address: str | None = None
    ) -> None:
        """Mark the member as seen at this team now; keep a changed name or address."""
        self._conn.execute(
            "UPDATE members SET last_seen = ?, name = coalesce(?, name),"
            " address = coalesce(?, address) WHERE id = ?",
            (self.now(), name, address, member.id),
        )

    def _replace_lead(self, team: Team) -> Member | None:
        """The longest-standing member leads now, and is told so; None if nobody is left."""
        row = self._conn.execute(
            'SELECT id, "user" FROM members WHERE team_id = ? ORDER BY id LIMIT 1', (team.id,)
        ).fetchone()
        self._conn.execute(
            "UPDATE teams SET lead = ? WHERE id = ?", (row[1] if row else None, team.id)
        )
        if row is None:
            return None
        now = self.now()
        self._conn.execute(
            "INSERT INTO deliveries (key, kind, team_id, member_id, due_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (f"{NEW_LEAD}:{team.id}:{row[0]}:{now}", NEW_LEAD, team.id, row[0], now, now),
        )
        return next(m for m in self.members(team.id) if m.id == row[0])

    def move_member(self, member: Member, team_id: int) -> Member:
        """Make `team_id` the team the member answers for, taking all that is theirs along.

        Conversations, answers, placements, commitments, preferences and pending
        deliveries stay the member's. If the member was already noted in that team (a
        second row), that row's history joins this one and the row goes.
        """
        with self.transaction():
            row = self._conn.execute(
                'SELECT id FROM members WHERE team_id = ? AND "user" = ?', (team_id, member.user)
            ).fetchone()
            if row is not None and row[0] != member.id:
                for table in ("conversations", "placements", "commitments"):
                    self._conn.execute(
                        f"UPDATE {table} SET member_id = ? WHERE member_id = ?",
                        (member.id, row[0]),
                    )
                self._conn.execute("DELETE FROM members WHERE id = ?", (row[0],))
            self._conn.execute(
                "UPDATE members SET team_id = ?, last_seen = ? WHERE id = ?",
                (team_id, self.now(), member.id),
            )
            for table in ("placements", "commitments"):
                self._conn.execute(
                    f"UPDATE {table} SET team_id = ? WHERE member_id = ?", (team_id, member.id)
                )
            self._conn.execute(
                "UPDATE deliveries SET team_id = ? WHERE member_id = ? AND status = 'pending'",
                (team_id, member.id),
            )
            old = self.team_by_id(member.team.id)
            if old is not None and old.id != team_id and old.lead == member.user:
                # A lead who leaves for another team hands the role on, as on forget.
                self._replace_lead(old)
            team = self.team_by_id(team_id)
            assert team is not None
            moved = self.member(MemberKey(team.platform, team.workspace, member.user, team.team))
        assert moved is not None
        return moved

    def members(self, team_id: int) -> list[Member]:
        rows = self._conn.execute(
            _member_select("t.id = ?") + " ORDER BY m.id", (team_id,)
        ).fetchall()
        return [_member_from(row) for row in rows]

    # --- conversations --------------------------------------------------------------------

    def conversation(self, member_id: int, *, flow: str | None = None) -> Conversation | None:
        """The member's current conversation (see `_CURRENT`), or their latest of one flow."""
        if flow is None:
            row = self._conn.execute(
                f"SELECT {CONV_COLUMNS} FROM conversations WHERE member_id = ?"
                " ORDER BY status IN ('active', 'paused') DESC, id DESC LIMIT 1",
                (member_id,),
            ).fetchone()
        else:
            row = self._conn.execute(
                f"SELECT {CONV_COLUMNS} FROM conversations WHERE member_id = ? AND flow = ?"
                " ORDER BY id DESC LIMIT 1",
                (member_id, flow),
            ).fetchone()
        return conversation_from(row) if row else None

    def start_conversation(
        self, member_id: int, *, flow: str, state: str, context: dict[str, Any] | None = None
    ) -> Conversation:
        now = self.now()
        row = self._conn.execute(
            "INSERT INTO conversations (member_id, flow, state, status, trail, context,"
            " started_at, updated_at) VALUES (?, ?, ?, 'active', '[]', ?, ?, ?) RETURNING id",
            (member_id, flow, state, json_text(context or {}), now, now),
        ).fetchone()
        return Conversation(
            id=int(row[0]),
            member_id=member_id,
            flow=flow,
            state=state,
            status="active",
            version=0,
            trail=[],
            return_to=None,
            followed_up=False,
            context=dict(context or {}),
            started_at=now,
            updated_at=now,
        )

    def save_conversation(self, conv: Conversation) -> bool:
        """Write the conversation if nobody else changed it since it was read.

        Returns False (and writes nothing) when the stored version moved on: the caller
        must not apply its change. On success `conv.version` is the new version.
        """
        now = self.now()
        cursor = self._conn.execute(
            SAVE_CONVERSATION,
            (
                conv.state,
                conv.status,
                json.dumps(conv.trail),
                conv.return_to,
                int(conv.followed_up),
                json_text(conv.context),
                now,
                conv.id,
                conv.version,
            ),
        )
        if cursor.rowcount != 1:
            return False
        conv.version += 1
        conv.updated_at = now
        return True

    def conversations_in(self, team_id: int, *, flow: str) -> list[tuple[Member, Conversation]]:
        """Each member's latest conversation of a flow, for one team."""
        result = []
        for member in self.members(team_id):
            conv = self.conversation(member.id, flow=flow)
            if conv is not None:
                result.append((member, conv))
        return result
