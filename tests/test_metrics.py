"""Grade proximity, coverage and CodeBLEU (checked against the codebleu package itself).

Grade proximity and coverage need no extra; the CodeBLEU tests skip without ``metrics``.
"""

from __future__ import annotations

import pytest

from student_gym.evaluation.metrics import codebleu, coverage, grade_proximity, self_similarity


@pytest.fixture
def codebleu_pkg():
    return pytest.importorskip("codebleu")

PROGRAMS = [
    ("print('hello')", "print('hello')"),
    ("def f(x):\n    y = x + 1\n    return y\n", "def f(a):\n    b = a * 2\n    return b\n"),
    (
        "x = int(input())\nprint(x * 2)\n",
        "n = int(input())\nif n > 0:\n    print(n * 2)\nelse:\n    print(0)\n",
    ),
    (
        "def avg(nums):\n    total = 0\n    for i in nums:\n        total += i\n    return total / len(nums)\n",
        "def avg(nums):\n    return sum(nums) / len(nums)\n",
    ),
]


def test_grade_proximity_and_coverage() -> None:
    assert grade_proximity(0.25, 0.75) == 0.5
    assert grade_proximity(1.0, 1.0) == 1.0
    with pytest.raises(ValueError, match="outside"):
        grade_proximity(1.5, 0.0)
    assert coverage(3, 4) == 0.75
    assert coverage(0, 0) == 0.0
    with pytest.raises(ValueError):
        coverage(5, 4)


# A model that printed nothing, and a program tree-sitter cannot parse.
EDGE_CASES = [("", "x = 1\nprint(x)"), ("def f(:\n  x", "x = 1\nprint(x)")]


@pytest.mark.parametrize(("pred", "ref"), PROGRAMS + EDGE_CASES)
def test_codebleu_matches_the_package(codebleu_pkg, pred: str, ref: str) -> None:
    expected = codebleu_pkg.calc_codebleu([ref], [pred], lang="python", weights=(0.25,) * 4)
    ours = codebleu(pred, ref)
    for key, value in expected.items():
        assert ours[key] == pytest.approx(value, abs=1e-12)


@pytest.mark.parametrize(("pred", "ref"), PROGRAMS)
def test_fixed_total_is_the_weighted_sum_of_components(codebleu_pkg, pred: str, ref: str) -> None:
    ours = codebleu(pred, ref)
    parts = [ours[k] for k in ("ngram_match_score", "weighted_ngram_match_score",
                               "syntax_match_score", "dataflow_match_score")]
    assert ours["codebleu_fixed"] == pytest.approx(sum(parts) / 4)


def test_dataflow_zero_is_the_only_difference(codebleu_pkg) -> None:
    # A one-line print has no reference data-flow: the package counts the missing 0 as 1.
    one_line = codebleu("print('hello')", "print('hello')")
    assert one_line["dataflow_match_score"] == 0.0
    assert one_line["codebleu"] - one_line["codebleu_fixed"] == pytest.approx(0.25)
    with_flow = codebleu(*PROGRAMS[3])
    assert with_flow["dataflow_match_score"] > 0
    assert with_flow["codebleu"] == with_flow["codebleu_fixed"]


def test_self_similarity_is_the_mean_self_score_of_the_package(codebleu_pkg) -> None:
    codes = [p for p, _ in PROGRAMS]
    package_self = [codebleu_pkg.calc_codebleu([c], [c], lang="python")["codebleu"] for c in codes]
    assert self_similarity(codes) == pytest.approx(sum(package_self) / len(codes))
    assert self_similarity(codes) < 1.0  # short programs cannot reach 1 against themselves
    assert self_similarity(codes, key="codebleu_fixed") <= self_similarity(codes)
    assert self_similarity([]) == 0.0
