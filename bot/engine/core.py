"""The coach's foundations: its store and flows, the extensions plugged in, and their hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from bot.clock import Clock
from bot.engine.step import INTERVIEW, ConflictError, Step
from bot.engine.text import fill
from bot.messages import Choice
from bot.store import Conversation, Store
from flows import END, Flow, Ladder, load_flows, load_ladder

COMMANDS: dict[str, str] = {
    "start": "begin the interview, or pick up where you left off",
    "help": "why I ask the current question, and these commands",
    "skip": "leave the current question for now",
    "back": "return to the previous question",
    "edit <n>": "change your answer to question n",
    "pause": "stop for now; your place is kept",
    "resume": "carry on where you paused",
    "status": "how far you are, and your team's rung",
    "team": "the team your answers count for; from another team's channel, switch to it",
    "report": "the team picture: answers side by side, rung, next actions",
    "export": "your team's answers as a one-page strategy",
    "restart": "begin the interview again (earlier answers are kept as history)",
    "cancel": "stop this interview",
    "forget": "delete your answers (asks first)",
}


# A hook runs inside the turn's transaction when a conversation enters a state or ends.
EnterHook = Callable[["CoachCore", Step, Flow], None]
# An extension's hook runs around the engine's own (or the next extension's): it calls
# `proceed()` to let that run, or does not, to replace it.
AroundHook = Callable[["CoachCore", Step, Flow, Callable[[], None]], None]
# The engine's own hooks are its bound methods.
OwnHook = Callable[[Step, Flow], None]


class Extension(Protocol):
    """A feature beyond the interview (check-ins), plugged in with `Coach.extend`.

    It sees each message first and says whether it handled it, adds the lines `help`
    lists, and may run around what the engine does when a conversation enters a state or
    ends a flow.
    """

    @property
    def help(self) -> Mapping[str, str]: ...

    def command(self, coach: CoachCore, step: Step, text: str) -> bool: ...

    def around_enter(self, flow: str, state: str) -> AroundHook | None: ...

    def around_finish(self, flow: str) -> AroundHook | None: ...


class CoachCore:
    """What every part of the coach stands on: its store and flows, its extensions, saving."""

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
        self._on_enter, self._on_finish = self._own_hooks()
        self.extensions: list[Extension] = []
        # What `help` lists; each extension adds its commands' lines.
        self.help: dict[str, str] = dict(COMMANDS)
        # The extensions' hooks for entering each (flow, state), or finishing; found once.
        self._arounds: dict[tuple[str, str, bool], list[AroundHook]] = {}
        # Each choice question's answer buttons (`Moves._buttons`), made once.
        self._choice_buttons: dict[tuple[str, str], tuple[Choice, ...]] = {}
        # The prompts that are the same every time they are asked, with their buttons, by
        # (flow, state) (`Moves._prompt`), made once.
        self._prompts: dict[tuple[str, str], tuple[str, tuple[Choice, ...]]] = {}

    def _own_hooks(self) -> tuple[dict[tuple[str, str], OwnHook], dict[str, OwnHook]]:
        """The engine's own hooks for entering a (flow, state), and for finishing a flow."""
        return {}, {}

    def extend(self, extension: Extension) -> None:
        """Plug a feature in: it sees messages first and runs around the engine's hooks."""
        self.extensions.append(extension)
        self.help.update(extension.help)
        self._arounds.clear()

    @staticmethod
    def token(conv: Conversation) -> str:
        return f"{conv.id}.{conv.version}"

    def _flow(self, conv: Conversation) -> Flow:
        return self.flows[conv.flow]

    def _where(self, conv: Conversation) -> str:
        flow = self._flow(conv)
        if conv.state == END:
            return "the end"
        spec = flow.states[conv.state]
        if spec.number is not None:
            return f"question {spec.number} of {len(flow.questions)}"
        if not spec.title:
            return "the first question" if conv.state == flow.initial else "my last question"
        # "A quick check" reads as "a quick check"; "B2B or B2C" keeps its capitals.
        title = spec.title
        return title[:1].lower() + title[1:] if title[1:2].islower() else title

    def _save(self, conv: Conversation) -> None:
        if not self.store.save_conversation(conv):
            raise ConflictError

    def _context(self, step: Step) -> dict[str, Any]:
        context: dict[str, Any] = {"name": step.member.label, "team": step.member.team.label}
        if step.conv is not None:
            context.update(step.conv.context)
        return context

    # --- hooks ----------------------------------------------------------------------------

    def _run_hooks(
        self, step: Step, flow: Flow, state: str, own: OwnHook | None, *, finish: bool = False
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
                own(step, flow)
            return

        def call(depth: int) -> None:
            if depth == len(arounds):
                if own is not None:
                    own(step, flow)
            else:
                arounds[depth](self, step, flow, lambda: call(depth + 1))

        call(0)

    def _finish_default(self, step: Step, flow: Flow) -> None:
        if flow.done:
            step.say(fill(flow.done, self._context(step)))
