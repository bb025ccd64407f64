"""Per-student coding style: identifier names and small cosmetic habits.

Students solving the same problem should not write byte-identical programs (CodeBLEU between
students would be trivially 1). Each student draws, per problem, a reference style (loop vs
comprehension, builtin vs hand-written: the problem bank's ``solutions``), synonyms for
variable names, and habits such as a header comment. Renaming works on tokens, so strings are
left alone except the expressions inside f-string braces.
"""

from __future__ import annotations

import io
import random
import re
import tokenize

# variable name -> names novices use for the same thing
SYNONYMS: dict[str, tuple[str, ...]] = {
    "total": ("s", "result", "acc", "tot", "summ", "running"),
    "count": ("c", "cnt", "counter", "num_vowels", "n_found"),
    "x": ("n", "num", "value", "item", "v", "number"),
    "nums": ("numbers", "lst", "values", "xs", "arr", "my_list"),
    "ch": ("c", "letter", "char", "character", "l"),
    "text": ("s", "string", "sentence", "txt", "word_string"),
    "best": ("biggest", "maximum", "largest_so_far", "m", "top", "longest"),
    "i": ("j", "k", "idx", "index", "num"),
    "result": ("res", "out", "answer", "ans", "output", "new_list"),
    "words": ("word_list", "parts", "tokens", "w_list"),
    "word": ("w", "token", "wrd", "term"),
    "counts": ("freq", "d", "word_dict", "counter", "dictionary"),
    "cleaned": ("clean", "s2", "stripped", "t", "new_text"),
    "item": ("it", "element", "thing", "e", "val"),
    "seen": ("unique", "result", "new_list", "out", "kept"),
    "name": ("n", "nm", "person", "student", "first"),
    "names": ("name_list", "people", "lst", "students"),
    "product": ("prod", "fact", "answer", "res"),
    "values": ("uniq", "distinct", "sorted_vals", "vals"),
    "first": ("biggest", "top", "max1", "a"),
    "second": ("runner_up", "max2", "b", "next_best"),
    "c": ("celsius", "temp", "t", "deg"),
    "temps": ("celsius_list", "temperatures", "lst", "values"),
    "cart": ("basket", "order", "items", "shopping"),
    "prices": ("price_list", "costs", "price_of", "catalog"),
    "qty": ("amount", "quantity", "q", "how_many"),
    "n": ("num", "number", "limit", "size", "k"),
    "number": ("num", "value", "n", "x", "user_number"),
    "scores": ("grades", "marks", "nums", "data"),
    "row": ("r", "line_no", "level", "stars"),
    "line": ("sentence", "text", "user_input", "s", "data"),
    "temp": ("t", "degrees", "celsius", "temperature"),
    "advice": ("msg", "message", "answer", "label"),
    "low": ("smallest", "minimum", "lo", "min_score"),
    "high": ("biggest", "maximum", "hi", "max_score"),
    "w": ("word", "wd", "token"),
    "bound": ("limit", "cutoff", "threshold", "lo"),
    "letter": ("grade", "g", "mark", "symbol"),
}

HEADERS = (
    "# {title}\n",
    "# Lab: {title}\n# Author: me\n",
    "# {title} - my solution\n\n",
    '"""{title}."""\n',
    "",
    "",
    "",
)


def _rename_in_expression(text: str, mapping: dict[str, str]) -> str:
    return re.sub(r"\b[A-Za-z_]\w*\b", lambda m: mapping.get(m.group(0), m.group(0)), text)


def _rename_fstring(token: str, mapping: dict[str, str]) -> str:
    # Rename only inside {...}; "{{" escapes are rare in novice code and left as they are.
    return re.sub(
        r"\{([^{}]*)\}", lambda m: "{" + _rename_in_expression(m.group(1), mapping) + "}", token
    )


