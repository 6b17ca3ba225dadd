"""Load conversation flows from YAML, validate them, and build one state machine per flow.

A flow file declares states (prompt, help, choices, how the answer is read), each state's
`next`, and may include another flow file whose last state continues at `then`. The
machine is built once per flow with `auto_transitions=False` and shared by every
conversation: a conversation's state is a string in the store, restored onto a throwaway
model for each message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from transitions import Machine

FLOWS_DIR = Path(__file__).resolve().parent
DEFAULT_FLOWS = ("coffee.yaml", "checkin.yaml", "checkin_stage.yaml")
END = "end"
# `clarify`: a question the coach composes when a member's words and picks disagree; its
# prompt is a template and its two choices come from the ladder's criterion.
ANSWER_KINDS = ("text", "choice", "commitments", "clarify")
AnswerKind = Literal["text", "choice", "commitments", "clarify"]


class FlowError(ValueError):
    """A flow file that cannot be used; the message names the file, the state and the problem."""

    def __init__(self, path: Path | str, problem: str, *, state: str | None = None) -> None:
        where = f"{Path(path).name}" + (f", state '{state}'" if state else "")
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.state = state
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ChoiceSpec:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class StateSpec:
    id: str
    prompt: str
    help: str
    next: str
    title: str = ""
    number: int | None = None
    answer: AnswerKind = "text"
    choices: tuple[ChoiceSpec, ...] = ()
    follow_up: str | None = None
    skippable: bool = True
    source: str = ""

    def choice(self, text: str) -> ChoiceSpec | None:
        """The choice a typed or pressed answer names: its value, label, or 1-based number."""
        wanted = text.strip().casefold()
        for index, choice in enumerate(self.choices, start=1):
            if wanted in (choice.value.casefold(), choice.label.casefold(), str(index)):
                return choice
        return None


@dataclass(frozen=True, slots=True)
class FollowUpRule:
    min_words: int = 0
    vague: frozenset[str] = frozenset()

    def is_vague(self, text: str) -> bool:
        cleaned = text.strip().strip(".!").casefold()
        if cleaned in self.vague:
            return True
        # Fewer than `min_words` words: a long answer is split no further than that.
        words = self.min_words
        return words > 0 and len(cleaned.split(None, words - 1)) < words


@dataclass(slots=True)
class Flow:
    """A validated flow and the shared state machine built from it."""

    id: str
    title: str
    intro: str
    done: str
    initial: str
    states: dict[str, StateSpec]
    follow_up: FollowUpRule
    source: Path
    section_intros: dict[str, str] = field(default_factory=dict)
    machine: Machine = field(init=False, repr=False)
    # States in the order a member meets them when answering straight through.
    order: tuple[str, ...] = field(init=False)
    # The numbered questions, the ones `edit <n>` can reach.
    questions: tuple[StateSpec, ...] = field(init=False)
    # What the machine answered for each (state, trigger, target) it was asked.
    moves: dict[tuple[str, str, str | None], str | None] = field(
        init=False, repr=False, default_factory=dict
    )
    # Each numbered question's heading above its prompt ("*Question 2 of 9: ...*"), made once.
    headings: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.machine = _build_machine(self)
        order: list[str] = []
        current = self.initial
        # An included file's last state continues in its includer, outside these states.
        while current in self.states and current not in order:
            order.append(current)
            current = self.states[current].next
        self.order = tuple(order)
        self.questions = tuple(
            self.states[s] for s in self.order if self.states[s].number is not None
        )
        self.headings = {
            spec.id: f"*Question {spec.number} of {len(self.questions)}: {spec.title}*\n"
            for spec in self.states.values()
            if spec.number is not None
        }

    def question(self, number: int) -> StateSpec | None:
        return next((q for q in self.questions if q.number == number), None)

    def predecessors(self, state: str) -> list[str]:
        return [s.id for s in self.states.values() if s.next == state]


class _Position:
    """The throwaway model a conversation's state is restored onto for one trigger."""

    __slots__ = ("state",)

    def __init__(self, state: str) -> None:
        self.state = state


