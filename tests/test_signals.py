"""The reader's vocabulary: the shipped file loads, and a broken one is refused by section."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from flows import FlowError
from flows.signals import CRITERIA, default_vocabulary, load_vocabulary

SHIPPED = Path(__file__).resolve().parents[1] / "flows" / "signals.yaml"


def test_the_shipped_english_vocabulary_loads_and_knows_the_usual_endings() -> None:
    vocab = default_vocabulary()
    assert vocab.language == "en"
    groups = {t.group for t in vocab.terms[("monitoring",)]}
    assert "listen_verb" in groups
    assert {t.value for t in vocab.terms[("replied",)]} >= {"reply"}


def test_shorthand_and_typos_are_spelled_the_way_the_vocabulary_knows() -> None:
    vocab = default_vocabulary()
    assert vocab.words("ppl montior insta wkly") == ("people", "monitor", "instagram", "weekly")
    assert {t.value for t in vocab.terms[("tik", "tok")]} == {"TikTok"}


def test_tool_names_that_are_ordinary_words_need_their_capital() -> None:
    vocab = default_vocabulary()
    (later,) = [t for t in vocab.terms[("later",)] if t.group == "tool"]
    assert later.exact == "Later"


def test_every_criterion_has_phrases_against_it() -> None:
    vocab = default_vocabulary()
    kinds = {t.kind for terms in vocab.terms.values() for t in terms if t.group == "cue"}
    for criterion in CRITERIA:
        assert f"{criterion}:against" in kinds


def _broken(tmp_path: Path, change: dict[str, object]) -> Path:
    data = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    for key, value in change.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path = tmp_path / "signals.xx.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "section"),
    [
        ({"negations": None}, "negations"),
        ({"wishes": []}, "wishes"),
        ({"tools": ["brandwatch"]}, "tools"),
        ({"networks": {"LinkedIn": "linkedin"}}, "networks.LinkedIn"),
        ({"spellings": {"ppl": None}}, "spellings"),
        ({"criteria": {"listens_well": {"for": {"x": ["y"]}}}}, "criteria"),
        ({"criteria": {"listens": {"maybe": {"x": ["y"]}}}}, "criteria.listens.maybe"),
        ({"hedges": ["not sure", {"a": 1}]}, "hedges"),
        ({"language": None}, "language"),
        ({"negations": ["not", False]}, "negations"),
    ],
)
def test_a_broken_signals_file_names_the_file_and_the_section(
    tmp_path: Path, change: dict[str, object], section: str
) -> None:
    path = _broken(tmp_path, change)
    with pytest.raises(FlowError) as raised:
        load_vocabulary(path)
    message = str(raised.value)
    assert message.startswith("signals.xx.yaml")
    assert f"`{section}`" in message


def test_a_signals_file_that_is_not_yaml_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "signals.fr.yaml"
    path.write_text("negations: [pas\n", encoding="utf-8")
    with pytest.raises(FlowError, match=r"signals\.fr\.yaml: not valid YAML"):
        load_vocabulary(path)


def test_a_missing_language_file_is_refused_by_name() -> None:
    with pytest.raises(FlowError, match=r"signals\.zz\.yaml: cannot read"):
        default_vocabulary("zz")
