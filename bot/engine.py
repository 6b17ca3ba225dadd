"""The coach: a platform-neutral message in, replies out.

Each message is one store transaction: claim the platform event id, restore the member's
conversation, fire the flow's trigger on the shared state machine, then write the answer
and the new state (guarded by the conversation's version) after the trigger returned.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock, iso
from bot.export import export_team
from bot.ladder import (
    MAX_CLARIFY,
    Placement,
    clarify_choices,
    clarify_context,
    clarify_question,
    conflicts,
    place,
)
from bot.messages import (
    Choice,
    FileOut,
    Incoming,
    MemberKey,
    Reply,
    SummaryCard,
    Turn,
)
from bot.report import team_report, team_rung_line
from bot.store import Conversation, Member, Store
from bot.zones import canonical_zone
from flows import END, Criterion, Flow, Ladder, StateSpec, fire, load_flows, load_ladder

MAX_ANSWER_CHARS = 20_000
INTERVIEW = "coffee"
ACTIVE = ("active", "paused")
TOUCH_EVERY_S = 60.0

COMMANDS: dict[str, str] = {
    "start": "begin the interview, or pick up where you left off",
    "help": "why I ask the current question, and these commands",
    "skip": "leave the current question for now",
    "back": "return to the previous question",
    "edit <n>": "change your answer to question n",
    "pause": "stop for now; your place is kept",
    "resume": "carry on where you paused",
    "status": "how far you are, and your team's rung",
    "report": "the team picture: answers side by side, rung, next actions",
    "export": "your team's answers as a one-page strategy",
    "restart": "begin the interview again (earlier answers are kept as history)",
    "cancel": "stop this interview",
    "forget": "delete your answers (asks first)",
}
NAV = (
    Choice("Skip", "skip", nav=True),
    Choice("Back", "back", nav=True),
    Choice("Pause", "pause", nav=True),
)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_EDIT = re.compile(r"^edit\s*#?\s*(\d+)$")
_EXPORT = re.compile(r"^export(?:\s+(md|markdown|json|csv))?$")
_NUMBERS = re.compile(r"\d+")
# "/foo" or "!foo" on its own looks like a command, not an answer.
_SLASHED = re.compile(r"^[/!][a-z][\w-]*$", re.IGNORECASE)


def clean_text(text: str) -> str:
    """Drop control characters (they can rewrite a terminal), keep newlines, tabs and emoji."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


class _SafeFormat(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, context: Mapping[str, Any]) -> str:
    return template.format_map(_SafeFormat(context))


@dataclass(slots=True)
class Step:
    """What one message is doing: the member, the conversation, the replies so far."""

    msg: Incoming
    member: Member
    conv: Conversation | None
    replies: list[Reply] = field(default_factory=list)

    def say(self, text: str, **kw: Any) -> None:
        self.replies.append(Reply(text=text, **kw))


# A hook runs inside the turn's transaction when a conversation enters a state or ends.
EnterHook = Callable[["Coach", Step, Flow], None]
# An extension's hook runs around the engine's own (or the next extension's): it calls
# `proceed()` to let that run, or does not, to replace it.
AroundHook = Callable[["Coach", Step, Flow, Callable[[], None]], None]


class Extension(Protocol):
    """A feature beyond the interview (check-ins), plugged in with `Coach.extend`.

    It sees each message first and says whether it handled it, adds the lines `help`
    lists, and may run around what the engine does when a conversation enters a state or
    ends a flow.
    """

    @property
    def help(self) -> Mapping[str, str]: ...

    def command(self, coach: Coach, step: Step, text: str) -> bool: ...

    def around_enter(self, flow: str, state: str) -> AroundHook | None: ...

    def around_finish(self, flow: str) -> AroundHook | None: ...