def rename_identifiers(code: str, mapping: dict[str, str]) -> str:
    """Rename NAME tokens (not attributes, not plain strings) per ``mapping``.

    Falls back to the code unchanged when it does not tokenize (styles are drawn on valid code).
    """
    if not mapping:
        return code
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return code
    lines = code.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []  # (row, col_start, col_end, new)
    previous = None
    for tok in tokens:
        new = None
        if (
            tok.type == tokenize.NAME
            and tok.string in mapping
            and (previous is None or previous.string != ".")
        ):
            new = mapping[tok.string]
        elif tok.type == tokenize.STRING and re.match(r"(?i)[rb]?f", tok.string):
            new = _rename_fstring(tok.string, mapping)
        if new is not None and new != tok.string and tok.start[0] == tok.end[0]:
            edits.append((tok.start[0], tok.start[1], tok.end[1], new))
        if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
            previous = tok
    for row, start, end, new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:start] + new + line[end:]
    return "".join(lines)


def names_in(code: str) -> set[str]:
    return set(re.findall(r"\b[A-Za-z_]\w*\b", code))


def draw_renames(rng: random.Random, code: str, keep: set[str], rate: float) -> dict[str, str]:
    """Pick synonyms for some variables of ``code`` (never the names in ``keep``)."""
    present = names_in(code)
    used = set(present)
    mapping: dict[str, str] = {}
    for name in sorted(present):
        if name in keep or name not in SYNONYMS or rng.random() >= rate:
            continue
        choices = [s for s in SYNONYMS[name] if s not in used]
        if choices:
            mapping[name] = rng.choice(choices)
            used.add(mapping[name])
    return mapping


def draw_header(rng: random.Random, title: str) -> str:
    return rng.choice(HEADERS).format(title=title)


# -- habits: how a student writes any program (persistent across problems) -------------------
# Each transform rewrites a correct program into an equivalent one the way some novices always
# write it. They are text edits, so the generator keeps only the (problem, style, habits)
# combinations whose result still passes every test (checked once with the grader).

_AUGMENTED = re.compile(r"^(\s*)([A-Za-z_]\w*) ([+\-*])= ([\w.'\"\[\]()]+)$")
_FOR_EACH = re.compile(r"^(\s*)for ([A-Za-z_]\w*) in ([A-Za-z_]\w*):$")
_BOOL_RETURN = re.compile(r"^(\s*)return (.+ (?:==|!=|<=|>=|<|>|in|not in) .+)$")


def _per_line(code: str, pattern: re.Pattern[str], replacement: str, new_name: str = "") -> str:
    """``pattern`` replaced on every line; nothing when the program already uses ``new_name``."""
    if new_name and re.search(rf"\b{new_name}\b", code):
        return code
    return "\n".join(pattern.sub(replacement, line) for line in code.split("\n"))


def expand_augmented(code: str) -> str:
    """``total += x`` -> ``total = total + x`` (only with a simple right-hand side)."""
    return _per_line(code, _AUGMENTED, r"\1\2 = \2 \3 \4")


def index_loops(code: str) -> str:
    """``for x in nums:`` -> ``for i in range(len(nums)):`` + ``x = nums[i]``."""
    out = []
    for line in code.split("\n"):
        m = _FOR_EACH.match(line)
        if m and "idx" not in code:
            indent, var, seq = m.groups()
            out += [f"{indent}for idx in range(len({seq})):", f"{indent}    {var} = {seq}[idx]"]
        else:
            out.append(line)
    return "\n".join(out)


def bool_if(code: str) -> str:
    """``return a == b`` -> ``if a == b:`` / ``return True`` / ``return False``."""
    out = []
    for line in code.split("\n"):
        m = _BOOL_RETURN.match(line)
        if m and " if " not in m.group(2) and " for " not in m.group(2):
            indent, cond = m.groups()
            out += [f"{indent}if {cond}:", f"{indent}    return True",
                    f"{indent}else:", f"{indent}    return False"]
        else:
            out.append(line)
    return "\n".join(out)


