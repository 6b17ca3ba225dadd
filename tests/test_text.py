"""Cleaning what members send: the shortcut for plain text gives what the full path gives."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.engine.text import _CONTROL, _LONE_SURROGATE, clean_text


def cleaned_the_long_way(text: str) -> str:
    """What `clean_text` does for anything but plain printable ASCII."""
    text = _LONE_SURROGATE.sub("\ufffd", text)
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)))
def test_ascii_is_cleaned_as_the_long_way_cleans_it(text: str) -> None:
    assert clean_text(text) == cleaned_the_long_way(text)


@given(st.text())
def test_any_text_is_cleaned_as_the_long_way_cleans_it(text: str) -> None:
    assert clean_text(text) == cleaned_the_long_way(text)


def test_control_characters_go_and_newlines_tabs_and_accents_stay() -> None:
    assert clean_text("  caf\u0065\u0301\x07\tand\nmore \x00 ") == "caf\u00e9\tand\nmore"
