"""The flow loader: the shipped flows load, and a broken flow file is refused by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import END, FlowError, fire, load_flow, load_flows, load_ladder

GOOD_STATE = """
  - id: {id}
    prompt: "A question?"
    help: "Why."
    next: {next}
"""


def write_flow(tmp_path: Path, body: str, name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_shipped_flows_load_with_nine_numbered_questions_and_the_stage_check() -> None:
    flows = load_flows()
    coffee = flows["coffee"]
    assert [q.number for q in coffee.questions] == list(range(1, 10))
    assert coffee.order[0] == "business_model"
    assert coffee.order[-1] == "commit"
    assert [s for s in coffee.order if s.startswith("sc_")] == [
        "sc_posts",
        "sc_listen",
        "sc_reply",
        "sc_hub",
        "sc_objectives",
        "sc_owner",
    ]
    assert "checkin" in flows
    for spec in coffee.states.values():
        assert spec.prompt and spec.help


def test_ladder_rubric_names_only_real_answers_and_choices() -> None:
    ladder = load_ladder(flow=load_flows()["coffee"])
    assert [s.name for s in ladder.stages] == ["Broadcast", "Listen", "Engage", "Publish"]


def test_the_machine_moves_forward_back_and_to_an_edited_question() -> None:
    coffee = load_flows()["coffee"]
    assert fire(coffee, "customers", "answer") == "value"
    assert fire(coffee, "customers", "back", target="business_model") == "business_model"
    assert fire(coffee, "customers", "back", target="success") is None
    assert fire(coffee, "commit", "jump", target="networks") == "networks"
    assert fire(coffee, "commit", "answer") == END
    assert fire(coffee, "customers", "no-such-trigger") is None


def test_unknown_target_state_is_refused_naming_file_and_state(tmp_path: Path) -> None:
    path = write_flow(tmp_path, "id: x\nstates:" + GOOD_STATE.format(id="first", next="nowhere"))
    with pytest.raises(FlowError, match=r"broken\.yaml, state 'first': .*unknown state 'nowhere'"):
        load_flow(path)


def test_unreachable_state_is_refused(tmp_path: Path) -> None:
    body = "id: x\nstates:" + GOOD_STATE.format(id="a", next="end")
    body += GOOD_STATE.format(id="island", next="end")
    with pytest.raises(FlowError, match=r"state 'island': unreachable"):
        load_flow(write_flow(tmp_path, body))


def test_missing_prompt_is_refused(tmp_path: Path) -> None:
    body = "id: x\nstates:\n  - id: a\n    help: h\n    next: end\n"
    with pytest.raises(FlowError, match=r"broken\.yaml, state 'a': missing prompt"):
        load_flow(write_flow(tmp_path, body))


def test_duplicate_state_id_is_refused(tmp_path: Path) -> None:
    body = "id: x\nstates:" + GOOD_STATE.format(id="a", next="a2")
    body += GOOD_STATE.format(id="a", next="end")
    with pytest.raises(FlowError, match=r"state 'a': duplicate id"):
        load_flow(write_flow(tmp_path, body))


def test_choice_question_without_choices_is_refused(tmp_path: Path) -> None:
    body = "id: x\nstates:\n  - id: pick\n    prompt: p\n    help: h\n    answer: choice\n"
    body += "    next: end\n"
    with pytest.raises(FlowError, match=r"state 'pick': a choice question has no choices"):
        load_flow(write_flow(tmp_path, body))


def test_invalid_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match=r"broken\.yaml: not valid YAML"):
        load_flow(write_flow(tmp_path, "id: x\nstates: [\n"))


def test_missing_include_file_is_refused(tmp_path: Path) -> None:
    body = "id: x\nstates:" + GOOD_STATE.format(id="a", next="'@sub'")
    body += "include:\n  - {file: missing.yaml, then: end}\n"
    with pytest.raises(FlowError, match=r"missing\.yaml: cannot read the file"):
        load_flow(write_flow(tmp_path, body))


def test_a_loop_that_never_ends_is_refused(tmp_path: Path) -> None:
    body = "id: x\nstates:" + GOOD_STATE.format(id="a", next="b")
    body += GOOD_STATE.format(id="b", next="a")
    with pytest.raises(FlowError, match=r"never reaches `end`"):
        load_flow(write_flow(tmp_path, body))


def test_ladder_condition_on_unknown_choice_is_refused(tmp_path: Path) -> None:
    body = """
stages:
  - {id: broadcast, name: Broadcast, rung: 1, criteria: []}
  - id: listen
    name: Listen
    rung: 2
    criteria:
      - id: listens
        met: m
        unmet: u
        when: [{answer: sc_listen, in: [telepathy]}]
"""
    path = write_flow(tmp_path, body, "ladder.yaml")
    with pytest.raises(FlowError, match=r"ladder\.yaml, state 'listen\.listens'.*telepathy"):
        load_ladder(path, flow=load_flows()["coffee"])
