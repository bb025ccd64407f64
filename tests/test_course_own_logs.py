"""Bringing your own course: published ProgSnap2, plain tables, logged grades, languages, splits.

Fixtures (tests/fixtures/build_course_fixtures.py): ``progsnap2_published`` is shaped like the
CSEDM 2018 release of ITAP (CodeState.csv beside MainTable.csv, no DatasetMetadata.csv, no
TermID, Correct TRUE/FALSE, X-HintRequest events, a BOM); ``cs1_table`` is a CS1 export (one row
per submission, an assert line with an in-place-mutation test, a test file, Java rows, a BOM).
"""

from __future__ import annotations

import csv
import json
import shutil
import stat
import sys
from pathlib import Path

import pytest

from student_gym.course import (
    CourseFormatError,
    Selection,
    SplitOptions,
    import_falconcode,
    import_progsnap2,
    import_table,
    load_course,
)
from student_gym.course.assembly import student_splits
from student_gym.course.languages import language_disagreement, language_from_tools
from student_gym.course.model import Course, NoTestsError, Trajectory
from student_gym.course.regrade import regrade
from student_gym.grader.assignment_files import load_assignments
from student_gym.grader.assignments import AssignmentError, CheckTest
from student_gym_agents.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
ITAP = FIXTURES / "progsnap2_published"
CS1 = FIXTURES / "cs1_table" / "cs1_export.csv"
COLUMNS = ("student=Student,problem=Assignment,function=Function,code=Code,tests=Test,"
           "score=Passed,language=Language,timestamp=Submitted")
COLUMN_MAP = dict(item.split("=") for item in COLUMNS.split(","))



@pytest.fixture(autouse=True)
def _keep_argv(monkeypatch):
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the CLI rewrites sys.argv


# -- ProgSnap2 as published --------------------------------------------------------------------


def test_published_progsnap2_imports_every_submission_with_its_logged_verdict():
    course, report = import_progsnap2(ITAP, keep_ids=True)
    assert report.submissions_kept == 17 and report.skipped == 0
    assert course.grading == "logged" and sorted(course.problems) == ["isEven", "sumList"]
    assert report.settings["code_states"] == "table"
    assert report.settings["grade_column"] == "Correct"
    assert report.settings["ordering"] == "ServerTimestamp, then Order"
    p2 = course.trajectory("all/p2/sumList")
    assert [s.logged_score for s in p2.submissions] == [0.0, 0.0, 1.0]  # FALSE, FALSE, TRUE
    assert p2.submissions[2].code.startswith("def sum_list")  # the BOM is dropped
    assert report.notes["leading byte-order mark dropped from code (as Python's loader does)"] == 1
    # hint requests are tutor events, placed after the submissions that preceded them
    (hint,) = course.trajectory("all/p1/sumList").events
    assert (hint.kind, hint.order, hint.text) == ("X-HintRequest", 1, "Start the loop at index 0.")
    assert hint.timestamp == "2017-11-06T21:12:47"
    # one term: a seeded split by students, every split present (no KeyError downstream)
    assert course.splits == {"all": "train"}
    assert {s: len(course.split(s)) for s in ("train", "validation", "test")} == report.splits
    assert all(report.splits.values())
    assert all(t.language == "python" for t in course.trajectories)


