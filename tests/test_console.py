"""`coffee-coach chat` in a terminal: a real subprocess on a pseudo-terminal of a set width,
and piped, as a user or a script runs it."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tests.interview import ANSWERS, PLAIN, RUNGS

CLI = [sys.executable, "-m", "bot.cli"]
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def chat_piped(db: Path, lines: list[str], *, columns: int) -> str:
    env = {**os.environ, "COLUMNS": str(columns)}
    result = subprocess.run(
        [*CLI, "--db", str(db), "chat", "--team", "bakers", "--user", "ann"],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def to_the_commitments() -> list[str]:
    given = {**ANSWERS, **PLAIN}
    return ["b2b", *given.values(), *RUNGS[2].values()]


class Terminal:
    """The chat on a pseudo-terminal `columns` wide, as a person at a keyboard has it."""

    def __init__(self, db: Path, *, columns: int) -> None:
        main, side = os.openpty()
        fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        self.proc = subprocess.Popen(
            [*CLI, "--db", str(db), "chat", "--team", "bakers", "--user", "ann"],
            stdin=side,
            stdout=side,
            stderr=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        os.close(side)
        self.fd = main
        self.seen = b""

    def read_until(self, marker: str, *, times: int = 1, timeout: float = 30.0) -> str:
        """Everything shown once `marker` (a prompt, say) has been shown `times` times,
        ANSI codes removed. The timeout only bounds a hang; nothing here is timed."""
        deadline = time.monotonic() + timeout
        while self.seen.count(marker.encode()) < times:
            left = deadline - time.monotonic()
            assert left > 0, f"{marker!r} never came; the screen shows:\n{self.screen()}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                self.seen += os.read(self.fd, 65536)
        return self.screen()

    def screen(self) -> str:
        return _ANSI.sub("", self.seen.decode("utf-8", "replace")).replace("\r\n", "\n")

    def type(self, line: str) -> None:
        mark = len(self.seen)
        os.write(self.fd, line.encode() + b"\n")
        # The terminal echoes the line: wait for it, so each answer goes after the last.
        while line.encode() not in self.seen[mark:]:
            ready, _, _ = select.select([self.fd], [], [], 10)
            assert ready, "the terminal did not echo the typed line"
            self.seen += os.read(self.fd, 65536)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=10)
        os.close(self.fd)


def words_of(text: str) -> set[str]:
    return set(text.split())


def test_on_a_terminal_lines_wrap_between_words_to_its_width(db_path: Path) -> None:
    terminal = Terminal(db_path, columns=44)
    try:
        terminal.read_until("> ")
        terminal.type("b2b")
        shown = terminal.read_until("> ", times=2)
    finally:
        terminal.close()

    lines = [line for line in shown.split("\n") if line.strip()]
    assert max(len(line) for line in lines) <= 44
    # Words arrive whole: every word of the first question's prompt is on the screen as is.
    prompt = "Who are your existing customers? Name the main groups, as specifically as you can."
    assert words_of(prompt) <= words_of(shown)
    assert any(len(line) > 30 for line in lines)  # wrapped to the width, not word by word


def test_piped_output_wraps_to_columns(db_path: Path) -> None:
    out = chat_piped(db_path, ["b2b"], columns=50)

    shown = [line for line in out.split("\n") if not line.startswith("> ")]
    assert max(len(line) for line in shown) <= 50
    intro = (
        "Over the next few minutes I'll ask you the nine questions a good consultant would"
        " ask over a coffee, then a short stage check."
    )
    assert words_of(intro) <= words_of(out)


def test_the_commitment_prompt_shows_its_options_once(db_path: Path) -> None:
    out = chat_piped(db_path, [*to_the_commitments(), "1 2"], columns=200)

    prompt = out[out.index("Which of these will you commit to") :]
    prompt = prompt[: prompt.index("\n\n")]
    numbered = [line for line in prompt.split("\n") if re.match(r"^\d+\. ", line)]
    assert len(numbered) >= 2
    assert "[" not in prompt and "1)" not in prompt
    assert len(set(numbered)) == len(numbered)


def test_typed_numbers_commit_to_every_chosen_action(db_path: Path) -> None:
    out = chat_piped(db_path, [*to_the_commitments(), "1 2"], columns=200)

    committed = out[out.index("Committed:") :].split("\n")[1:3]
    assert [line[:2] for line in committed] == ["• ", "• "]


def test_back_shows_the_answer_being_revisited(db_path: Path) -> None:
    first = ANSWERS["customers"]
    out = chat_piped(db_path, ["b2b", first, "back"], columns=200)

    after = out[out.index("> back") :]
    assert f"Your answer was: “{first}”" in after
    assert after.index("Your answer was") < after.index("Question 1 of 9")


def test_back_then_skip_keeps_the_earlier_answer(db_path: Path) -> None:
    first = ANSWERS["customers"]
    out = chat_piped(db_path, ["b2b", first, "back", "skip", "status"], columns=200)

    assert "Question 2 of 9" in out[out.index("> skip") :]
    assert "1 of 9 questions answered" in out[out.index("> status") :]


def test_an_empty_team_picture_says_how_to_start(db_path: Path) -> None:
    out = chat_piped(db_path, ["report"], columns=200)

    after = out[out.index("> report") :]
    assert "Nobody in this team has answered yet: type `start`" in after
    assert "Your customers" not in after
    report = subprocess.run(
        [*CLI, "--db", str(db_path), "report", "--team", "bakers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert report.returncode == 0, report.stderr
    assert "`coffee-coach chat --team bakers` begins an interview" in report.stdout
