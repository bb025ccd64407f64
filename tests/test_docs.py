"""The docs stay true to the code: the modules they name exist, the map names every package,
the import rules docs/architecture.md states hold, nothing points outside the repository, and
the counts they quote are the ones ``tools/doc_numbers.py`` computes from the bundled course."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tools import doc_numbers

ROOT = Path(__file__).resolve().parent.parent
DOCS = doc_numbers.doc_files(ROOT)
ARCHITECTURE = ROOT / "docs" / "architecture.md"
FOLDER = {"student_gym_agents": "agents"}  # installed name -> folder in the repository

# A module reference in prose or code: a path (student_gym/env/spaces.py, agents/cli/) or a
# dotted name (student_gym.grader.feedback.render_feedback). Not inside another path or word
# (~/.cache/student_gym/..., student_gym_run.json, $STUDENT_GYM_CACHE).
REFERENCE = re.compile(
    r"(?<![\w/.~$-])(student_gym_agents|student_gym|agents|tools|benchmarks)(?!\w)"
    r"((?:[./][\w*-]+)*/?)"
)


def references(text: str) -> list[tuple[int, str, bool]]:
    """(line, reference, is a name prefix) for every module reference with a separator.

    ``is a name prefix``: the reference stops at a placeholder (``agents/cli/<name>_command.py``),
    so only a file starting with it must exist.
    """
    found = []
    for m in REFERENCE.finditer(text):
        ref = (m.group(1) + m.group(2)).rstrip(".-")
        if ref == m.group(1):
            continue  # the bare word ("agents" in prose)
        prefix = text[m.end():m.end() + 1] == "<"
        found.append((text.count("\n", 0, m.start()) + 1, ref, prefix))
    return found


def defined_names(path: Path) -> set[str]:
    """Top-level names a module defines, imports or lists in ``__all__``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            value = node.value
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and value:
                names.update(
                    c.value for c in ast.walk(value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def missing_reason(ref: str, prefix: bool) -> str | None:
    """Why ``ref`` names nothing in the repository, or None when it exists."""
    head, *rest = re.split(r"([./])", ref)
    folder = ROOT / FOLDER.get(head, head)
    if "/" in ref:  # a path: a file, a folder or a glob
        pattern = FOLDER.get(head, head) + ref[len(head):] + ("*" if prefix else "")
        return None if list(ROOT.glob(pattern)) or (ROOT / pattern).exists() else "no such path"
    parts = ref.split(".")[1:]
    where = folder
    for i, part in enumerate(parts):
        if part.startswith("__") and part.endswith("__"):
            return None  # student_gym.__file__, __version__
        if (where / part).is_dir():
            where = where / part
            continue
        if (where / f"{part}.py").is_file():
            where = where / f"{part}.py"
            continue
        module = where / "__init__.py" if where.is_dir() else where
        if not module.is_file():
            return f"no module {'.'.join([head, *parts[:i]])}"
        if part in defined_names(module):
            return None  # an attribute (deeper parts, e.g. a method, are not checked)
        return f"{module.relative_to(ROOT)} defines no {part!r}"
    return None if where.exists() else "no such module"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_module_a_doc_names_exists(doc):
    bad = [
        f"{doc.name}:{line}: {ref}: {reason}"
        for line, ref, prefix in references(doc.read_text(encoding="utf-8"))
        if (reason := missing_reason(ref, prefix))
    ]
    assert not bad, "stale module references:\n" + "\n".join(bad)


def test_architecture_names_modules_and_they_exist():
    found = references(ARCHITECTURE.read_text(encoding="utf-8"))
    assert len(found) > 50  # the map is there, not a stub
    assert all(missing_reason(ref, prefix) is None for _line, ref, prefix in found)


def packages() -> list[str]:
    """Every package of both installed trees, as repository paths (``student_gym/env``)."""
    found = []
    for top in ("student_gym", "agents"):
        for init in sorted((ROOT / top).rglob("__init__.py")):
            found.append(init.parent.relative_to(ROOT).as_posix())
    return found


def test_the_map_names_every_package():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    named = set()
    for _line, ref, _prefix in references(text):
        head = re.split(r"[./]", ref)[0]
        rest = ref[len(head):] if "/" in ref else ref[len(head):].replace(".", "/")
        named.add((FOLDER.get(head, head) + rest).rstrip("/").removesuffix("/__init__.py"))
    assert "student_gym/env" in packages()
    unnamed = [p for p in packages() if p not in named]
    assert not unnamed, f"docs/architecture.md does not name these packages: {unnamed}"


def test_reference_parser_catches_stale_names():
    # The checks above rest on this parser; show it finds and rejects what they should.
    text = "see `student_gym/spaces.py`, `student_gym.env.rewards.overlong_penalty` and " \
           "`agents/cli/<name>_command.py`; ~/.cache/student_gym/x and student_gym_run.json"
    found = {ref: missing_reason(ref, prefix) for _l, ref, prefix in references(text)}
    assert set(found) == {"student_gym/spaces.py", "student_gym.env.rewards.overlong_penalty",
                          "agents/cli/"}
    assert found["student_gym/spaces.py"] == "no such path"
    assert "defines no 'overlong_penalty'" in found["student_gym.env.rewards.overlong_penalty"]
    assert found["agents/cli/"] is None


def _sources(*tops: str) -> list[Path]:
    return [p for top in tops for p in sorted((ROOT / top).rglob("*.py"))]


def test_dotted_names_use_the_installed_package_name():
    # agents/ installs as student_gym_agents: a dotted `agents.X` names the OpenAI Agents SDK.
    pattern = re.compile(r"(?<![\w./-])agents\.[a-z_]+")
    bad = [
        f"{path.relative_to(ROOT)}:{i}: {m.group(0)}"
        for path in [*DOCS, *_sources("student_gym", "agents", "tools", "benchmarks")]
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for m in pattern.finditer(line)
    ]
    assert not bad, "use student_gym_agents.X:\n" + "\n".join(bad)


# Built from parts so that this file does not match itself.
OUTSIDE = [re.compile(p) for p in (
    "DESIGN" + r"\.md", r"\.\./" + "shared", "/work" + "/", r"\bseeds" + "/",
    r"\[(?:grader|course|dialogs|env|training)" + r"\]\s*$",  # per-team owner tags in a map
)]


def test_docs_and_code_stand_alone():
    files = [*DOCS, *_sources("student_gym", "agents", "tools", "benchmarks", "tests"),
             ROOT / "Makefile", ROOT / "pyproject.toml"]
    bad = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()[:100]}"
        for path in files
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(p.search(line) for p in OUTSIDE)
    ]
    assert not bad, "refers outside the repository or carries owner tags:\n" + "\n".join(bad)
    cited = {
        m.group(0)
        for path in files
        for m in re.finditer(r"(?<![\w/])docs/[\w.-]+\.(?:md|png)", path.read_text(encoding="utf-8"))
    }
    assert cited and not [c for c in cited if not (ROOT / c).is_file()], cited