def test_progsnap2_without_order_or_timestamps_falls_back_and_says_so(tmp_path):
    folder = tmp_path / "itap"
    shutil.copytree(ITAP, folder)
    rows = list(csv.DictReader((folder / "MainTable.csv").open()))
    for drop, ordering in (("Order", "ServerTimestamp, then row order"),
                           ("ServerTimestamp", "row order (no Order or ServerTimestamp)")):
        for r in rows:
            r.pop(drop)
        with (folder / "MainTable.csv").open("w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        course, report = import_progsnap2(folder, keep_ids=True)
        assert report.settings["ordering"] == ordering
        assert [s.logged_score for s in course.trajectory("all/p2/sumList").submissions] == [
            0.0, 0.0, 1.0]


def test_a_code_state_table_in_codestates_and_bad_options_are_clear(tmp_path):
    folder = tmp_path / "itap"
    shutil.copytree(ITAP, folder)
    (folder / "CodeStates").mkdir()
    (folder / "CodeState.csv").rename(folder / "CodeStates" / "CodeState.csv")
    course, _ = import_progsnap2(folder, keep_ids=True)
    assert len(course.trajectories) == 7
    with pytest.raises(CourseFormatError, match="--encoding 'klingon': unknown text encoding"):
        import_progsnap2(folder, encoding="klingon")
    with pytest.raises(CourseFormatError, match="--score-column 'Grade' is not a column"):
        import_progsnap2(folder, score_column="Grade")
    shutil.rmtree(folder / "CodeStates")
    with pytest.raises(CourseFormatError, match="no code states"):
        import_progsnap2(folder)


# -- any table ---------------------------------------------------------------------------------


def test_table_with_assert_lines_test_files_and_java_rows():
    course, report = import_table(CS1, columns=COLUMN_MAP, keep_ids=True)
    assert report.skips == {"bad score": 1, "empty code": 1}
    assert report.examples["bad score"][0] == {
        "file": "cs1_export.csv", "row": 28,
        "reason": "column 'Passed': 'maybe' is not a grade in 0..1 or a pass/fail word"}
    assert report.examples["empty code"][0]["reason"] == "column 'Code' is empty"
    sort = course.assignments["selection_sort"]
    assert sort.tests == (CheckTest(name="t1", code="assert selection_sort(a := [3, 1, 2]) is None "
                                    "and a == [1, 2, 3]\n"),)
    assert sort.entry_point == "selection_sort" and "selection_sort" in sort.statement
    vowels = course.assignments["count_vowels"].tests[0]
    assert "count_vowels('AEIOU') == 5" in vowels.code  # read from tests/count_vowels.py
    java = [t for t in course.trajectories if t.assignment == "hello_java"]
    assert {t.language for t in java} == {"java"} and "hello_java" in course.problems
    assert all(course.grade_source(t) == "logged" for t in java)
    assert course.grading == "mixed" and report.warnings == {}
    ben = course.trajectory("all/ben/selection_sort")
    assert ben.submissions[1].code.startswith("def selection_sort")  # BOM dropped


def test_in_place_mutation_tests_regrade_as_the_log_says_except_one_and_pass_fail_is_used():
    course, _ = import_table(CS1, columns=COLUMN_MAP, keep_ids=True)
    result = regrade(course)
    assert result.compare == "passfail"  # binary logs: a partial score is a fail, not a mismatch
    assert result.not_regraded == {"java code": 3}
    # cho's sorted() copy was logged as a pass; selection_sort must sort in place
    assert result.mismatch_kinds == {"logged pass, regraded failed": 1}
    assert result.mismatched_trajectories == ["all/cho/selection_sort"]
    assert result.agreement == pytest.approx(21 / 22)  # 25 submissions, 3 in Java
    ana = result.course.trajectory("all/ana/selection_sort")
    assert [s.report.status for s in ana.submissions] == ["syntax_error", "failed", "passed"]
    assert result.course.trajectory("all/ben/selection_sort").submissions[1].report.status == "passed"


def test_a_dataframe_parquet_and_jsonl_give_the_same_course(tmp_path):
    pd = pytest.importorskip("pandas")
    from_csv, _ = import_table(CS1, columns=COLUMN_MAP, keep_ids=True)
    frame = pd.read_csv(CS1, keep_default_na=False, dtype=str)
    from_frame, report = import_table(frame, columns=COLUMN_MAP, keep_ids=True,
                                      tests_dir=CS1.parent)
    assert from_frame.trajectories == from_csv.trajectories
    assert from_frame.assignments == from_csv.assignments
    assert report.examples["bad score"][0]["row"] == 26  # the DataFrame's index label
    pytest.importorskip("pyarrow")
    shutil.copytree(CS1.parent / "tests", tmp_path / "tests")
    frame.to_parquet(tmp_path / "cs1.parquet")
    frame.to_json(tmp_path / "cs1.jsonl", orient="records", lines=True)
    for name in ("cs1.parquet", "cs1.jsonl"):
        course, _ = import_table(tmp_path / name, columns=COLUMN_MAP, keep_ids=True)
        assert course.trajectories == from_csv.trajectories, name
        assert course.assignments == from_csv.assignments, name


def test_table_errors_name_the_file_row_and_column(tmp_path):
    with pytest.raises(CourseFormatError, match=r"cs1_export\.csv: missing column\(s\) \['Student '\]; the header has"):
        import_table(CS1, columns={**COLUMN_MAP, "student": "Student "})
    with pytest.raises(CourseFormatError, match="--columns: unknown field 'grade'"):
        main_columns = "student=a,problem=b,code=c,grade=d"
        from student_gym.course.table import parse_columns

        parse_columns(main_columns)
    bad = tmp_path / "bad.csv"
    bad.write_text("s,p,c,t\nu1,p1,print(1),../secret.py\n")
    with pytest.raises(CourseFormatError,
                       match=r"bad\.csv: row 2, column 't': test file '\.\./secret\.py' is outside"):
        import_table(bad, columns={"student": "s", "problem": "p", "code": "c", "tests": "t"})
    bad.write_text("s,p,c,t\nu1,p1,print(1),assert (\n")
    with pytest.raises(CourseFormatError, match=r"row 2, column 't': the test code does not parse"):
        import_table(bad, columns={"student": "s", "problem": "p", "code": "c", "tests": "t"})


def test_language_metadata_decides_and_a_disagreeing_parse_is_a_warning(tmp_path):
    assert language_from_tools("ITAP; Python") == "python"
    assert language_from_tools("Web-CAT; Java 8") == "java"
    assert language_from_tools("ITAP") is None
    java = 'public class A {\n    public static void main(String[] a) {\n        int x = 1;\n    }\n}\n'
    assert language_disagreement(java, "python") is not None
    assert language_disagreement("x = 1\nprint(x)\n", "java") == "labelled java but parses as Python"
    assert language_disagreement("def f(:\n  return 1\n", "python") is None  # a novice's typo
    table = tmp_path / "t.csv"
    table.write_text('s,p,c\nu1,p1,"x = 1\nprint(x)\n"\n')
    course, report = import_table(table, columns={"student": "s", "problem": "p", "code": "c"},
                                  language="Java")
    assert report.warnings == {"code disagrees with its language": 1}
    assert report.warning_examples["code disagrees with its language"][0]["row"] == 2
    assert course.trajectories[0].language == "java" and not course.has_tests


# -- splits ------------------------------------------------------------------------------------


def _trajectory(student: str, term: str) -> Trajectory:
    return Trajectory(id=f"{term}/{student}/p", student=student, assignment="p", term=term,
                      submissions=())


def test_split_by_students_is_seeded_80_10_10_and_validation_comes_from_training_terms():
    one_term = [_trajectory(f"s{i}", "all") for i in range(20)]
    held = student_splits(one_term, {"all": "train"}, SplitOptions())
    assert sorted(held.values()) == ["test"] * 2 + ["validation"] * 2
    assert held == student_splits(one_term, {"all": "train"}, SplitOptions())  # seeded
    assert held != student_splits(one_term, {"all": "train"}, SplitOptions(seed=1))
    terms = [_trajectory(f"s{i}", "2021") for i in range(20)] + [_trajectory("x", "2022")]
    held = student_splits(terms, {"2021": "train", "2022": "test"}, SplitOptions())
    assert sorted(held.values()) == ["validation"] * 2 and "x" not in held
    with pytest.raises(CourseFormatError, match="must be below 1"):
        SplitOptions(validation=0.5, test=0.5)


# -- the paper's selection ---------------------------------------------------------------------


def test_edm2026_preset_counts_each_rule_and_reports_missing_columns():
    course, report = import_falconcode(FIXTURES / "falconcode_tables", keep_ids=True,
                                       selection=Selection.preset("edm2026"))
    rules = {r["rule"]: r for r in report.selection}
    assert rules["drop redacted rows"]["applied"] and rules["drop redacted rows"]["dropped"] == 1
    assert rules["drop exam rows"]["why"] == "optional rule not asked for"
    assert rules["keep problem type lab"]["dropped"] == 1  # the skill problem's run
    assert rules["one problem per group (most frequent id)"]["dropped"] == 0  # lab1_*, lab2_*
    assert rules["last grade >= 50"]["dropped"] == 1
    assert rules["at least 3 submissions after collapsing (more than 6 dialog messages)"][
        "dropped"] == 2
    assert rules["last grade >= 50"]["applied"]
    kept = {t.id: len(t) for t in course.trajectories}
    assert all(n >= 3 for n in kept.values())
    assert report.trajectories == len(kept)
    _, itap = import_progsnap2(ITAP, keep_ids=True, selection=Selection.preset("edm2026"))
    not_applied = {r["rule"]: r["why"] for r in itap.selection if not r["applied"]}
    assert not_applied == {"drop redacted rows": "no redacted column",
                           "drop exam rows": "optional rule not asked for",
                           "keep problem type lab": "no problem type column",
                           "drop problems mentioning .csv": "no statement or test text"}
    with pytest.raises(ValueError, match="unknown preset"):
        Selection.preset("edm2025")


def test_edm2026_keeps_the_most_frequent_problem_of_a_group_and_drops_length_outliers():
    from student_gym.course.assembly import RawSubmission
    from student_gym.course.import_report import ImportReport
    from student_gym.course.model import Submission

    def row(problem: str, i: int) -> RawSubmission:
        return RawSubmission(student=f"s{i}", assignment=problem, term="t", when=None,
                             tie_breaker=(i,), code="x = 1\n", timestamp=None, logged_score=1.0)

    report = ImportReport(format="test", source="-")
    rows = [row("hw1_a", i) for i in range(3)] + [row("hw1_b", 9), row("hw2", 5)]
    kept = Selection().filter_rows(rows, {}, {}, report)
    assert sorted({r.assignment for r in kept}) == ["hw1_a", "hw2"]
    lengths = [3, 3, 3, 4, 3, 40]  # median 3, MAD 0
    def traj(i: int, n: int) -> Trajectory:
        subs = tuple(Submission(f"s{i}", "p", k, f"x = {k}\n", logged_score=0.0 if k < n - 1
                                else 1.0) for k in range(n))
        return Trajectory(id=f"t/s{i}/p", student=f"s{i}", assignment="p", term="t",
                          submissions=subs)
    report = ImportReport(format="test", source="-")
    out = Selection().filter_trajectories([traj(i, n) for i, n in enumerate(lengths)], report)
    assert len(out) == 6  # MAD 0: no outliers can be named
    lengths = [3, 4, 5, 4, 3, 5, 40]
    out = Selection().filter_trajectories([traj(i, n) for i, n in enumerate(lengths)], report)
    assert [len(t) for t in out] == [3, 4, 5, 4, 3, 5]  # median 4, MAD 1: z(40) = 24.3


# -- outputs -----------------------------------------------------------------------------------


def test_to_pandas_has_one_row_per_submission_with_both_grades():
    pytest.importorskip("pandas")
    course, _ = import_table(CS1, columns=COLUMN_MAP, keep_ids=True)
    frame = regrade(course).course.to_pandas()
    assert len(frame) == 25
    java = frame[frame.language == "java"]
    assert set(java.grade_source) == {"logged"} and java.regraded_status.isna().all()
    row = frame[(frame.trajectory_id == "all/cho/selection_sort") & (frame.order == 0)].iloc[0]
    assert (row.logged_score, row.regraded_score, row.regraded_status, row.score) == (
        1.0, 0.0, "failed", 0.0)


# -- the CLI end to end ------------------------------------------------------------------------


def test_logs_without_tests_import_serialize_and_evaluate_refuses(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "itap"
    assert main(["import", "progsnap2", str(ITAP), "--out", str(out)]) == 0
    assert "logged grades only" in capsys.readouterr().out
    data = tmp_path / "data"
    assert main(["serialize", str(out), "--out", str(data)]) == 0
    sft = datasets.load_from_disk(str(data / "sft"))
    assert sorted(sft) == ["test", "train", "validation"] and len(sft["train"]) > 0
    row = sft["train"][0]
    # the feedback turn is a grade-level line from the logged verdict (ITAP logs no text)
    assert row["prompt"][3]["content"] in ("Grade: 0/100", "Grade: 100/100\nAll tests passed.")
    assert row["completion"][0]["content"].startswith("```python\n")
    report = json.loads((data / "serialize_report.json").read_text())
    assert report["grade_sources"] == {"regraded": 0, "logged": 7}
    assert report["datasets"]["dapo"]["train"]["rows"] == 0
    card = (data / "README.md").read_text()
    assert "random salt kept in pseudonym_salt" in card and "logged for 7" in card
    capsys.readouterr()
    assert main(["evaluate", "--agent", "replay", "--course", str(out),
                 "--out", str(tmp_path / "ev")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "has logged grades only" in err
    assert "student-gym import native COURSE --assignments TESTS.json" in err
    assert main(["regrade", str(out)]) == 2
    assert "so regrade cannot run" in capsys.readouterr().err
    with pytest.raises(NoTestsError, match="so regrade cannot run"):
        regrade(load_course(out))


def test_tests_added_later_upgrade_the_course_in_place_then_regrade_and_replay(tmp_path, capsys):
    out = tmp_path / "itap"
    assert main(["import", "progsnap2", str(ITAP), "--out", str(out), "--keep-ids"]) == 0
    assert main(["import", "native", str(out), "--assignments",
                 str(ITAP / "itap_tests.json")]) == 0
    course = load_course(out)
    assert course.grading == "regraded" and course.problems == {}
    assert main(["regrade", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pass/fail" in printed and "100.0%" in printed
    assert main(["evaluate", "--agent", "replay", "--course", str(out), "--out",
                 str(tmp_path / "ev"), "--no-plot", "--bootstrap", "20"]) == 0
    results = json.loads((tmp_path / "ev" / "replay" / "results.json").read_text())
    assert results["provenance"]["course"]["grade_sources"]["logged"] == 0
    assert results["counts"]["episodes"] > 0 and results["metrics"]["coverage"]["value"] == 1.0


def test_table_import_serialize_regrade_evaluate_replay(tmp_path, capsys):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "cs1"
    assert main(["import", "table", str(CS1), "--out", str(out), "--columns", COLUMNS,
                 "--keep-ids"]) == 0
    data = tmp_path / "data"
    assert main(["serialize", str(out), "--out", str(data), "--jsonl"]) == 0
    err = capsys.readouterr().err
    assert "have no stored grade report; grading them now" in err  # never silently
    assert all(s.report is not None for t in load_course(out).trajectories
               if load_course(out).gradable(t) for s in t.submissions)  # cached in the course
    rows = [json.loads(line) for split in ("train", "validation", "test")
            for line in (data / "sft" / f"{split}.jsonl").read_text().splitlines()]
    java = [r for r in rows if r["assignment_id"] == "hello_java"]
    assert java and java[0]["completion"][0]["content"].startswith("```java\n")
    table = list(csv.DictReader((data / "submissions.csv").open()))
    assert {r["regraded_status"] for r in table if r["language"] == "python"} >= {"passed"}
    assert main(["serialize", str(out), "--out", str(tmp_path / "again")]) == 0
    assert "grading them now" not in capsys.readouterr().err  # the cache is used
    assert main(["regrade", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "logged pass, regraded failed" in printed and "java code" in printed
    assert main(["evaluate", "--agent", "replay", "--course", str(out), "--split", "train",
                 "--out", str(tmp_path / "ev"), "--no-plot", "--bootstrap", "20"]) == 0
    assert "trajectories have no tests" in capsys.readouterr().err  # the Java ones
    results = json.loads((tmp_path / "ev" / "replay" / "results.json").read_text())
    assert results["provenance"]["course"]["logged_trajectories_left_out"] == 2
    loaded = datasets.load_dataset("json", data_files=str(data / "dpo" / "train.jsonl"))
    assert loaded["train"].num_rows >= 0


def test_reimport_needs_force_and_keeps_the_pseudonym_salt(tmp_path, capsys):
    out = tmp_path / "itap"
    assert main(["import", "progsnap2", str(ITAP), "--out", str(out)]) == 0
    first = {t.student for t in load_course(out).trajectories}
    salt = out / "pseudonym_salt"
    assert stat.S_IMODE(salt.stat().st_mode) == 0o600
    assert salt.read_text().strip() not in (out / "course.jsonl").read_text()
    capsys.readouterr()
    assert main(["import", "progsnap2", str(ITAP), "--out", str(out)]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["import", "progsnap2", str(ITAP), "--out", str(out), "--force"]) == 0
    assert {t.student for t in load_course(out).trajectories} == first


def test_cli_errors_are_one_line_with_exit_2(tmp_path, capsys):
    def fails(argv: list[str], text: str) -> None:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert text in err and "Traceback" not in err and err.count("\n") == 0, err

    out = tmp_path / "itap"
    fails(["import", "progsnap2", str(ITAP), "--out", str(out), "--encoding", "klingon"],
          "unknown text encoding")
    fails(["import", "table", str(CS1), "--out", str(out)], "--columns is required")
    fails(["import", "table", str(CS1), "--out", str(out), "--columns", "student=x"],
          "--columns: missing ['problem', 'code']")
    fails(["evaluate", "--agent", "replay", "--course", str(tmp_path / "none")],
          "no such course file or directory")
    fails(["evaluate", "--agent", "replay", "--split", "2099"], "no split or term '2099'")
    fails(["evaluate", "--agent", "replay", "--steps", "0"], "--steps 0: must be >= 1")
    fails(["evaluate", "--agent", "replay", "--limit", "-1"], "--limit -1: must be >= 1")
    fails(["evaluate", "--agent", "lm:/nonexistent"], "no model directory /nonexistent")
    fails(["regrade", "bundled", "--no-write", "--tolerance", "-1"], "--tolerance -1.0")
    ev = tmp_path / "ev"
    assert main(["evaluate", "--agent", "replay", "--limit", "2", "--out", str(ev),
                 "--no-plot", "--bootstrap", "10"]) == 0
    fails(["evaluate", "--agent", "replay", "--limit", "2", "--out", str(ev), "--steps", "3"],
          "cannot resume")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "a", "title": "a", "statement": "", "limits": {"cpu_seconds": "x"},
                               "tests": [{"kind": "io", "name": "t", "stdin": "", "expected_stdout": ""}]}))
    with pytest.raises(AssignmentError, match="'limits.cpu_seconds' must be a number in"):
        load_assignments(bad)
    fails(["import", "native", str(out), "--assignments", str(bad)], "limits.cpu_seconds")


def test_novice_without_solutions_and_compare_across_courses_warn(tmp_path, capsys):
    from student_gym.learners.novice import NoviceAgent

    course, _ = import_table(CS1, columns=COLUMN_MAP, keep_ids=True)
    agent = NoviceAgent(course)
    assert agent.without_solution == ["count_vowels", "selection_sort"]
    assert "only resubmits the last program" in agent.warning()
    ev = tmp_path / "ev"
    assert main(["evaluate", "--agent", "replay", "--limit", "2", "--out", str(ev / "a"),
                 "--no-plot", "--bootstrap", "10"]) == 0
    assert main(["evaluate", "--agent", "replay", "--limit", "2", "--split", "train",
                 "--out", str(ev / "b"), "--no-plot", "--bootstrap", "10"]) == 0
    capsys.readouterr()
    # Runs on different splits are refused in one line (a paired comparison needs the same
    # course, split and students), never mixed without a word.
    assert main(["evaluate", "--compare", str(ev / "a" / "replay"), str(ev / "b" / "replay"),
                 "--no-plot"]) == 2
    assert "cannot compare" in capsys.readouterr().err


def test_course_round_trips_problems_events_languages_and_student_splits(tmp_path):
    from student_gym.course import save_course

    course, _ = import_table(CS1, columns=COLUMN_MAP, keep_ids=True)
    itap, _ = import_progsnap2(ITAP, keep_ids=True)
    for c in (course, itap):
        path = save_course(c, tmp_path / f"{c.name}.jsonl")
        again = load_course(path)
        assert again.trajectories == c.trajectories and again.problems == c.problems
        assert again.student_splits == c.student_splits and again.assignments == c.assignments
    assert isinstance(itap, Course)
