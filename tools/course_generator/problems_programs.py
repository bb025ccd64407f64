"""Stdin/stdout programs of the generated CS1 course (graded by io tests).

Programs read with ``input()`` (no prompt text, since the expected output is compared line by
line) and print their answer.
"""

from __future__ import annotations

from tools.course_generator.problem_bank import Bug, Problem

PROGRAM_PROBLEMS = (
    Problem(
        id="sum_to_n",
        title="Sum from 1 to n",
        statement="""
Write a program that reads a positive integer `n` and prints the sum 1 + 2 + ... + n.

Example: for the input `4` the program prints `10`.
""",
        solutions=(
            "n = int(input())\ntotal = 0\nfor i in range(1, n + 1):\n    total += i\nprint(total)\n",
            "n = int(input())\nprint(sum(range(1, n + 1)))\n",
        ),
        stdins=("4\n", "1\n", "10\n", "100\n", "7\n"),
        bugs=(
            Bug("off-by-one", "range(1, n + 1)", "range(1, n)"),
            Bug("off-by-one", "range(1, n + 1)", "range(n)"),
            Bug("forgot int()", "n = int(input())", "n = input()", "runtime"),
            Bug(
                "print inside loop",
                "    total += i\nprint(total)",
                "    total += i\n    print(total)",
            ),
        ),
    ),
    Problem(
        id="even_or_odd",
        title="Even or odd",
        statement="""
Write a program that reads an integer and prints `even` if it is even and `odd` otherwise.

Example: for the input `7` the program prints `odd`.
""",
        solutions=(
            "number = int(input())\nif number % 2 == 0:\n    print('even')\nelse:\n    print('odd')\n",
            "number = int(input())\nprint('even' if number % 2 == 0 else 'odd')\n",
        ),
        stdins=("7\n", "4\n", "0\n", "-3\n", "1000001\n"),
        bugs=(
            Bug("forgot int()", "number = int(input())", "number = input()", "runtime"),
            Bug("wrong operator", "number % 2 == 0", "number / 2 == 0"),
            Bug(
                "swapped branches",
                "    print('even')\nelse:\n    print('odd')",
                "    print('odd')\nelse:\n    print('even')",
            ),
            Bug("wrong capitalisation", "print('even' if", "print('Even' if"),
        ),
    ),
    Problem(
        id="times_table",
        title="Multiplication table",
        statement="""
Write a program that reads an integer `n` and prints the first ten lines of its multiplication
table in the form `n x i = product`, for i from 1 to 10.

Example: for the input `3` the first line is `3 x 1 = 3` and the last is `3 x 10 = 30`.
""",
        solutions=(
            "n = int(input())\nfor i in range(1, 11):\n    print(n, 'x', i, '=', n * i)\n",
            "n = int(input())\ni = 1\nwhile i <= 10:\n    print(f'{n} x {i} = {n * i}')\n    i += 1\n",
        ),
        stdins=("3\n", "1\n", "12\n", "0\n", "-2\n"),
        bugs=(
            Bug("off-by-one", "range(1, 11)", "range(1, 10)"),
            Bug("off-by-one", "range(1, 11)", "range(10)"),
            Bug("off-by-one", "while i <= 10:", "while i < 10:"),
            Bug("wrong operator", "n * i)", "n + i)"),
            Bug("forgot int()", "n = int(input())", "n = input()"),
        ),
    ),
    Problem(
        id="score_stats",
        title="Score statistics",
        statement="""
Write a program that first reads how many scores follow, then reads that many integer scores
(one per line), and prints three lines: `min: X`, `max: Y` and `average: Z` with the average
shown with 2 decimals.

Example: for the inputs `3`, `70`, `85`, `90` it prints `min: 70`, `max: 90`, `average: 81.67`.
""",
        solutions=(
            "count = int(input())\nscores = []\nfor i in range(count):\n"
            "    scores.append(int(input()))\nprint('min:', min(scores))\nprint('max:', max(scores))\n"
            "print(f'average: {sum(scores) / count:.2f}')\n",
            "count = int(input())\nscores = [int(input()) for _ in range(count)]\n"
            "low = scores[0]\nhigh = scores[0]\nfor s in scores:\n    if s < low:\n        low = s\n"
            "    if s > high:\n        high = s\n"
            "print('min:', low)\nprint('max:', high)\n"
            "print('average:', format(sum(scores) / len(scores), '.2f'))\n",
        ),
        stdins=(
            "3\n70\n85\n90\n",
            "1\n50\n",
            "4\n10\n20\n30\n40\n",
            "2\n99\n0\n",
            "5\n1\n2\n3\n4\n6\n",
        ),
        bugs=(
            Bug("forgot int()", "scores.append(int(input()))", "scores.append(input())"),
            Bug("off-by-one", "range(count)", "range(count - 1)"),
            Bug("forgot formatting", "{sum(scores) / count:.2f}", "{sum(scores) / count}"),
            Bug(
                "wrong denominator", "sum(scores) / len(scores)", "sum(scores) / (len(scores) + 1)"
            ),
            Bug("starts at zero", "low = scores[0]", "low = 0"),
        ),
    ),
    Problem(
        id="triangle",
        title="Star triangle",
        statement="""
Write a program that reads a positive integer `n` and prints a right triangle of `*` with `n`
rows: the first row has one star, the last row `n` stars.

Example: for the input `3` it prints `*`, `**` and `***` on three lines.
""",
        solutions=(
            "n = int(input())\nfor row in range(1, n + 1):\n    print('*' * row)\n",
            "n = int(input())\nfor row in range(n):\n    line = ''\n    for col in range(row + 1):\n"
            "        line += '*'\n    print(line)\n",
        ),
        stdins=("3\n", "1\n", "5\n", "2\n", "8\n"),
        bugs=(
            Bug("off-by-one", "range(1, n + 1)", "range(n)"),
            Bug("off-by-one", "range(row + 1)", "range(row)"),
            Bug("upside down", "range(1, n + 1)", "range(n, 0, -1)"),
            Bug("square instead", "print('*' * row)", "print('*' * n)"),
        ),
    ),
    Problem(
        id="weather_advice",
        title="Weather advice",
        statement="""
Write a program that reads a temperature in degrees Celsius (a decimal number) and prints
`freezing` below 0, `cold` from 0 up to (not including) 15, `mild` from 15 up to 25, and `hot`
at 25 or more.

Example: for the input `15` the program prints `mild`.
""",
        solutions=(
            "temp = float(input())\nif temp < 0:\n    print('freezing')\nelif temp < 15:\n"
            "    print('cold')\nelif temp < 25:\n    print('mild')\nelse:\n    print('hot')\n",
            "temp = float(input())\nif temp >= 25:\n    advice = 'hot'\nelif temp >= 15:\n"
            "    advice = 'mild'\nelif temp >= 0:\n    advice = 'cold'\nelse:\n"
            "    advice = 'freezing'\nprint(advice)\n",
        ),
        stdins=("15\n", "-3.5\n", "0\n", "24.9\n", "25\n", "8\n"),
        bugs=(
            Bug("forgot float()", "temp = float(input())", "temp = input()", "runtime"),
            Bug("int() for decimals", "temp = float(input())", "temp = int(input())", "runtime"),
            Bug("wrong bound", "elif temp < 15:", "elif temp <= 15:"),
            Bug("wrong bound", "if temp >= 25:", "if temp > 25:"),
            Bug("wrong bound", "if temp < 0:", "if temp <= 0:"),
        ),
    ),
    Problem(
        id="countdown",
        title="Countdown",
        statement="""
Write a program that reads a positive integer `n` and prints the numbers from `n` down to 1,
one per line, followed by a line `Liftoff!`.

Example: for the input `2` it prints `2`, `1` and `Liftoff!`.
""",
        solutions=(
            "n = int(input())\nfor i in range(n, 0, -1):\n    print(i)\nprint('Liftoff!')\n",
            "n = int(input())\nwhile n > 0:\n    print(n)\n    n -= 1\nprint('Liftoff!')\n",
        ),
        stdins=("2\n", "1\n", "5\n", "10\n", "3\n"),
        bugs=(
            Bug("off-by-one", "range(n, 0, -1)", "range(n, 1, -1)"),
            Bug("off-by-one", "range(n, 0, -1)", "range(n - 1, 0, -1)"),
            Bug("off-by-one", "while n > 0:", "while n > 1:"),
            Bug(
                "liftoff inside loop",
                "    print(i)\nprint('Liftoff!')",
                "    print(i)\n    print('Liftoff!')",
            ),
            Bug("misspelt output", "print('Liftoff!')", "print('Liftoff')"),
        ),
    ),
    Problem(
        id="word_lengths",
        title="Word lengths",
        statement="""
Write a program that reads one line of text and prints, for every word in it (separated by
whitespace), a line `word: length`. Finish with a line `total: N` where N is the number of words.

Example: for the input `hi there` it prints `hi: 2`, `there: 5` and `total: 2`.
""",
        solutions=(
            "line = input()\nwords = line.split()\nfor word in words:\n"
            "    print(word + ': ' + str(len(word)))\nprint('total: ' + str(len(words)))\n",
            "words = input().split()\nfor w in words:\n    print(f'{w}: {len(w)}')\n"
            "print(f'total: {len(words)}')\n",
        ),
        stdins=("hi there\n", "python\n", "\n", "a bb ccc\n", "  spaced   words here \n"),
        bugs=(
            Bug(
                "forgot str()",
                "print(word + ': ' + str(len(word)))",
                "print(word + ': ' + len(word))",
                "runtime",
            ),
            Bug(
                "counts letters",
                "print('total: ' + str(len(words)))",
                "print('total: ' + str(len(line)))",
            ),
            Bug("split on space", "line.split()", "line.split(' ')"),
            Bug(
                "counts letters",
                "print(f'total: {len(words)}')",
                "print(f'total: {len(w)}')",
                "runtime",
            ),
        ),
    ),
)