# -- the CLI is the composition root (the step import rules: tests/test_layering.py) ---------


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every absolute import of a file, lazy ones inside functions included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_only_the_cli_package_imports_the_cli():
    bad = [
        f"{path.relative_to(ROOT)}:{line}: import {module}"
        for path in _sources("student_gym", "agents")
        if "cli" not in path.relative_to(ROOT).parts
        for line, module in imported_modules(path)
        if module.startswith("student_gym_agents.cli")
    ]
    assert not bad, "\n".join(bad)


# -- numbers ---------------------------------------------------------------------------------


def test_doc_numbers_are_current(capsys):
    status = doc_numbers.main(["--check"])
    assert status == 0, capsys.readouterr().out


def test_doc_numbers_rewrites_and_refuses(tmp_path):
    numbers = doc_numbers.compute()
    text = "A <!-- numbers:demo-data -->2024-fall, 514 trajectories<!-- /numbers:demo-data --> B"
    new = doc_numbers.rewrite(text, numbers, "x.md")
    assert "514" not in new and f"{numbers.splits['train'].trajectories:,} trajectories" in new
    assert doc_numbers.stale_blocks(text, new) == ["demo-data"]
    assert doc_numbers.rewrite(new, numbers, "x.md") == new
    with pytest.raises(doc_numbers.MarkerError, match="x.md:2: unknown numbers block 'nope'"):
        doc_numbers.rewrite("\n<!-- numbers:nope -->1<!-- /numbers:nope -->", numbers, "x.md")
    with pytest.raises(doc_numbers.MarkerError, match="is not closed"):
        doc_numbers.rewrite("<!-- numbers:demo-data -->1", numbers, "x.md")
    # --check on a stale copy of the docs exits 1 and leaves the file alone
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(text)
    assert doc_numbers.main(["--check", "--root", str(tmp_path)]) == 1
    assert (tmp_path / "README.md").read_text() == text
    assert doc_numbers.main(["--root", str(tmp_path)]) == 0
    assert (tmp_path / "README.md").read_text() == new
