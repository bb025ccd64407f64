"""ReplyParser: the program a reply submits, and whether it kept the format."""

from __future__ import annotations

import pytest

from student_gym.dialogs import format_program
from student_gym.dialogs.replies import ParsedReply, ReplyParser, parse_reply, strip_reasoning

PARSER = ReplyParser()


@pytest.mark.parametrize("info", ["python", "py", "Python", "PYTHON", "python3", ""])
def test_first_python_or_bare_fence_is_the_program(info: str) -> None:
    reply = f"Here is my fix.\n```{info}\nx = int(input())\nprint(x * 2)\n```\nThanks!"
    assert PARSER.parse(reply) == ParsedReply(code="x = int(input())\nprint(x * 2)", format_ok=True)


def test_first_of_several_blocks_wins_and_other_languages_are_skipped() -> None:
    reply = "```text\nnot code\n```\n```python\nprint(1)\n```\n```python\nprint(2)\n```"
    assert PARSER.parse(reply) == ParsedReply("print(1)", True)


def test_no_fence_takes_the_whole_reply_with_format_not_ok() -> None:
    assert PARSER.parse("  print('hello')\n") == ParsedReply("print('hello')", False)


def test_unclosed_final_fence_gives_the_rest_with_format_not_ok() -> None:
    assert PARSER.parse("Sure:\n```python\nfor i in range(3):\n    print(i)\n") == ParsedReply(
        "for i in range(3):\n    print(i)", False
    )
    assert PARSER.parse("```python") == ParsedReply("", False)


def test_think_blocks_are_removed_before_parsing() -> None:
    reply = "<think>\nMaybe:\n```python\nprint('draft')\n```\n</think>\n\n```python\nprint('final')\n```"
    assert PARSER.parse(reply) == ParsedReply("print('final')", True)
    # The opening tag was in the prompt (Qwen3 templates): drop up to the stray closing tag.
    assert PARSER.parse("plan: loop\n</think>\n```py\nprint(3)\n```").code == "print(3)"
    # Generation stopped while thinking: nothing after <think> counts.
    assert strip_reasoning("print(1)\n<think>\n```python\nprint(2)\n```") == "print(1)\n"


def test_longer_fence_keeps_backticks_inside_the_program() -> None:
    code = 'md = """\n```\nblock\n```\n"""\nprint(md)'
    assert parse_reply(format_program(code)) == ParsedReply(code, True)
    assert format_program(code).startswith("````python\n")


def test_round_trip_of_serialized_programs() -> None:
    code = "def f(x):\n    return x + 1\n\nprint(f(2))\n"
    parsed = PARSER(format_program(code))
    assert parsed == ParsedReply(code.rstrip(), True)
