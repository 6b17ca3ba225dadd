"""Text in and out: cleaning what members send, filling prompts, quoting answers back."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

# Control characters, and the marks of `bot.messages.mention` (never a member's to type).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\ue002]")
# A surrogate left alone in a str (JSON's "\ud800") cannot be stored or sent as UTF-8.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """Drop control characters (they can rewrite a terminal), keep newlines, tabs and emoji;
    a lone surrogate becomes U+FFFD."""
    if text.isascii() and text.isprintable():
        return text.strip()  # most answers: nothing to drop, nothing to normalise
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


class _SafeFormat(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, context: Mapping[str, Any]) -> str:
    return template.format_map(_SafeFormat(context))


def clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str) -> str:
    return f"“{clip(text, 80)}”"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-") or "team"