_RANGE_LOOP = re.compile(r"^(\s*)for ([A-Za-z_]\w*) in range\(([^(),]+), ([^(),]+(?:\([^()]*\))?[^(),]*)\):$")


def while_loops(code: str) -> str:
    """``for i in range(a, b):`` -> ``i = a`` / ``while i < b:`` / ... / ``i += 1``."""
    lines = code.split("\n")
    for n, line in enumerate(lines):
        m = _RANGE_LOOP.match(line)
        if not m:
            continue
        indent, var, start, stop = m.groups()
        end = n + 1
        while end < len(lines) and (not lines[end].strip() or
                                    len(lines[end]) - len(lines[end].lstrip()) > len(indent)):
            end += 1
        body = lines[n + 1:end]
        if any("continue" in b or "break" in b for b in body):
            continue
        while body and not body[-1].strip():
            body.pop()
        lines[n:n + 1 + len(body)] = [f"{indent}{var} = {start}", f"{indent}while {var} < {stop}:",
                                      *body, f"{indent}    {var} += 1"]
        return "\n".join(lines)  # one loop per program is enough of a habit
    return code


_CONVERTED_INPUT = re.compile(r"^(\s*)([A-Za-z_]\w*) = (int|float)\(input\(\)\)$")


def separate_conversion(code: str) -> str:
    """``n = int(input())`` -> ``n = input()`` / ``n = int(n)``."""
    out = []
    for line in code.split("\n"):
        m = _CONVERTED_INPUT.match(line)
        out += ([f"{m[1]}{m[2]} = input()", f"{m[1]}{m[2]} = {m[3]}({m[2]})"] if m else [line])
    return "\n".join(out)


_LABEL_PRINT = re.compile(r"^(\s*)print\('([^'{}]*)', ([A-Za-z_][\w.]*)\)$")


def concat_print(code: str) -> str:
    """``print('Total:', t)`` -> ``print('Total: ' + str(t))``."""
    return _per_line(code, _LABEL_PRINT, r"\1print('\2 ' + str(\3))")


_RETURN_EXPR = re.compile(r"^(\s+)return (.*[(+\-*/%\[].*)$")


def named_result(code: str) -> str:
    """``return <expression>`` -> ``result = <expression>`` / ``return result``."""
    return _per_line(code, _RETURN_EXPR, r"\1result = \2\n\1return result", "result")


_TOP_PRINT = re.compile(r"^print\((?!['\"])(.*[(+\-*/%\[].*)\)$")


def store_then_print(code: str) -> str:
    """A top-level ``print(<expression>)`` -> ``answer = <expression>`` / ``print(answer)``."""
    return _per_line(code, _TOP_PRINT, r"answer = \1\nprint(answer)", "answer")


def strip_input(code: str) -> str:
    """``int(input())`` -> ``int(input().strip())``: the careful reader's habit."""
    return re.sub(r"\b(int|float)\(input\(\)\)", r"\1(input().strip())", code)


def main_function(code: str) -> str:
    """A program without functions, wrapped in ``def main():`` and called at the end."""
    if re.search(r"^(def|class|import|from) ", code, re.M):
        return code
    body = "\n".join(("    " + line) if line.strip() else line for line in code.rstrip().split("\n"))
    return f"def main():\n{body}\n\n\nmain()\n"


HABITS = {
    "expand_augmented": expand_augmented,
    "index_loops": index_loops,
    "bool_if": bool_if,
    "while_loops": while_loops,
    "separate_conversion": separate_conversion,
    "concat_print": concat_print,
    "named_result": named_result,
    "store_then_print": store_then_print,
    "strip_input": strip_input,
    "main_function": main_function,
}


def apply_habits(code: str, habits: tuple[str, ...]) -> str:
    for name in habits:
        code = HABITS[name](code)
    return code
