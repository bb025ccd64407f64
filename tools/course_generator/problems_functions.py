"""Function problems of the generated CS1 course (graded by call tests)."""

from __future__ import annotations

from tools.course_generator.problem_bank import Bug, Problem

FUNCTION_PROBLEMS = (
    Problem(
        id="sum_evens",
        title="Sum of the even numbers",
        entry_point="sum_evens",
        statement="""
Write a function `sum_evens(nums)` that returns the sum of the even numbers in the list
`nums`. An empty list (or one without even numbers) gives 0.

Example: `sum_evens([1, 2, 3, 4])` returns `6`.
""",
        solutions=(
            "def sum_evens(nums):\n    total = 0\n    for x in nums:\n        if x % 2 == 0:\n"
            "            total += x\n    return total\n",
            "def sum_evens(nums):\n    return sum([x for x in nums if x % 2 == 0])\n",
        ),
        call_args=(([1, 2, 3, 4],), ([],), ([7, 9],), ([10],), ([-2, 3, -4, 5],), ([0, 1, 2, 8],)),
        bugs=(
            Bug("misread statement", "x % 2 == 0", "x % 2 == 1"),
            Bug(
                "return inside loop",
                "            total += x\n    return total",
                "            total += x\n        return total",
            ),
            Bug("wrong variable", "total += x", "total += 1"),
        ),
    ),
    Problem(
        id="count_vowels",
        title="Count the vowels",
        entry_point="count_vowels",
        statement="""
Write a function `count_vowels(text)` that returns how many vowels (a, e, i, o, u, in upper or
lower case) the string `text` contains.

Do not use the string method `count`.

Example: `count_vowels("Hello World")` returns `3`.
""",
        policy={"methods": {"count": "Count the vowels yourself with a loop: the .count() "
                                     "method is not allowed in this assignment."}},
        solutions=(
            "def count_vowels(text):\n    count = 0\n    for ch in text:\n"
            "        if ch.lower() in 'aeiou':\n            count += 1\n    return count\n",
            "def count_vowels(text):\n    vowels = 'aeiouAEIOU'\n"
            "    return len([ch for ch in text if ch in vowels])\n",
        ),
        call_args=(
            ("Hello World",),
            ("",),
            ("xyz",),
            ("AEIOU",),
            ("Programming is fun",),
            ("Why? Because!",),
        ),
        bugs=(
            Bug("forgot upper case", "ch.lower() in 'aeiou'", "ch in 'aeiou'"),
            Bug("forgot upper case", "'aeiouAEIOU'", "'aeiou'"),
            Bug(
                "return inside loop",
                "            count += 1\n    return count",
                "            count += 1\n        return count",
            ),
            Bug("wrong variable", "ch.lower() in 'aeiou'", "text.lower() in 'aeiou'"),
        ),
    ),
    Problem(
        id="largest",
        title="The largest number",
        entry_point="largest",
        statement="""
Write a function `largest(nums)` that returns the largest number in the list `nums` without
using the built-in `max`. For an empty list, return `None`.

Example: `largest([3, 9, 2])` returns `9`.
""",
        policy={
            "builtins": {
                "max": "Find the largest number yourself with a loop: max() is not allowed here.",
                "sorted": "Do not sort the list: find the largest number with a loop "
                          "(sorted() is not allowed here).",
            },
            "methods": {"sort": "Do not sort the list: find the largest number with a loop "
                                "(.sort() is not allowed here)."},
        },
        solutions=(
            "def largest(nums):\n    if len(nums) == 0:\n        return None\n"
            "    best = nums[0]\n    for x in nums:\n        if x > best:\n            best = x\n"
            "    return best\n",
            "def largest(nums):\n    if not nums:\n        return None\n    best = nums[0]\n"
            "    for i in range(1, len(nums)):\n        if nums[i] > best:\n"
            "            best = nums[i]\n    return best\n",
        ),
        call_args=(
            ([3, 9, 2],),
            ([],),
            ([-5, -2, -9],),
            ([4],),
            ([1, 7, 7, 3],),
            ([0, -1, 12, 11],),
        ),
        bugs=(
            Bug("starts at zero", "best = nums[0]", "best = 0"),
            Bug(
                "forgot empty list", "    if len(nums) == 0:\n        return None\n", "", "runtime"
            ),
            Bug("forgot empty list", "    if not nums:\n        return None\n", "", "runtime"),
            Bug("wrong comparison", "if x > best:", "if x < best:"),
        ),
    ),
    Problem(
        id="average",
        title="Average of a list",
        entry_point="average",
        statement="""
Write a function `average(nums)` that returns the mean of the numbers in the non-empty list
`nums`, rounded to 2 decimals with `round`.

Example: `average([1, 2, 4])` returns `2.33`.
""",
        solutions=(
            "def average(nums):\n    total = 0\n    for x in nums:\n        total += x\n"
            "    return round(total / len(nums), 2)\n",
            "def average(nums):\n    return round(sum(nums) / len(nums), 2)\n",
        ),
        call_args=(
            ([1, 2, 4],),
            ([5],),
            ([2, 4],),
            ([0.5, 1.5, 2.0],),
            ([10, 20, 25, 40],),
            ([-3, 3, 7],),
        ),
        bugs=(
            Bug("integer division", "total / len(nums)", "total // len(nums)"),
            Bug("integer division", "sum(nums) / len(nums)", "sum(nums) // len(nums)"),
            Bug("forgot rounding", "round(total / len(nums), 2)", "total / len(nums)"),
            Bug(
                "wrong denominator",
                "sum(nums) / len(nums)",
                "sum(nums) / (len(nums) - 1)",
                "runtime",
            ),
        ),
    ),
    Problem(
        id="reverse_words",
        title="Reverse the words",
        entry_point="reverse_words",
        statement="""
Write a function `reverse_words(sentence)` that returns the words of `sentence` in reverse
order, separated by single spaces, without the built-in `reversed`.

Example: `reverse_words("I like Python")` returns `"Python like I"`.
""",
        policy={"builtins": {"reversed": "Reverse the words yourself (a loop or a slice): "
                                         "reversed() is not allowed in this assignment."}},
        solutions=(
            "def reverse_words(sentence):\n    words = sentence.split()\n    result = []\n"
            "    for i in range(len(words) - 1, -1, -1):\n        result.append(words[i])\n"
            "    return ' '.join(result)\n",
            "def reverse_words(sentence):\n    words = sentence.split()\n"
            "    return ' '.join(words[::-1])\n",
        ),
        call_args=(
            ("I like Python",),
            ("hello",),
            ("",),
            ("a b c d",),
            ("  spaced   out  ",),
            ("one two",),
        ),
        bugs=(
            Bug("off-by-one", "range(len(words) - 1, -1, -1)", "range(len(words) - 1, 0, -1)"),
            Bug("reversed letters", "' '.join(words[::-1])", "sentence[::-1]"),
            Bug("forgot the spaces", "' '.join(result)", "''.join(result)"),
        ),
    ),
    Problem(
        id="is_palindrome",
        title="Palindromes",
        entry_point="is_palindrome",
        statement="""
Write a function `is_palindrome(text)` that returns `True` when `text` reads the same forwards
and backwards, ignoring upper/lower case and spaces, and `False` otherwise. Do not use the
built-in `reversed` (a program that does still has its tests run, but loses the marks).

Example: `is_palindrome("Never odd or even")` returns `True`.
""",
        policy={"builtins": {"reversed": "reversed() is not allowed in this assignment: "
                                         "compare the characters yourself."},
                "tests_run": True},
        solutions=(
            "def is_palindrome(text):\n    cleaned = text.replace(' ', '').lower()\n"
            "    return cleaned == cleaned[::-1]\n",
            "def is_palindrome(text):\n    cleaned = ''\n    for ch in text:\n"
            "        if ch != ' ':\n            cleaned += ch.lower()\n"
            "    for i in range(len(cleaned) // 2):\n"
            "        if cleaned[i] != cleaned[len(cleaned) - 1 - i]:\n            return False\n"
            "    return True\n",
        ),
        call_args=(
            ("Never odd or even",),
            ("racecar",),
            ("python",),
            ("",),
            ("Ab",),
            ("Was it a car or a cat I saw",),
        ),
        bugs=(
            Bug("forgot case", "text.replace(' ', '').lower()", "text.replace(' ', '')"),
            Bug("forgot spaces", "text.replace(' ', '').lower()", "text.lower()"),
            Bug(
                "off-by-one",
                "cleaned[len(cleaned) - 1 - i]",
                "cleaned[len(cleaned) - i]",
                "runtime",
            ),
            Bug("forgot case", "cleaned += ch.lower()", "cleaned += ch"),
        ),
    ),
    Problem(
        id="fizzbuzz",
        title="FizzBuzz list",
        entry_point="fizzbuzz",
        statement="""
Write a function `fizzbuzz(n)` that returns a list of strings for the numbers 1 to `n`:
"FizzBuzz" for multiples of 15, "Fizz" for multiples of 3, "Buzz" for multiples of 5 and the
number itself (as a string) otherwise.

Example: `fizzbuzz(5)` returns `["1", "2", "Fizz", "4", "Buzz"]`.
""",
        solutions=(
            "def fizzbuzz(n):\n    result = []\n    for i in range(1, n + 1):\n"
            "        if i % 15 == 0:\n            result.append('FizzBuzz')\n"
            "        elif i % 3 == 0:\n            result.append('Fizz')\n"
            "        elif i % 5 == 0:\n            result.append('Buzz')\n        else:\n"
            "            result.append(str(i))\n    return result\n",
            "def fizzbuzz(n):\n    out = []\n    for i in range(1, n + 1):\n        word = ''\n"
            "        if i % 3 == 0:\n            word += 'Fizz'\n        if i % 5 == 0:\n"
            "            word += 'Buzz'\n        if word == '':\n            word = str(i)\n"
            "        out.append(word)\n    return out\n",
        ),
        call_args=((5,), (1,), (0,), (15,), (16,), (30,)),
        bugs=(
            Bug("off-by-one", "range(1, n + 1)", "range(1, n)"),
            Bug("off-by-one", "range(1, n + 1)", "range(n)"),
            Bug(
                "wrong branch order",
                "        if i % 15 == 0:\n            result.append('FizzBuzz')\n"
                "        elif i % 3 == 0:",
                "        if i % 3 == 0:\n            result.append('Fizz')\n"
                "        elif i % 15 == 0:",
            ),
            Bug("forgot str()", "result.append(str(i))", "result.append(i)"),
            Bug("forgot str()", "word = str(i)", "word = i"),
        ),
    ),
    Problem(
        id="word_count",
        title="Counting words",
        entry_point="word_count",
        statement="""
Write a function `word_count(text)` that returns a dictionary mapping each word of `text`
(lower-cased; words are separated by whitespace) to how many times it occurs.

Example: `word_count("the cat the hat")` returns `{"the": 2, "cat": 1, "hat": 1}`.
""",
        solutions=(
            "def word_count(text):\n    counts = {}\n    for word in text.lower().split():\n"
            "        if word in counts:\n            counts[word] += 1\n        else:\n"
            "            counts[word] = 1\n    return counts\n",
            "def word_count(text):\n    counts = {}\n    for word in text.lower().split():\n"
            "        counts[word] = counts.get(word, 0) + 1\n    return counts\n",
        ),
        call_args=(
            ("the cat the hat",),
            ("",),
            ("Hello hello HELLO",),
            ("one",),
            ("a b a c b a",),
            ("Go  go\tstop",),
        ),
        bugs=(
            Bug("forgot lower case", "text.lower().split()", "text.split()"),
            Bug("split on space", "text.lower().split()", "text.lower().split(' ')"),
            Bug(
                "no initial count",
                "            counts[word] = 1",
                "            counts[word] += 1",
                "runtime",
            ),
            Bug("wrong default", "counts.get(word, 0) + 1", "counts.get(word, 1)"),
        ),
    ),
    Problem(
        id="letter_grade",
        title="Letter grades",
        entry_point="letter_grade",
        statement="""
Write a function `letter_grade(score)` that turns a score 0-100 into a letter: 90 or more is
"A", 80-89 "B", 70-79 "C", 60-69 "D" and below 60 "F".

Example: `letter_grade(85)` returns `"B"`.
""",
        solutions=(
            "def letter_grade(score):\n    if score >= 90:\n        return 'A'\n"
            "    elif score >= 80:\n        return 'B'\n    elif score >= 70:\n        return 'C'\n"
            "    elif score >= 60:\n        return 'D'\n    else:\n        return 'F'\n",
            "def letter_grade(score):\n    bounds = [(90, 'A'), (80, 'B'), (70, 'C'), (60, 'D')]\n"
            "    for bound, letter in bounds:\n        if score >= bound:\n            return letter\n"
            "    return 'F'\n",
        ),
        call_args=((85,), (90,), (59,), (100,), (70,), (60,), (0,), (89,)),
        bugs=(
            Bug("wrong bound", "if score >= 90:", "if score > 90:"),
            Bug("wrong bound", "elif score >= 70:", "elif score > 70:"),
            Bug("wrong bound", "if score >= bound:", "if score > bound:"),
            Bug(
                "branches in wrong order",
                "    if score >= 90:\n        return 'A'\n"
                "    elif score >= 80:\n        return 'B'\n",
                "    if score >= 80:\n"
                "        return 'B'\n    elif score >= 90:\n        return 'A'\n",
            ),
        ),
    ),
    Problem(
        id="factorial",
        title="Factorial",
        entry_point="factorial",
        statement="""
Write a function `factorial(n)` that returns n! = 1 * 2 * ... * n for an integer n >= 0
(0! is 1). Use a loop, not recursion, and import nothing (`math.factorial` does not count).

Example: `factorial(5)` returns `120`.
""",
        policy={"constructs": {"recursion": "Compute the factorial with a loop: recursion is "
                                            "not allowed in this assignment."},
                "imports": {"allow": [], "message": "Do not import anything in this assignment: "
                                                    "compute the factorial yourself."}},
        solutions=(
            "def factorial(n):\n    result = 1\n    for i in range(2, n + 1):\n"
            "        result *= i\n    return result\n",
            "def factorial(n):\n    product = 1\n    i = 1\n    while i <= n:\n"
            "        product = product * i\n        i += 1\n    return product\n",
        ),
        call_args=((5,), (0,), (1,), (3,), (10,), (7,)),
        bugs=(
            Bug("off-by-one", "range(2, n + 1)", "range(2, n)"),
            Bug("starts at zero", "result = 1", "result = 0"),
            Bug("wrong operator", "result *= i", "result += i"),
            Bug("off-by-one", "while i <= n:", "while i < n:"),
            Bug("starts at zero", "product = 1", "product = 0"),
        ),
    ),
    Problem(
        id="unique_items",
        title="Remove duplicates",
        entry_point="unique_items",
        statement="""
Write a function `unique_items(items)` that returns a new list with the items of `items` in
their original order, keeping only the first occurrence of each.

Example: `unique_items([3, 1, 3, 2, 1])` returns `[3, 1, 2]`.
""",
        solutions=(
            "def unique_items(items):\n    seen = []\n    for item in items:\n"
            "        if item not in seen:\n            seen.append(item)\n    return seen\n",
            "def unique_items(items):\n    result = []\n    for i in range(len(items)):\n"
            "        if items[i] not in items[:i]:\n            result.append(items[i])\n"
            "    return result\n",
        ),
        call_args=(
            ([3, 1, 3, 2, 1],),
            ([],),
            (["a", "b", "a"],),
            ([5, 5, 5],),
            ([1, 2, 3],),
            ([2, 1, 2, 3, 1, 4],),
        ),
        bugs=(
            Bug("loses order", "    return seen\n", "    return sorted(seen)\n"),
            Bug(
                "set loses order",
                "    seen = []\n    for item in items:\n        if item not in seen:\n"
                "            seen.append(item)\n    return seen\n",
                "    return list(set(items))\n",
            ),
            Bug("off-by-one", "items[:i]", "items[:i + 1]"),
        ),
    ),
)