class Coach:
    """The whole coach behind every door: terminal, Slack, Teams, scheduler."""

    def __init__(
        self,
        store: Store,
        *,
        flows: Mapping[str, Flow] | None = None,
        ladder: Ladder | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.flows: dict[str, Flow] = dict(flows or load_flows())
        self.interview = self.flows[INTERVIEW]
        self.ladder = ladder or load_ladder(flow=self.interview)
        self.clock: Clock = clock or store.clock
        self._on_enter: dict[tuple[str, str], EnterHook] = {
            (INTERVIEW, "clarify"): Coach._enter_clarify,
            (INTERVIEW, "commit"): Coach._enter_commit,
        }
        self._on_finish: dict[str, EnterHook] = {INTERVIEW: Coach._finish_interview}
        self.extensions: list[Extension] = []
        # What `help` lists; each extension adds its commands' lines.
        self.help: dict[str, str] = dict(COMMANDS)
        # The extensions' hooks for entering each (flow, state), or finishing; found once.
        self._arounds: dict[tuple[str, str, bool], list[AroundHook]] = {}

    def extend(self, extension: Extension) -> None:
        """Plug a feature in: it sees messages first and runs around the engine's hooks."""
        self.extensions.append(extension)
        self.help.update(extension.help)
        self._arounds.clear()

    # --- the door ---------------------------------------------------------------------

    def handle(self, msg: Incoming) -> Turn:
        """One message in, the coach's replies out, in one store transaction.

        A repeated event id gives `Turn(duplicate=True)` and changes nothing; so does a
        button pressed on a prompt that was already answered (`stale`). An answer over
        `MAX_ANSWER_CHARS` is refused before anything is read or written.
        """
        text = clean_text(msg.value if msg.value is not None else msg.text)
        if len(text) > MAX_ANSWER_CHARS:
            return Turn(
                replies=[
                    Reply(
                        f"That's {len(text):,} characters; answers can be up to "
                        f"{MAX_ANSWER_CHARS:,}. Nothing was saved for this question and your "
                        "earlier answers are safe: please send a shorter version, or split it "
                        "and use `edit <n>` to add to it."
                    )
                ]
            )
        try:
            return self._handle(msg, text)
        except ConflictError:
            return Turn(
                replies=[
                    Reply(
                        "That message crossed with another one for the same conversation and was"
                        " not applied; please send it again."
                    )
                ]
            )

    def _handle(self, msg: Incoming, text: str) -> Turn:
        store = self.store
        with store.transaction():
            if msg.event_id and not store.claim_event(
                msg.key.platform, msg.key.workspace, msg.event_id
            ):
                return Turn(duplicate=True)
            member, conv = self._member(msg)
            step = Step(msg=msg, member=member, conv=conv)
            if msg.edits:
                self._apply_edit(step, text)
            elif msg.prompt_token is not None and (
                conv is None or msg.prompt_token != self.token(conv)
            ):
                return Turn(
                    replies=[Reply("That question was already answered; nothing changed.")],
                    team=member.team.key,
                    stale=True,
                )
            else:
                self._dispatch(step, text)
        return Turn(replies=step.replies, team=member.team.key)

    def _member(self, msg: Incoming) -> tuple[Member, Conversation | None]:
        """The member this message is from, and their latest conversation."""
        key = msg.key
        store = self.store
        found = store.member_and_conversation(key)
        team_name = msg.team_name
        if found is None and key.team is None:
            # A direct message from someone never seen in a team: their own team.
            key = key.with_team(f"personal:{key.user}")
            found = store.member_and_conversation(key)
            team_name = team_name or (
                f"{msg.display_name} (personal)" if msg.display_name else "Personal"
            )
        if found is None:
            member = store.ensure_member(key, name=msg.display_name)
            zone = None if member.team.timezone else canonical_zone(msg.timezone)
            fields = {"name": team_name, "address": msg.team_address, "timezone": zone}
            if any(fields.values()):
                store.update_team(member.team.id, **{k: v for k, v in fields.items() if v})
            found = (member, None)
        member, conv = found
        # An explicit team refreshes `last_seen` (the team a direct message belongs to),
        # at most once a minute, to keep the per-turn write small.
        seen_long_ago = key.team is not None and member.last_seen < iso(
            store.moment() - timedelta(seconds=TOUCH_EVERY_S)
        )
        changed_address = msg.dm_address is not None and msg.dm_address != member.address
        changed_name = msg.display_name is not None and msg.display_name != member.name
        if seen_long_ago or changed_address or changed_name:
            store.touch_member(member, name=msg.display_name, address=msg.dm_address)
            member.address = msg.dm_address or member.address
            member.name = msg.display_name or member.name
        if msg.team_address and msg.team_address != member.team.address:
            store.update_team(member.team.id, address=msg.team_address)
            member.team.address = msg.team_address
        return member, conv

    @staticmethod
    def token(conv: Conversation) -> str:
        return f"{conv.id}.{conv.version}"

    # --- commands -----------------------------------------------------------------------

    def _dispatch(self, step: Step, text: str) -> None:
        if any(extension.command(self, step, text) for extension in self.extensions):
            return
        command = text.casefold().rstrip(".!")
        conv = step.conv
        active = conv is not None and conv.status == "active"
        if command in ("start", "coffee", "/coffee", "begin"):
            self._start(step)
        elif command in ("help", "?", "commands"):
            self._help(step)
        elif command in ("status", "progress"):
            self._status(step)
        elif command == "report":
            card = team_report(self, step.member.team)
            step.say(f"Team picture for {step.member.team.label}.", card=card)
        elif m := _EXPORT.match(command):
            fmt = {"markdown": "md", None: "md"}.get(m.group(1), m.group(1))
            content, mime = export_team(self, step.member.team, fmt or "md")
            name = f"coffee-coach-{_slug(step.member.team.label)}.{fmt}"
            step.say("Here is your team's strategy so far.", file=FileOut(name, content, mime))
        elif command == "forget":
            step.say(
                "This deletes your answers, placements and commitments for this team, for good."
                " Are you sure?",
                choices=(
                    Choice("Delete my data", "forget yes", "danger"),
                    Choice("Keep it", "keep"),
                ),
            )
        elif command in ("forget yes", "forget --yes", "forget confirm"):
            self.store.forget(step.member.team.id, user=step.member.user)
            step.say("Done: everything I stored about you for this team is deleted.")
        elif command == "keep":
            step.say("Kept. Nothing was deleted.")
        elif command == "pause":
            self._pause(step)
        elif command in ("resume", "continue"):
            self._resume(step)
        elif command == "cancel":
            self._cancel(step)
        elif command == "restart":
            self._begin(step, restart=True)
        elif (m := _EDIT.match(command)) and (
            finished := self._finished_interview(step)
        ) is not None:
            # A finished interview reopens for one edit, then returns to done.
            step.conv = finished
            finished.status = "active"
            self._edit(step, int(m.group(1)))
        elif conv is None or conv.status not in ACTIVE:
            self._idle(step, text)
        elif conv.status == "paused":
            step.say(
                "You paused the interview. Type `resume` to carry on where you left off,"
                " or `help` for the commands.",
                choices=(Choice("Resume", "resume", "primary"),),
            )
        elif command == "skip":
            self._skip(step)
        elif command == "back":
            self._back(step)
        elif command == "edit":
            self._list_questions(step)
        elif m := _EDIT.match(command):
            self._edit(step, int(m.group(1)))
        elif active and not text:
            step.say("I didn't catch anything there.")
            self._prompt(step)
        elif _SLASHED.match(text):
            step.say(
                f"There's no command {_quote(text)}. Answer the question in your own words,"
                " or type `help` for the commands."
            )
            self._prompt(step)
        else:
            self._answer(step, text)

    def _idle(self, step: Step, text: str) -> None:
        conv = step.conv
        if not text:
            step.say("Type `start` to begin the coffee interview, or `help` for the commands.")
        elif conv is not None and conv.status == "done":
            step.say(
                "Your interview is complete. `status` shows your team's rung, `report` the team"
                " picture, `edit <n>` changes an answer, and `restart` begins again."
            )
        else:
            step.say(
                f"I didn't understand {_quote(text)}. Type `start` to begin the coffee"
                " interview, or `help` for what I can do."
            )

    def _help(self, step: Step) -> None:
        conv = step.conv
        lines = []
        if conv is not None and conv.status == "active" and conv.state != END:
            spec = self.flows[conv.flow].states[conv.state]
            lines.append(f"*Why I ask:* {spec.help}")
            lines.append("")
        lines.append("*Commands*")
        lines.extend(f"`{name}`: {what}" for name, what in self.help.items())
        step.say("\n".join(lines))

    def _finished_interview(self, step: Step) -> Conversation | None:
        """The member's interview, if it is done and nothing else is in progress."""
        conv = step.conv
        if conv is not None and conv.status in ACTIVE:
            return None
        if conv is None or conv.flow != INTERVIEW:
            conv = self.store.conversation(step.member.id, flow=INTERVIEW)
        return conv if conv is not None and conv.status == "done" else None

    def _start(self, step: Step) -> None:
        conv = step.conv
        if conv is not None and conv.status == "active":
            step.say("Welcome back! Here's where we were.")
            self._prompt(step)
        elif conv is not None and conv.status == "paused":
            self._resume(step)
        elif self._finished_interview(step) is not None:
            step.say(
                "You've completed the interview. `status` shows your team's rung, `report` the"
                " team picture, and `restart` begins the interview again."
            )
        else:
            self._begin(step)

    def _begin(self, step: Step, *, restart: bool = False, flow_id: str = INTERVIEW) -> None:
        store = self.store
        old = step.conv
        if old is not None and old.status in ACTIVE:
            old.status = "restarted" if restart else "cancelled"
            if not store.save_conversation(old):
                raise ConflictError
        flow = self.flows[flow_id]
        step.conv = store.start_conversation(step.member.id, flow=flow.id, state=flow.initial)
        if restart:
            step.say("Starting again from the top. Your earlier answers stay in the history.")
        if flow.intro:
            step.say(fill(flow.intro, self._context(step)))
        self._prompt(step)

    def begin_flow(self, key: MemberKey, flow_id: str, context: Mapping[str, Any]) -> Turn:
        """Open a flow for a member on the coach's own initiative (a check-in)."""
        with self.store.transaction():
            member = self.store.member(key) or self.store.ensure_member(key)
            step = Step(
                msg=Incoming(key=key), member=member, conv=self.store.conversation(member.id)
            )
            old = step.conv
            if old is not None and old.status in ACTIVE:
                old.status = "cancelled"
                if not self.store.save_conversation(old):
                    raise ConflictError
            flow = self.flows[flow_id]
            step.conv = self.store.start_conversation(
                member.id, flow=flow_id, state=flow.initial, context=dict(context)
            )
            if flow.intro:
                step.say(fill(flow.intro, self._context(step)))
            self._prompt(step)
        return Turn(replies=step.replies, team=member.team.key)

    def _pause(self, step: Step) -> None:
        conv = step.conv
        if conv is None or conv.status != "active":
            step.say("There's no interview in progress to pause. Type `start` to begin one.")
            return
        conv.status = "paused"
        self._save(conv)
        step.say(
            f"Paused at {self._where(conv)}. Your answers are saved; type `resume` whenever"
            " you're ready, today or next week.",
            choices=(Choice("Resume", "resume", "primary"),),
        )

    def _resume(self, step: Step) -> None:
        conv = step.conv
        if conv is None or conv.status not in ACTIVE:
            step.say("There's nothing paused. Type `start` to begin the interview.")
            return
        if conv.status == "paused":
            conv.status = "active"
            self._save(conv)
        step.say("Welcome back! Picking up where you left off.")
        self._prompt(step)

    def _cancel(self, step: Step) -> None:
        conv = step.conv
        if conv is None or conv.status not in ACTIVE:
            step.say("There's no interview in progress to cancel.")
            return
        conv.status = "cancelled"
        self._save(conv)
        step.say(
            "Cancelled. The answers you gave are kept; type `start` to begin a new interview,"
            " or `forget` to delete them."
        )

    def _status(self, step: Step) -> None:
        conv = step.conv
        lines = []
        interview = self.store.conversation(step.member.id, flow=INTERVIEW)
        if interview is None:
            lines.append("You haven't started the interview yet; type `start` to begin.")
        else:
            answers = self.store.answers(interview.id)
            total = len(self.interview.questions)
            answered = sum(
                1 for q in self.interview.questions if q.id in answers and not answers[q.id].skipped
            )
            skipped = sum(
                1 for q in self.interview.questions if q.id in answers and answers[q.id].skipped
            )
            state = {
                "active": f"in progress, at {self._where(interview)}",
                "paused": f"paused at {self._where(interview)}",
                "done": "complete",
                "cancelled": "cancelled",
                "restarted": "restarted",
            }[interview.status]
            lines.append(
                f"Your interview is {state}: {answered} of {total} questions answered"
                + (f", {skipped} skipped." if skipped else ".")
            )
        if conv is not None and conv.flow != INTERVIEW and conv.status in ACTIVE:
            lines.append(f"A {self.flows[conv.flow].title.lower()} is open: {self._where(conv)}.")
        lines.append(team_rung_line(self, step.member.team))
        step.say("\n".join(lines))

    # --- moving through the flow ----------------------------------------------------------

    def _flow(self, conv: Conversation) -> Flow:
        return self.flows[conv.flow]

    def _where(self, conv: Conversation) -> str:
        flow = self._flow(conv)
        if conv.state == END:
            return "the end"
        spec = flow.states[conv.state]
        if spec.number is not None:
            return f"question {spec.number} of {len(flow.questions)}"
        return spec.title.lower() if spec.title else conv.state

    def _save(self, conv: Conversation) -> None:
        if not self.store.save_conversation(conv):
            raise ConflictError

    def _context(self, step: Step) -> dict[str, Any]:
        context: dict[str, Any] = {"name": step.member.label, "team": step.member.team.label}
        if step.conv is not None:
            context.update(step.conv.context)
        return context

    def _prompt(self, step: Step, *, text: str | None = None) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        spec = flow.states[conv.state]
        context = self._context(step)
        body = fill(text or spec.prompt, context)
        if spec.number is not None:
            body = f"*Question {spec.number} of {len(flow.questions)}: {spec.title}*\n{body}"
        choices: tuple[Choice, ...] = ()
        if spec.answer == "choice":
            choices = tuple(Choice(c.label, c.value) for c in spec.choices)
        elif spec.answer == "clarify":
            choices = clarify_choices(self.ladder, conv.context)
        elif spec.answer == "commitments":
            actions = conv.context.get("actions", [])
            body += "\n" + "\n".join(f"{i}. {a}" for i, a in enumerate(actions, start=1))
            choices = (
                *(Choice(f"Commit to {i}", str(i)) for i in range(1, len(actions) + 1)),
                Choice("All of them", "all", "primary"),
                Choice("None for now", "none"),
            )
        nav = tuple(c for c in NAV if spec.skippable or c.value != "skip")
        if spec.answer != "commitments":
            choices = (*choices, *nav)
        step.say(body, choices=choices, prompt_token=self.token(conv))

    def _move(self, step: Step, trigger: str, *, target: str | None = None) -> bool:
        """Fire a trigger; on success save the new state and prompt (or finish)."""
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        old = conv.state
        new = fire(flow, old, trigger, target=target)
        if new is None:
            return False
        if trigger in ("answer", "skip"):
            if conv.return_to is not None:
                # Back from an edit: continue where the member was before it.
                new, conv.return_to = conv.return_to, None
            elif flow.states[old].answer != "clarify":
                # A clarifying question is a detour, never a place to go `back` to.
                conv.trail.append(old)
        conv.state = new
        conv.followed_up = False
        if new == END:
            conv.status = "done"
        self._save(conv)
        if new != END and (intro := flow.section_intros.get(new)) and trigger != "back":
            step.say(intro)
        self._run_hooks(step, flow, new, self._on_enter.get((flow.id, new)))
        if conv.state != new:
            # A hook moved on by itself (nothing to clarify): it has prompted.
            return True
        if new == END:
            own = self._on_finish.get(flow.id, Coach._finish_default)
            self._run_hooks(step, flow, END, own, finish=True)
        else:
            self._prompt(step)
        return True

    def _skip(self, step: Step) -> None:
        conv = step.conv
        assert conv is not None
        spec = self._flow(conv).states[conv.state]
        if not spec.skippable:
            step.say("This one can't be skipped, sorry.")
            self._prompt(step)
            return
        if spec.answer == "commitments":
            conv.context["committed"] = []
        elif spec.answer == "clarify":
            # Skipped, it is not asked again: the more specific statement decides.
            criterion = str(conv.context.get("clarifying"))
            self.store.add_answer(conv.id, clarify_question(criterion), text="", skipped=True)
            conv.context["clarified"] = int(conv.context.get("clarified", 0)) + 1
            self._clarify_next(step)
            return
        else:
            # A skip is stored, so the team report can show the gap.
            self.store.add_answer(conv.id, conv.state, text="", skipped=True)
        self._move(step, "skip")

    def _back(self, step: Step) -> None:
        conv = step.conv
        assert conv is not None
        if conv.return_to is not None:
            # Leaving an edit without answering: return to where the member was.
            target, conv.return_to = conv.return_to, None
            conv.state = target
            self._save(conv)
            self._prompt(step)
            return
        if not conv.trail:
            step.say("This is the first question; there's nothing before it.")
            self._prompt(step)
            return
        target = conv.trail.pop()
        if not self._move(step, "back", target=target):
            conv.trail.append(target)
            step.say("I can't go back from here.")
            self._prompt(step)

    def _list_questions(self, step: Step) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        answers = self.store.answers(conv.id)
        lines = ["Which answer would you like to change? Type `edit <n>`:"]
        for q in flow.questions:
            given = answers.get(q.id)
            shown = "(skipped)" if given and given.skipped else _clip(given.text) if given else "-"
            lines.append(f"{q.number}. {q.title}: {shown}")
        step.say("\n".join(lines))

    def _edit(self, step: Step, number: int) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        spec = flow.question(number)
        if spec is None:
            step.say(
                f"There's no question {number}; the questions run from 1 to {len(flow.questions)}."
            )
            return
        if conv.state == spec.id:
            self._prompt(step)
            return
        back_to = conv.return_to or conv.state
        new = fire(flow, conv.state, "jump", target=spec.id)
        if new is None:
            step.say("I can't edit that from here.")
            return
        conv.state, conv.return_to, conv.followed_up = new, back_to, False
        self._save(conv)
        current = self.store.answers(conv.id).get(spec.id)
        if current is not None and not current.skipped:
            step.say(f"Your answer was: {_quote(current.text)}. Send the new one.")
        self._prompt(step)

    def _answer(self, step: Step, text: str) -> None:
        conv = step.conv
        assert conv is not None
        flow = self._flow(conv)
        spec = flow.states[conv.state]
        if spec.answer == "choice":
            self._answer_choice(step, spec, text)
        elif spec.answer == "commitments":
            self._answer_commitments(step, text)
        elif spec.answer == "clarify":
            self._answer_clarify(step, text)
        else:
            self._answer_text(step, flow, spec, text)

    def _answer_choice(self, step: Step, spec: StateSpec, text: str) -> None:
        conv = step.conv
        assert conv is not None
        choice = spec.choice(text)
        if choice is None:
            options = ", ".join(f"{i}. {c.label}" for i, c in enumerate(spec.choices, start=1))
            step.say(f"Please pick one of these (the number is enough): {options}.")
            self._prompt(step)
            return
        self.store.add_answer(
            conv.id, spec.id, text=choice.label, value=choice.value, message_id=step.msg.message_id
        )
        step.replies.append(Reply(text="", answered=choice.label))
        self._move(step, "answer")

    def _answer_text(self, step: Step, flow: Flow, spec: StateSpec, text: str) -> None:
        conv = step.conv
        assert conv is not None
        self.store.add_answer(conv.id, spec.id, text=text, message_id=step.msg.message_id)
        if spec.follow_up and not conv.followed_up and flow.follow_up.is_vague(text):
            conv.followed_up = True
            self._save(conv)
            step.say(
                fill(spec.follow_up, self._context(step)),
                prompt_token=self.token(conv),
                choices=NAV,
            )
            return
        self._move(step, "answer")

    def _answer_commitments(self, step: Step, text: str) -> None:
        conv = step.conv
        assert conv is not None
        actions: list[str] = conv.context.get("actions", [])
        command = text.casefold()
        if command in ("all", "all of them"):
            picked = list(actions)
        elif command in ("none", "none for now", "no", "not now"):
            picked = []
        else:
            numbers = [int(n) for n in _NUMBERS.findall(command)]
            if not numbers or any(n < 1 or n > len(actions) for n in numbers):
                step.say(
                    f"Reply with numbers between 1 and {len(actions)} (for example `1 3`),"
                    " `all`, or `none`."
                )
                self._prompt(step)
                return
            picked = [actions[n - 1] for n in dict.fromkeys(numbers)]
        conv.context["committed"] = picked
        self.store.add_answer(
            conv.id, conv.state, text="\n".join(picked) or "none", message_id=step.msg.message_id
        )
        self._move(step, "answer")

    def _apply_edit(self, step: Step, text: str) -> None:
        """A platform message edit: the answer that message gave gets a new version."""
        msg = step.msg
        assert msg.edits is not None
        found = self.store.answer_for_message(step.member.id, msg.edits)
        if found is None or not text:
            return
        conversation_id, question = found
        conv = step.conv
        flow = self.flows[conv.flow] if conv else self.interview
        spec = flow.states.get(question)
        if spec is None or spec.answer != "text":
            step.say("I can only update typed answers this way; use `edit <n>` for the others.")
            return
        self.store.add_answer(conversation_id, question, text=text, message_id=msg.edits)
        where = f"question {spec.number}" if spec.number is not None else spec.title.lower()
        step.say(f"Updated your answer to {where}.")

    # --- hooks ----------------------------------------------------------------------------

    def _run_hooks(
        self, step: Step, flow: Flow, state: str, own: EnterHook | None, *, finish: bool = False
    ) -> None:
        """The engine's own hook for entering `state` (or finishing), inside the arounds."""
        key = (flow.id, state, finish)
        arounds = self._arounds.get(key)
        if arounds is None:
            found = (
                e.around_finish(flow.id) if finish else e.around_enter(flow.id, state)
                for e in self.extensions
            )
            arounds = self._arounds[key] = [hook for hook in found if hook is not None]
        if not arounds:
            if own is not None:
                own(self, step, flow)
            return

        def call(depth: int) -> None:
            if depth == len(arounds):
                if own is not None:
                    own(self, step, flow)
            else:
                arounds[depth](self, step, flow, lambda: call(depth + 1))

        call(0)

    def placement_for(self, member: Member, conv: Conversation) -> Placement:
        answers = self.store.answers(conv.id)
        return place(
            answers,
            ladder=self.ladder,
            flow=self.interview,
            business_model=business_model(answers),
        )

    def _enter_clarify(self, step: Step, flow: Flow) -> None:
        """Before placing: one question per disagreement between words and picks."""
        conv = step.conv
        assert conv is not None
        self._clarify_next(step, entering=True)

    def _clarify_next(self, step: Step, *, entering: bool = False) -> None:
        """Ask the next disagreement worth a question, or move on to the placement."""
        conv = step.conv
        assert conv is not None
        asked = int(conv.context.get("clarified", 0))
        pending = (
            conflicts(self.store.answers(conv.id), ladder=self.ladder, flow=self.interview)
            if asked < MAX_CLARIFY
            else []
        )
        if pending:
            conv.context.update(clarify_context(pending[0], self.interview))
            self._save(conv)
            if not entering:
                self._prompt(step)
            return
        conv.context.pop("clarifying", None)
        self._move(step, "answer")

    def _answer_clarify(self, step: Step, text: str) -> None:
        conv = step.conv
        assert conv is not None
        criterion = self.ladder_criterion(str(conv.context.get("clarifying")))
        choices = clarify_choices(self.ladder, conv.context)
        wanted = text.strip().casefold()
        picked = next(
            (
                c
                for i, c in enumerate(choices, start=1)
                if wanted in (c.value, c.label.casefold(), str(i))
            ),
            None,
        )
        if criterion is None or picked is None:
            options = " or ".join(f"{i}. {c.label}" for i, c in enumerate(choices, start=1))
            step.say(f"Please pick one (the number is enough): {options}.")
            self._prompt(step)
            return
        self.store.add_answer(
            conv.id,
            clarify_question(criterion.id),
            text=picked.label,
            value=picked.value,
            message_id=step.msg.message_id,
        )
        step.replies.append(Reply(text="", answered=picked.label))
        conv.context["clarified"] = int(conv.context.get("clarified", 0)) + 1
        self._clarify_next(step)

    def ladder_criterion(self, criterion_id: str) -> Criterion | None:
        return next((c for _, c in self.ladder.criteria() if c.id == criterion_id), None)

    def _enter_commit(self, step: Step, flow: Flow) -> None:
        conv = step.conv
        assert conv is not None
        answers = self.store.answers(conv.id)
        placement = self._record_placement(step)
        conv.context["actions"] = list(placement.actions)
        conv.context["rung"] = placement.rung
        self._save(conv)
        rows = tuple((f"{q.number}. {q.title}", _shown(answers.get(q.id))) for q in flow.questions)
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

    def _finish_default(self, step: Step, flow: Flow) -> None:
        if flow.done:
            step.say(fill(flow.done, self._context(step)))


class ConflictError(RuntimeError):
    """The conversation changed under this turn (another process or a repeated delivery)."""


def business_model(answers: Mapping[str, Any]) -> str | None:
    answer = answers.get("business_model")
    return getattr(answer, "value", None) if answer is not None else None


def _shown(answer: Any) -> str:
    if answer is None:
        return "not answered"
    if answer.skipped:
        return "skipped"
    return str(answer.text)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return f"“{_clip(text, 80)}”"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "team"
