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
)
from flows import END, fire

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
        flow = self._flow(conv)
        spec = flow.states[conv.state]
        template = text or spec.prompt
        # Most prompts name nobody: the member's context is only gathered for those that do.
        body = fill(template, self._context(step)) if "{" in template else template
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
        if spec.answer != "commitments":
            nav = NAV if spec.skippable else _NAV_UNSKIPPABLE
            choices = (*choices, *nav) if choices else nav
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
            own = self._on_finish.get(flow.id, self._finish_default)
            self._run_hooks(step, flow, END, own, finish=True)
        else:
            self._prompt(step)
        return True
