"""Moving through a flow: prompting for the current state, firing a trigger to the next."""

from __future__ import annotations

from bot.engine.core import CoachCore
from bot.engine.step import Step
from bot.engine.text import fill
from bot.ladder import (
    clarify_choices,
)
from bot.messages import (
    Choice,
    Options,
)
from flows import END, Flow, StateSpec, fire

NAV = (
    Choice("Skip", "skip", nav=True),
    Choice("Back", "back", nav=True),
    Choice("Pause", "pause", nav=True),
)
_NAV_UNSKIPPABLE = tuple(c for c in NAV if c.value != "skip")


class Moves(CoachCore):
    """Prompting and moving on, which every command and answer ends with."""

    def _prompt(self, step: Step, *, text: str | None = None) -> None:
        conv = step.conv
        assert conv is not None
        if not text and (made := self._prompts.get((conv.flow, conv.state))) is not None:
            body, buttons = made
            step.say(body, choices=buttons, prompt_token=self.token(conv))
            return
        flow = self._flow(conv)
        spec = flow.states[conv.state]
        template = text or spec.prompt
        # Most prompts name nobody: the member's context is only gathered for those that do.
        body = fill(template, self._context(step)) if "{" in template else template
        if spec.number is not None:
            body = flow.headings[spec.id] + body
        choices: tuple[Choice, ...] = ()
        if spec.answer == "choice":
            choices = self._buttons(flow, spec)
        elif spec.answer == "clarify":
            choices = clarify_choices(self.ladder, conv.context)
        options = None
        if spec.answer == "commitments":
            # Ticked together, or typed as their numbers: one answer commits to them all.
            actions = conv.context.get("actions", [])
            options = Options(
                tuple(Choice(f"{i}. {a}", str(i)) for i, a in enumerate(actions, start=1)),
                submit="Commit to these",
            )
            choices = (Choice("All of them", "all", "primary"), Choice("None for now", "none"))
        else:
            nav = NAV if spec.skippable else _NAV_UNSKIPPABLE
            choices = (*choices, *nav) if choices else nav
        if not text and "{" not in template and spec.answer in ("text", "choice"):
            # Nobody named, nothing from the conversation: the same every time it is asked.
            self._prompts[conv.flow, conv.state] = (body, choices)
        step.say(body, choices=choices, prompt_token=self.token(conv), options=options)

    def _buttons(self, flow: Flow, spec: StateSpec) -> tuple[Choice, ...]:
        """A choice question's answers as buttons (the same every time it is asked)."""
        key = (flow.id, spec.id)
        buttons = self._choice_buttons.get(key)
        if buttons is None:
            buttons = tuple(Choice(c.label, c.value) for c in spec.choices)
            self._choice_buttons[key] = buttons
        return buttons

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
            own = self._on_finish.get(flow.id, self._finish_default)
            self._run_hooks(step, flow, END, own, finish=True)
        else:
            self._prompt(step)
        return True
