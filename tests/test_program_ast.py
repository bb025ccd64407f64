"""Normalized ASTs decide collapsing, DPO skips and the DAPO 2.0 reward."""

from __future__ import annotations

import pytest

from student_gym.course.program_ast import normalized_ast, same_program

AVERAGE = '''"""Lab 3."""
def compute_average(nums):
    """Mean of a list."""
    total = 0  # running sum
    for i in nums:
        total += i
    return total / len(nums)
'''

AVERAGE_RENAMED = """def mean(xs):
    t = 0
    for x in xs:
        t = t + 0 if False else t
        t += x
    return t / len(xs)
"""


def test_renaming_docstrings_comments_and_layout_do_not_matter() -> None:
    other = "def avg(values):\n  s = 0\n  for v in values: s += v\n  return s/len(values)\n"
    assert same_program(AVERAGE, other)
    assert normalized_ast(AVERAGE) == normalized_ast(other)


def test_behaviour_changes_are_different_programs() -> None:
    assert not same_program(AVERAGE, AVERAGE_RENAMED)  # an extra statement
    assert not same_program(AVERAGE, AVERAGE.replace("len(nums)", "max(nums)"))  # builtin
    assert not same_program(AVERAGE, AVERAGE.replace("total = 0", "total = 1"))  # constant
    assert not same_program("print('a')", "print('b')")


def test_names_are_numbered_by_first_appearance_so_swaps_differ() -> None:
    assert same_program("x = 1\ny = 2\nprint(x, y)", "b = 1\na = 2\nprint(b, a)")
    assert not same_program("x = 1\ny = 2\nprint(x, y)", "x = 1\ny = 2\nprint(y, x)")


def test_attributes_modules_imports_and_keywords_are_kept() -> None:
    dump = normalized_ast("import math\nfrom random import randint\nr = math.sqrt(randint(1, 9))\n"
                          "print(r, end='')")
    assert dump is not None
    for kept in ("'math'", "'sqrt'", "'randint'", "'print'", "'end'"):
        assert kept in dump
    assert "'r'" not in dump  # the student's variable is renamed
    assert not same_program("import math\nprint(math.sqrt(4))", "import math\nprint(math.floor(4))")


def test_import_alias_and_shadowed_builtin_are_renamed() -> None:
    assert same_program("import numpy as np\nprint(np.zeros(3))", "import numpy as n\nprint(n.zeros(3))")
    # `list` assigned by the student is a variable like any other.
    assert same_program("list = [1]\nprint(list)", "items = [1]\nprint(items)")


def test_except_names_globals_and_class_names_are_renamed() -> None:
    a = "class A:\n    pass\ntry:\n    A()\nexcept ValueError as e:\n    print(e)\n"
    b = "class B:\n    pass\ntry:\n    B()\nexcept ValueError as err:\n    print(err)\n"
    assert same_program(a, b)
    assert same_program("def f():\n    global g\n    g = 1\n", "def h():\n    global k\n    k = 1\n")


def test_function_docstring_only_body_stays_a_valid_body() -> None:
    assert same_program('def f():\n    """todo"""\n', "def g():\n    pass\n")


@pytest.mark.parametrize("bad", ["def f(:\n", "print('x'", "x = = 1", "a\x00b"])
def test_unparsable_code_has_no_normalized_ast(bad: str) -> None:
    assert normalized_ast(bad) is None


def test_unparsable_programs_compare_by_text() -> None:
    assert same_program("def f(:\n  pass  \n", "def f(:\n  pass\n")
    assert not same_program("def f(:\n", "def g(:\n")
    assert not same_program("def f(:\n", "def f():\n    pass\n")


def test_keywords_follow_the_programs_own_parameters() -> None:
    a = "def area(width, height=1):\n    return width * height\nprint(area(2, height=3), end='')"
    b = "def size(w, h=1):\n    return w * h\nprint(size(2, h=3), end='')"
    assert same_program(a, b)
    assert not same_program(a, a.replace("end=''", "sep=''"))