def _is_target(state: str, *, target: str, **_: Any) -> bool:
    return target == state


def _build_machine(flow: Flow) -> Machine:
    machine = Machine(
        model=None,
        states=[*flow.states, END],
        initial=flow.initial,
        auto_transitions=False,
    )
    for spec in flow.states.values():
        machine.add_transition("answer", spec.id, spec.next)
        if spec.skippable:
            machine.add_transition("skip", spec.id, spec.next)
    for spec in flow.states.values():
        earliers = list(flow.predecessors(spec.id))
        # A clarifying question is a detour: `back` past it reaches the state before it.
        for earlier in list(earliers):
            if flow.states[earlier].answer == "clarify":
                earliers.extend(flow.predecessors(earlier))
        for earlier in dict.fromkeys(earliers):
            machine.add_transition(
                "back", spec.id, earlier, conditions=[partial(_is_target, earlier)]
            )
        machine.add_transition("jump", "*", spec.id, conditions=[partial(_is_target, spec.id)])
    machine.add_transition("restart", "*", flow.initial)
    return machine


def fire(flow: Flow, state: str, trigger: str, *, target: str | None = None) -> str | None:
    """Run `trigger` from `state`; the new state, or None when the flow allows no such move.

    The machine has no callbacks and its conditions read only `target`, so its answer for
    a given (state, trigger, target) never changes: it is asked once and remembered.
    """
    move = (state, trigger, target)
    try:
        return flow.moves[move]
    except KeyError:
        pass
    position = _Position(state)
    event = flow.machine.events.get(trigger)
    new: str | None = None
    if event is not None and state in flow.machine.states:
        kwargs = {"target": target} if target is not None else {}
        try:
            if event.trigger(position, **kwargs):
                new = position.state
        except Exception:  # transitions raises MachineError for a trigger invalid in this state
            new = None
    if state in flow.machine.states:
        flow.moves[move] = new
    return new


# --- loading -------------------------------------------------------------------------


