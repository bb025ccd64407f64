"""Longer problems of the generated CS1 course (15-30 lines: nested control flow, state)."""

from __future__ import annotations

from tools.course_generator.problem_bank import Bug, Problem

LONGER_PROBLEMS = (
    Problem(
        id="caesar_cipher",
        title="Caesar cipher",
        entry_point="caesar",
        statement="""
Write a function `caesar(text, shift)` that returns `text` with every letter shifted `shift`
places forward in the alphabet, wrapping around from z to a. Upper-case letters stay upper
case, lower-case stay lower case, and everything else (spaces, digits, punctuation) is left
unchanged. `shift` is between 0 and 25.

Example: `caesar("Hello, World!", 3)` returns `"Khoor, Zruog!"`.
""",
        solutions=(
            "def caesar(text, shift):\n    result = ''\n    for ch in text:\n"
            "        if 'a' <= ch <= 'z':\n"
            "            result += chr((ord(ch) - ord('a') + shift) % 26 + ord('a'))\n"
            "        elif 'A' <= ch <= 'Z':\n"
            "            result += chr((ord(ch) - ord('A') + shift) % 26 + ord('A'))\n"
            "        else:\n            result += ch\n    return result\n",
            "def caesar(text, shift):\n    lower = 'abcdefghijklmnopqrstuvwxyz'\n"
            "    upper = lower.upper()\n    out = []\n    for ch in text:\n"
            "        if ch in lower:\n            out.append(lower[(lower.index(ch) + shift) % 26])\n"
            "        elif ch in upper:\n            out.append(upper[(upper.index(ch) + shift) % 26])\n"
            "        else:\n            out.append(ch)\n    return ''.join(out)\n",
        ),
        call_args=(
            ("Hello, World!", 3),
            ("abc", 0),
            ("xyz", 2),
            ("", 5),
            ("Zebra 123", 1),
            ("attack at dawn", 13),
            ("Python3.11", 25),
        ),
        bugs=(
            Bug(
                "forgot wrap-around",
                "(ord(ch) - ord('a') + shift) % 26 + ord('a')",
                "ord(ch) + shift",
            ),
            Bug(
                "forgot upper case",
                "        elif 'A' <= ch <= 'Z':\n"
                "            result += chr((ord(ch) - ord('A') + shift) % 26 + ord('A'))\n",
                "",
            ),
            Bug("wrong base letter", "% 26 + ord('A')", "% 26 + ord('a')"),
            Bug(
                "forgot wrap-around",
                "out.append(lower[(lower.index(ch) + shift) % 26])",
                "out.append(lower[lower.index(ch) + shift])",
                "runtime",
            ),
            Bug(
                "shifts everything",
                "        else:\n            out.append(ch)\n",
                "        else:\n            out.append(chr(ord(ch) + shift))\n",
            ),
        ),
    ),
    Problem(
        id="password_strength",
        title="Password strength",
        entry_point="password_strength",
        statement="""
Write a function `password_strength(password)` that checks five rules: at least 8 characters,
contains a digit, contains an upper-case letter, contains a lower-case letter, contains a
symbol (a character that is neither a letter nor a digit). Return `"strong"` when all five
hold, `"medium"` when three or four hold, and `"weak"` otherwise.

Example: `password_strength("abc123XY")` returns `"medium"`.
""",
        solutions=(
            "def password_strength(password):\n    has_digit = False\n    has_upper = False\n"
            "    has_lower = False\n    has_symbol = False\n    for ch in password:\n"
            "        if ch.isdigit():\n            has_digit = True\n        elif ch.isupper():\n"
            "            has_upper = True\n        elif ch.islower():\n            has_lower = True\n"
            "        elif not ch.isalnum():\n            has_symbol = True\n"
            "    rules = [len(password) >= 8, has_digit, has_upper, has_lower, has_symbol]\n"
            "    passed = rules.count(True)\n    if passed == 5:\n        return 'strong'\n"
            "    elif passed >= 3:\n        return 'medium'\n    else:\n        return 'weak'\n",
            "def password_strength(password):\n    passed = 0\n    if len(password) >= 8:\n"
            "        passed += 1\n    if any(ch.isdigit() for ch in password):\n        passed += 1\n"
            "    if any(ch.isupper() for ch in password):\n        passed += 1\n"
            "    if any(ch.islower() for ch in password):\n        passed += 1\n"
            "    if any(not ch.isalnum() for ch in password):\n        passed += 1\n"
            "    if passed == 5:\n        return 'strong'\n    if passed >= 3:\n"
            "        return 'medium'\n    return 'weak'\n",
        ),
        call_args=(
            ("abc123XY",),
            ("",),
            ("password",),
            ("Passw0rd!",),
            ("A1!a",),
            ("12345678",),
            ("Tr0ub4dor&3",),
        ),
        bugs=(
            Bug("wrong bound", "len(password) >= 8", "len(password) > 8"),
            Bug("wrong symbol test", "elif not ch.isalnum():", "elif not ch.isalpha():"),
            Bug(
                "wrong symbol test",
                "any(not ch.isalnum() for ch in password)",
                "any(not ch.isalpha() for ch in password)",
            ),
            Bug("wrong threshold", "elif passed >= 3:", "elif passed > 3:"),
            Bug("wrong threshold", "    if passed >= 3:\n", "    if passed >= 2:\n"),
        ),
    ),
    Problem(
        id="to_roman",
        title="Roman numerals",
        entry_point="to_roman",
        statement="""
Write a function `to_roman(n)` that returns the Roman numeral for an integer 1 <= n <= 3999,
using the subtractive forms (IV, IX, XL, XC, CD, CM).

Example: `to_roman(1994)` returns `"MCMXCIV"`.
""",
        solutions=(
            "def to_roman(n):\n    values = [1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1]\n"
            "    symbols = ['M', 'CM', 'D', 'CD', 'C', 'XC', 'L', 'XL', 'X', 'IX', 'V', 'IV', 'I']\n"
            "    result = ''\n    for i in range(len(values)):\n        while n >= values[i]:\n"
            "            result += symbols[i]\n            n -= values[i]\n    return result\n",
            "def to_roman(n):\n    thousands = ['', 'M', 'MM', 'MMM']\n"
            "    hundreds = ['', 'C', 'CC', 'CCC', 'CD', 'D', 'DC', 'DCC', 'DCCC', 'CM']\n"
            "    tens = ['', 'X', 'XX', 'XXX', 'XL', 'L', 'LX', 'LXX', 'LXXX', 'XC']\n"
            "    ones = ['', 'I', 'II', 'III', 'IV', 'V', 'VI', 'VII', 'VIII', 'IX']\n"
            "    return (thousands[n // 1000] + hundreds[n % 1000 // 100]\n"
            "            + tens[n % 100 // 10] + ones[n % 10])\n",
        ),
        call_args=((1994,), (1,), (4,), (9,), (58,), (3999,), (444,)),
        bugs=(
            Bug(
                "forgot subtractive forms",
                "[1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1]",
                "[1000, 500, 100, 50, 10, 5, 1]",
            ),
            Bug(
                "if instead of while", "        while n >= values[i]:", "        if n >= values[i]:"
            ),
            Bug("wrong comparison", "while n >= values[i]:", "while n > values[i]:"),
            Bug("wrong digit", "ones[n % 10]", "ones[n // 10]", "runtime"),
            Bug("wrong digit", "tens[n % 100 // 10]", "tens[n // 10]", "runtime"),
        ),
    ),
    Problem(
        id="bank_account",
        title="Bank account",
        statement="""
Write a program for a bank account that starts with balance 0. It reads commands, one per line,
until the command `quit`:

- `deposit X` adds the integer X to the balance;
- `withdraw X` takes X out, unless X is more than the balance: then it prints
  `insufficient funds` and the balance stays as it was;
- `balance` prints `balance: B`.

After `quit` it prints `final balance: B`.

Example: the inputs `deposit 50`, `withdraw 80`, `balance`, `quit` print `insufficient funds`,
`balance: 50` and `final balance: 50`.
""",
        solutions=(
            "balance = 0\nwhile True:\n    command = input().split()\n"
            "    if command[0] == 'quit':\n        break\n    elif command[0] == 'deposit':\n"
            "        balance += int(command[1])\n    elif command[0] == 'withdraw':\n"
            "        amount = int(command[1])\n        if amount > balance:\n"
            "            print('insufficient funds')\n        else:\n            balance -= amount\n"
            "    elif command[0] == 'balance':\n        print('balance:', balance)\n"
            "print('final balance:', balance)\n",
            "def main():\n    balance = 0\n    line = input()\n    while line != 'quit':\n"
            "        parts = line.split()\n        action = parts[0]\n        if action == 'deposit':\n"
            "            balance = balance + int(parts[1])\n        elif action == 'withdraw':\n"
            "            if int(parts[1]) > balance:\n                print('insufficient funds')\n"
            "            else:\n                balance = balance - int(parts[1])\n"
            "        elif action == 'balance':\n            print(f'balance: {balance}')\n"
            "        line = input()\n    print(f'final balance: {balance}')\n\n\nmain()\n",
        ),
        stdins=(
            "deposit 50\nwithdraw 80\nbalance\nquit\n",
            "quit\n",
            "deposit 10\ndeposit 5\nwithdraw 15\nbalance\nquit\n",
            "withdraw 1\ndeposit 100\nwithdraw 30\nbalance\nwithdraw 70\nquit\n",
            "deposit 7\nbalance\ndeposit 3\nbalance\nquit\n",
        ),
        bugs=(
            Bug("forgot int()", "balance += int(command[1])", "balance += command[1]", "runtime"),
            Bug("wrong comparison", "if amount > balance:", "if amount >= balance:"),
            Bug(
                "forgot the check",
                "        if amount > balance:\n            print('insufficient funds')\n"
                "        else:\n            balance -= amount\n",
                "        balance -= amount\n",
            ),
            Bug(
                "no way out of the loop",
                "    if command[0] == 'quit':\n        break\n    elif",
                "    if",
            ),
            Bug("wrong comparison", "if int(parts[1]) > balance:", "if int(parts[1]) >= balance:"),
        ),
    ),
    Problem(
        id="grade_book",
        title="Grade book",
        statement="""
Write a program that reads the number of students `n`, then `n` lines `name score` (score an
integer 0-100). For every student print `name: L` where L is the letter grade (90+ A, 80+ B,
70+ C, 60+ D, else F). Then print `class average: X` with X shown with one decimal, and
`top: name` for the student with the highest score (the first one on a tie).

Example: the inputs `2`, `ann 91`, `bo 78` print `ann: A`, `bo: C`, `class average: 84.5`
and `top: ann`.
""",
        solutions=(
            "n = int(input())\ntotal = 0\nbest_name = ''\nbest_score = -1\nfor i in range(n):\n"
            "    name, score = input().split()\n    score = int(score)\n    total += score\n"
            "    if score >= 90:\n        letter = 'A'\n    elif score >= 80:\n        letter = 'B'\n"
            "    elif score >= 70:\n        letter = 'C'\n    elif score >= 60:\n        letter = 'D'\n"
            "    else:\n        letter = 'F'\n    print(name + ': ' + letter)\n"
            "    if score > best_score:\n        best_score = score\n        best_name = name\n"
            "print(f'class average: {total / n:.1f}')\nprint('top: ' + best_name)\n",
            "def letter_for(score):\n    for bound, letter in [(90, 'A'), (80, 'B'), (70, 'C'), (60, 'D')]:\n"
            "        if score >= bound:\n            return letter\n    return 'F'\n\n\n"
            "n = int(input())\nstudents = []\nfor _ in range(n):\n    parts = input().split()\n"
            "    students.append((parts[0], int(parts[1])))\nfor name, score in students:\n"
            "    print(f'{name}: {letter_for(score)}')\n"
            "scores = [score for name, score in students]\n"
            "print(f'class average: {sum(scores) / len(scores):.1f}')\n"
            "top = students[0]\nfor student in students:\n    if student[1] > top[1]:\n"
            "        top = student\nprint('top: ' + top[0])\n",
        ),
        stdins=(
            "2\nann 91\nbo 78\n",
            "1\nzed 59\n",
            "3\nal 80\nbea 80\ncy 70\n",
            "4\nd 60\ne 100\nf 89\ng 90\n",
            "2\nx 0\ny 69\n",
        ),
        bugs=(
            Bug("forgot int()", "    score = int(score)\n", "", "runtime"),
            Bug("last on a tie", "if score > best_score:", "if score >= best_score:"),
            Bug("integer division", "{total / n:.1f}", "{total // n:.1f}"),
            Bug("wrong bound", "elif score >= 80:", "elif score > 80:"),
            Bug("last on a tie", "if student[1] > top[1]:", "if student[1] >= top[1]:"),
            Bug("average of the wrong list", "sum(scores) / len(scores)", "sum(scores) / n + 1"),
        ),
    ),
)
