"""Function problems on lists, strings and dictionaries of the generated CS1 course."""

from __future__ import annotations

from tools.course_generator.problem_bank import Bug, Problem

COLLECTION_PROBLEMS = (
    Problem(
        id="second_largest",
        title="Second largest",
        entry_point="second_largest",
        statement="""
Write a function `second_largest(nums)` that returns the second largest *distinct* value of the
list `nums`, or `None` when there are fewer than two distinct values.

Example: `second_largest([4, 9, 9, 1])` returns `4`.
""",
        solutions=(
            "def second_largest(nums):\n    values = sorted(set(nums))\n    if len(values) < 2:\n"
            "        return None\n    return values[-2]\n",
            "def second_largest(nums):\n    first = None\n    second = None\n    for x in nums:\n"
            "        if first is None or x > first:\n            second = first\n            first = x\n"
            "        elif x != first and (second is None or x > second):\n            second = x\n"
            "    return second\n",
        ),
        call_args=(([4, 9, 9, 1],), ([],), ([7],), ([3, 3],), ([1, 2],), ([-1, -5, -3, -1],)),
        bugs=(
            Bug("forgot duplicates", "sorted(set(nums))", "sorted(nums)"),
            Bug("wrong index", "return values[-2]", "return values[1]"),
            Bug(
                "forgot short lists",
                "    if len(values) < 2:\n        return None\n",
                "",
                "runtime",
            ),
            Bug(
                "forgot duplicates",
                "elif x != first and (second is None or x > second):",
                "elif second is None or x > second:",
            ),
        ),
    ),
    Problem(
        id="capitalize_names",
        title="Capitalize names",
        entry_point="capitalize_names",
        statement="""
Write a function `capitalize_names(names)` that returns a new list where every name of `names`
starts with an upper-case letter and the rest is lower case.

Example: `capitalize_names(["aDA", "alan"])` returns `["Ada", "Alan"]`.
""",
        solutions=(
            "def capitalize_names(names):\n    result = []\n    for name in names:\n"
            "        result.append(name[0].upper() + name[1:].lower())\n    return result\n",
            "def capitalize_names(names):\n    return [name.capitalize() for name in names]\n",
        ),
        call_args=(
            (["aDA", "alan"],),
            ([],),
            (["grace"],),
            (["BOB", "eve", "Max"],),
            (["x"],),
            (["mARy", "jo"],),
        ),
        bugs=(
            Bug(
                "forgot the rest",
                "name[0].upper() + name[1:].lower()",
                "name[0].upper() + name[1:]",
            ),
            Bug("wrong method", "name.capitalize()", "name.upper()"),
            Bug(
                "modifies nothing",
                "result.append(name[0].upper() + name[1:].lower())",
                "name = name[0].upper() + name[1:].lower()\n        result.append(name.lower())",
            ),
        ),
    ),
    Problem(
        id="cart_total",
        title="Shopping cart total",
        entry_point="cart_total",
        statement="""
Write a function `cart_total(cart, prices)` where `cart` maps item names to quantities and
`prices` maps item names to unit prices. Return the total cost; items without a price are
ignored.

Example: `cart_total({"apple": 2, "pear": 1}, {"apple": 0.5, "pear": 1.25})` returns `2.25`.
""",
        solutions=(
            "def cart_total(cart, prices):\n    total = 0\n    for item in cart:\n"
            "        if item in prices:\n            total += cart[item] * prices[item]\n"
            "    return total\n",
            "def cart_total(cart, prices):\n"
            "    return sum(qty * prices[item] for item, qty in cart.items() if item in prices)\n",
        ),
        call_args=(
            ({"apple": 2, "pear": 1}, {"apple": 0.5, "pear": 1.25}),
            ({}, {"a": 1}),
            ({"a": 3}, {}),
            ({"a": 1, "b": 2}, {"a": 10, "b": 5}),
            ({"x": 4, "y": 1}, {"x": 2.5}),
            ({"pen": 10}, {"pen": 3}),
        ),
        bugs=(
            Bug(
                "forgot missing prices",
                "        if item in prices:\n            total += cart[item] * prices[item]",
                "        total += cart[item] * prices[item]",
                "runtime",
            ),
            Bug("forgot quantity", "total += cart[item] * prices[item]", "total += prices[item]"),
            Bug("wrong operator", "qty * prices[item]", "qty + prices[item]"),
        ),
    ),
    Problem(
        id="longest_word",
        title="Longest word",
        entry_point="longest_word",
        statement="""
Write a function `longest_word(text)` that returns the longest word of `text` (words are
separated by whitespace). When several words are equally long, return the first of them; for
a text without words return the empty string.

Example: `longest_word("a bb ccc dd")` returns `"ccc"`.
""",
        solutions=(
            "def longest_word(text):\n    best = ''\n    for word in text.split():\n"
            "        if len(word) > len(best):\n            best = word\n    return best\n",
            "def longest_word(text):\n    words = text.split()\n    if not words:\n        return ''\n"
            "    return max(words, key=len)\n",
        ),
        call_args=(
            ("a bb ccc dd",),
            ("",),
            ("tie tie",),
            ("one three five",),
            ("supercalifragilistic is long",),
            ("ab cd ef",),
        ),
        bugs=(
            Bug("keeps the last tie", "if len(word) > len(best):", "if len(word) >= len(best):"),
            Bug(
                "returns the length",
                "            best = word\n    return best",
                "            best = word\n    return len(best)",
            ),
            Bug("compares words not lengths", "if len(word) > len(best):", "if word > best:"),
            Bug("forgot empty text", "    if not words:\n        return ''\n", "", "runtime"),
        ),
    ),
    Problem(
        id="to_fahrenheit",
        title="Celsius to Fahrenheit",
        entry_point="to_fahrenheit",
        statement="""
Write a function `to_fahrenheit(temps)` that converts a list of Celsius temperatures to a list
of Fahrenheit temperatures (F = C * 9 / 5 + 32), each rounded to 1 decimal.

Example: `to_fahrenheit([0, 100])` returns `[32.0, 212.0]`.
""",
        solutions=(
            "def to_fahrenheit(temps):\n    result = []\n    for c in temps:\n"
            "        result.append(round(c * 9 / 5 + 32, 1))\n    return result\n",
            "def to_fahrenheit(temps):\n    return [round(c * 9 / 5 + 32, 1) for c in temps]\n",
        ),
        call_args=(([0, 100],), ([],), ([-40],), ([36.6, 20],), ([-10, 5, 15],), ([12.3],)),
        bugs=(
            Bug("wrong formula", "c * 9 / 5 + 32", "c * 5 / 9 + 32"),
            Bug("operator precedence", "c * 9 / 5 + 32", "(c + 32) * 9 / 5"),
            Bug(
                "forgot rounding",
                "result.append(round(c * 9 / 5 + 32, 1))",
                "result.append(c * 9 / 5 + 32)",
            ),
            Bug(
                "integer division",
                "round(c * 9 / 5 + 32, 1) for c",
                "round(c * 9 // 5 + 32, 1) for c",
            ),
        ),
    ),
)
