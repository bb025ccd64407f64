"""The folders show the data flow: each package of student_gym imports only the steps
upstream of it, the environment side never imports torch or the learner side, and optional
extras are imported only inside the functions that need them."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "student_gym"

# package -> the packages of student_gym it may import (logs -> course -> dialogs -> env
# -> evaluation; learners sit beside env; the grader depends on nothing of ours).
ALLOWED: dict[str, set[str]] = {
    "grader": set(),
    "course": {"grader"},
    "dialogs": {"course", "grader"},
    "env": {"dialogs", "course", "grader"},
    "learners": {"dialogs", "course", "grader"},
    "evaluation": {"env", "learners", "dialogs", "course", "grader"},
}
NEVER = {"torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes", "student_gym_agents",
         "agents"}
EXTRAS = {"codebleu", "tree_sitter", "tree_sitter_python", "matplotlib", "pandas", "pyarrow",
          "datasets", "openai", "RestrictedPython"}
# Modules that exist to wrap one extra may import it at the top; they themselves must then
# be imported lazily by everyone else.
EXTRA_MODULES = {"student_gym.grader.policy_check": "RestrictedPython"}


def imports(path: Path) -> list[tuple[str, bool]]:
    """(module, imported at module level) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, id(node) in top))
            # "from package import module" names the module too
            found += [(f"{node.module}.{alias.name}", id(node) in top) for alias in node.names]
    return found


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


# Top-level modules every step may use, importing nothing of ours: facts about the
# installation (extras) and the one progress-bar style (progress).
LEAVES = {"extras", "progress"}


def test_every_package_is_in_the_layer_table() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED)
    flat = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert flat == LEAVES, "a new top-level module: put it in the step it belongs to"
    for leaf in LEAVES:
        ours = [m for m, _ in imports(PACKAGE / f"{leaf}.py") if m.startswith("student_gym")]
        assert not ours, f"student_gym/{leaf}.py must import nothing of student_gym: {ours}"


def test_packages_import_only_upstream_steps() -> None:
    wrong = []
    for path in modules():
        parts = path.relative_to(PACKAGE).parts
        if len(parts) == 1:
            continue  # student_gym/__init__.py: the public names of every step
        own = parts[0]
        for module, _ in imports(path):
            names = module.split(".")
            if names[0] == "student_gym" and len(names) > 1 and names[1] != own:
                if names[1] not in ALLOWED[own] and names[1] not in LEAVES:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert not wrong, "\n".join(wrong)


def test_environment_side_never_imports_torch_or_the_learner_side() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in modules()
        for module, _ in imports(path)
        if module.split(".")[0] in NEVER
    ]
    assert not wrong, "\n".join(wrong)


def dotted(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_extras_are_imported_only_where_they_are_used() -> None:
    wrong = []
    for path in modules():
        for module, top in imports(path):
            if not top:
                continue
            if module in EXTRA_MODULES:
                wrong.append(f"{path.relative_to(ROOT)} imports {module} at module level")
            root = module.split(".")[0]
            if root in EXTRAS and EXTRA_MODULES.get(dotted(path)) != root:
                wrong.append(f"{path.relative_to(ROOT)} imports {module} at module level")
    assert not wrong, "\n".join(wrong)


def test_every_package_folder_is_installed() -> None:
    """pyproject lists the packages by hand (agents/ installs as student_gym_agents, which
    setuptools cannot discover): a new package folder must be added there."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    listed = set(config["setuptools"]["packages"])
    folders = set()
    for name, folder in config["setuptools"]["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(ROOT / folder).parts
            folders.add(".".join((name, *parts)))
    assert listed == folders
