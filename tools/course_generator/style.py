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
