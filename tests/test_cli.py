"""`coffee-coach` as a user runs it: real subprocesses on a real database file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.messages import MemberKey
from bot.store import SQLiteStore
from tests.interview import ANSWERS, PLAIN, RUNGS

CLI = [sys.executable, "-m", "bot.cli"]


def run_cli(db: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--db", str(db), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def full_interview_input(rung: int = 3) -> str:
    # Below the top rung the words describe no routine, so no clarifying question comes up.
    given = {**ANSWERS, **(PLAIN if rung < 4 else {})}
    lines = ["b2b", *given.values(), *RUNGS[rung].values(), "1"]
    return "\n".join(lines) + "\n"


def test_piped_answers_run_the_whole_interview(db_path: Path) -> None:
    result = run_cli(
        db_path, "chat", "--team", "bakers", "--user", "ann", stdin=full_interview_input()
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("Question 1 of 9") < out.index("Question 9 of 9") < out.index("Rung 3 of 4")
    assert "Committed:" in out and "interview done" in out
    assert f"> {ANSWERS['growth']}" in out


def test_sigkill_mid_interview_then_restart_resumes_at_the_same_question(db_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "--db", str(db_path), "chat", "--team", "bakers", "--user", "ann"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("b2b\n" + ANSWERS["customers"] + "\n" + ANSWERS["value"] + "\n")
    proc.stdin.flush()
    # Wait until the coach has asked question 3, which it does only after storing answer 2.
    seen = ""
    deadline = time.monotonic() + 30
    while "Question 3 of 9" not in seen and time.monotonic() < deadline:
        seen += proc.stdout.readline()
    assert "Question 3 of 9" in seen
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    again = run_cli(db_path, "chat", "--team", "bakers", "--user", "ann", stdin="")
    assert again.returncode == 0, again.stderr
    assert "Welcome back" in again.stdout and "Question 3 of 9" in again.stdout
    store = SQLiteStore(db_path)
    member = store.member(MemberKey("console", "local", "ann", "bakers"))
    assert member is not None
    conv = store.conversation(member.id)
    assert conv is not None and conv.state == "experience"
    answers = store.answers(conv.id)
    assert answers["customers"].text == ANSWERS["customers"]
    assert answers["value"].text == ANSWERS["value"]


def test_report_shows_members_side_by_side(db_path: Path) -> None:
    run_cli(db_path, "chat", "--team", "bakers", "--user", "ann", stdin=full_interview_input(3))
    run_cli(db_path, "chat", "--team", "bakers", "--user", "bob", stdin=full_interview_input(2))
    result = run_cli(db_path, "report", "--team", "bakers")
    assert result.returncode == 0, result.stderr
    assert "Team bakers: 2 member(s): ann, bob" in result.stdout
    assert "Members' placements: ann: Engage, bob: Listen" in result.stdout
    assert f"    ann: {ANSWERS['customers']}" in result.stdout
    as_json = json.loads(run_cli(db_path, "report", "--team", "bakers", "--json").stdout)
    assert as_json["stage"]["stage"] == "Listen"


@pytest.mark.parametrize("fmt", ["json", "csv", "md"])
def test_export_writes_each_format(db_path: Path, tmp_path: Path, fmt: str) -> None:
    run_cli(db_path, "chat", "--team", "bakers", "--user", "ann", stdin=full_interview_input())
    out = tmp_path / f"team.{fmt}"
    result = run_cli(db_path, "export", "--team", "bakers", "--format", fmt, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert ANSWERS["growth"] in out.read_text(encoding="utf-8")


def test_forget_refuses_without_confirmation_and_deletes_with_yes(db_path: Path) -> None:
    run_cli(db_path, "chat", "--team", "bakers", "--user", "ann", stdin=full_interview_input())
    refused = run_cli(db_path, "forget", "--team", "bakers")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert SQLiteStore(db_path).stats()["members"] == 1
    done = run_cli(db_path, "forget", "--team", "bakers", "--user", "ann", "--yes")
    assert done.returncode == 0 and "Deleted member 'ann'" in done.stdout
    assert SQLiteStore(db_path).stats()["members"] == 0


def test_an_unknown_team_gets_a_clear_error(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(db_path), "report", "--team", "nobody"]) == 2
    assert "No team 'nobody'" in capsys.readouterr().err


def test_a_corrupt_database_gets_a_clear_error_and_is_left_alone(db_path: Path) -> None:
    db_path.write_bytes(b"garbage" * 1000)
    result = run_cli(db_path, "chat", stdin="b2b\n")
    assert result.returncode == 2
    assert "not a usable Coffee Coach database" in result.stderr
    assert "Traceback" not in result.stderr
    assert db_path.read_bytes() == b"garbage" * 1000


def test_the_terminal_chat_loads_neither_slack_nor_botbuilder(db_path: Path) -> None:
    probe = (
        "import sys, io; from bot.cli import main; sys.stdin = io.StringIO('');"
        f" main(['--db', {str(db_path)!r}, 'chat']);"
        " loaded = [m for m in sys.modules if m.startswith(('slack', 'botbuilder', 'aiohttp'))];"
        " print('LOADED', loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert "LOADED []" in result.stdout


def test_a_member_of_one_team_is_asked_in_the_terminal_before_answering_for_another(
    db_path: Path,
) -> None:
    begun = run_cli(
        db_path, "chat", "--team", "bakers", "--user", "ann", stdin=f"b2b\n{ANSWERS['customers']}\n"
    )
    assert begun.returncode == 0, begun.stderr

    result = run_cli(db_path, "chat", "--team", "estates", "--user", "ann", stdin="1\nstatus\n")

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "You answer for bakers (your interview is at question 2 of 9)" in out
    assert "1) Answer for estates  2) Keep bakers" in out
    assert "you answer for estates now" in out
    assert "1 of 9 questions answered" in out
    store = SQLiteStore(db_path)
    member = store.member(MemberKey("console", "local", "ann", "estates"))
    assert member is not None
    interview = store.interview(member)
    store.close()
    assert interview is not None and interview.answers["customers"].text == ANSWERS["customers"]