# libyaml's loader when PyYAML was built with it: the flows load at every start, and the
# pure-Python parser is most of the terminal's time to its first prompt.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(path, f"cannot read the file ({exc.strerror})") from exc
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise FlowError(path, f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise FlowError(path, "a flow file must be a mapping with `id` and `states`")
    return data


def _text(path: Path, raw: Mapping[str, Any], key: str, state: str | None) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise FlowError(path, f"missing {key}", state=state)
    if not isinstance(value, str):
        raise FlowError(path, f"{key} must be text", state=state)
    return value.strip()


def _state(path: Path, raw: Any, then: str | None) -> StateSpec:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
        raise FlowError(path, f"every state needs an `id`; got {raw!r}")
    sid = raw["id"]
    answer = raw.get("answer", "text")
    if answer not in ANSWER_KINDS:
        raise FlowError(path, f"unknown answer kind {answer!r}", state=sid)
    choices: list[ChoiceSpec] = []
    for item in raw.get("choices") or ():
        if not isinstance(item, dict) or "label" not in item or "value" not in item:
            raise FlowError(path, f"a choice needs a label and a value; got {item!r}", state=sid)
        choices.append(ChoiceSpec(label=str(item["label"]), value=str(item["value"])))
    if answer == "choice" and not choices:
        raise FlowError(path, "a choice question has no choices", state=sid)
    values = [c.value for c in choices]
    if len(set(values)) != len(values):
        raise FlowError(path, "two choices share a value", state=sid)
    nxt = raw.get("next")
    if not isinstance(nxt, str) or not nxt:
        raise FlowError(path, "missing next", state=sid)
    if nxt == "$then":
        if then is None:
            raise FlowError(path, "`next: $then` is only allowed in an included file", state=sid)
        nxt = then
    number = raw.get("number")
    if number is not None and not isinstance(number, int):
        raise FlowError(path, "number must be a whole number", state=sid)
    return StateSpec(
        id=sid,
        prompt=_text(path, raw, "prompt", sid),
        help=_text(path, raw, "help", sid),
        next=nxt,
        title=str(raw.get("title") or ""),
        number=number,
        answer=cast(AnswerKind, answer),
        choices=tuple(choices),
        follow_up=raw.get("follow_up"),
        skippable=bool(raw.get("skippable", True)),
        source=str(path),
    )


def load_flow(path: Path | str) -> Flow:
    """Load and validate one flow file (and the files it includes); raise FlowError if broken."""
    path = Path(path)
    return _load(path, then=None, seen=())


def _load(path: Path, *, then: str | None, seen: tuple[Path, ...]) -> Flow:
    if path in seen:
        raise FlowError(path, "includes itself")
    data = _read_yaml(path)
    flow_id = data.get("id")
    if not isinstance(flow_id, str) or not flow_id:
        raise FlowError(path, "missing id")
    raw_states = data.get("states")
    if not isinstance(raw_states, list) or not raw_states:
        raise FlowError(path, "no states")

    states: dict[str, StateSpec] = {}
    for raw in raw_states:
        spec = _state(path, raw, then)
        if spec.id in states or spec.id == END:
            raise FlowError(path, "duplicate id", state=spec.id)
        states[spec.id] = spec

    section_intros: dict[str, str] = {}
    entries: dict[str, str] = {}
    for item in data.get("include") or ():
        if not isinstance(item, dict) or not item.get("file") or not item.get("then"):
            raise FlowError(path, f"an include needs `file` and `then`; got {item!r}")
        sub = _load(path.parent / str(item["file"]), then=str(item["then"]), seen=(*seen, path))
        for sid, spec in sub.states.items():
            if sid in states:
                raise FlowError(path, f"duplicate id (also in {sub.source.name})", state=sid)
            states[sid] = spec
        entries[f"@{sub.id}"] = sub.initial
        if sub.intro:
            section_intros[sub.initial] = sub.intro
        section_intros.update(sub.section_intros)

    # `next: "@flow"` continues at an included flow's first state.
    for sid, spec in list(states.items()):
        if spec.next.startswith("@"):
            if spec.next not in entries:
                raise FlowError(path, f"next names {spec.next!r}, which is not included", state=sid)
            states[sid] = replace(spec, next=entries[spec.next])

    initial = data.get("initial") or next(iter(states))
    if initial not in states:
        raise FlowError(path, f"initial state {initial!r} is not defined")
    if then is None:
        _check_graph(path, states, initial)
    follow = data.get("follow_up") or {}
    return Flow(
        id=flow_id,
        title=str(data.get("title") or flow_id),
        intro=str(data.get("intro") or "").strip(),
        done=str(data.get("done") or "").strip(),
        initial=str(initial),
        states=states,
        follow_up=FollowUpRule(
            min_words=int(follow.get("min_words", 0)),
            vague=frozenset(str(v).casefold() for v in follow.get("vague") or ()),
        ),
        source=path,
        section_intros=section_intros,
    )


def _check_graph(path: Path, states: Mapping[str, StateSpec], initial: str) -> None:
    for spec in states.values():
        if spec.next != END and spec.next not in states:
            raise FlowError(
                spec.source, f"next names the unknown state {spec.next!r}", state=spec.id
            )
    reached: set[str] = set()
    current: str = initial
    while current != END and current not in reached:
        reached.add(current)
        current = states[current].next
    for sid, spec in states.items():
        if sid not in reached:
            raise FlowError(spec.source, "unreachable from the initial state", state=sid)
    if current != END:
        raise FlowError(path, "the flow loops and never reaches `end`", state=current)


def load_flows(paths: Iterable[Path | str] | None = None) -> dict[str, Flow]:
    """The flows the coach runs, by id; by default the interview and the check-in flows."""
    chosen = list(paths) if paths is not None else [FLOWS_DIR / name for name in DEFAULT_FLOWS]
    flows: dict[str, Flow] = {}
    for path in chosen:
        flow = load_flow(path)
        if flow.id in flows:
            raise FlowError(path, f"a second flow with id {flow.id!r}")
        flows[flow.id] = flow
    return flows
