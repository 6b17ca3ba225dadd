"""Coffee Coach's conversation flows as data, and the state machines built from them.

This package imports nothing from `bot` or `adapters`.
"""

from flows.ladder import Action, Condition, Criterion, Ladder, Stage, load_ladder
from flows.loader import END, ChoiceSpec, Flow, FlowError, StateSpec, fire, load_flow, load_flows

__all__ = [
    "END",
    "Action",
    "ChoiceSpec",
    "Condition",
    "Criterion",
    "Flow",
    "FlowError",
    "Ladder",
    "Stage",
    "StateSpec",
    "fire",
    "load_flow",
    "load_flows",
    "load_ladder",
]
