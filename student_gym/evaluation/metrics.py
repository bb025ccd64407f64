"""Per-pair metrics of the evaluation: grade proximity, CodeBLEU, coverage; and the
Jensen-Shannon divergence that compares a learner's behaviour with the students'.

CodeBLEU comes from the ``codebleu`` package (0.7.0, lang "python", weights 0.25 each), whose
total has a bug: ``calc_codebleu`` adds ``theta * (dataflow_match_score or 1)``, so a
dataflow score of exactly 0 (no reference data-flow matched, or none extracted) counts as a
perfect 1. :func:`codebleu` reports the package's value for comparability with published numbers
(``codebleu``) and the total recomputed from the same four components without the bug
(``codebleu_fixed``).

The package rebuilds the tree-sitter language and rereads its keyword file on every call;
here the language and keywords are set up once per process and the package's own component
functions are called with them, which gives the package's numbers at a fraction of the cost
(measured numbers in docs/dialogs.md). ``codebleu`` is the ``metrics`` extra and is imported
lazily: without it an evaluation reports CodeBLEU as not computed, with
:func:`codebleu_unavailable`'s reason, and every other metric as usual.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from student_gym.extras import unavailable

WEIGHTS = (0.25, 0.25, 0.25, 0.25)  # ngram, weighted ngram, syntax, dataflow
LANG = "python"


def grade_proximity(a: float, b: float) -> float:
    """1 - |a - b| for two grades in [0, 1] (1 when the model's grade equals the student's).

    Raises:
        ValueError: a grade outside [0, 1].
    """
    for name, value in (("a", a), ("b", b)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"grade_proximity: grade {name}={value!r} is outside [0, 1]")
    return 1.0 - abs(a - b)


def coverage(valid_pairs: int, student_steps: int) -> float:
    """Valid (model, student) pairs / student steps, pooled; 0 when there are no steps."""
    if valid_pairs < 0 or student_steps < 0 or valid_pairs > student_steps:
        raise ValueError(
            f"coverage: need 0 <= valid_pairs <= student_steps, got {valid_pairs}/{student_steps}"
        )
    return valid_pairs / student_steps if student_steps else 0.0


def js_divergence(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon divergence (base 2, so in [0, 1]) of two distributions over categories.

    ``p`` and ``q`` map a category to a count or a probability; each is normalised to sum to 1
    and a category missing from one side has probability 0 there. 0 means the same
    distribution, 1 disjoint supports.

    Raises:
        ValueError: a negative weight, or a side with no weight at all.
    """
    keys = sorted(set(p) | set(q))
    a = [float(p.get(k, 0.0)) for k in keys]
    b = [float(q.get(k, 0.0)) for k in keys]
    if min(a + b, default=0.0) < 0:
        raise ValueError("js_divergence: weights must be non-negative")
    sa, sb = sum(a), sum(b)
    if sa <= 0 or sb <= 0:
        raise ValueError("js_divergence: both distributions need some weight")
    a = [x / sa for x in a]
    b = [x / sb for x in b]
    m = [(x + y) / 2 for x, y in zip(a, b, strict=True)]

    def kl(x: list[float]) -> float:
        return sum(xi * math.log2(xi / mi) for xi, mi in zip(x, m, strict=True) if xi > 0)

    return max(0.0, min(1.0, 0.5 * kl(a) + 0.5 * kl(b)))


def codebleu_unavailable() -> str | None:
    """Why CodeBLEU cannot be computed in this install (None: it can)."""
    return unavailable("codebleu", "tree_sitter", "tree_sitter_python")


def _drop_no_dataflow_warning(record: logging.LogRecord) -> bool:
    return "no reference data-flows" not in str(record.msg)


@lru_cache(maxsize=1)
def _setup() -> tuple[Any, list[str]]:
    """The tree-sitter Python language and the package's Python keywords, built once."""
    from codebleu.codebleu import PACKAGE_DIR
    from codebleu.utils import get_tree_sitter_language

    language = get_tree_sitter_language(LANG)
    # The package logs a root-logger warning for every pair without reference data-flow;
    # that is routine for one-line novice programs, so that one message is filtered out.
    logging.getLogger().addFilter(_drop_no_dataflow_warning)
    keywords_file = PACKAGE_DIR / "keywords" / f"{LANG}.txt"
    keywords = [x.strip() for x in keywords_file.read_text(encoding="utf-8").splitlines()]
    return language, keywords


def _tokenize(code: str) -> list[str]:
    return code.split()  # the package's default tokenizer


def codebleu_components(pred: str, ref: str) -> dict[str, float]:
    """The package's four CodeBLEU components for one (prediction, reference) pair.

    The same steps as ``codebleu.calc_codebleu`` (strip, whitespace tokens, keyword weights
    1 vs 0.2), with the parser language and keyword list cached.
    """
    from codebleu import bleu, dataflow_match, syntax_match, weighted_ngram_match

    language, keywords = _setup()
    keyword_set = set(keywords)
    references = [[ref.strip()]]
    hypothesis = [pred.strip()]
    ref_tokens = [[_tokenize(x) for x in r] for r in references]
    hyp_tokens = [_tokenize(x) for x in hypothesis]
    weighted_refs = [
        [[tokens, {t: 1 if t in keyword_set else 0.2 for t in tokens}] for tokens in r]
        for r in ref_tokens
    ]
    dataflow = dataflow_match.corpus_dataflow_match(
        references, hypothesis, LANG, tree_sitter_language=language
    )
    return {
        "ngram_match_score": float(bleu.corpus_bleu(ref_tokens, hyp_tokens)),
        "weighted_ngram_match_score": float(
            weighted_ngram_match.corpus_bleu(weighted_refs, hyp_tokens)
        ),
        "syntax_match_score": float(
            syntax_match.corpus_syntax_match(
                references, hypothesis, LANG, tree_sitter_language=language
            )
        ),
        "dataflow_match_score": float(dataflow),
    }


def codebleu(pred: str, ref: str, weights: Sequence[float] = WEIGHTS) -> dict[str, float]:
    """CodeBLEU of a predicted program against a reference program.

    Returns:
        ``codebleu`` (the package's total, with its dataflow 0 -> 1 bug), ``codebleu_fixed``
        (the weighted sum of the four components as they are) and the four components.
    """
    if len(weights) != 4:
        raise ValueError(f"codebleu: need 4 weights, got {len(weights)}")
    parts = codebleu_components(pred, ref)
    alpha, beta, gamma, theta = weights
    shared = (
        alpha * parts["ngram_match_score"]
        + beta * parts["weighted_ngram_match_score"]
        + gamma * parts["syntax_match_score"]
    )
    return {
        "codebleu": shared + theta * (parts["dataflow_match_score"] or 1),
        "codebleu_fixed": shared + theta * parts["dataflow_match_score"],
        **parts,
    }


def self_similarity(codes: Iterable[str], key: str = "codebleu") -> float:
    """Mean CodeBLEU of each program against itself: the ceiling of the course's CodeBLEU.

    A program scored against itself can get less than 1 (short programs have few n-grams), so
    this is reported beside the model's CodeBLEU. ``key`` picks ``codebleu`` (the package's
    value) or ``codebleu_fixed``. Empty input gives 0.0.
    """
    scores = [codebleu(code, code)[key] for code in codes]
    return sum(scores) / len(scores) if scores else 0.0
