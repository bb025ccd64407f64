"""A fresh venv outside the checkout: ``pip install <repo> openai-agents``, then the package as a
user gets it.

Three things are checked in one venv (one install, to keep it fast):

* no name clash: ``from agents import Agent, Runner`` is the OpenAI Agents SDK from the venv's
  site-packages, beside ``student_gym`` and ``student_gym_agents``; the wheel has no top-level
  ``agents`` package, and it carries the package data and the LICENSE;
* the core install (no extras: openai-agents brings the OpenAI client, nothing of ``metrics`` or
  ``train``) grades, runs the env and evaluates replay and novice, reporting CodeBLEU as not
  computed with the reason and skipping the plot;
* a command that needs an extra (``train``) stops with one line naming it.

Everything runs in subprocesses with the working directory in a temporary folder and no
PYTHONPATH: pytest itself puts the repository root (and its ``agents/`` folder) on
``sys.path``, which would hide exactly the clash this test is about. Needs the package registry
(as ``make test`` does); pip's cache keeps reruns short.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
OPENAI_AGENTS = "openai-agents==0.24.0"
# Build outputs and local state that are not part of the repository.
NOT_THE_REPO = (".git", ".venv", "venv", "runs", "build", "dist", "*.egg-info", "__pycache__",
                ".pytest_cache", ".ruff_cache", ".whl", ".gl")
CODEBLEU_REASON = "install student-gym[metrics]: codebleu, tree-sitter, tree-sitter-python"


def _env() -> dict[str, str]:
    """The caller's environment (pip's index and cache settings) without Python path settings."""
    drop = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(args: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> tuple[Path, Path]:
    """(the venv's python, a working folder outside the checkout) after one pip install."""
    root = tmp_path_factory.mktemp("install")
    source = root / "student-gym"
    # pip builds the wheel in the source tree (egg-info, build/): build a copy, not the checkout.
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(*NOT_THE_REPO))
    created = _run([sys.executable, "-m", "venv", str(root / "venv")], cwd=root)
    assert created.returncode == 0, created.stderr
    python = root / "venv" / "bin" / "python"
    installed = _run([str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q",
                      str(source), OPENAI_AGENTS], cwd=root, timeout=900)
    assert installed.returncode == 0, (installed.stdout + installed.stderr)[-4000:]
    work = root / "work"
    work.mkdir()
    return python, work


def _python(venv: tuple[Path, Path], code: str) -> dict:
    python, work = venv
    done = _run([str(python), "-c", code], cwd=work)
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_openai_agents_sdk_and_student_gym_import_side_by_side(venv):
    found = _python(venv, (
        "import json, sysconfig, agents, student_gym, student_gym_agents\n"
        "from agents import Agent, Runner\n"
        "print(json.dumps({'site': sysconfig.get_paths()['purelib'], 'agents': agents.__file__,"
        " 'student_gym': student_gym.__file__,"
        " 'student_gym_agents': student_gym_agents.__file__,"
        " 'runner': Runner.__module__, 'agent': Agent.__module__}))"
    ))
    site = Path(found["site"])
    for module in ("agents", "student_gym", "student_gym_agents"):
        path = Path(found[module])
        assert path.is_relative_to(site), (module, path)
        assert not path.is_relative_to(REPO), (module, path)
    assert Path(found["agents"]).parent == site / "agents"  # the SDK, not the repo's folder
    assert found["runner"].startswith("agents.") and found["agent"].startswith("agents.")


def test_the_wheel_has_no_agents_package_and_carries_data_and_license(venv):
    found = _python(venv, (
        "import json\nfrom importlib import metadata\n"
        "m = metadata.metadata('student-gym')\n"
        "print(json.dumps({'files': [str(f) for f in metadata.files('student-gym')],"
        " 'license': m.get_all('License-Expression'), 'license_files': m.get_all('License-File'),"
        " 'requires': m.get_all('Requires-Dist')}))"
    ))
    files = set(found["files"])
    tops = {f.split("/")[0] for f in files}
    assert "agents" not in tops
    assert {"student_gym", "student_gym_agents"} <= tops
    for path in sorted((REPO / "student_gym" / "data").rglob("*")):
        if path.is_file():
            assert str(path.relative_to(REPO)) in files, path
    recipes = sorted((REPO / "agents" / "recipes").glob("*.yaml"))
    assert recipes
    for recipe in recipes:
        assert f"student_gym_agents/recipes/{recipe.name}" in files, recipe
    assert found["license"] == ["MIT"] and found["license_files"] == ["LICENSE"]
    assert any(f.endswith(".dist-info/licenses/LICENSE") for f in files)
    core = [r for r in found["requires"] if "extra ==" not in r]
    assert sorted(r.split("=")[0].split(">")[0] for r in core) == [
        "RestrictedPython", "gymnasium", "numpy", "rich"]


def test_a_core_install_grades_runs_the_env_and_evaluates(venv):
    python, work = venv
    bin_dir = python.parent
    # A core install: nothing of the metrics or train extras came with openai-agents.
    assert _python(venv, (
        "import importlib.util, json\n"
        "print(json.dumps([m for m in ('codebleu', 'tree_sitter', 'matplotlib', 'torch', 'trl',"
        " 'datasets', 'pandas') if importlib.util.find_spec(m)]))"
    )) == []
    program = work / "sum_list.py"
    program.write_text("def sum_list(xs):\n    return sum(xs)\n")
    graded = _run([str(bin_dir / "student-gym"), "grade", "--example", "sum_list",
                   "--code", str(program)], cwd=work)
    assert graded.returncode == 0 and "Status: passed" in graded.stdout, graded
    stepped = _python(venv, (
        "import json, gymnasium as gym, student_gym\n"
        "env = gym.make('StudentProgramming-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "obs, reward, terminated, truncated, info = env.step("
        "'```python\\ndef f(:\\n```')\n"
        "print(json.dumps({'status': info['grade']['status'], 'code': info['code'],"
        " 'reward': float(reward), 'turns': len(obs)}))"
    ))
    assert stepped["status"] == "syntax_error" and stepped["code"] == "def f(:"
    assert stepped["turns"] >= 3  # the statement, the student's prefix, and this step
    out = work / "eval"
    evaluated = _run([str(bin_dir / "student-gym"), "evaluate", "--agent", "novice", "--agent",
                      "replay", "--limit", "2", "--steps", "2", "--bootstrap", "20",
                      "--no-progress", "--out", str(out)], cwd=work)
    assert evaluated.returncode == 0, evaluated.stderr[-4000:]
    assert f"CodeBLEU: not computed ({CODEBLEU_REASON})" in evaluated.stdout
    assert "per-step curves: not drawn (install student-gym[metrics]: matplotlib)" in evaluated.stdout
    assert "Traceback" not in evaluated.stderr
    for agent in ("novice", "replay"):
        results = json.loads((out / agent / "results.json").read_text())
        head = results["headline"]
        assert head["CB"]["value"] is None and head["CB"]["unavailable"] == CODEBLEU_REASON
        assert isinstance(head["Cov"]["value"], float) and head["Cov"]["unavailable"] is None
        assert isinstance(head["GP"]["value"], float)
        assert results["counts"]["episodes"] == results["counts"]["planned_episodes"] > 0
    replay = json.loads((out / "replay" / "results.json").read_text())["headline"]
    assert replay["Cov"]["value"] == 1.0 and replay["GP"]["value"] == 1.0
    train = _run([str(bin_dir / "student-gym"), "train", "sft"], cwd=work)
    assert train.returncode == 2 and train.stderr.count("\n") == 1, train.stderr
    assert "pip install 'student-gym[train]'" in train.stderr
