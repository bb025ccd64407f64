"""The HTML report: content, escaping of hostile episode text, the CLI, and the page as a real
headless browser renders it (Chromium; skipped locally without one, a failure under CI=true)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from test_env_course import tiny_course

from student_gym.evaluation import evaluate
from student_gym.evaluation.plots import plots_unavailable
from student_gym.evaluation.report import write_report
from student_gym.learners.novice import NoviceAgent
from student_gym.learners.replay import ReplayAgent
from student_gym_agents.cli import main

HOSTILE = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>"


class HostileAgent:
    """Writes a program whose text tries to break out of the page."""

    name = "hostile"

    def act(self, observations, infos):
        return [f"```python\nx = '{HOSTILE}'\n```" for _ in observations]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_runs")
    course = tiny_course()
    evaluate(ReplayAgent(), course, out_dir=root / "replay", bootstrap=100)
    evaluate(NoviceAgent(course), course, out_dir=root / "novice", bootstrap=100)
    evaluate(HostileAgent(), course, out_dir=root / "hostile", bootstrap=100)
    return root


@pytest.fixture(scope="module")
def page(runs, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report([runs / "replay", runs / "novice", runs / "hostile"], path)
    return path


def test_page_is_self_contained_with_tables_plots_and_episodes(page):
    text = page.read_text(encoding="utf-8")
    assert '<table class="results">' in text and '<table class="behaviour">' in text
    assert '<table class="compare">' in text  # same course, split, seed, students: compared
    if plots_unavailable() is None:
        assert text.count('<img class="status-mix"') == 3
        assert re.search(r'<img class="per-step" alt="[^"]*" src="data:image/png;base64,', text)
    else:  # a core install: no matplotlib, the page says so where the plots would be
        assert "<img" not in text
        assert text.count("Plots not drawn (install student-gym[metrics]: matplotlib)") == 2
    assert text.count('<details class="episode"') > 0
    assert "student, submission" in text and "@@" in text  # side by side, with a diff
    # Nothing is loaded from anywhere: no external scripts, styles or images.
    assert not re.search(r'(src|href)="(https?:)?//', text)


def test_hostile_episode_text_is_escaped(page):
    text = page.read_text(encoding="utf-8")
    assert "<script>" not in text and "<img src=x" not in text
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_cli_report_and_its_errors(runs, tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", str(runs / "replay"), "--out", str(out), "--max-episodes", "2"]) == 0
    assert out.is_file() and "report written to" in capsys.readouterr().out
    assert out.read_text().count('<details class="episode"') == 2
    assert main(["report", str(tmp_path / "nowhere"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an evaluation run directory" in err


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_page_renders_in_a_headless_browser(page, tmp_path):
    browser = _browser()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Chromium on PATH (.ci/run installs it with apt-get)")
        pytest.skip("no Chromium on PATH (apt-get install -y chromium)")
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # The rendered DOM has the results table with a row per run, the plots and the episodes.
    table = re.search(r'<table class="results">.*?</table>', dom, re.S)
    assert table and all(name in table.group(0) for name in ("replay", "novice", "hostile"))
    assert "±" in table.group(0)  # confidence intervals
    if plots_unavailable() is None:
        assert len(re.findall(r'<img class="per-step"[^>]*src="data:image/png;base64,', dom)) == 1
        assert len(re.findall(r'<img class="status-mix"[^>]*src="data:image/png;base64,', dom)) == 3
    assert len(re.findall(r'<details class="episode"', dom)) > 0
    assert "<script>alert(1)</script>" not in dom
