"""The serializer on the bundled course: invariants that must hold for every trajectory."""

from __future__ import annotations

import pytest

from student_gym.course.program_ast import same_program
from student_gym.dialogs import (
    DialogStyle,
    RowStats,
    dpo_rows,
    effective_submissions,
    format_program,
    prefix_messages,
    sft_rows,
)
from student_gym.dialogs.replies import ReplyParser


@pytest.fixture(scope="module")
def course():  # noqa: ANN201 - a Course
    from student_gym.course import bundled_course

    return bundled_course()


def test_effective_submissions_of_every_trajectory(course) -> None:  # noqa: ANN001
    for trajectory in course.trajectories:
        subs = effective_submissions(trajectory, course.assignments[trajectory.assignment])
        assert subs, trajectory.id
        # Only the last may be fully correct; no two neighbours are the same program.
        assert all(s.report.status != "passed" for s in subs[:-1]), trajectory.id
        assert not any(same_program(a.code, b.code) for a, b in zip(subs, subs[1:], strict=False)), trajectory.id
        # Every program round-trips through the fence and the reply parser.
        for sub in subs:
            assert ReplyParser().parse(format_program(sub.code)).code == sub.code.rstrip()


def test_sft_and_dpo_rows_on_the_train_split(course) -> None:  # noqa: ANN001
    style = DialogStyle(feedback_level="summary")
    stats = RowStats()
    rows = sft_rows(course, "train", style, stats=stats)
    assert rows and stats.rows == len(rows) and not stats.errors
    by_id = {t.id: t for t in course.trajectories}
    for row in rows[:: max(1, len(rows) // 50)]:  # a spread sample: the structure check is exact
        prompt = row["prompt"]
        assert prompt == prefix_messages(course, by_id[row["trajectory_id"]], row["step"], style)
        assert [m["role"] for m in prompt] == ["system", "user"] + ["assistant", "user"] * row["step"]
    pairs = dpo_rows(course, "train", style)
    assert pairs
    for pair in pairs:
        assert pair["chosen_score"] != pair["rejected_score"]
        assert pair["rejected_step"] > pair["step"] >= 1
        chosen, rejected = (ReplyParser().parse(pair[k][0]["content"]) for k in ("chosen", "rejected"))
        assert chosen.format_ok and rejected.format_ok
        assert not same_program(chosen.code, rejected.code)
    # A submission is rejected at most once per trajectory.
    used = [(p["trajectory_id"], p["rejected_step"]) for p in pairs]
    assert len(used) == len(set(used))
