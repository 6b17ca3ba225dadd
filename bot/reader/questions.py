"""Which questions' answers the reader reads differently from the rest."""

from __future__ import annotations

# The question that asks how social COULD help: its answers are hopes, not practice.
HYPOTHETICAL_QUESTIONS = frozenset({"experience"})
# Answers where a purpose word is a purpose without saying "our goal is".
PURPOSE_QUESTIONS = frozenset({"pathway", "success"})
# Answers where a role or a rhythm is about running the presence.
OWNER_QUESTIONS = frozenset({"owners", "sustain"})
